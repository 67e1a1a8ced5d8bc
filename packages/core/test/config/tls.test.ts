/**
 * The sslmodes of createLakebasePool against a local Lakebase that serves TLS like the real one
 * (its own CA, a certificate for 127.0.0.1/localhost, plaintext startups refused with 28000).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { applyEnv, TOKEN_PATTERN } from '@lakebase-kit/local/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLakebasePool,
  getLakebasePgConfig,
  type LakebasePoolConfig,
} from '../../src/index.js';
import { captureLogger, localPoolOptions, renderError } from '../support/sp-support.js';

let lb: LocalLakebase;
let clientId: string;
let caFile: string;
let otherCaFile: string;
let tmp: string;
const log = captureLogger();
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);

beforeAll(async () => {
  lb = await startLocalLakebase({ tls: true });
  clientId = lb.servicePrincipal.clientId;
  caFile = lb.tls!.caFile;
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sp-tls-'));
  // A real CA that did not sign the local Lakebase's certificate.
  otherCaFile = path.join(tmp, 'other-ca.pem');
  await fs.writeFile(otherCaFile, tls.rootCertificates[0]!);
  process.on('warning', onWarning);
});
afterAll(async () => {
  process.off('warning', onWarning);
  await lb?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

type Stream = { encrypted?: boolean; authorized?: boolean };

/** Connects one client of a fresh pool; returns who it is and how its socket is secured. */
async function probe(extra: Partial<LakebasePoolConfig>, host = lb.env.PGHOST) {
  const pool = createLakebasePool(localPoolOptions(lb, { host, logger: log.logger, ...extra }));
  try {
    const client = await pool.connect();
    try {
      const stream = (client as unknown as { connection: { stream: Stream } }).connection.stream;
      const { rows } = await client.query('select current_user as me');
      return {
        me: rows[0].me as string,
        encrypted: stream.encrypted,
        authorized: stream.authorized,
      };
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

/** Connects expecting failure; asserts the error names no token and returns it. */
async function probeError(extra: Partial<LakebasePoolConfig>, host = lb.env.PGHOST) {
  const pool = createLakebasePool(
    localPoolOptions(lb, { host, logger: log.logger, connectionTimeoutMillis: 10_000, ...extra }),
  );
  pool.on('error', () => undefined);
  try {
    await pool.query('select 1');
  } catch (error) {
    const rendered = renderError(error);
    expect(rendered).not.toMatch(TOKEN_PATTERN);
    return { error: error as Error & { code?: string }, rendered };
  } finally {
    await pool.end();
  }
  throw new Error('connecting unexpectedly succeeded');
}

describe('sslmodes against a TLS local Lakebase', () => {
  it("require (core's default) verifies, as the official kit does: without the local CA it fails", async () => {
    const { rendered } = await probeError({ sslMode: 'require', sslRootCert: undefined });
    expect(rendered).toMatch(/unable to verify the first certificate/i);
    expect(lb.stats().authAttempts).toBe(0); // no token was offered to an unverified server
    const result = await probe({ sslMode: 'require', sslRootCert: caFile });
    expect(result).toEqual({ me: clientId, encrypted: true, authorized: true });
  });

  it('weaker modes must be asked for by name, are logged once per config, and the doctor warns', async () => {
    const lines = captureLogger();
    const pool = createLakebasePool(
      localPoolOptions(lb, {
        sslMode: 'prefer',
        sslRootCert: undefined,
        logger: lines.logger,
        max: 2,
      }),
    );
    try {
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      const stream = (clients[0] as unknown as { connection: { stream: Stream } }).connection
        .stream;
      expect(stream).toMatchObject({ encrypted: true, authorized: false });
      for (const client of clients) client.release();
    } finally {
      await pool.end();
    }
    const warned = lines.lines.filter((l) => /encrypts without verifying/.test(l));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/sslmode=prefer/);
  });

  it('verify-full with sslRootCert verifies the chain and the host (127.0.0.1 and localhost)', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const result = await probe({ sslMode: 'verify-full', sslRootCert: caFile }, host);
      expect(result).toEqual({ me: clientId, encrypted: true, authorized: true });
    }
  });

  it('a root certificate is parsed once into the secureContext every connection uses', () => {
    const { ssl } = getLakebasePgConfig(
      localPoolOptions(lb, { sslMode: 'verify-full', sslRootCert: caFile, logger: log.logger }),
    );
    const options = ssl as tls.ConnectionOptions;
    expect(options.secureContext).toBeInstanceOf(tls.createSecureContext().constructor);
    expect(options.ca).toBe(lb.tls!.caPem);
  });

  it('verify-ca and require with a root cert verify the chain; require checks the host name too', async () => {
    for (const sslMode of ['verify-ca', 'require'] as const) {
      const result = await probe({ sslMode, sslRootCert: caFile });
      expect(result).toEqual({ me: clientId, encrypted: true, authorized: true });
    }
    const { rendered } = await probeError({ sslMode: 'require', sslRootCert: otherCaFile });
    expect(rendered).toMatch(/unable to verify the first certificate/i);
    const wrongHost = await probeError({ sslMode: 'require', sslRootCert: caFile }, '127.1');
    expect(wrongHost.rendered).toMatch(/Host: 127\.1\. is not in the cert's altnames/);
  });

  it('verify-full without the local CA (system roots, or another CA) fails with a clear error', async () => {
    for (const sslRootCert of [undefined, otherCaFile]) {
      const { error, rendered } = await probeError({ sslMode: 'verify-full', sslRootCert });
      expect(rendered).toMatch(/unable to verify the first certificate/i);
      expect(error.message).not.toMatch(TOKEN_PATTERN);
    }
  });

  it('verify-full checks the host name (127.1 reaches 127.0.0.1, but is not in the certificate)', async () => {
    const { rendered } = await probeError({ sslMode: 'verify-full', sslRootCert: caFile }, '127.1');
    expect(rendered).toMatch(/Host: 127\.1\. is not in the cert's altnames/);
    // verify-ca checks the chain only, so the same host passes.
    const result = await probe({ sslMode: 'verify-ca', sslRootCert: caFile }, '127.1');
    expect(result).toEqual({ me: clientId, encrypted: true, authorized: true });
  });

  it('disable is refused by the server with 28000 before any token is sent', async () => {
    lb.resetStats();
    const { error, rendered } = await probeError({ sslMode: 'disable' });
    expect(error.code).toBe('28000');
    expect(error.message).toBe('SSL connection is required');
    expect(rendered).not.toMatch(TOKEN_PATTERN);
    // Refused before the password exchange: no token was minted, none could leak.
    expect(lb.stats().credentialCallsTotal).toBe(0);
    expect(lb.stats().authAttempts).toBe(0);
  });

  it('reads PGSSLMODE and PGSSLROOTCERT from the environment (lb.env)', async () => {
    expect(lb.env.PGSSLMODE).toBe('require');
    expect(lb.env.PGSSLROOTCERT).toBe(caFile);
    const restore = applyEnv({ ...lb.env });
    let pool: pg.Pool | undefined;
    try {
      pool = createLakebasePool({ logger: log.logger });
      const client = await pool.connect();
      const stream = (client as unknown as { connection: { stream: Stream } }).connection.stream;
      expect(stream.encrypted).toBe(true);
      expect(stream.authorized).toBe(true); // require + PGSSLROOTCERT verified the chain
      expect((await client.query('select current_user as me')).rows[0].me).toBe(clientId);
      client.release();
    } finally {
      await pool?.end();
      restore();
    }
  });

  it('logged nothing secret and raised no TLS warnings', () => {
    expect(log.lines.join('\n')).not.toMatch(TOKEN_PATTERN);
    expect(warnings.map((w) => w.message)).toEqual([]);
  });
});
