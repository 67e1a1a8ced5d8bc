/**
 * A connection Postgres refuses at startup (here: too many connections, 53300) reaches the
 * client as Postgres' own error, and is never counted as an open connection by the door.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs } from '../helpers.js';

let lb: LocalLakebase;

beforeAll(async () => {
  // 10 connections, 3 of them reserved for superusers: 7 for everyone else
  lb = await startLocalLakebase({ maxConnections: 10 });
});
afterAll(async () => {
  await lb?.stop();
});

it('a refused startup is the client’s error, not an open connection', async () => {
  const sp = lb.env.PGUSER;
  const open = [];
  let refused: { code?: string } | undefined;
  for (let i = 0; i < 10 && !refused; i++) {
    try {
      open.push(await connectAs(lb, sp, lb.mintPgToken(sp).token));
    } catch (error) {
      refused = error as { code?: string };
    }
  }
  try {
    expect(refused?.code).toBe('53300');
    // at once (no timer), the door counts exactly the connections that exist
    expect(lb.stats().openConnections).toBe(open.length);
    expect(lb.stats().connections[sp]?.open).toBe(open.length);
  } finally {
    await Promise.all(open.map((client) => client.end()));
  }
});
