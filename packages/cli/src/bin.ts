import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`lakebase-kit: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  },
);
