/**
 * After tsup: the declaration files import the types of the optional adapters
 * (`@lakebase-kit/drizzle`, `/kysely`, `/prisma`). A consumer without one of them, compiling
 * with `skipLibCheck: false`, would get TS2307 in our `.d.ts`. Each such import gets a
 * `@ts-ignore`: when the adapter is installed its types are used; when it is not, its accessor
 * is typed `any` (and throws a ConfigurationError naming the packages at run time).
 *
 * Usage: node scripts/optional-peer-types.mjs [dist directory]   (idempotent)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ADAPTERS = ['@lakebase-kit/drizzle', '@lakebase-kit/kysely', '@lakebase-kit/prisma'];
const MARK = '// @ts-ignore -- optional peer dependency: without it, its accessor is typed any';

export function markOptionalPeerImports(text, file) {
  const lines = text.split('\n');
  const out = [];
  const seen = new Set();
  for (const [index, line] of lines.entries()) {
    const adapter = ADAPTERS.find(
      (name) => line.startsWith('import ') && line.includes(` from '${name}';`),
    );
    if (adapter) {
      seen.add(adapter);
      if (lines[index - 1] !== MARK) out.push(MARK);
    }
    out.push(line);
  }
  const missing = ADAPTERS.filter((name) => !seen.has(name));
  if (missing.length > 0) {
    throw new Error(`${file}: no import of ${missing.join(', ')} found (did the bundling change?)`);
  }
  return out.join('\n');
}

const dist = path.resolve(process.argv[2] ?? 'dist');
for (const name of ['index.d.ts', 'index.d.cts']) {
  const file = path.join(dist, name);
  writeFileSync(file, markOptionalPeerImports(readFileSync(file, 'utf8'), file));
}
