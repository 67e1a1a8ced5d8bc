/**
 * A consumer project compiled with `skipLibCheck: false` against the declaration files this
 * package publishes (built here, by the package's own build: tsup, then
 * `scripts/optional-peer-types.mjs`), laid out as an install would: our `dist` copied into the
 * consumer's `node_modules`, its dependencies linked beside it. Twice: with the optional
 * adapters (`@lakebase-kit/drizzle|kysely|prisma`) installed, and without them.
 *
 * AppKit's own declaration files have errors under `skipLibCheck: false` (they import
 * `json-schema` and `ws`, whose types AppKit does not depend on), and so do drizzle-orm's
 * (its gel, mysql and singlestore builders), so the diagnostics are sorted by file: none may
 * come from the consumer or from files of ours (`@lakebase-kit/*`); AppKit's must be exactly
 * the known ones (so this notices when they change); any other must be drizzle-orm's.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const repo = path.resolve(pkg, '../..');
let work: string;
let built: string;

/** The real directory of a package as this package resolves it. */
const installed = (name: string, from = pkg) => realpathSync(path.join(from, 'node_modules', name));

const COMMON = `
import { AppKitError, createApp, Plugin, server } from '@databricks/appkit';
import type { ToolProvider } from '@databricks/appkit/beta';
import {
  type LakebaseExports,
  LakebasePlugin,
  lakebase,
  ReadOnlySqlViolation,
} from '@lakebase-kit/appkit';
import type { Request } from 'express';

const appkit = await createApp({
  plugins: [
    server(),
    lakebase({ pool: { max: 5 }, exposeAsAgentTool: { readOnly: true, answer: 'detailed' } }),
  ],
});
const rows: Array<{ id: number }> = (await appkit.lakebase.query<{ id: number }>('select 1 as id')).rows;
export async function handler(req: Request): Promise<number> {
  const user: LakebaseExports = appkit.lakebase.asUser(req);
  const result = await user.query('select 1');
  const pooled = await appkit.lakebase.asUser(req).pool.query('select 1');
  return result.rowCount ?? pooled.rowCount ?? rows.length;
}
// the plugin is an AppKit Plugin and ToolProvider; its asUser is assignable to AppKit's
const plugin: Plugin = new LakebasePlugin({});
export const asUser: Plugin['asUser'] = plugin.asUser;
export const provider: ToolProvider = new LakebasePlugin({ exposeAsAgentTool: {} });
export const isViolation = (error: unknown) =>
  error instanceof ReadOnlySqlViolation || error instanceof AppKitError;
// the ORM accessors exist either way
export const orm = [appkit.lakebase.drizzle(), appkit.lakebase.kysely<{ t: { id: number } }>()];
`;

/** Only with the adapters: their types are real (a wrong table name is an error). */
const WITH_ADAPTERS = `${COMMON}
const { kysely } = appkit.lakebase.kysely<{ t: { id: number } }>();
export const ids = kysely.selectFrom('t').select('id');
// @ts-expect-error: 'nope' is not a table of DB
export const wrong = kysely.selectFrom('nope');
`;

function link(target: string, at: string) {
  mkdirSync(path.dirname(at), { recursive: true });
  symlinkSync(target, at, 'dir');
}

interface Diagnostics {
  ours: string[];
  appkit: string[];
  others: string[];
}

