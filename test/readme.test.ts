/**
 * The READMEs: every table has as many cells per row as its header; one ORM switch spelling;
 * one command starts the orders example; the Node range we declare, and why it differs from the
 * Databricks SDK's, stays true.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
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

  it('the orders example starts one way in the docs: `pnpm start` from the root (options after --)', () => {
    const others = [
      /cd examples\/orders-app && pnpm start/,
      /example-orders-app start/,
      /(?<!p)npm (run )?start/,
      /node --import tsx src\/main\.ts/,
    ];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const other of others) {
        expect(text, path.relative(repoRoot, file)).not.toMatch(other);
      }
    }
    for (const file of ['README.md', 'examples/README.md', 'examples/orders-app/README.md']) {
      expect(readFileSync(path.join(repoRoot, file), 'utf8'), file).toMatch(/^pnpm start\b/m);
    }
  });

  it('every package declares the root’s Node range; the README says why the SDK’s differs', () => {
    const manifest = (dir: string) =>
      JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as {
        name: string;
        engines?: { node?: string };
      };
    const root = manifest('.').engines?.node;
    expect(root).toBe('>=20.19');
    for (const dir of readdirSync(path.join(repoRoot, 'packages'))) {
      expect(manifest(`packages/${dir}`).engines?.node, dir).toBe(root);
    }
    // The SDK core depends on, as installed: the README names its range and our reason.
    const fromCore = createRequire(path.join(repoRoot, 'packages', 'core', 'package.json'));
    const sdk = JSON.parse(
      readFileSync(fromCore.resolve('@databricks/sdk-experimental/package.json'), 'utf8'),
    ) as { version: string; engines?: { node?: string } };
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(
      `\`@databricks/sdk-experimental\` ${sdk.version.replace(/\.\d+$/, '')}, declares \`${sdk.engines?.node}\``,
    );
    expect(readme).toContain(`"engines": { "node": "${root}" }`);
  });

  it('the docs teach asUser(req); withUser appears only as the deprecated older name', () => {
    // (packages/appkit's README is its own team's, and still says withUser)
    for (const file of files.filter((f) => !f.includes(`${path.sep}appkit${path.sep}`))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.includes('withUser'))
        .forEach((line) => {
          expect(line, path.relative(repoRoot, file)).toMatch(/deprecated|older/);
        });
    }
  });
});
