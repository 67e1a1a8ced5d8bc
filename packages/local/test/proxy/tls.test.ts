import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { createLocalCertificates } from '../../src/proxy/certificates.js';
import { GSSENC_REQUEST, SSL_REQUEST } from '../../src/proxy/protocol.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;

let plain: LocalLakebase;

beforeAll(async () => {
  // TLS is the default, as on Lakebase; `plain` is the opt-out.
  [lb, plain] = await Promise.all([
    startLocalLakebase({ users: [ALICE] }),
    startLocalLakebase({ users: [ALICE], tls: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([lb?.stop(), plain?.stop()]);
});

type Stream = { encrypted?: boolean; authorized?: boolean };
/** The socket node-postgres talks over (a TLSSocket once it upgraded). */
const streamOf = (client: pg.Client): Stream =>
  (client as unknown as { connection: { stream: Stream } }).connection.stream;

function client(
  user: string,
  password: string,
  ssl: pg.ClientConfig['ssl'],
  host = '127.0.0.1',
  port = lb.proxyPort,
): pg.Client {
  const c = new pg.Client({ host, port, user, password, database: lb.database, ssl });
  c.on('error', () => undefined);
  return c;
}

async function connectError(c: pg.Client): Promise<Error & { code?: string }> {
  try {
    await c.connect();
  } catch (error) {
    return error as Error & { code?: string };
  } finally {
    await c.end().catch(() => undefined);
  }
  throw new Error('connecting unexpectedly succeeded');
}

describe('TLS on the proxy (the default)', () => {
  it('exposes the CA and the TLS env', () => {
    expect(lb.tls?.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(lb.env.PGSSLMODE).toBe('require');
    expect(lb.env.PGSSLROOTCERT).toBe(lb.tls?.caFile);
  });

  it('verifies against the local CA (IP and localhost) and relays queries over TLS', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const c = client(
        lb.env.PGUSER,
        lb.mintPgToken(lb.env.PGUSER).token,
        { ca: lb.tls!.caPem, rejectUnauthorized: true },
        host,
      );
      await c.connect();
      const stream = streamOf(c);
      expect(stream).toBeInstanceOf(tls.TLSSocket);
      expect(stream.encrypted).toBe(true);
      expect(stream.authorized).toBe(true);
      const { rows } = await c.query('select current_user, $1::text as echo', ['x'.repeat(50_000)]);
      expect(rows[0].current_user).toBe(lb.env.PGUSER);
      expect(rows[0].echo).toHaveLength(50_000);
      await c.end();
    }
  });

  it('rejects a plaintext startup with FATAL 28000', async () => {
    const error = await connectError(client(ALICE, lb.mintPgToken(ALICE).token, false));
    expect(error.code).toBe('28000');
    expect(error.message).toBe('SSL connection is required');
  });

  it('fails verification against another CA', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'other-ca-'));
    try {
      const other = await createLocalCertificates(dir);
      const token = lb.mintPgToken(ALICE).token;
      const error = await connectError(
        client(ALICE, token, { ca: other.caPem, rejectUnauthorized: true }),
      );
      expect(error.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      expect(error.message).not.toContain(token);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('still checks tokens over TLS (wrong token → 28P01), and counts connections', async () => {
    const error = await connectError(
      client(ALICE, 'not-a-token', { ca: lb.tls!.caPem, rejectUnauthorized: true }),
    );
    expect(error.code).toBe('28P01');
    expect(error.message).toBe(`password authentication failed for user "${ALICE}"`);

    const c = client(ALICE, lb.mintPgToken(ALICE).token, { rejectUnauthorized: false });
    await c.connect();
    expect(lb.stats().connections[ALICE]?.open).toBe(1);
    await c.end();
    await expect.poll(() => lb.stats().connections[ALICE]?.open).toBe(0);
  });

  it('answers GSSENCRequest N, then SSLRequest S; rejects bytes sent before the S', async () => {
    const request = (code: number) => {
      const packet = Buffer.alloc(8);
      packet.writeInt32BE(8, 0);
      packet.writeInt32BE(code, 4);
      return packet;
    };
    const socket = net.connect(lb.proxyPort, '127.0.0.1');
    const replies: string[] = [];
    socket.on('data', (chunk) => replies.push(chunk.toString('latin1')));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(request(GSSENC_REQUEST));
    await expect.poll(() => replies.join('')).toBe('N');
    socket.write(request(SSL_REQUEST));
    await expect.poll(() => replies.join('')).toBe('NS');
    socket.destroy();

    // Plaintext pipelined after the SSLRequest (CVE-2021-23214 style) is refused, not read as TLS.
    const eager = net.connect(lb.proxyPort, '127.0.0.1');
    const answer: Buffer[] = [];
    eager.on('data', (chunk) => answer.push(chunk));
    eager.on('error', () => undefined);
    await new Promise((resolve) => eager.once('connect', resolve));
    eager.write(Buffer.concat([request(SSL_REQUEST), Buffer.from('plaintext')]));
    await new Promise((resolve) => eager.once('close', resolve));
    const text = Buffer.concat(answer).toString('latin1');
    expect(text).toContain('08P01');
    expect(text).toContain('received unencrypted data after SSL request');
  });
});

describe('plaintext (tls: false)', () => {
  it('has no CA, says PGSSLMODE=disable, answers SSLRequest N and serves plaintext', async () => {
    expect(plain.tls).toBeUndefined();
    expect(plain.env.PGSSLMODE).toBe('disable');
    expect(plain.env.PGSSLROOTCERT).toBeUndefined();

    const socket = net.connect(plain.proxyPort, '127.0.0.1');
    const replies: string[] = [];
    socket.on('data', (chunk) => replies.push(chunk.toString('latin1')));
    await new Promise((resolve) => socket.once('connect', resolve));
    const packet = Buffer.alloc(8);
    packet.writeInt32BE(8, 0);
    packet.writeInt32BE(SSL_REQUEST, 4);
    socket.write(packet);
    await expect.poll(() => replies.join('')).toBe('N');
    socket.destroy();

    const c = client(ALICE, plain.mintPgToken(ALICE).token, false, '127.0.0.1', plain.proxyPort);
    await c.connect();
    expect((await c.query('select current_user')).rows[0].current_user).toBe(ALICE);
    await c.end();
  });
});
