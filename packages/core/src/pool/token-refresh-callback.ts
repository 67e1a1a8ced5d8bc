/**
 * The official package's `createTokenRefreshCallback(deps)`: a password callback for a
 * `pg.Pool` you build yourself, same name and shape as `@databricks/lakebase`'s. Ours is backed
 * by the token cache (single-flight, refresh on use before expiry, retries within the connect
 * deadline; lazy, so no timer outlives a pool we cannot see end) and records the official
 * telemetry instruments it is given.
 */
import {
  type Counter,
  type Histogram,
  type Meter,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import type { Logger } from '../base/logger.js';
import type { Credential, CredentialSource, LakebasePoolConfig } from '../base/types.js';
import { resolveConfig } from '../config/resolve-config.js';
import { workspaceCredentialSource } from './credentials.js';
import { createWorkspaceClient } from './service-principal.js';
import { TokenCache } from './token-cache.js';

/** The official package's telemetry instruments (its `DriverTelemetry`). */
export interface DriverTelemetry {
  tracer: Tracer;
  meter: Meter;
  /** Recorded in milliseconds, as the official package does. */
  tokenRefreshDuration: Histogram;
  queryDuration: Histogram;
  poolErrors: Counter;
}

/** What `createTokenRefreshCallback` needs (the official package's `TokenRefreshDeps`). */
export interface TokenRefreshDeps {
  userConfig: Partial<LakebasePoolConfig>;
  endpoint: string;
  telemetry: DriverTelemetry;
  logger?: Logger;
}

/** A source that records each credential call as the official package does. */
function recordedSource(source: CredentialSource, deps: TokenRefreshDeps): CredentialSource {
  return {
    async fetch(signal?: AbortSignal): Promise<Credential> {
      const started = Date.now();
      const span = deps.telemetry.tracer.startSpan('lakebase.token.refresh', {
        attributes: { 'lakebase.endpoint': deps.endpoint },
      });
      try {
        const credential = await source.fetch(signal);
        span.setAttribute('lakebase.token.expires_at', credential.expiresAt.toISOString());
        span.setStatus({ code: SpanStatusCode.OK });
        return credential;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
        deps.telemetry.tokenRefreshDuration.record(Date.now() - started);
      }
    },
  };
}

/**
 * The password callback of a `pg.Pool`: a valid Lakebase token for the identity of
 * `deps.userConfig.workspaceClient` (or of the SDK default auth chain).
 */
export function createTokenRefreshCallback(deps: TokenRefreshDeps): () => Promise<string> {
  let tokens: TokenCache | undefined;
  return () => {
    if (!tokens) {
      const config = resolveConfig({ ...deps.userConfig, endpoint: deps.endpoint });
      const workspaceClient = deps.userConfig.workspaceClient ?? createWorkspaceClient(config.env);
      const source = workspaceCredentialSource(
        workspaceClient,
        { endpoint: deps.endpoint, claims: config.claims ? [...config.claims] : undefined },
        { timeoutMs: config.credentialTimeoutMs },
      );
      tokens = new TokenCache({
        source: recordedSource(source, deps),
        name: 'service principal',
        refreshBufferMs: config.refreshBufferMs,
        refreshAhead: false,
        defaultWaitMs: config.pool.connectionTimeoutMillis || config.credentialTimeoutMs,
        logger: deps.logger,
      });
    }
    return tokens.getToken();
  };
}
