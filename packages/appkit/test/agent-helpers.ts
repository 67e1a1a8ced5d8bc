/**
 * The world of the agent-tool tests: the real `createApp` with `server()`, our `lakebase()` and
 * AppKit's own `agents()` plugin, on the local Lakebase. The only stand-in is the LLM: a
 * scripted `AgentAdapter` (AppKit's public model interface) that reads a tool call from the
 * user's message, makes it through AppKit's `executeTool` (the agents plugin's dispatch →
 * `PluginContext.executeTool` → `plugin.asUser(req).executeAgentTool`), and answers what came
 * back. Requests carry the headers the Databricks Apps proxy forwards.
 */
import { createApp, server } from '@databricks/appkit';
import { type AgentAdapter, agents, createAgent } from '@databricks/appkit/beta';
import { createLakebase } from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { type LakebasePlugin, type LakebasePluginConfig, lakebase } from '../src/index.js';

export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

/** What the scripted model answers: the tools it was offered and the tool's result or error. */
export interface ModelAnswer {
  offered: string[];
  result?: unknown;
  error?: { name: string; message: string; code?: string };
}

/** A deterministic LLM: the user's message is `{ tool, args }`; it calls that tool once. */
const scriptedModel: AgentAdapter = {
  async *run(input, context) {
    const last = input.messages.at(-1);
    const call = JSON.parse(last?.content ?? '{}') as { tool: string; args: unknown };
    const answer: ModelAnswer = { offered: input.tools.map((t) => t.name) };
    try {
      const output = await context.executeTool(call.tool, call.args);
      // the agents plugin hands the model a string: JSON of the result, or a message
      try {
        answer.result = JSON.parse(String(output));
      } catch {
        answer.result = output;
      }
    } catch (error) {
      const { name, message, code } = error as Error & { code?: string };
      answer.error = { name, message, code };
    }
    yield { type: 'message', content: JSON.stringify(answer) };
  },
};

export interface AgentWorld {
  lb: LocalLakebase;
  base: string;
  /** The plugin instance, as an agent's `tools(plugins)` receives it. */
  plugin: LakebasePlugin;
  /** The SP's view of the rows (for "the data is unchanged"). */
  rows(): Promise<Array<{ item: string; owner: string }>>;
  stop(): Promise<void>;
}

/**
 * Starts the local Lakebase with `agent.orders` under RLS (alice: apple, avocado; bob: banana),
 * and the app with one agent whose tools are `plugins.lakebase.toolkit()`.
 */
export async function startAgentWorld(
  pluginConfig: LakebasePluginConfig,
  agentsConfig: { limits?: { toolCallTimeoutMs?: number } } = {},
): Promise<AgentWorld> {
  const lb = await startLocalLakebase({ users: [ALICE, BOB] });
  const savedEnv = { ...process.env };
  Object.assign(process.env, lb.env, {
    DISABLE_APPKIT_INTERNAL_TELEMETRY: 'true',
    NODE_ENV: 'production',
  });
  const admin = createLakebase({ env: lb.env, logger: { error: false } });
  await admin.query(`create schema agent;
    create table agent.orders (id serial primary key, item text not null, owner text not null default current_user);
    alter table agent.orders enable row level security;
    create policy own on agent.orders using (owner = current_user) with check (owner = current_user);
    grant usage on schema agent to "${ALICE}", "${BOB}";
    grant select, insert, update, delete on agent.orders to "${ALICE}", "${BOB}";
    grant usage on sequence agent.orders_id_seq to "${ALICE}", "${BOB}";
    insert into agent.orders (item, owner) values ('apple', '${ALICE}'), ('avocado', '${ALICE}'), ('banana', '${BOB}')`);
  const port = 20000 + Math.floor(Math.random() * 20000);
  let plugin: LakebasePlugin | undefined;
  const analyst = createAgent({
    instructions: 'Answer with SQL.',
    model: scriptedModel,
    tools(plugins) {
      plugin = plugins.lakebase as unknown as LakebasePlugin;
      return { ...plugins.lakebase?.toolkit() };
    },
  });
  const app = await createApp({
    plugins: [
      server({ port, host: '127.0.0.1' }),
      lakebase({ doctor: false, ...pluginConfig }),
      agents({ dir: false, agents: { analyst }, ...agentsConfig }),
    ],
  });
  if (!plugin) throw new Error('the agent was not given the lakebase plugin');
  const found = plugin;
  return {
    lb,
    base: `http://127.0.0.1:${port}`,
    plugin: found,
    rows: async () =>
      (await admin.query('select item, owner from agent.orders order by item')).rows,
    stop: async () => {
      const http = app.server.getServer();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
      await app.lakebase.lakebase.close();
      await admin.close();
      await lb.stop();
      process.env = savedEnv;
    },
  };
}

/** A tool call made by the agent over `POST /invocations` (non-streaming). */
export async function invoke(
  world: AgentWorld,
  headers: Record<string, string>,
  tool: string,
  args: unknown,
): Promise<{ status: number; answer?: ModelAnswer; error?: string }> {
  const res = await fetch(`${world.base}/invocations`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ input: JSON.stringify({ tool, args }) }),
  });
  const body = (await res.json()) as {
    output?: Array<{ content: Array<{ text: string }> }>;
    error?: string;
  };
  const text = body.output?.[0]?.content[0]?.text;
  return {
    status: res.status,
    answer: text ? (JSON.parse(text) as ModelAnswer) : undefined,
    error: body.error,
  };
}

interface SseEvent {
  type: string;
  [key: string]: unknown;
}

/**
 * A tool call made by the agent over `POST /api/agents/chat` (SSE), answering each approval
 * prompt with `decision` through `POST /api/agents/approve`, as the chat UI does.
 */
export async function chat(
  world: AgentWorld,
  headers: Record<string, string>,
  tool: string,
  args: unknown,
  decision: 'approve' | 'deny',
): Promise<{ approvals: SseEvent[]; answer: ModelAnswer | undefined }> {
  const res = await fetch(`${world.base}/api/agents/chat`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ message: JSON.stringify({ tool, args }) }),
  });
  if (!res.ok || !res.body) throw new Error(`chat answered ${res.status}`);
  const approvals: SseEvent[] = [];
  let answer: ModelAnswer | undefined;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (!data) continue;
      const event = JSON.parse(data) as SseEvent;
      if (event.type === 'appkit.approval_pending') {
        approvals.push(event);
        const approved = await fetch(`${world.base}/api/agents/approve`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({
            streamId: event.stream_id,
            approvalId: event.approval_id,
            decision,
          }),
        });
        if (!approved.ok) throw new Error(`approve answered ${approved.status}`);
      }
      const item = event.item as { type?: string; content?: Array<{ text: string }> } | undefined;
      if (event.type === 'response.output_item.done' && item?.type === 'message') {
        const text = item.content?.[0]?.text;
        if (text) answer = JSON.parse(text) as ModelAnswer;
      }
    }
  }
  return { approvals, answer };
}

/** The forwarded headers of a signed-in user whose access token did not reach the app. */
export function withoutToken(headers: Record<string, string>): Record<string, string> {
  const { 'x-forwarded-access-token': _token, ...rest } = headers;
  return rest;
}
