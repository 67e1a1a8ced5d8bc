/**
 * The README's ```ts blocks. Each is one of two kinds:
 *
 * - an example: a file in examples/, embedded verbatim between `<!-- embed: examples/… -->` and
 *   `<!-- /embed -->` (`pnpm readme` copies the files in), run here as written against a local
 *   Lakebase, with what it prints or exports checked against what the README says;
 * - a fragment (it needs names an earlier block or the app around it defines): compiled with
 *   the TypeScript compiler against the sources, behind the context declared for it in
 *   readme-fragments.ts.
 *
 * Every block must be one or the other: a new block fails the first test until it is either.
 */

import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLakebase } from '../src/lakebase.js';
import { FRAGMENTS, type Fragment } from './readme-fragments.js';

// The on-behalf-of example listens on port 8000, as an app would; here it gets a free port.
const listening = vi.hoisted(() => [] as Array<{ requested: unknown; server: Server }>);
vi.mock('express', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof import('express') }>();
  const express = actual.default;
  const onFreePort = ((...args: Parameters<typeof express>) => {
    const app = express(...args);
    const listen = app.listen.bind(app) as (port: number, host: string) => Server;
    return Object.assign(app, {
      listen: (requested: unknown) => {
        const server = listen(0, '127.0.0.1');
        listening.push({ requested, server });
        return server;
      },
    });
  }) as typeof express;
  return { ...actual, default: Object.assign(onFreePort, express) };
});

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const DEV = 'dev@example.com';
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const read = (path: string) => readFileSync(here(path), 'utf8');

/** The examples: each is embedded in the README once, verbatim, and run below. */
const EXAMPLES = [
  'examples/readme-quick-start.ts',
  'examples/readme-local.ts',
  'examples/readme-validation.ts',
  'examples/readme-pg-config.ts',
  'examples/readme-credential.ts',
  'examples/readme-on-behalf-of.ts',
  'examples/readme-try-locally.ts',
  'examples/readme-adapter.ts',
  'examples/readme-admin.ts',
  'examples/readme-doctor.ts',
];

interface Block {
  code: string;
  /** 1-based README line of the block's first line of code. */
  line: number;
  heading: string;
  /** Its place among the ts blocks under `heading` (1 = the first). */
  nth: number;
  /** The file named by an `<!-- embed: … -->` line right above the block. */
  embed: string | undefined;
}

function tsBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const counts = new Map<string, number>();
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)$/.exec(lines[i] ?? '');
    if (fence) {
      let end = i + 1;
      while (end < lines.length && lines[end] !== '```') end++;
      if (fence[1] === 'ts') {
        const nth = (counts.get(heading) ?? 0) + 1;
        counts.set(heading, nth);
        blocks.push({
          code: `${lines.slice(i + 1, end).join('\n')}\n`,
          line: i + 2,
          heading,
          nth,
          embed: /^<!-- embed: (\S+) -->$/.exec(lines[i - 1] ?? '')?.[1],
        });
      }
      i = end;
      continue;
    }
    const title = /^#{1,6} (.+)$/.exec(lines[i] ?? '');
    if (title?.[1]) heading = title[1];
  }
  return blocks;
}

const readme = read('../README.md');
const blocks = tsBlocks(readme);
const fragmentOf = (block: Block): Fragment | undefined =>
  FRAGMENTS.find((f) => f.heading === block.heading && f.nth === block.nth);

