/**
 * `lakebase({ exposeAsAgentTool: { readOnly: false } })` under the real AppKit: the tool is
 * annotated destructive, so AppKit's agents plugin asks for approval before each call (and
 * refuses it on the non-streaming `/invocations`); an approved call writes one statement as
 * the requesting user, with RLS's `with check` applying; a denied one writes nothing. This
 * world uses `answer: 'detailed'` (the whole result instead of the official bare rows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentWorld,
  ALICE,
  BOB,
  chat,
  invoke,
  startAgentWorld,
  withoutToken,
} from './agent-helpers.js';

const TOOL = 'lakebase.query';
let world: AgentWorld;
let alice: Record<string, string>;

beforeAll(async () => {
  world = await startAgentWorld({ exposeAsAgentTool: { readOnly: false, answer: 'detailed' } });
  alice = await world.lb.userHeaders(ALICE);
});
afterAll(async () => {
  await world?.stop();
});

describe('the query agent tool (readOnly: false)', () => {
  it('is annotated destructive, with the official description', () => {
    const [tool] = world.plugin.getAgentTools();
    expect(tool?.name).toBe('query');
    expect(tool?.description).toMatch(/This tool can modify data; every invocation requires/);
    expect(tool?.annotations).toEqual({
      effect: 'destructive',
      idempotent: false,
      requiresUserContext: true,
    });
  });

  it('is refused by AppKit on /invocations, which cannot ask for approval', async () => {
    const res = await invoke(world, alice, TOOL, { text: 'select 1' });
    expect(res.status).toBe(400);
    expect(res.error).toMatch(/approval-gated tool\(s\) \(lakebase\.query\)/);
  });

  it('writes as the user once approved', async () => {
    const { approvals, answer } = await chat(
      world,
      alice,
      TOOL,
      { text: 'insert into agent.orders (item) values ($1) returning owner', values: ['kiwi'] },
      'approve',
    );
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({
      tool_name: TOOL,
      annotations: { effect: 'destructive' },
    });
    expect(answer?.error).toBeUndefined();
    expect(answer?.result).toMatchObject({
      command: 'INSERT',
      rowCount: 1,
      rows: [{ owner: ALICE }],
    });
    expect(await world.rows()).toContainEqual({ item: 'kiwi', owner: ALICE });
  });

  it('writes nothing when denied', async () => {
    const before = await world.rows();
    const { approvals, answer } = await chat(
      world,
      alice,
      TOOL,
      { text: `delete from agent.orders` },
      'deny',
    );
    expect(approvals).toHaveLength(1);
    expect(answer?.result).toMatch(/denied by user approval gate/);
    expect(await world.rows()).toEqual(before);
  });

  it('keeps RLS, one statement, and the session refusals in write mode', async () => {
    const before = await world.rows();
    const cases: Array<[string, object]> = [
      // RLS: alice cannot write a row for bob
      [`insert into agent.orders (item, owner) values ('forged', '${BOB}')`, { code: '42501' }],
      // one statement only, in write mode too
      ['select 1; delete from agent.orders', { code: '42601' }],
      // refused before anything is sent: AppKit's ValidationError (400)
      ['SET ROLE postgres', { name: 'ValidationError', code: 'VALIDATION_ERROR' }],
      ['COMMIT', { name: 'ValidationError', code: 'VALIDATION_ERROR' }],
      [`select set_config('role', 'postgres', false)`, { name: 'ValidationError' }],
    ];
    for (const [text, expected] of cases) {
      const { answer } = await chat(world, alice, TOOL, { text }, 'approve');
      expect(answer?.result, text).toBeUndefined();
      expect(answer?.error, text).toMatchObject(expected);
    }
    expect(await world.rows()).toEqual(before);
  });

  it('refuses a request whose user token did not reach the app (no SP fallback)', async () => {
    const before = await world.rows();
    const { answer } = await chat(
      world,
      withoutToken(alice),
      TOOL,
      { text: 'delete from agent.orders' },
      'approve',
    );
    expect(answer?.error?.name).toBe('AuthenticationError');
    expect(await world.rows()).toEqual(before);
  });
});
