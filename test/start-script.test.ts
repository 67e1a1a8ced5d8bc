/**
 * The root `pnpm start` (scripts/start.mjs): one "starting…" line, the build's output only when
 * it fails; with NODE_ENV=production and no LAKEBASE_ENDPOINT it exits non-zero naming it and
 * starts no Postgres.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { repoRoot } from '../scripts/pack.mjs';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { quietly } from '../scripts/start.mjs';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'lakebase-kit-start-'));
chmodSync(scratch, 0o755);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runStart(env: NodeJS.ProcessEnv) {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(clean)) {
    if (/^(PG|LAKEBASE_|DATABRICKS_)/.test(key) || key === 'NODE_ENV') delete clean[key];
  }
  const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.mjs')], {
    cwd: repoRoot,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (out.stdout += chunk));
  child.stderr.on('data', (chunk) => (out.stderr += chunk));
  return new Promise<{ code: number | null } & typeof out>((resolve) =>
    child.once('close', (code) => resolve({ code, ...out })),
  );
}

describe('pnpm start (scripts/start.mjs)', () => {
  it('NODE_ENV=production without LAKEBASE_ENDPOINT: one starting line, no build output, exit 1 naming it, no Postgres', async () => {
    const tmp = mkdtempSync(path.join(scratch, 'tmp-'));
    chmodSync(tmp, 0o755);
    const run = await runStart({ NODE_ENV: 'production', TMPDIR: tmp, INIT_CWD: tmp });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('Starting the orders app: building the packages…\n');
    expect(run.stderr).toMatch(/MissingLakebaseError: LAKEBASE_ENDPOINT and PGHOST are not set/);
    expect(run.stderr).toContain('valueFrom: postgres');
    expect(run.stderr).not.toMatch(/turbo|Tasks:|Cached:/);
    // A local Lakebase would have left its lakebase-local-* dir in TMPDIR.
    expect(readdirSync(tmp).filter((name) => name.startsWith('lakebase-local-'))).toEqual([]);
  });

  it('shows a failed step’s output, and nothing of a passing one', async () => {
    const written: string[] = [];
    const write = (text: string) => written.push(text);
    const noisy = "console.log('build noise'); console.error('the real error'); process.exit(3)";
    expect(await quietly(process.execPath, ['-e', noisy], {}, write)).toBe(false);
    expect(written.join('')).toMatch(/build noise\nthe real error\n[\s\S]*exit code 3/);

    written.length = 0;
    expect(await quietly(process.execPath, ['-e', "console.log('ok')"], {}, write)).toBe(true);
    expect(written).toEqual([]);
  });
});
