import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs, connectError, waitFor } from '../helpers.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
});
afterAll(async () => {
  await lb?.stop();
});

describe('token-checking proxy', () => {
  it('accepts a token minted for exactly that user, and several tokens at once', async () => {
    const first = lb.mintPgToken(ALICE).token;
    const second = lb.mintPgToken(ALICE).token;
    for (const token of [first, second]) {
      const client = await connectAs(lb, ALICE, token);
      expect((await client.query('select current_user')).rows[0].current_user).toBe(ALICE);
      await client.end();
    }
  });

  it('rejects a wrong token with 28P01 and the standard message', async () => {
    const error = await connectError(lb, ALICE, 'not-a-token');
    expect(error.code).toBe('28P01');
    expect(error.message).toBe(`password authentication failed for user "${ALICE}"`);
  });

  it('rejects a valid token of an identity without a Postgres role with 28P01, as Lakebase does', async () => {
    lb.resetStats();
    const error = await connectError(
      lb,
      'norole@example.com',
      lb.mintPgToken('norole@example.com').token,
    );
    expect(error.code).toBe('28P01');
    expect(error.message).toBe('password authentication failed for user "norole@example.com"');
    expect(lb.stats()).toMatchObject({ authAttempts: 1, authFailures: 1 });
    await lb.addUser('norole@example.com');
    await (
      await connectAs(lb, 'norole@example.com', lb.mintPgToken('norole@example.com').token)
    ).end();
  });

  it("rejects alice's token used as bob", async () => {
    const error = await connectError(lb, BOB, lb.mintPgToken(ALICE).token);
    expect(error.code).toBe('28P01');
  });

  it('rejects an expired token', async () => {
    const expired = lb.mintPgToken(ALICE, { ttlSeconds: -1 });
    expect(Date.parse(expired.expire_time)).toBeLessThan(Date.now());
    expect((await connectError(lb, ALICE, expired.token)).code).toBe('28P01');
  });

  it('revoke(): tokens minted before stop working, later ones work', async () => {
    const before = lb.mintPgToken(BOB).token;
    lb.faults.revoke(BOB);
    expect((await connectError(lb, BOB, before)).code).toBe('28P01');
    const after = await connectAs(lb, BOB, lb.mintPgToken(BOB).token);
    expect((await after.query('select 1 as one')).rows[0].one).toBe(1);
    await after.end();
  });

  it('does not let the Postgres token be used as a bearer, nor a bearer as a password', async () => {
    expect((await connectError(lb, ALICE, lb.userToken(ALICE))).code).toBe('28P01');
    const response = await fetch(`${lb.host}/api/2.0/preview/scim/v2/Me`, {
      headers: { authorization: `Bearer ${lb.mintPgToken(ALICE).token}` },
    });
    expect(response.status).toBe(401);
  });

  it('counts auth attempts, failures and connections per role', async () => {
    lb.resetStats();
    await connectError(lb, ALICE, 'wrong');
    const clients = await Promise.all(
      [1, 2, 3].map(() => connectAs(lb, ALICE, lb.mintPgToken(ALICE).token)),
    );
    const during = lb.stats();
    expect(during.authAttempts).toBe(4);
    expect(during.authFailures).toBe(1);
    expect(during.connections[ALICE]).toEqual({ open: 3, peak: 3, total: 3 });
    expect(during.openConnections).toBe(3);
    expect(during.peakConnections).toBe(3);
    await Promise.all(clients.map((client) => client.end()));
    await waitFor(() => lb.stats().openConnections === 0, 'connections to close');
    const after = lb.stats();
    expect(after.connections[ALICE]).toEqual({ open: 0, peak: 3, total: 3 });
    expect(after.peakConnections).toBe(3);
    lb.resetStats();
    expect(lb.stats()).toMatchObject({ authAttempts: 0, peakConnections: 0, connections: {} });
  });

  it('forwards CancelRequest to Postgres (query canceled, 57014)', async () => {
    const client = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    const internals = client as unknown as { processID: number; secretKey: number };
    const running = client.query('select pg_sleep(30)');
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(80877102, 4);
    packet.writeInt32BE(internals.processID, 8);
    packet.writeInt32BE(internals.secretKey, 12);
    // Wait until the backend is really running the sleep, then cancel through the proxy.
    let active = 0;
    await waitFor(
      () => active > 0,
      'the sleep to run',
      10_000,
      async () => {
        const [row] = await lb.sql<{ n: number }>(
          "select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'",
        );
        active = row?.n ?? 0;
      },
    );
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(lb.proxyPort, '127.0.0.1', () => socket.end(packet));
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    await expect(running).rejects.toMatchObject({ code: '57014' });
    await client.end();
  });
});
