// Copies example files into README.md between `<!-- embed: <path> -->` and `<!-- /embed -->`,
// so the README shows exactly the code the tests run. Usage: node scripts/embed-examples.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const readmeUrl = new URL('../README.md', import.meta.url);
const readme = readFileSync(readmeUrl, 'utf8');
const updated = readme.replace(/<!-- embed: (\S+) -->\n[\s\S]*?<!-- \/embed -->/g, (_, path) => {
  const lang = /\.[cm]?js$/.test(path) ? 'js' : 'ts';
  const code = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  return `<!-- embed: ${path} -->\n\`\`\`${lang}\n${code}\`\`\`\n<!-- /embed -->`;
});
writeFileSync(readmeUrl, updated);
