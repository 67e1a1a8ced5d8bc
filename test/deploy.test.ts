/**
 * The deployment files of each example: what Databricks Apps and the bundle need from app.yaml
 * and databricks.yml (fields checked against the Databricks docs, see docs/deploy.md), and the
 * deployable directory `pnpm app:prepare` writes for them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { repoRoot } from '../scripts/pack.mjs';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { prepareApp } from '../scripts/prepare-app.mjs';

const EXAMPLES = ['orders-app', 'appkit-app'];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lakebase-kit-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field
const readYaml = (file: string): any => parse(readFileSync(file, 'utf8'));
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
/** A bundle variable reference, `${var.name}`. */
const variable = (name: string) => `\${var.${name}}`;

interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: string;
}

describe.each(EXAMPLES)('examples/%s', (example) => {
  const dir = path.join(repoRoot, 'examples', example);
  const appYaml = readYaml(path.join(dir, 'app.yaml'));
  const bundle = readYaml(path.join(dir, 'databricks.yml'));
  const apps = Object.entries(bundle.resources.apps);
  // biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field
  const [appKey, app] = apps[0] as [string, any];

  it('app.yaml: a command (a sequence, no shell) the package can run, and env items of name + value or valueFrom', () => {
    expect(Array.isArray(appYaml.command)).toBe(true);
    expect(appYaml.command.every((part: unknown) => typeof part === 'string')).toBe(true);
    expect(appYaml.command.slice(0, 3)).toEqual(['npm', 'run', 'start']);
    expect(readJson(path.join(dir, 'package.json')).scripts.start).toBeDefined();
    for (const entry of appYaml.env as EnvEntry[]) {
      expect(Object.keys(entry).sort(), entry.name).toEqual(
        ['name', entry.valueFrom === undefined ? 'value' : 'valueFrom'].sort(),
      );
      expect(entry.name).toMatch(/^[A-Z_][A-Z0-9_]*$/);
      // Secrets and what the platform sets itself never go in app.yaml.
      expect(entry.name).not.toMatch(/SECRET|TOKEN|PASSWORD|^DATABRICKS_CLIENT_ID$|^PG/);
    }
  });

  it('app.yaml: LAKEBASE_ENDPOINT comes from the postgres resource (valueFrom its key)', () => {
    const endpoint = (appYaml.env as EnvEntry[]).find((e) => e.name === 'LAKEBASE_ENDPOINT');
    const postgres = app.resources.filter((r: { postgres?: unknown }) => r.postgres);
    expect(postgres).toHaveLength(1);
    expect(endpoint).toEqual({ name: 'LAKEBASE_ENDPOINT', valueFrom: postgres[0].name });
    expect(postgres[0].name).toBe('postgres');
  });

  it('databricks.yml: one app with a valid name, user_api_scopes [postgres], a postgres resource on a branch and database', () => {
    expect(bundle.bundle.name).toMatch(/^[\w-]+$/);
    expect(apps).toHaveLength(1);
    expect(appKey).toMatch(/^[a-z_][a-z0-9_]*$/);
    // App names: lowercase letters, numbers and hyphens, unique in the workspace, fixed once made.
    expect(app.name).toMatch(/^[a-z0-9-]{2,30}$/);
    expect(app.user_api_scopes).toEqual(['postgres']);
    const [resource] = app.resources;
    expect(resource.postgres).toEqual({
      branch: variable('postgres_branch'),
      database: variable('postgres_database'),
      permission: 'CAN_CONNECT_AND_CREATE',
    });
    for (const variable of ['postgres_branch', 'postgres_database']) {
      expect(bundle.variables[variable].description).toMatch(/projects\/<project>\/branches\//);
    }
    expect(Object.values(bundle.targets).some((t) => (t as { default?: boolean }).default)).toBe(
      true,
    );
  });

  it('databricks.yml: the source code is what `pnpm app:prepare` writes, and the bundle syncs it', () => {
    expect(app.source_code_path).toBe('./build/app');
    expect(bundle.sync.include).toContain('build/app/**');
  });

  it('`pnpm app:prepare` writes an app that npm can install outside the repository', () => {
    const out = prepareApp(example, path.join(scratch, example)) as string;
    expect(readFileSync(path.join(out, 'app.yaml'), 'utf8')).toBe(
      readFileSync(path.join(dir, 'app.yaml'), 'utf8'),
    );
    const manifest = readJson(path.join(out, 'package.json'));
    const specs = { ...manifest.dependencies, ...manifest.overrides } as Record<string, string>;
    for (const [dep, spec] of Object.entries(specs)) {
      expect(spec, dep).not.toMatch(/^workspace:/);
      if (spec.startsWith('file:'))
        expect(existsSync(path.join(out, spec.slice(5))), dep).toBe(true);
    }
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.scripts.start).toBe(readJson(path.join(dir, 'package.json')).scripts.start);
    expect(existsSync(path.join(out, 'src', 'main.ts'))).toBe(true);
    expect(existsSync(path.join(out, 'test'))).toBe(false);
  });
});
