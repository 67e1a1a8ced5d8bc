/**
 * What only exists on a local Lakebase: ready-made Databricks Apps headers for the demo users
 * (the page fetches them from GET /local/headers; the banner prints them as curl commands).
 * Never mounted against a real Lakebase: these headers carry user access tokens.
 */
import type { LocalLakebase } from '@lakebase-kit/local';
import { forwardedUserHeaders } from '@lakebase-kit/local/dev-env';
import type { Application } from 'express';
import { jsonRoute } from './http-errors.js';

/** Access tokens handed out here live 12 hours, like `lakebase-kit dev`'s. */
const HEADER_TOKEN_TTL_SECONDS = 12 * 3600;

/** The demo users of a local Lakebase, and the headers the proxy would add for each. */
export interface DemoUsers {
  users: readonly string[];
  headers(email: string): Promise<Record<string, string>>;
}

/** Demo users of a local Lakebase in this process: created on first use, one token each. */
export function demoUsersOf(lb: LocalLakebase, users: readonly string[]): DemoUsers {
  const cache = new Map<string, Promise<Record<string, string>>>();
  return {
    users,
    headers(email) {
      let headers = cache.get(email);
      if (!headers) {
        headers = lb
          .addUser(email)
          .then(() =>
            forwardedUserHeaders(
              email,
              lb.userToken(email, { ttlSeconds: HEADER_TOKEN_TTL_SECONDS }),
            ),
          );
        headers.catch(() => cache.delete(email));
        cache.set(email, headers);
      }
      return headers;
    },
  };
}

/** Demo users of a running `lakebase-kit dev`: the tokens of its env file. */
export function demoUsersFromTokens(tokens: ReadonlyMap<string, string>): DemoUsers {
  return {
    users: [...tokens.keys()],
    async headers(email) {
      const token = tokens.get(email);
      if (!token) throw new Error(`lakebase-kit dev has no token for ${email}`);
      return forwardedUserHeaders(email, token);
    },
  };
}

/** `GET /local/headers?user=<email>` → the headers, for the demo users only. */
export function mountLocalHeaders(app: Application, demo: DemoUsers): void {
  app.get(
    '/local/headers',
    jsonRoute(async (req, res) => {
      const user = String(req.query.user ?? '');
      res.set('cache-control', 'no-store');
      if (!demo.users.includes(user)) {
        res.status(404).json({
          error: 'UnknownUser',
          status: 404,
          message: `No demo user "${user}"; try one of ${demo.users.join(', ')}`,
        });
        return undefined;
      }
      return demo.headers(user);
    }),
  );
}

/** Two ready curl commands (one per demo user) for the start banner. */
export async function curlCommands(demo: DemoUsers, url: string): Promise<string> {
  const blocks: string[] = [];
  for (const email of demo.users.slice(0, 2)) {
    const headers = await demo.headers(email);
    const flags = Object.entries(headers).map(([key, value]) => `  -H '${key}: ${value}'`);
    blocks.push(`# ${email}'s orders\ncurl ${url}api/my-orders \\\n${flags.join(' \\\n')}`);
  }
  return blocks.join('\n\n');
}
