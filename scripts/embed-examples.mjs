// Copies example files into a package's README.md between `<!-- embed: <path> -->` and
// `<!-- /embed -->`, so the README shows exactly the code the tests run.
// Usage (from a package directory): node ../../scripts/embed-examples.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.cwd();
const readmePath = path.join(dir, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const updated = readme.replace(/<!-- embed: (\S+) -->\n[\s\S]*?<!-- \/embed -->/g, (_, file) => {
  const lang = /\.[cm]?js$/.test(file) ? 'js' : 'ts';
  const code = readFileSync(path.join(dir, file), 'utf8');
  return `<!-- embed: ${file} -->\n\`\`\`${lang}\n${code}\`\`\`\n<!-- /embed -->`;
});
writeFileSync(readmePath, updated);
