/**
 * The plugin manifest: named `lakebase`, with the same `postgres` resource fields as the
 * official AppKit plugin, so `app.yaml`, resource discovery and env validation are unchanged.
 */
import type { PluginManifest } from '@databricks/appkit';

const discovery = (resourceKind: string, dependsOn?: string) => ({
  type: 'kind',
  resourceKind,
  select: 'name',
  ...(dependsOn ? { dependsOn } : {}),
});

export const manifest = {
  name: 'lakebase',
  displayName: 'Lakebase',
  description:
    'Lakebase Autoscaling through @lakebase-kit/core: refreshed OAuth tokens, bounded per-user pools, RLS',
  hidden: false,
  resources: {
    required: [
      {
        type: 'postgres',
        alias: 'Postgres',
        resourceKey: 'postgres',
        description: 'Lakebase Postgres database for persistent storage',
        permission: 'CAN_CONNECT_AND_CREATE',
        fields: {
          project: {
            description:
              'Full Lakebase Postgres project resource name (`databricks postgres list-projects`).',
            examples: ['projects/{project-id}'],
            discovery: discovery('postgres_project'),
          },
          branch: {
            description:
              'Full Lakebase Postgres branch resource name (`databricks postgres list-branches`).',
            examples: ['projects/{project-id}/branches/{branch-id}'],
            discovery: discovery('postgres_branch', 'project'),
          },
          database: {
            description:
              'Full Lakebase Postgres database resource name (`databricks postgres list-databases`).',
            examples: ['projects/{project-id}/branches/{branch-id}/databases/{database-id}'],
            discovery: discovery('postgres_database', 'branch'),
          },
          host: {
            env: 'PGHOST',
            localOnly: true,
            resolve: 'postgres:host',
            description:
              'Postgres host for local development. Auto-injected by the platform at deploy time.',
          },
          databaseName: {
            env: 'PGDATABASE',
            localOnly: true,
            resolve: 'postgres:databaseName',
            description:
              'Postgres database name for local development. Auto-injected at deploy time.',
          },
          endpointPath: {
            env: 'LAKEBASE_ENDPOINT',
            bundleIgnore: true,
            resolve: 'postgres:endpointPath',
            description: 'Lakebase endpoint resource name (`databricks postgres list-endpoints`).',
            examples: ['projects/{project-id}/branches/{branch-id}/endpoints/{endpoint-id}'],
          },
          port: {
            env: 'PGPORT',
            localOnly: true,
            value: '5432',
            description: 'Postgres port. Auto-injected by the platform at deploy time.',
          },
          sslmode: {
            env: 'PGSSLMODE',
            localOnly: true,
            value: 'require',
            description: 'Postgres SSL mode. Auto-injected by the platform at deploy time.',
          },
        },
      },
    ],
    optional: [],
  },
} as unknown as PluginManifest<'lakebase'>;
