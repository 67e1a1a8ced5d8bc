/**
 * P4 (child side): many distinct users, each running `queriesPerUser` queries one after the
 * other (one request each), `concurrency` users at once.
 * - ours: `createLakebase({ userPools: { maxConnections: 50 } }).asUser(headers).query(...)`;
 * - official: AppKit 0.38.1's `createLakebasePoolManager` used the way its lakebase plugin
 *   does: per request a `WorkspaceClient` from the user's token (PAT auth, as AppKit's
 *   `createUserContext`), then `getPool(email, { workspaceClient, user }, fingerprint)` with
 *   the plugin's per-user defaults (max 3, idle 30 s), and no cap across users.
 */
import { createHash } from 'node:crypto';
import { createLakebasePoolManager } from '@databricks/appkit';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { createLakebase, redactSecrets } from '@lakebase-kit/core';
import type pg from 'pg';
import type { UsersResult, UsersTask } from '../protocol.js';

const SQL = 'select current_user as me';

type RunQuery = (headers: Record<string, string>) => Promise<pg.QueryResult<{ me: string }>>;

interface Runner {
  query: RunQuery;
  close(): Promise<void>;
}

function ours(budget: number): Runner {
  const lakebase = createLakebase({ userPools: { maxConnections: budget } });
  return {
    query: (headers) => lakebase.asUser(headers).query<{ me: string }>(SQL),
    close: () => lakebase.close(),
  };
}

function official(): Runner {
  // AppKit's lakebase plugin: createLakebasePoolManager({ ...poolConfig, ...OBO_POOL_DEFAULTS })
  const manager = createLakebasePoolManager({
    max: 3,
    allowExitOnIdle: true,
    idleTimeoutMillis: 30_000,
  });
  const host = process.env.DATABRICKS_HOST;
  return {
    query: (headers) => {
      const token = headers['x-forwarded-access-token'] as string;
      const email = headers['x-forwarded-email'] as string;
      // AppKit's ServiceContext.createUserContext, once per request
      const workspaceClient = new WorkspaceClient({ token, host, authType: 'pat' });
      const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 16);
      const pool = manager.getPool(email, { workspaceClient, user: email }, fingerprint);
      // an idle connection killed by the server must not crash the benchmark
      if (pool.listenerCount('error') === 0) pool.on('error', () => {});
      return pool.query<{ me: string }>(SQL);
    },
    close: () => manager.closeAll(),
  };
}

export async function runUsers(task: UsersTask): Promise<UsersResult> {
  const runner = task.contender === 'ours' ? ours(task.budget) : official();
  let queries = 0;
  let errors = 0;
  let wrongIdentity = 0;
  const samples = new Set<string>();
  let next = 0;
  const user = async (headers: Record<string, string>) => {
    for (let q = 0; q < task.queriesPerUser; q++) {
      try {
        const { rows } = await runner.query(headers);
        queries++;
        if (rows[0]?.me !== headers['x-forwarded-email']) wrongIdentity++;
      } catch (error) {
        errors++;
        if (samples.size < 5) samples.add(redactSecrets(String((error as Error).message), 160));
      }
    }
  };
  const lane = async () => {
    while (next < task.users.length) {
      const headers = task.users[next++] as Record<string, string>;
      await user(headers);
    }
  };
  const start = performance.now();
  try {
    await Promise.all(Array.from({ length: task.concurrency }, lane));
    return {
      wallMs: performance.now() - start,
      queries,
      errors,
      errorSamples: [...samples],
      wrongIdentity,
    };
  } finally {
    await runner.close().catch(() => {});
  }
}
