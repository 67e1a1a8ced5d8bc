/**
 * libpq `sslmode` → node-postgres `ssl`, as the official `@databricks/lakebase` does or
 * stricter: `require` (the default) and `verify-full` verify the server's certificate chain
 * against Node's CA store and its host name; a root certificate (`sslRootCert` /
 * `PGSSLROOTCERT`) is trusted in addition to that store. Anything weaker must be asked for by
 * name — `verify-ca` (the chain, not the host name), `prefer`/`allow` (encrypted, not
 * verified), `disable`, or a pg `ssl` option with `rejectUnauthorized: false` — and is logged
 * once per config as a warning (the doctor's `tls` check warns too). node-postgres cannot fall
 * back between plain and TLS, so `allow` and `prefer` always encrypt (Lakebase always offers
 * TLS). An explicit pg `ssl` option wins.
 *
 * The trusted CAs are parsed once per config into a `secureContext` (tls.connect uses it
 * instead of building one on every connection, about 0.4 ms of CPU each); `ca` stays beside it
 * for code that reads the config.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type ConnectionOptions, createSecureContext, rootCertificates } from 'node:tls';
import type pg from 'pg';
import { ConfigurationError } from '../base/errors.js';
import type { SslMode } from '../base/types.js';
import type { ResolvedConfig } from './resolve-config.js';

function readRootCert(path: string | undefined): string | undefined {
  if (path === undefined || path === 'system') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigurationError(
      `Cannot read the root certificate file "${path}" (option "sslRootCert" / env PGSSLROOTCERT)`,
      { option: 'sslRootCert', envVar: 'PGSSLROOTCERT', cause },
    );
  }
}

/** How much a connection's TLS proves about the server. */
export type TlsStrength =
  /** The chain against trusted CAs, and the host name. */
  | 'verified'
  /** The chain only (`verify-ca`). */
  | 'chain-only'
  /** Encrypted, the server not verified (`allow`, `prefer`, `rejectUnauthorized: false`). */
  | 'unverified'
  | 'off';

/** The `ssl` option of an sslmode, with what it proves. */
export interface TlsSettings {
  ssl: false | ConnectionOptions;
  strength: TlsStrength;
}

/** The node-postgres `ssl` option for a libpq sslmode (reads `rootCertPath` when given). */
export function sslFromMode(mode: SslMode, host: string, rootCertPath?: string): TlsSettings {
  if (mode === 'disable') return { ssl: false, strength: 'off' };
  if (mode === 'allow' || mode === 'prefer') {
    return { ssl: { rejectUnauthorized: false }, strength: 'unverified' };
  }
  const pem = readRootCert(rootCertPath);
  // Node's CA store, plus the given root: `ca` alone would replace the store
  const trust = pem
    ? { ca: pem, secureContext: createSecureContext({ ca: [...rootCertificates, pem] }) }
    : {};
  if (mode === 'verify-ca') {
    return {
      ssl: { rejectUnauthorized: true, ...trust, checkServerIdentity: () => undefined },
      strength: 'chain-only',
    };
  }
  // require, verify-full: the chain and the host name. SNI must not carry an IP (RFC 6066; Node
  // warns, DEP0123): tls.connect checks the certificate against `servername`, else `host`.
  return {
    ssl: { rejectUnauthorized: true, ...(isIP(host) ? { host } : { servername: host }), ...trust },
    strength: 'verified',
  };
}

/**
 * The same `ssl` option for a connection to another host of the endpoint (the pooled host, or
 * the direct one after a fallback): the host name checked is that host's. An option that names
 * no host (given as is, or chain-only) is kept.
 */
export function retargetSsl(ssl: pg.PoolConfig['ssl'], host: string): pg.PoolConfig['ssl'] {
  if (typeof ssl !== 'object' || ssl === null || !('host' in ssl || 'servername' in ssl)) {
    return ssl;
  }
  const {
    host: _host,
    servername: _servername,
    ...rest
  } = ssl as {
    host?: string;
    servername?: string;
  };
  return { ...rest, ...(isIP(host) ? { host } : { servername: host }) } as pg.PoolConfig['ssl'];
}

/** What a pg `ssl` option given as is proves. */
function explicitStrength(ssl: pg.PoolConfig['ssl']): TlsStrength {
  if (ssl === false || ssl === undefined) return 'off';
  if (ssl === true) return 'verified';
  if (ssl.rejectUnauthorized === false) return 'unverified';
  return ssl.checkServerIdentity ? 'chain-only' : 'verified';
}

const perConfig = new WeakMap<ResolvedConfig, TlsSettings>();

/**
 * The TLS of a config's pools: the explicit pg `ssl`, else the sslmode's — worked out once per
 * config (every pool shares it, the root certificate is read once, and a weaker setting is
 * logged once).
 */
export function tlsSettings(config: ResolvedConfig): TlsSettings {
  let settings = perConfig.get(config);
  if (settings === undefined) {
    settings =
      config.ssl !== undefined
        ? {
            ssl:
              config.ssl === true
                ? { rejectUnauthorized: true }
                : (config.ssl as TlsSettings['ssl']),
            strength: explicitStrength(config.ssl),
          }
        : sslFromMode(config.sslMode, config.host, config.sslRootCert);
    perConfig.set(config, settings);
    const weaker = weakerWarning(config, settings.strength);
    if (weaker) config.logger.warn(`lakebase: ${weaker}`);
  }
  return settings;
}

/** The `ssl` option of a config's pools (see `tlsSettings`). */
export function sslOptions(config: ResolvedConfig): pg.PoolConfig['ssl'] {
  return tlsSettings(config).ssl;
}

/** Why a config's TLS is weaker than a verified one, or undefined when it is not. */
export function weakerWarning(config: ResolvedConfig, strength: TlsStrength): string | undefined {
  const what = config.ssl !== undefined ? 'the pg "ssl" option' : `sslmode=${config.sslMode}`;
  switch (strength) {
    case 'verified':
      return undefined;
    case 'chain-only':
      return `TLS with ${what} checks the server's certificate chain but not its host name`;
    case 'unverified':
      return (
        `TLS with ${what} encrypts without verifying the server: a machine in the middle could ` +
        'take the Postgres token (use sslmode=require or verify-full)'
      );
    case 'off':
      return `TLS is off (${what}): the Postgres token crosses the network in clear text`;
  }
}
