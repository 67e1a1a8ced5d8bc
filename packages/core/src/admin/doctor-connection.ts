/** The doctor's connection checks: `credentials`, `login` and `tls`. */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { CredentialError } from '../base/errors.js';
import type { Queryable } from '../base/types.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { tlsSettings, weakerWarning } from '../config/tls.js';
import { isLoopbackHost } from '../config/workspace-host.js';
import { generateDatabaseCredential } from '../pool/credentials.js';
import { fetchEndpointHosts, hostMismatches } from '../pool/endpoint-hosts.js';
import { createWorkspaceClient } from '../pool/service-principal.js';
import { type DoctorCheck, message, OK_FIX } from './doctor-report.js';

export async function credentialCheck(
  config: ResolvedConfig,
  workspaceClient: WorkspaceClient | undefined,
): Promise<DoctorCheck> {
  try {
    const credential = await generateDatabaseCredential(
      workspaceClient ?? config.workspaceClient ?? createWorkspaceClient(config.env),
      { endpoint: config.endpoint! },
      { timeoutMs: config.credentialTimeoutMs },
    );
    return {
      id: 'credentials',
      status: 'ok',
      finding: `minted a Lakebase token for endpoint ${config.endpoint} (valid until ${credential.expire_time})`,
      fix: OK_FIX,
    };
  } catch (error) {
    return credentialFailure(error);
  }
}

/**
 * `hosts`: PGHOST (and PGPORT) belongs to LAKEBASE_ENDPOINT, as the endpoints API says. A stale
 * PGHOST connects to another branch or project without a word: an error. An API that cannot be
 * asked is a warning. The finding lists the endpoint's hosts (the pooled and read-only ones too).
 */
export async function hostsCheck(
  config: ResolvedConfig,
  workspaceClient: WorkspaceClient | undefined,
): Promise<DoctorCheck> {
  const endpoint = config.endpoint as string;
  const client = workspaceClient ?? config.workspaceClient ?? createWorkspaceClient(config.env);
  try {
    const hosts = await fetchEndpointHosts(client, endpoint, config.credentialTimeoutMs);
    const directory = { hosts: async () => hosts };
    const problems = await hostMismatches(directory, [
      {
        what: 'PGHOST',
        configured: { host: config.host, port: config.port },
        endpoint,
        oneOf: (h) => [h.host, h.readWritePooledHost],
      },
    ]);
    const known = [
      `host ${hosts.host}`,
      hosts.readWritePooledHost && `pooled ${hosts.readWritePooledHost}`,
      hosts.readOnlyHost && `read-only ${hosts.readOnlyHost}`,
      hosts.readOnlyPooledHost && `read-only pooled ${hosts.readOnlyPooledHost}`,
    ].filter(Boolean);
    if (problems.length > 0) {
      return {
        id: 'hosts',
        status: 'error',
        finding: problems.join('; '),
        fix: `Set PGHOST to ${hosts.host} (the endpoint's host), or LAKEBASE_ENDPOINT to the endpoint PGHOST belongs to: a stale PGHOST connects to another branch or project.`,
        subjects: [config.host],
      };
    }
    return {
      id: 'hosts',
      status: 'ok',
      finding: `${config.host} is a host of ${endpoint} (${known.join(', ')}; ${hosts.state ?? 'state unknown'})`,
      fix: OK_FIX,
    };
  } catch (error) {
    return {
      id: 'hosts',
      status: 'warn',
      finding: `could not ask the endpoints API: ${message(error)}`,
      fix: 'The identity needs CAN USE on the project to read its endpoints; the other checks do not depend on this one.',
    };
  }
}

export function credentialFailure(error: unknown): DoctorCheck {
  const status = error instanceof CredentialError ? error.apiStatus : undefined;
  const fix =
    status === 401
      ? 'Check the Databricks credentials: DATABRICKS_HOST and DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET (a Databricks App sets them for its service principal), or DATABRICKS_TOKEN / a profile for a developer.'
      : status === 403
        ? "The identity may not use this endpoint: add the Lakebase database as a resource of the app (it grants the app's service principal CAN_CONNECT_AND_CREATE), or give your user access to the project."
        : status === 404
          ? 'LAKEBASE_ENDPOINT names an endpoint that does not exist: copy it from the branch page (projects/<project>/branches/<branch>/endpoints/<endpoint>).'
          : 'Check that DATABRICKS_HOST is reachable and try again; the token cache retries transient failures by itself.';
  return { id: 'credentials', status: 'error', finding: message(error), fix };
}

export async function loginCheck(
  db: Queryable,
): Promise<{ check: DoctorCheck; role?: string; credentialError?: unknown }> {
  try {
    const { rows } = await db.query('select current_user as role, current_database() as db');
    return {
      role: rows[0].role,
      check: {
        id: 'login',
        status: 'ok',
        finding: `logged in as ${rows[0].role} to database ${rows[0].db}`,
        fix: OK_FIX,
      },
    };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const fix =
      code === '28P01' || code === '28000'
        ? "The token was rejected or the identity has no Postgres role: the app's service principal gets one when the database is added as an app resource; for another identity, create it (`lakebase-kit roles add <identity>`)."
        : error instanceof CredentialError
          ? 'No token could be minted: see the credentials check.'
          : 'Check PGHOST/PGPORT and that the endpoint is running (it wakes from scale-to-zero on connect).';
    return {
      credentialError: error instanceof CredentialError ? error : undefined,
      check: { id: 'login', status: 'error', finding: `login failed: ${message(error)}`, fix },
    };
  }
}

export function tlsCheck(config: ResolvedConfig): DoctorCheck {
  let settings: ReturnType<typeof tlsSettings>;
  try {
    settings = tlsSettings(config);
  } catch (error) {
    return {
      id: 'tls',
      status: 'error',
      finding: message(error),
      fix: 'Point PGSSLROOTCERT (option "sslRootCert") at a readable PEM file, or unset it.',
    };
  }
  const loopback = isLoopbackHost(config.host);
  const weaker = weakerWarning(config, settings.strength);
  if (settings.strength === 'off') {
    return {
      id: 'tls',
      status: loopback ? 'warn' : 'error',
      finding: `${weaker} (${loopback ? 'loopback ' : ''}host ${config.host})`,
      fix: loopback
        ? 'Lakebase only accepts TLS: test with it on too (startLocalLakebase() speaks TLS; PGSSLMODE=require with its PGSSLROOTCERT).'
        : 'Set PGSSLMODE=require (the default, which verifies the server): Lakebase only accepts TLS, and tokens must never cross the network in clear text.',
    };
  }
  if (weaker) {
    return {
      id: 'tls',
      status: 'warn',
      finding: weaker,
      fix: "Use sslmode=require or verify-full (the default, require, verifies the certificate and the host name against Node's CA store; PGSSLROOTCERT adds a CA).",
    };
  }
  return {
    id: 'tls',
    status: 'ok',
    finding: `TLS on (${config.ssl !== undefined ? 'pg "ssl" option' : `sslmode=${config.sslMode}`}, server certificate and host name verified)`,
    fix: OK_FIX,
  };
}
