/**
 * OAuth as the Databricks SDK does it: OIDC discovery, the client-credentials token endpoint
 * (M2M, for the app's service principal), and bearer authentication of API calls (access
 * tokens, or the SP's PAT).
 */
import type http from 'node:http';
import type { ServicePrincipal } from '../base/types.js';
import { readBody, sendError, sendJson } from './http.js';
import type { TokenStore } from './tokens.js';

export const ACCESS_TOKEN_TTL_SECONDS = 3600;

export interface OAuthDeps {
  tokens: TokenStore;
  servicePrincipal: ServicePrincipal;
}

/** `/oidc/.well-known/...`: where the token endpoint is. */
export function discovery(res: http.ServerResponse, host: string): void {
  sendJson(res, 200, {
    issuer: `${host}/oidc`,
    authorization_endpoint: `${host}/oidc/v1/authorize`,
    token_endpoint: `${host}/oidc/v1/token`,
    grant_types_supported: ['client_credentials'],
  });
}

/** `POST /oidc/v1/token`: client credentials (HTTP Basic or form fields). */
export async function tokenEndpoint(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  { tokens, servicePrincipal: sp }: OAuthDeps,
): Promise<void> {
  const form = new URLSearchParams(await readBody(req));
  let clientId = form.get('client_id') ?? undefined;
  let clientSecret = form.get('client_secret') ?? undefined;
  const authorization = req.headers.authorization ?? '';
  if (authorization.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    clientId = decodeURIComponent(decoded.slice(0, colon));
    clientSecret = decodeURIComponent(decoded.slice(colon + 1));
  }
  if (form.get('grant_type') !== 'client_credentials') {
    return sendJson(res, 400, {
      error: 'unsupported_grant_type',
      error_description: 'Only grant_type=client_credentials is supported',
    });
  }
  if (clientId !== sp.clientId || clientSecret !== sp.clientSecret) {
    return sendJson(res, 401, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
  }
  const minted = tokens.mint(sp.clientId, 'access', ACCESS_TOKEN_TTL_SECONDS);
  return sendJson(res, 200, {
    access_token: minted.token,
    token_type: 'Bearer',
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
    scope: form.get('scope') ?? 'all-apis',
  });
}

/** The caller's identity from its bearer token, or undefined with a 401 already sent. */
export function authenticate(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  { tokens, servicePrincipal: sp }: OAuthDeps,
): string | undefined {
  const authorization = req.headers.authorization ?? '';
  const token = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  if (!token) {
    sendError(res, 401, 'UNAUTHENTICATED', 'Missing bearer token in the Authorization header');
    return undefined;
  }
  if (token === sp.pat) return sp.clientId;
  const identity = tokens.verify(token, 'access');
  if (!identity) {
    sendError(res, 401, 'UNAUTHENTICATED', 'Invalid or expired access token');
    return undefined;
  }
  return identity;
}
