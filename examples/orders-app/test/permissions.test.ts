/**
 * The orders app's permissions: its migrations are what drizzle-kit generates from
 * src/schema.ts (ownerPolicy) plus ownerPolicyGrants' custom migration, and lakebase-kit
 * doctor's checks pass on the running app.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { silentLogger } from '@lakebase-kit/core';
import { runDoctor } from '@lakebase-kit/core/admin';
import { ownerPolicyGrants } from '@lakebase-kit/drizzle';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrdersApp, startOrdersApp } from '../src/app.js';
import { orders } from '../src/schema.js';

const run = promisify(execFile);
const appDir = fileURLToPath(new URL('..', import.meta.url));
const drizzleKit = path.join(appDir, 'node_modules', '.bin', 'drizzle-kit');

describe('migrations', () => {
  it('drizzle-kit generate finds nothing to add: the owner policy and RLS come from ownerPolicy', async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'orders-drizzle-'));
    try {
      cpSync(path.join(appDir, 'drizzle'), path.join(scratch, 'drizzle'), { recursive: true });
      const config = path.join(scratch, 'drizzle.config.ts');
      writeFileSync(
        config,
        `export default ${JSON.stringify({
          dialect: 'postgresql',
          schema: path.join(appDir, 'src', 'schema.ts'),
          out: path.relative(appDir, path.join(scratch, 'drizzle')), // drizzle-kit wants it relative
          schemaFilter: ['app'],
        })};\n`,
      );
      const { stdout, stderr } = await run(drizzleKit, ['generate', '--config', config], {
        cwd: appDir,
      });
      expect(`${stdout}${stderr}`).toContain('No schema changes, nothing to migrate');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const first = readFileSync(path.join(appDir, 'drizzle', '0000_orders.sql'), 'utf8');
    expect(first).toContain('ALTER TABLE "app"."orders" ENABLE ROW LEVEL SECURITY;');
    expect(first).toContain(
      'CREATE POLICY "orders_owner" ON "app"."orders" AS PERMISSIVE FOR ALL TO public USING ("app"."orders"."owner" = current_user) WITH CHECK ("app"."orders"."owner" = current_user);',
    );
  });

  it('0001_grants holds exactly the grants ownerPolicyGrants(orders) says the policy needs', () => {
    const grants = readFileSync(path.join(appDir, 'drizzle', '0001_grants.sql'), 'utf8');
    expect(grants.endsWith(ownerPolicyGrants(orders))).toBe(true);
    expect(ownerPolicyGrants(orders)).toBe(
      'GRANT USAGE ON SCHEMA "app" TO PUBLIC;--> statement-breakpoint\nGRANT SELECT, INSERT ON "app"."orders" TO PUBLIC;\n',
    );
  });
});

describe('lakebase-kit doctor on the running app', () => {
  let lb: LocalLakebase;
  let app: OrdersApp;
  beforeAll(async () => {
    lb = await startLocalLakebase({ tls: true, users: ['alice@example.com', 'bob@example.com'] });
    app = await startOrdersApp({ port: 0, local: lb, logger: silentLogger });
  });
  afterAll(async () => {
    await app?.close();
    await lb?.stop();
  });

  it('passes: the SP owns app.orders, RLS is on with its policy, no user bypasses it', async () => {
    const report = await runDoctor({
      db: app.lakebase,
      env: lb.env,
      identities: ['alice@example.com', 'bob@example.com'],
    });
    expect(report.checks.filter((check) => check.status !== 'ok')).toEqual([]);
    expect(report.checks.find((check) => check.id === 'ownership')?.finding).toBe(
      `${lb.env.PGUSER} owns every object in app, drizzle`,
    );
  });
});
