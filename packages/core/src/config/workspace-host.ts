/**
 * The workspace URL that forwarded user tokens are sent to (SCIM `Me`, the credential API). It
 * must be `https://`, because those requests carry a user's access token; `http://` is accepted
 * for a loopback host only (the local Lakebase's fake workspace).
 */
import { isIP } from 'node:net';
import { ConfigurationError } from '../base/errors.js';

/** True for `localhost`, 127.0.0.0/8 and ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * `host` (a URL or a bare host name) as an origin, `https://` when no scheme is given.
 * @throws ConfigurationError for an `http://` host that is not loopback, or a malformed one
 */
export function workspaceOrigin(host: string, source = 'env DATABRICKS_HOST'): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `https://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw new ConfigurationError(`Invalid workspace host "${host}" (${source}): not a URL`, {
      envVar: 'DATABRICKS_HOST',
      cause,
    });
  }
  if (url.protocol === 'https:') return url.origin;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url.origin;
  throw new ConfigurationError(
    `The workspace host ${url.origin} (${source}) is not https: user access tokens would cross ` +
      'the network in clear text (http:// is accepted for a loopback host only)',
    { envVar: 'DATABRICKS_HOST' },
  );
}
