/**
 * The official plugin's own agent-tool tests (AppKit 0.38.1,
 * `packages/appkit/src/plugins/lakebase/tests/lakebase-agent-tool.test.ts`), ported from its
 * mocked pool to the local Lakebase and run against BOTH plugins: the official `lakebase()` of
 * `@databricks/appkit` and ours. Each official assertion is kept; where it inspected the mock
 * (the statements a client received, how often it was released), the port asks Postgres or the
 * local Lakebase instead (the transaction is READ ONLY; a refused statement opens no
 * connection; a failed statement leaks no client).
 *
 * The official tests call `plugin.executeAgentTool(...)` outside any user context, which the
 * official plugin runs as the service principal; ours runs such a call only with
 * `developmentFallback` on (else it refuses it, last test), so ours is built with it here.
 */
import { createApp, lakebase as officialLakebase } from '@databricks/appkit';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakebase as ourLakebase } from '../src/index.js';

const ALICE = 'alice@example.com';
const CAROL = 'carol@example.com';

interface ToolPlugin {
  getAgentTools(): Array<{ name: string; annotations?: unknown }>;
  executeAgentTool(name: string, args: unknown, signal?: AbortSignal): Promise<unknown>;
  asUser(req: never): ToolPlugin;
  setup(): Promise<void>;
  exports(): unknown;
}

type Which = 'official' | 'ours';
type Config = { pool?: object; exposeAsAgentTool?: { readOnly?: boolean } };

let lb: LocalLakebase;
const savedEnv = { ...process.env };
const made: Array<{ which: Which; plugin: ToolPlugin }> = [];

/** A plugin as AppKit builds it (`new Plugin({ ...config, name })`), set up. */
async function make(which: Which, config: Config): Promise<ToolPlugin> {
  let plugin: ToolPlugin;
  if (which === 'official') {
    // the official plugin verifies TLS against Node's CA store only: give it the local CA
    const full = {
      ...config,
      name: 'lakebase',
      pool: { ...config.pool, ssl: { ca: lb.tls!.caPem } },
    };
    plugin = new (officialLakebase(full).plugin)(full) as unknown as ToolPlugin;
  } else {
    const full = {
      ...config,
      name: 'lakebase',
      developmentFallback: true,
      doctor: false,
      logger: { info: false, warn: false },
    };
    plugin = new (ourLakebase(full).plugin)(full) as unknown as ToolPlugin;
  }
  await plugin.setup();
  made.push({ which, plugin });
  return plugin;
}

/** An Express-like request from the Databricks Apps proxy. */
async function requestOf(email: string): Promise<never> {
  const headers = await lb.userHeaders(email);
  return { headers, header: (name: string) => headers[name.toLowerCase()] } as never;
}

async function sp(text: string) {
  const plugin = await make('ours', {});
  return (plugin.exports() as { query: (t: string) => Promise<{ rows: unknown[] }> }).query(text);
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE] });
  Object.assign(process.env, lb.env, {
    DISABLE_APPKIT_INTERNAL_TELEMETRY: 'true',
    NODE_ENV: 'production',
  });
  // AppKit's service context (the official asUser needs it), as createApp sets it up
  await createApp({ plugins: [] });
  await sp(`create schema tool;
    create table tool.users (id int primary key, email text not null);
    create table tool.t (id int primary key, x int not null);
    create sequence tool.s;
    insert into tool.users values (42, 'answer@example.com'), (7, 'other@example.com');
    insert into tool.t values (42, 0);
    grant usage on schema tool to public;
    grant select, update on all tables in schema tool to public`);
});

afterAll(async () => {
  for (const { which, plugin } of made) {
    if (which === 'ours') await (plugin as unknown as { close(): Promise<void> }).close();
    else (plugin as unknown as { abortActiveOperations(): void }).abortActiveOperations();
  }
  await lb?.stop();
  process.env = savedEnv;
});