describe("the README's ts blocks", () => {
  it('each is an embedded example or a declared fragment, and each of those is used once', () => {
    expect(blocks.length).toBeGreaterThan(0);
    const unaccounted = blocks
      .filter((block) => !block.embed && !fragmentOf(block))
      .map((block) => `README.md:${block.line} (${block.heading}, ts block ${block.nth})`);
    expect(unaccounted).toEqual([]);
    expect(blocks.filter((b) => b.embed && fragmentOf(b))).toEqual([]);
    expect(blocks.flatMap((b) => (b.embed ? [b.embed] : [])).sort()).toEqual([...EXAMPLES].sort());
    const used = FRAGMENTS.map((f) => blocks.filter((b) => fragmentOf(b) === f).length);
    expect(used).toEqual(FRAGMENTS.map(() => 1));
  });

  it.each(EXAMPLES)('embeds %s verbatim (`pnpm readme` updates it)', (file) => {
    expect(readme).toContain(`<!-- embed: ${file} -->\n\`\`\`ts\n${read(`../${file}`)}\`\`\`\n`);
    expect(blocks.find((b) => b.embed === file)?.code).toBe(read(`../${file}`));
  });

  it('the fragments (behind their context) and the examples compile against the sources', () => {
    const configFile = here('../tsconfig.json');
    const parsed = ts.getParsedCommandLineOfConfigFile(configFile, undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    });
    if (!parsed) throw new Error(`cannot read ${configFile}`);
    // Every file a module of its own, as each block is.
    const options = {
      ...parsed.options,
      noEmit: true,
      moduleDetection: ts.ModuleDetectionKind.Force,
    };

    // Each fragment becomes test/readme-fragment-<line>.ts (in memory): its context, then the block.
    const virtual = new Map<string, { text: string; block: Block; offset: number }>();
    for (const block of blocks) {
      const fragment = fragmentOf(block);
      if (!fragment) continue;
      const text = `${fragment.context}\n${block.code}`;
      const offset = fragment.context.split('\n').length;
      virtual.set(here(`./readme-fragment-${block.line}.ts`), { text, block, offset });
    }
    const host = ts.createCompilerHost(options);
    const { fileExists, readFile, getSourceFile } = host;
    host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file);
    host.readFile = (file) => virtual.get(file)?.text ?? readFile.call(host, file);
    host.getSourceFile = (file, language, ...rest) => {
      const fragment = virtual.get(file);
      return fragment
        ? ts.createSourceFile(file, fragment.text, language)
        : getSourceFile.call(host, file, language, ...rest);
    };
    const roots = [...virtual.keys(), ...EXAMPLES.map((file) => here(`../${file}`))];
    const program = ts.createProgram({ rootNames: roots, options, host });

    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...roots.flatMap((file) => {
        const source = program.getSourceFile(file);
        if (!source) throw new Error(`not compiled: ${file}`);
        return [
          ...program.getSyntacticDiagnostics(source),
          ...program.getSemanticDiagnostics(source),
        ];
      }),
    ];
    const where = (diagnostic: ts.Diagnostic) => {
      if (!diagnostic.file || diagnostic.start === undefined) return '';
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const fragment = virtual.get(diagnostic.file.fileName);
      if (!fragment) return `${diagnostic.file.fileName}:${line + 1}: `;
      return line < fragment.offset
        ? `the context of the fragment at README.md:${fragment.block.line}: `
        : `README.md:${fragment.block.line + line - fragment.offset}: `;
    };
    const messages = diagnostics.map(
      (d) => `${where(d)}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
    expect(messages).toEqual([]);
  });
});

/** The environment an example may read (the app's configuration and the SDK's). */
const OURS = /^(DATABRICKS_|PG|LAKEBASE_)/;

/** Makes `env` the whole of that environment; returns what puts the previous one back. */
function replaceEnv(env: Record<string, string>): () => void {
  const saved = Object.entries(process.env).filter(([key]) => OURS.test(key));
  const clear = () => {
    for (const key of Object.keys(process.env)) if (OURS.test(key)) delete process.env[key];
  };
  clear();
  Object.assign(process.env, env);
  return () => {
    clear();
    for (const [key, value] of saved) process.env[key] = value;
  };
}

async function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const restore = replaceEnv(env);
  try {
    return await run();
  } finally {
    restore();
  }
}

/**
 * Runs an example (imports it, once) in the current environment or in `env`; returns its
 * exports and what it printed.
 */
async function runExample<T = Record<string, unknown>>(
  file: string,
  env?: Record<string, string>,
): Promise<{ exports: T; logged: unknown[][]; warned: unknown[][] }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const load = () => import(/* @vite-ignore */ `../${file.replace(/\.ts$/, '.js')}`);
  try {
    const exports = env ? await withEnv(env, load) : await load();
    return { exports: exports as T, logged: [...log.mock.calls], warned: [...warn.mock.calls] };
  } finally {
    log.mockRestore();
    warn.mockRestore();
  }
}

/** The example's first comment that starts with `// <prefix>`, without the `// `. */
const comment = (file: string, prefix: string) => {
  const line = read(`../${file}`)
    .split('\n')
    .find((l) => l.includes(`// ${prefix}`));
  if (!line) throw new Error(`${file} has no comment starting with ${prefix}`);
  return line.slice(line.indexOf('// ') + 3);
};

describe('examples that start their own local Lakebase', () => {
  it('readme-local.ts: the pool logs in as the SP; debug logging never shows a token', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    try {
      const { logged } = await runExample('examples/readme-local.ts', {});
      expect(comment('examples/readme-local.ts', 'true')).toMatch(/^true: the SP's client id/);
      expect(logged).toEqual([[true]]);
      const lines = debug.mock.calls.map((call) => call.map(String).join(' '));
      expect(lines.some((line) => line.startsWith('[lakebase] '))).toBe(true);
      expect(lines.filter((line) => line.includes('lbk_'))).toEqual([]);
    } finally {
      debug.mockRestore();
    }
  });

  it('readme-try-locally.ts: the scope runs as alice', async () => {
    const { logged } = await runExample('examples/readme-try-locally.ts', {});
    expect(comment('examples/readme-try-locally.ts', '[{')).toBe(
      "[{ current_user: 'alice@example.com' }]",
    );
    expect(logged).toEqual([[[{ current_user: ALICE }]]]);
  });
});

describe('examples without a Lakebase', () => {
  it('readme-validation.ts: a malformed endpoint names its option and env variable', async () => {
    const { logged } = await runExample('examples/readme-validation.ts', {});
    expect(logged).toHaveLength(1);
    const documented = comment('examples/readme-validation.ts', 'endpoint LAKEBASE_ENDPOINT');
    expect(documented.endsWith(': …')).toBe(true);
    expect(logged[0]?.join(' ').startsWith(documented.slice(0, -1))).toBe(true);
    expect(logged[0]?.slice(0, 2)).toEqual(['endpoint', 'LAKEBASE_ENDPOINT']);
  });
});

describe('examples on a shared local Lakebase, its env the environment of the app', () => {
  let lb: LocalLakebase;
  let sp: string;
  let restoreEnv = () => {};

  beforeAll(async () => {
    lb = await startLocalLakebase({ users: [BOB], groups: { 'data-team': [BOB] } });
    sp = lb.env.PGUSER;
    restoreEnv = replaceEnv(lb.env);
  });
  afterAll(async () => {
    restoreEnv();
    await lb?.stop();
  });

  const connectAs = async (user: string, password: string | (() => Promise<string>)) => {
    const client = new pg.Client({
      host: lb.env.PGHOST,
      port: Number(lb.env.PGPORT),
      database: lb.database,
      user,
      password,
      ssl: { ca: lb.tls?.caPem },
    });
    await client.connect();
    try {
      return (await client.query('select current_user as u')).rows[0].u as string;
    } finally {
      await client.end();
    }
  };
  const credentialCalls = () => lb.stats().credentialCalls[sp] ?? 0;

  it('readme-quick-start.ts: createLakebasePool() from the env runs as the SP', async () => {
    const { logged } = await runExample('examples/readme-quick-start.ts');
    expect(comment('examples/readme-quick-start.ts', 'the service principal')).toMatch(/client id/);
    expect(logged).toEqual([[lb.env.DATABRICKS_CLIENT_ID]]);
    expect(lb.stats().connections[sp]?.total).toBeGreaterThan(0);
  });

  it('readme-pg-config.ts: a plain pg.Pool and an ORM config that log in as the SP', async () => {
    const { exports } = await runExample<typeof import('../examples/readme-pg-config.js')>(
      'examples/readme-pg-config.ts',
    );
    const { pool, orm } = exports;
    expect(pool).toBeInstanceOf(pg.Pool);
    try {
      expect((await pool.query('select current_user as u')).rows[0].u).toBe(sp);
    } finally {
      await pool.end();
    }
    expect(orm).toMatchObject({
      host: lb.env.PGHOST,
      port: Number(lb.env.PGPORT),
      database: lb.database,
      username: sp,
    });
    expect(typeof orm.password).toBe('function');
    expect(orm.ssl).toBeTruthy();
    expect(await connectAs(orm.username, orm.password)).toBe(sp);
  });

  it('readme-credential.ts: one credential call; the token is the SP password', async () => {
    const before = credentialCalls();
    const { exports } = await runExample<typeof import('../examples/readme-credential.js')>(
      'examples/readme-credential.ts',
    );
    expect(credentialCalls()).toBe(before + 1);
    const { token, expire_time } = exports;
    expect(expire_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Date.parse(expire_time)).toBeGreaterThan(Date.now());
    expect(await connectAs(sp, token)).toBe(sp);
  });

  // The first example that uses alice: her role does not exist yet, the project owner adds it.
  it('readme-admin.ts: the project owner adds roles and grants; roles listed by the API', async () => {
    const app = createLakebase({ telemetry: false });
    try {
      await app.query('create schema if not exists app'); // the app (SP) owns its schema
    } finally {
      await app.close();
    }
    const roleOf = async (name: string) =>
      (await lb.sql('select rolcanlogin from pg_roles where rolname = $1', [name]))[0];
    expect(await roleOf(ALICE)).toBeUndefined();
    expect(await roleOf(DEV)).toBeUndefined();

    const owner = lb.projectOwner;
    const { exports } = await runExample<typeof import('../examples/readme-admin.js')>(
      'examples/readme-admin.ts',
      lb.envFor(owner),
    );

    for (const user of [ALICE, DEV]) {
      expect(await roleOf(user)).toEqual({ rolcanlogin: true });
      expect(exports.roles.find((role) => role.postgresRole === user)).toMatchObject({
        identityType: 'USER',
        roleId: expect.any(String), // listed by the roles API
      });
    }
    expect(exports.roles.find((role) => role.postgresRole === 'data-team')).toMatchObject({
      identityType: 'GROUP',
      roleId: expect.any(String),
    });
    const privileges = async (role: string) =>
      (
        await lb.sql(
          `select has_schema_privilege($1, 'app', 'USAGE') as usage,
             has_schema_privilege($1, 'app', 'CREATE') as "create"`,
          [role],
        )
      )[0];
    expect(await privileges(DEV)).toEqual({ usage: true, create: true });
    expect(await privileges('data-team')).toEqual({ usage: true, create: false });
    expect((await privileges(ALICE)).create).toBe(false); // an app user: not the guide's grants
    // closed: none of the owner's connections is left
    await vi.waitFor(() => expect(lb.stats().connections[owner]?.open).toBe(0));
  });

  it('readme-doctor.ts: as the app, a clean setup reports nothing', async () => {
    // what the doctor checks as the app: its schema, a table users reach under the recipe
    const app = createLakebase({ telemetry: false });
    try {
      await app.query(`create schema if not exists app;
        create table if not exists app.doctor_checked (
          id integer primary key generated always as identity,
          owner text not null default current_user);
        alter table app.doctor_checked enable row level security;`);
    } finally {
      await app.close();
    }
    await lb.addUser(ALICE);
    const { warned } = await runExample('examples/readme-doctor.ts');
    // one line per check that is not ok: its id, finding and fix
    for (const line of warned)
      expect(line).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
    // `hosts` asks the endpoints API, which the local Lakebase does not serve (yet)
    expect(warned.filter(([id]) => id !== 'hosts')).toEqual([]);
    await vi.waitFor(() => expect(lb.stats().connections[sp]?.open).toBe(0));
  });

  it('readme-on-behalf-of.ts: each user sees their own notes; errors answer; SIGTERM closes', async () => {
    await lb.addUser(ALICE);
    const sigterm = new Set(process.listeners('SIGTERM'));
    await runExample('examples/readme-on-behalf-of.ts');
    const [listener, ...more] = process.listeners('SIGTERM').filter((l) => !sigterm.has(l));
    expect(more).toEqual([]);
    if (!listener) throw new Error('the example added no SIGTERM listener');
    const [app, ...others] = listening.splice(0);
    expect(others).toEqual([]);
    if (!app) throw new Error('the example did not listen');
    expect(app.requested).toBe(8000);
    if (!app.server.listening) await once(app.server, 'listening');
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const get = async (headers: Record<string, string>) => {
      const response = await fetch(`http://127.0.0.1:${port}/notes`, {
        headers,
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, body: await response.json().catch(() => undefined) };
    };

    try {
      // the users write through the recipe's grants (insert; owner = current_user)
      const users = createLakebase({ env: lb.env, telemetry: false });
      try {
        for (const [user, body] of [
          [ALICE, 'alice 1'],
          [BOB, 'bob 1'],
          [ALICE, 'alice 2'],
        ] as const) {
          await users
            .asUser(await lb.userHeaders(user))
            .query('insert into app.notes (body) values ($1)', [body]);
        }
      } finally {
        await users.close();
      }

      // each user gets their own rows, as { id, body }
      const notesOf = async (user: string) => {
        const { status, body } = await get(await lb.userHeaders(user));
        expect(status).toBe(200);
        const notes = body as Array<{ id: number; body: string }>;
        for (const note of notes) expect(Object.keys(note).sort()).toEqual(['body', 'id']);
        return notes.map((note) => note.body).sort();
      };
      expect(await notesOf(ALICE)).toEqual(['alice 1', 'alice 2']);
      expect(await notesOf(BOB)).toEqual(['bob 1']);

      // the kit's errors: their status and code (no forwarded token outside development)
      expect(await get({})).toEqual({ status: 401, body: { error: 'LAKEBASE_AUTHENTICATION' } });

      // any other error (here Postgres': no such table) goes on to Express: a 500, and the
      // process lives on (a throw from the async handler would be an unhandled rejection)
      await lb.sql('alter table app.notes rename to notes_away');
      try {
        expect((await get(await lb.userHeaders(ALICE))).status).toBe(500);
      } finally {
        await lb.sql('alter table app.notes_away rename to notes');
      }
      expect((await get(await lb.userHeaders(BOB))).status).toBe(200);
    } finally {
      // what a SIGTERM runs: the server stops listening, the Lakebase closes
      await listener('SIGTERM');
      process.off('SIGTERM', listener);
    }
    expect(app.server.listening).toBe(false);
    await vi.waitFor(() => expect(lb.stats().openConnections).toBe(0));
  });

  it('readme-adapter.ts: one ORM client per user scope; a shared Lakebase stays open', async () => {
    await lb.addUser(ALICE);
    const { myOrmAdapter } = (
      await runExample<typeof import('../examples/readme-adapter.js')>('examples/readme-adapter.ts')
    ).exports;
    const currentUser = async (pool: pg.Pool) =>
      (await pool.query('select current_user as u')).rows[0].u as string;

    const shared = createLakebase({ env: lb.env, telemetry: false });
    try {
      const adapter = myOrmAdapter({ lakebase: shared });
      expect(adapter.orm.pool).toBe(shared.pool);
      expect(await currentUser(adapter.orm.pool)).toBe(sp);
      const aliceHeaders = await lb.userHeaders(ALICE);
      expect(await currentUser(adapter.asUser(aliceHeaders).pool)).toBe(ALICE);
      // the verified scope is cached: the same headers give the same client
      const alice = adapter.asUser(aliceHeaders);
      expect(adapter.asUser(aliceHeaders)).toBe(alice);
      const bob = adapter.asUser(await lb.userHeaders(BOB));
      expect(bob).not.toBe(alice);
      expect(await currentUser(bob.pool)).toBe(BOB);
      await adapter.close();
      expect(shared.closed).toBe(false);
      expect(await currentUser(adapter.asUser(aliceHeaders).pool)).toBe(ALICE);
    } finally {
      await shared.close();
    }

    // from the flat options (here: the environment): owned, so close() closes it
    const owned = myOrmAdapter();
    expect(await currentUser(owned.orm.pool)).toBe(sp);
    await owned.close();
    await expect(owned.orm.pool.query('select 1')).rejects.toThrow(
      'Cannot use a pool after calling end on the pool',
    );
  });
});
