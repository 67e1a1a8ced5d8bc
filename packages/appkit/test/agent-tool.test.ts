/**
 * `lakebase({ exposeAsAgentTool: {...} })` (read-only, the default; the official bare-rows
 * answer) under the real AppKit: the tool is listed by `getAgentTools()`, offered to an agent
 * through `plugins.lakebase.toolkit()`, and every call goes AppKit's own way (agents plugin →
 * `PluginContext.executeTool` → `plugin.asUser(req).executeAgentTool`) and runs as the
 * requesting user, so RLS applies.
 */
import { AuthenticationError } from '@databricks/appkit';
import { createLakebase } from '@lakebase-kit/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LakebasePlugin } from '../src/index.js';
import {
  type AgentWorld,
  ALICE,
  BOB,
  invoke,
  type ModelAnswer,
  startAgentWorld,
  withoutToken,
} from './agent-helpers.js';

const TOOL = 'lakebase.query';
let world: AgentWorld;
let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  world = await startAgentWorld(
    { exposeAsAgentTool: { maxRows: 3, timeoutMs: 20_000 } },
    { limits: { toolCallTimeoutMs: 3000 } },
  );
  alice = await world.lb.userHeaders(ALICE);
  bob = await world.lb.userHeaders(BOB);
});
afterAll(async () => {
  await world?.stop();
});

/** The tool's answer to `headers`' user (the HTTP call and the agent run must succeed). */
async function ask(headers: Record<string, string>, args: unknown): Promise<ModelAnswer> {
  const res = await invoke(world, headers, TOOL, args);
  expect(res.status, res.error).toBe(200);
  expect(res.answer?.offered).toEqual([TOOL]);
  return res.answer as ModelAnswer;
}

