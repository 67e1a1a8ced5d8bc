/**
 * What only exists on a local Lakebase: ready-made Databricks Apps headers for the demo users
 * (the page fetches them from GET /local/headers; the banner prints them as curl commands).
 * Never mounted against a real Lakebase: these headers carry user access tokens.
 */
import type { LocalLakebase } from '@lakebase-kit/local';
import type { Application } from 'express';
import { jsonRoute } from './http-errors.js';

/** Access tokens handed out here live 12 hours, like `lakebase-kit dev`'s. */
const HEADER_TOKEN_TTL_SECONDS = 12 * 3600;

export interface LocalUsers {
  lb: LocalLakebase;
  users: readonly string[];
}

const cache = new WeakMap<LocalLakebase, Map<string, Promise<Record<string, string>>>>();

/** The four `x-forwarded-*` headers the Databricks Apps proxy would add for `email`. */
export function localUserHeaders(
  lb: LocalLakebase,
  email: string,
): Promise<Record<string, string>> {
  let perUser = cache.get(lb);
  if (!perUser) {
    perUser = new Map();
    cache.set(lb, perUser);
  }
  let headers = perUser.get(email);
  if (!headers) {
    headers = lb.userHeaders(email).then((h) => ({
      ...h,
      'x-forwarded-access-token': lb.userToken(email, { ttlSeconds: HEADER_TOKEN_TTL_SECONDS }),
    }));
    const users = perUser;
    headers.catch(() => users.delete(email));
    perUser.set(email, headers);
  }
  return headers;
}

/** `GET /local/headers?user=<email>` → the headers, for the demo users only. */
export function mountLocalHeaders(app: Application, { lb, users }: LocalUsers): void {
  app.get(
    '/local/headers',
    jsonRoute(async (req, res) => {
      const user = String(req.query.user ?? '');
      res.set('cache-control', 'no-store');
      if (!users.includes(user)) {
        res.status(404).json({
          error: 'UnknownUser',
          status: 404,
          message: `No demo user "${user}"; try one of ${users.join(', ')}`,
        });
        return undefined;
      }
      return localUserHeaders(lb, user);
    }),
  );
}

/** Two ready curl commands (one per demo user) for the start banner. */
export async function curlCommands(
  lb: LocalLakebase,
  users: readonly string[],
  url: string,
): Promise<string> {
  const blocks: string[] = [];
  for (const email of users.slice(0, 2)) {
    const headers = await localUserHeaders(lb, email);
    const flags = Object.entries(headers).map(([key, value]) => `  -H '${key}: ${value}'`);
    blocks.push(`# ${email}'s orders\ncurl ${url}api/my-orders \\\n${flags.join(' \\\n')}`);
  }
  return blocks.join('\n\n');
}
