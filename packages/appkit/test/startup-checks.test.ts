/**
 * The plugin runs lakebase-kit doctor's checks once the app is set up and logs what they found:
 * one line, then each problem as a warning with its fix.
 */
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

async function checkAndStop(config: { doctor?: boolean }) {
  const { logger, lines } = captureLogger();
  const plugin = new LakebasePlugin({ ...config, logger });
  await plugin.setup();
  const before = lines.length;
  const report = await plugin.startupChecks();
  // the same run, not a second one
  expect(plugin.startupChecks()).toBe(plugin.startupChecks());
  const checkLines = lines.slice(before);
  await plugin.close();
  return { report, lines: checkLines };
}

describe('startup checks', () => {
  it('say what they found in one line, then each problem with its fix, and never a token', async () => {
    const { report, lines } = await checkAndStop({});
    expect(report?.errors).toBe(1);
    const summary = lines.filter((line) => line.includes('Startup checks'));
    expect(summary).toEqual([
      expect.stringMatching(
        /^warn Startup checks \(lakebase-kit doctor\): 1 error and 0 warnings in \d+ checks: ownership \(error\); each follows with its fix/,
      ),
    ]);
    const warnings = lines.filter((line) => line.startsWith('warn doctor '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^warn doctor ownership \(error\): 2 object\(s\) the app uses are not owned by .*Fix: The deployed app will get "permission denied"/,
    );
    // The local Lakebase speaks TLS, as Lakebase does: no TLS warning, the check passes.
    expect(lines.some((line) => line.startsWith('debug doctor tls: TLS on'))).toBe(true);
    expect(lines.some((line) => line.startsWith('debug doctor login: logged in as'))).toBe(true);
    expect(lines.join('\n')).not.toMatch(/lbk_/);
  });

  it('say so in one info line when there is nothing to report', async () => {
    const admin = new LakebasePlugin({ doctor: false, logger: { info: false } });
    await admin.setup();
    const { lakebase } = admin.exports();
    // the deploy-first trap, recovered as the guide says: drop it, the SP recreates it
    await lb.sql('drop schema app cascade');
    await lakebase.query('create schema app; create table app.orders (id int)');
    await admin.close();
    const { report, lines } = await checkAndStop({});
    expect(report).toMatchObject({ errors: 0, warnings: 0 });
    const visible = lines.filter((line) => !line.startsWith('debug '));
    expect(visible).toEqual([
      expect.stringMatching(
        /^info Startup checks \(lakebase-kit doctor\): no problems found in \d+ checks \(config, login, tls, ownership, rls-policies, rls-public, obo-bypass-rls, user-roles, set-role\)/,
      ),
    ]);
  });

  it("say nothing of the public schema's owner when the app's table is in public (AppKit's template)", async () => {
    // the template creates `todos` in public: the SP needs CREATE there, not ownership
    await lb.sql(`grant create on schema public to "${lb.env.PGUSER}"`);
    const admin = new LakebasePlugin({ doctor: false, logger: { info: false } });
    await admin.setup();
    await admin
      .exports()
      .query(
        'CREATE TABLE IF NOT EXISTS todos (id SERIAL PRIMARY KEY, title TEXT NOT NULL, completed BOOLEAN NOT NULL DEFAULT false, created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())',
      );
    await admin.close();
    const clean = await checkAndStop({});
    expect(clean.report).toMatchObject({ errors: 0, warnings: 0 });
    expect(clean.report?.checks.find((check) => check.id === 'ownership')?.status).toBe('ok');
    // a table in public that someone else made is still the trap
    await lb.sql('create table public.made_by_hand (id int)');
    const trap = await checkAndStop({});
    expect(trap.report?.checks.find((check) => check.id === 'ownership')).toMatchObject({
      status: 'error',
      subjects: ['table public.made_by_hand (owner postgres)'],
    });
    expect(trap.report?.checks.find((check) => check.id === 'ownership')?.fix).not.toMatch(
      /DROP SCHEMA/,
    );
    await lb.sql('drop table public.made_by_hand; drop table public.todos');
  });

  it('doctor: false turns them off', async () => {
    const { report, lines } = await checkAndStop({ doctor: false });
    expect(report).toBeUndefined();
    expect(lines.filter((line) => line.includes('doctor') || line.includes('Startup'))).toEqual([]);
  });
});
