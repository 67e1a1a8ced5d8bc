/** The plugin runs lakebase-kit doctor's checks at startup and logs problems as warnings. */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { applyEnv, captureLogger } from '@lakebase-kit/local/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakebasePlugin } from '../src/index.js';

let lb: LocalLakebase;
let restoreEnv: () => void;

beforeAll(async () => {
  lb = await startLocalLakebase();
  restoreEnv = applyEnv({ ...lb.env, DISABLE_APPKIT_INTERNAL_TELEMETRY: 'true' });
  // a schema the developer created before the first deploy: the app's SP does not own it
  const owner = new pg.Client({
    host: lb.env.PGHOST,
    port: Number(lb.env.PGPORT),
    database: lb.env.PGDATABASE,
    user: lb.projectOwner,
    password: lb.mintPgToken(lb.projectOwner).token,
    ssl: { ca: lb.tls!.caPem },
  });
  await owner.connect();
  await owner.query('create schema app; create table app.orders (id int)');
  await owner.end();
});
afterAll(async () => {
  restoreEnv?.();
  await lb?.stop();
});

async function startAndStop(config: { doctor?: boolean }) {
  const { logger, lines } = captureLogger();
  const plugin = new LakebasePlugin({ ...config, logger });
  await plugin.setup();
  await plugin.close(); // waits for the startup checks
  return lines.filter((line) => line.includes('doctor'));
}

describe('startup checks', () => {
  it('logs each problem as a warning with its fix, and never a token', async () => {
    const lines = await startAndStop({});
    const warnings = lines.filter((line) => line.startsWith('warn '));
    expect(
      warnings.some((line) =>
        line.includes('doctor ownership (error): 2 object(s) the app uses are not owned by'),
      ),
    ).toBe(true);
    expect(
      warnings.some((line) => line.includes('Fix: The deployed app will get "permission denied"')),
    ).toBe(true);
    // The local Lakebase speaks TLS, as Lakebase does: no TLS warning, the check passes.
    expect(warnings.some((line) => line.includes('doctor tls'))).toBe(false);
    expect(lines.some((line) => line.startsWith('debug doctor tls: TLS on'))).toBe(true);
    expect(lines.some((line) => line.startsWith('debug doctor login: logged in as'))).toBe(true);
    expect(lines.join('\n')).not.toMatch(/lbk_/);
  });

  it('doctor: false turns them off', async () => {
    expect(await startAndStop({ doctor: false })).toEqual([]);
  });
});
