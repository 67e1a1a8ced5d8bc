/** Shared helpers of the service-principal test files (not a test file itself). */
import { WorkspaceClient } from '@databricks/sdk-experimental';
import type { LocalLakebase } from '@lakebase-kit/local';
import type { CredentialSource } from '../../src/base/types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import type { LakebasePoolConfig, Logger } from '../../src/index.js';
import { workspaceCredentialSource } from '../../src/pool/credentials.js';
import { ServicePrincipal, servicePrincipalPool } from '../../src/pool/service-principal.js';
import { TokenCache, type TokenCacheOptions } from '../../src/pool/token-cache.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';

export { captureLogger, renderError } from '@lakebase-kit/local/testing';

/** A workspace client for the local Lakebase's service principal (M2M OAuth). */
export function spWorkspaceClient(lb: LocalLakebase): WorkspaceClient {
  return new WorkspaceClient({
    host: lb.env.DATABRICKS_HOST,
    clientId: lb.env.DATABRICKS_CLIENT_ID,
    clientSecret: lb.env.DATABRICKS_CLIENT_SECRET,
    authType: 'oauth-m2m',
    retryTimeoutSeconds: 5,
  });
}

/** createLakebasePool options for the local Lakebase, everything explicit (no process.env). */
export function localPoolOptions(
  lb: LocalLakebase,
  extra: Partial<LakebasePoolConfig> = {},
): Partial<LakebasePoolConfig> {
  return {
    host: lb.env.PGHOST,
    port: Number(lb.env.PGPORT),
    database: lb.env.PGDATABASE,
    user: lb.env.PGUSER,
    endpoint: lb.env.LAKEBASE_ENDPOINT,
    // whatever the local Lakebase speaks (TLS with its own CA, or plaintext)
    sslMode: lb.env.PGSSLMODE as LakebasePoolConfig['sslMode'],
    sslRootCert: lb.env.PGSSLROOTCERT,
    workspaceClient: spWorkspaceClient(lb),
    ...extra,
  };
}

/** A credential source that records every token it hands out (to search logs and errors). */
export function recordingSource(source: CredentialSource): CredentialSource & { tokens: string[] } {
  const tokens: string[] = [];
  return {
    tokens,
    async fetch(signal?: AbortSignal) {
      const credential = await source.fetch(signal);
      tokens.push(credential.token);
      return credential;
    },
  };
}

/**
 * The SP pool built from its parts, on the local Lakebase, with a credential source that records
 * every token it mints; ending the pool closes the token cache.
 */
export function recordedSpPool(
  lb: LocalLakebase,
  logger: Logger,
  extra: Partial<LakebasePoolConfig> = {},
  cache: Partial<Pick<TokenCacheOptions, 'backoff' | 'clock' | 'random'>> = {},
) {
  const config = resolveConfig(localPoolOptions(lb, { logger, ...extra }), {});
  const telemetry = new Telemetry(config.telemetry);
  const identity = new ServicePrincipal(config);
  const source = recordingSource(
    workspaceCredentialSource(identity.workspaceClient, { endpoint: config.endpoint! }),
  );
  const tokens = new TokenCache({
    source,
    name: 'sp',
    logger,
    telemetry,
    defaultWaitMs: config.pool.connectionTimeoutMillis,
    ...cache,
  });
  const pool = servicePrincipalPool(config, telemetry, {
    ownsTelemetry: true,
    identity,
    tokens,
    clock: cache.clock,
  });
  return { pool, tokens, source };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait until `condition()` holds (polling), failing after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
