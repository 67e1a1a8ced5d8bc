/**
 * libpq `sslmode` → node-postgres `ssl`, including the one piece of I/O it needs: reading the
 * root certificate file. node-postgres cannot fall back between plain and TLS, so `allow` and
 * `prefer` encrypt without verifying (Lakebase always offers TLS). `require` with a root
 * certificate behaves like `verify-ca`, as in libpq. An explicit pg `ssl` option wins.
 *
 * A root certificate is parsed once per config into a `secureContext` (tls.connect uses it
 * instead of building one from `ca` on every connection, about 0.4 ms of CPU each); `ca`
 * stays beside it for code that reads the config.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type ConnectionOptions, createSecureContext } from 'node:tls';
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

/** The node-postgres `ssl` option for a libpq sslmode (reads `rootCertPath` when given). */
export function sslFromMode(
  mode: SslMode,
  host: string,
  rootCertPath?: string,
): false | ConnectionOptions {
  if (mode === 'disable') return false;
  const ca = readRootCert(rootCertPath);
  const trust = ca ? { ca, secureContext: createSecureContext({ ca }) } : {};
  const verifyCa = mode === 'verify-ca' || (mode === 'require' && ca !== undefined);
  // SNI must not carry an IP (RFC 6066; Node warns, DEP0123). tls.connect checks the
  // certificate against `servername`, else `host`, else 'localhost', so an IP goes in `host`.
  if (mode === 'verify-full') {
    return {
      rejectUnauthorized: true,
      ...(isIP(host) ? { host } : { servername: host }),
      ...trust,
    };
  }
  if (verifyCa) return { rejectUnauthorized: true, ...trust, checkServerIdentity: () => undefined };
  return { rejectUnauthorized: false };
}

const perConfig = new WeakMap<ResolvedConfig, pg.PoolConfig['ssl']>();

/**
 * The `ssl` option of a config's pools: the explicit pg `ssl`, else the sslmode's — worked out
 * once per config (every user pool shares it, and the root certificate is read once).
 */
export function sslOptions(config: ResolvedConfig): pg.PoolConfig['ssl'] {
  if (config.ssl !== undefined)
    return config.ssl === true ? { rejectUnauthorized: true } : config.ssl;
  let ssl = perConfig.get(config);
  if (ssl === undefined) {
    ssl = sslFromMode(config.sslMode, config.host, config.sslRootCert);
    perConfig.set(config, ssl);
  }
  return ssl;
}