describe.each<Which>(['official', 'ours'])(
  'the official agent-tool tests, on the %s plugin',
  (which) => {
    it('returns no tools by default', async () => {
      expect((await make(which, {})).getAgentTools()).toEqual([]);
      expect((await make(which, { pool: {} })).getAgentTools()).toEqual([]);
    });

    it('exposes the query tool when opted in (read annotations)', async () => {
      const defs = (await make(which, { exposeAsAgentTool: {} })).getAgentTools();
      expect(defs).toHaveLength(1);
      expect(defs[0]?.name).toBe('query');
      expect(defs[0]?.annotations).toEqual({
        effect: 'read',
        idempotent: false,
        requiresUserContext: true,
      });
    });

    it('annotates the tool destructive with readOnly: false', async () => {
      const defs = (await make(which, { exposeAsAgentTool: { readOnly: false } })).getAgentTools();
      expect(defs[0]?.annotations).toEqual({
        effect: 'destructive',
        idempotent: false,
        requiresUserContext: true,
      });
    });

    it('rejects non-read-only statements without touching a connection', async () => {
      const plugin = await make(which, { exposeAsAgentTool: {} });
      const carol = plugin.asUser(await requestOf(CAROL));
      const before = lb.stats();
      for (const text of [
        'DROP TABLE users',
        "UPDATE users SET email='x'",
        'DELETE FROM orders',
        'INSERT INTO x VALUES (1)',
      ]) {
        await expect(plugin.executeAgentTool('query', { text }), text).rejects.toThrow(
          /read-only policy violation/i,
        );
        await expect(carol.executeAgentTool('query', { text }), text).rejects.toMatchObject({
          name: 'ReadOnlySqlViolation',
          message: expect.stringMatching(/^SQL read-only policy violation: statement starts with/),
        });
      }
      // the official test: no client query was made (here: carol never connected or minted)
      expect(lb.stats().connections[CAROL]).toBeUndefined();
      expect(lb.stats().credentialCalls[CAROL]).toBeUndefined();
      expect(lb.stats().authAttempts).toBe(before.authAttempts);
    });

    it('runs a read-only statement in a READ ONLY transaction and returns the rows', async () => {
      const plugin = await make(which, { exposeAsAgentTool: {} });
      expect(await plugin.executeAgentTool('query', { text: 'SELECT 1 AS n' })).toEqual([{ n: 1 }]);
      // the official test saw BEGIN READ ONLY … ROLLBACK on the client: Postgres says so here
      expect(
        await plugin.executeAgentTool('query', {
          text: "SELECT current_setting('transaction_read_only') AS ro",
        }),
      ).toEqual([{ ro: 'on' }]);
      await expect(
        plugin.executeAgentTool('query', { text: "SELECT nextval('tool.s') AS n" }),
      ).rejects.toMatchObject({ code: '25006' });
    });

    it('passes values to the statement', async () => {
      const plugin = await make(which, { exposeAsAgentTool: {} });
      expect(
        await plugin.executeAgentTool('query', {
          text: 'SELECT * FROM tool.users WHERE id = $1',
          values: [42],
        }),
      ).toEqual([{ id: 42, email: 'answer@example.com' }]);
    });

    it('releases the client when the statement throws (more failures than the pool has clients)', async () => {
      const plugin = await make(which, { exposeAsAgentTool: {} });
      for (let i = 0; i < 12; i++) {
        await expect(
          plugin.executeAgentTool('query', { text: 'SELECT * FROM tool.missing' }),
        ).rejects.toMatchObject({ code: '42P01' });
      }
      expect(await plugin.executeAgentTool('query', { text: 'SELECT 2 AS n' })).toEqual([{ n: 2 }]);
    });

    it('runs a destructive statement with its values when readOnly: false', async () => {
      const plugin = await make(which, { exposeAsAgentTool: { readOnly: false } });
      expect(
        await plugin.executeAgentTool('query', {
          text: 'UPDATE tool.t SET x=1 WHERE id=$1',
          values: [42],
        }),
      ).toEqual([]);
      expect((await sp('select x from tool.t where id = 42')).rows).toEqual([{ x: 1 }]);
    });

    it('in a user context, runs a read-only statement on the user’s own connection', async () => {
      const plugin = await make(which, { exposeAsAgentTool: {} });
      const alice = plugin.asUser(await requestOf(ALICE));
      expect(await alice.executeAgentTool('query', { text: 'SELECT current_user AS who' })).toEqual(
        [{ who: ALICE }],
      );
    });

    it('in a user context, runs a destructive statement on the user’s pool', async () => {
      const plugin = await make(which, { exposeAsAgentTool: { readOnly: false } });
      const alice = plugin.asUser(await requestOf(ALICE));
      expect(
        await alice.executeAgentTool('query', {
          text: 'UPDATE tool.t SET x=1 WHERE id=$1 RETURNING current_user AS who',
          values: [42],
        }),
      ).toEqual([{ who: ALICE }]);
    });

    it('still enforces the read-only policy in a user context', async () => {
      const plugin = await make(which, { exposeAsAgentTool: {} });
      const alice = plugin.asUser(await requestOf(ALICE));
      await expect(
        alice.executeAgentTool('query', { text: 'DROP TABLE tool.users' }),
      ).rejects.toThrow(/read-only policy violation/i);
      expect((await sp('select count(*)::int as n from tool.users')).rows).toEqual([{ n: 2 }]);
    });
  },
);

describe('where ours is stricter', () => {
  it('a call without a request: the official runs it as the SP; ours refuses it unless developmentFallback', async () => {
    const official = await make('official', { exposeAsAgentTool: {} });
    expect(
      await official.executeAgentTool('query', { text: 'SELECT current_user AS who' }),
    ).toEqual([{ who: lb.env.PGUSER }]);
    const config = {
      name: 'lakebase',
      exposeAsAgentTool: {},
      doctor: false,
      logger: { warn: false },
    };
    const ours = new (ourLakebase(config).plugin)(config);
    await ours.setup();
    try {
      await expect(
        ours.executeAgentTool('query', { text: 'SELECT current_user AS who' }),
      ).rejects.toMatchObject({ name: 'AuthenticationError', statusCode: 401 });
    } finally {
      await ours.close();
    }
  });
});