/** Lays out a consumer, compiles it, and sorts the diagnostics by whose file they are in. */
function compileConsumer(name: string, source: string, adapters: boolean): Diagnostics {
  const root = path.join(work, name);
  const modules = path.join(root, 'node_modules');
  const ours = path.join(modules, '@lakebase-kit/appkit');
  mkdirSync(ours, { recursive: true });
  cpSync(path.join(pkg, 'package.json'), path.join(ours, 'package.json'));
  cpSync(built, path.join(ours, 'dist'), { recursive: true });
  link(installed('@lakebase-kit/core'), path.join(modules, '@lakebase-kit/core'));
  link(installed('@databricks/appkit'), path.join(modules, '@databricks/appkit'));
  link(installed('@types/pg'), path.join(modules, '@types/pg'));
  link(installed('@types/express'), path.join(modules, '@types/express'));
  link(installed('@types/node', repo), path.join(modules, '@types/node'));
  if (adapters) {
    for (const adapter of ['drizzle', 'kysely', 'prisma']) {
      link(installed(`@lakebase-kit/${adapter}`), path.join(modules, `@lakebase-kit/${adapter}`));
    }
  }
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  const main = path.join(root, 'main.ts');
  writeFileSync(main, source);
  const program = ts.createProgram([main], {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
  });
  const out: Diagnostics = { ours: [], appkit: [], others: [] };
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file ? realpathSync(diagnostic.file.fileName) : '(global)';
    const text = `${file.replace(/^.*node_modules\//, '')}: TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
    if (file.startsWith(root) || file.startsWith(path.join(repo, 'packages'))) out.ours.push(text);
    else if (file.includes('/@databricks/appkit/')) out.appkit.push(text);
    else out.others.push(text);
  }
  return out;
}

/** AppKit 0.38.1's own errors under skipLibCheck false (parity notes, "skipLibCheck: false"). */
const APPKIT_KNOWN = [
  /registry\/types\.d\.ts: TS2307 Cannot find module 'json-schema'/,
  /shared\/src\/agent\.d\.ts: TS2307 Cannot find module 'json-schema'/,
  /shared\/src\/plugin\.d\.ts: TS2307 Cannot find module 'json-schema'/,
  /shared\/src\/tunnel\.d\.ts: TS7016 Could not find a declaration file for module 'ws'/,
];

function expectNoErrorsOfOurs(diagnostics: Diagnostics, drizzle: boolean) {
  expect(diagnostics.ours).toEqual([]);
  const notDrizzle = diagnostics.others.filter((line) => !line.startsWith('drizzle-orm/'));
  expect(notDrizzle).toEqual([]);
  if (!drizzle) expect(diagnostics.others).toEqual([]);
  expect(diagnostics.appkit).toHaveLength(APPKIT_KNOWN.length);
  for (const known of APPKIT_KNOWN) {
    expect(
      diagnostics.appkit.some((line) => known.test(line)),
      String(known),
    ).toBe(true);
  }
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'lakebase-kit-appkit-types-'));
  built = path.join(work, 'dist');
  // the package's build, into a directory of our own (dist/ may be older than src/)
  const tsup = path.join(repo, 'node_modules/.bin/tsup');
  execFileSync(tsup, ['--dts-only', '--out-dir', built], { cwd: pkg, stdio: 'pipe' });
  execFileSync(process.execPath, ['scripts/optional-peer-types.mjs', built], { cwd: pkg });
}, 120_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a consumer with skipLibCheck: false', () => {
  it('compiles with the optional adapters installed (their types in use)', () => {
    expectNoErrorsOfOurs(compileConsumer('with-adapters', WITH_ADAPTERS, true), true);
  }, 60_000);

  it('compiles without them (the accessors typed any)', () => {
    expectNoErrorsOfOurs(compileConsumer('without-adapters', COMMON, false), false);
  }, 60_000);

  it('would not compile without the @ts-ignore on the optional imports (the check is real)', () => {
    const raw = path.join(work, 'raw-dist');
    cpSync(built, raw, { recursive: true });
    for (const file of ['index.d.ts', 'index.d.cts']) {
      const target = path.join(raw, file);
      const text = ts.sys.readFile(target) ?? '';
      writeFileSync(target, text.replace(/^\/\/ @ts-ignore -- optional peer.*\n/gm, ''));
    }
    const saved = built;
    built = raw;
    try {
      const diagnostics = compileConsumer('without-adapters-raw', COMMON, false);
      expect(diagnostics.ours.join('\n')).toMatch(
        /TS2307 Cannot find module '@lakebase-kit\/drizzle'/,
      );
    } finally {
      built = saved;
    }
  }, 60_000);
});
