/** The READMEs: every table has as many cells per row as its header; one ORM switch spelling. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { repoRoot } from '../scripts/pack.mjs';

const SKIP = new Set(['node_modules', 'dist', '.git', '.turbo', 'build', 'runs']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    if (SKIP.has(entry)) return [];
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) return markdownFiles(file);
    return entry.endsWith('.md') ? [file] : [];
  });
}

/** Cells of a table row: split on `|` that is not escaped (GFM splits inside code spans too). */
const cells = (row: string) =>
  row
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/).length;

const files = markdownFiles(repoRoot);

describe('READMEs and docs', () => {
  it.each(files.map((file) => [path.relative(repoRoot, file), file]))(
    '%s: every table row has the header’s cell count',
    (_name, file) => {
      const lines = readFileSync(file, 'utf8').split('\n');
      let header: number | undefined;
      let inCode = false;
      lines.forEach((line, i) => {
        if (line.trimStart().startsWith('```')) inCode = !inCode;
        if (inCode || !line.trimStart().startsWith('|')) {
          header = undefined;
          return;
        }
        if (header === undefined) header = cells(line);
        else expect(cells(line), `line ${i + 1}: ${line.slice(0, 80)}`).toBe(header);
      });
    },
  );

  it('the ORM switch is spelled one way, `--orm`, in the root and the examples’ READMEs', () => {
    const readmes = ['README.md', 'examples/README.md', 'examples/orders-app/README.md'];
    for (const file of readmes) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      expect(text, file).toMatch(/--orm kysely/);
      expect(text, file).not.toMatch(/ORM=(drizzle|kysely|prisma|…)/);
    }
  });
});