describe('the query agent tool (read-only)', () => {
  it('is listed by getAgentTools() with the official name, schema and annotations', () => {
    const [tool, ...rest] = world.plugin.getAgentTools();
    expect(rest).toEqual([]);
    expect(tool?.name).toBe('query');
    expect(tool?.description).toMatch(/^Execute a read-only SQL query/);
    expect(tool?.annotations).toEqual({
      effect: 'read',
      idempotent: false,
      requiresUserContext: true,
    });
    expect(tool?.parameters).toMatchObject({
      type: 'object',
      properties: { text: { type: 'string' }, values: { type: 'array' } },
      required: ['text'],
    });
    expect(Object.keys(world.plugin.toolkit())).toEqual([TOOL]);
    expect(Object.keys(world.plugin.toolkit({ prefix: '' }))).toEqual(['query']);
  });

  it('runs as the requesting user through the agent: alice and bob see only their rows', async () => {
    const sql = { text: 'select item, current_user as who from agent.orders order by item' };
    const mine = await ask(alice, sql);
    expect(mine.error).toBeUndefined();
    expect(mine.result).toEqual([
      { item: 'apple', who: ALICE },
      { item: 'avocado', who: ALICE },
    ]);
    const theirs = await ask(bob, sql);
    expect(theirs.result).toEqual([{ item: 'banana', who: BOB }]);
  });

  it('passes values as parameters', async () => {
    const answer = await ask(alice, {
      text: 'select item from agent.orders where item = $1',
      values: ['avocado'],
    });
    expect(answer.result).toEqual([{ item: 'avocado' }]);
  });

  it('applies the configured row cap and statement timeout', async () => {
    const many = await ask(alice, { text: 'select n from generate_series(1, 10) as n' });
    expect(many.result).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const timeout = await ask(alice, { text: 'show statement_timeout' });
    expect(timeout.result).toEqual([{ statement_timeout: '20s' }]);
  });

  it('answers refusals and read-only violations as errors, and the data stays as it was', async () => {
    const before = await world.rows();
    const violation = (reason: string) => ({
      name: 'ReadOnlySqlViolation',
      message: `SQL read-only policy violation: ${reason}`,
    });
    const onlyReads =
      'only SELECT, WITH, SHOW, EXPLAIN, DESCRIBE, DESC are allowed in read-only mode';
    const cases: Array<[string, Partial<ModelAnswer['error']>]> = [
      // AppKit's rule, AppKit's error and message
      ['delete from agent.orders', violation(`statement starts with 'delete'; ${onlyReads}`)],
      [
        `insert into agent.orders (item) values ('x')`,
        violation(`statement starts with 'insert'; ${onlyReads}`),
      ],
      ['SET ROLE postgres', violation(`statement starts with 'SET'; ${onlyReads}`)],
      [
        'select 1; delete from agent.orders',
        violation(`statement starts with 'delete'; ${onlyReads}`),
      ],
      // core's refusals, as the same error (AppKit would run this one)
      [`select set_config('role', 'postgres', false)`, { name: 'ReadOnlySqlViolation' }],
      // sent, and stopped by Postgres: one statement only, and a READ ONLY transaction
      ['select 1; select 2', { code: '42601' }],
      ['with d as (delete from agent.orders returning *) select * from d', { code: '25006' }],
    ];
    for (const [text, expected] of cases) {
      const answer = await ask(alice, { text });
      expect(answer.result, text).toBeUndefined();
      expect(answer.error, text).toMatchObject(expected as object);
    }
    expect(await world.rows()).toEqual(before);
  });

  it("answers malformed arguments with AppKit's message for the model", async () => {
    const answer = await ask(alice, { text: 42 });
    expect(answer.error).toBeUndefined();
    expect(answer.result).toMatch(/^Invalid arguments for query: text:/);
  });

  it('passes the abort signal on: AppKit’s tool-call timeout ends the statement', async () => {
    const open = () => world.lb.stats().connections[ALICE]?.open ?? 0;
    await ask(alice, { text: 'select 1' });
    const openBefore = open(); // alice's idle connections
    const answer = await ask(alice, { text: 'select pg_sleep(60)' });
    // the signal (its reason: AbortSignal.timeout's TimeoutError), not the 20 s
    // statement_timeout (57014), ended it
    expect(answer.error?.name).toBe('TimeoutError');
    // the connection that ran it is closed, never handed out again
    await vi.waitFor(() => expect(open()).toBe(openBefore - 1));
    const next = await ask(alice, { text: 'select current_user as who' });
    expect(next.result).toEqual([{ who: ALICE }]);
  });

  it('refuses a request whose user token did not reach the app (no SP fallback)', async () => {
    const answer = await ask(withoutToken(alice), { text: 'select current_user' });
    expect(answer.result).toBeUndefined();
    expect(answer.error).toMatchObject({
      name: 'AuthenticationError',
      code: 'AUTHENTICATION_ERROR',
      message: 'Missing user token in request headers',
    });
  });

  it('refuses executeAgentTool() without a request (no SP fallback)', async () => {
    await expect(
      world.plugin.executeAgentTool('query', { text: 'select current_user' }),
    ).rejects.toThrow(AuthenticationError);
    await expect(world.plugin.executeAgentTool('nope', {})).rejects.toThrow(/Unknown tool: nope/);
  });

  it('with development fallback on, a call without a request runs as the service principal', async () => {
    const shared = createLakebase({
      env: world.lb.env,
      developmentFallback: true,
      logger: { warn: false, error: false },
    });
    const plugin = new LakebasePlugin({
      lakebase: shared,
      exposeAsAgentTool: {},
      doctor: false,
      logger: { warn: false },
    });
    try {
      await plugin.setup();
      const result = await plugin.executeAgentTool('query', {
        text: 'select current_user as who',
      });
      expect(result).toEqual([{ who: world.lb.env.PGUSER }]);
    } finally {
      await plugin.close();
      await shared.close();
    }
  });

  it("refuses malformed options with AppKit's ConfigurationError naming the option; any userPools.mode", () => {
    const make = (config: object) => () =>
      new LakebasePlugin({ doctor: false, logger: { warn: false }, ...config });
    const cases: Array<[object, string]> = [
      [{ exposeAsAgentTool: { readOnly: 'false' } }, 'exposeAsAgentTool.readOnly'],
      [{ exposeAsAgentTool: { maxRows: 0 } }, 'exposeAsAgentTool.maxRows'],
      [{ exposeAsAgentTool: { timeoutMs: 1.5 } }, 'exposeAsAgentTool.timeoutMs'],
      [{ exposeAsAgentTool: { maxBytes: -1 } }, 'exposeAsAgentTool.maxBytes'],
      [{ exposeAsAgentTool: { answer: 'all' } }, 'exposeAsAgentTool.answer'],
      [{ exposeAsAgentTool: 'yes' }, 'exposeAsAgentTool'],
    ];
    for (const [config, option] of cases) {
      expect(make(config), JSON.stringify(config)).toThrow(
        expect.objectContaining({
          name: 'ConfigurationError',
          code: 'CONFIGURATION_ERROR',
          context: { option },
        }),
      );
    }
    // core runs an agent's statement on a login as the user in every mode (tested in core's
    // obo-agent-query: under SET ROLE, such SQL could otherwise reset the role to the SP)
    for (const mode of ['login', 'set-role', 'auto'] as const) {
      expect(make({ exposeAsAgentTool: {}, userPools: { mode } }), mode).not.toThrow();
    }
  });

  it('offers no tool without exposeAsAgentTool', () => {
    const plugin = new LakebasePlugin({ doctor: false });
    expect(plugin.getAgentTools()).toEqual([]);
    expect(plugin.toolkit()).toEqual({});
  });
});
