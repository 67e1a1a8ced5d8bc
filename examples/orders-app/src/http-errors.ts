/**
 * Errors → HTTP: lakebase-kit's typed errors carry what went wrong (401 no/invalid user token,
 * 400 malformed headers, 503 connection budget or credential outage); everything else is a
 * 500 whose details stay in the server log. Messages never contain a token.
 */
import { redactSecrets } from '@lakebase-kit/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** A request the app refuses (bad input). */
export class BadRequestError extends Error {
  readonly status = 400;
  override name = 'BadRequestError';
}

const STATUS_BY_CODE: Record<string, number> = {
  LAKEBASE_AUTHENTICATION: 401,
  LAKEBASE_VALIDATION: 400,
  LAKEBASE_POOL_BUDGET: 503,
  LAKEBASE_CREDENTIAL: 503,
  LAKEBASE_CLOSED: 503,
  // Postgres: permission denied / RLS violation; compute starting or shutting down.
  '42501': 403,
  '57P01': 503,
  '57P03': 503,
};

/** The error that decides the status: ORMs wrap driver errors (Drizzle: `cause`). */
export function rootError(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    const code = (current as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && STATUS_BY_CODE[code]) return current;
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null) break;
    current = cause;
  }
  return error;
}

export function errorStatus(error: unknown): number {
  const root = rootError(error);
  const { code, status, expose } = (root ?? {}) as {
    code?: unknown;
    status?: unknown;
    expose?: unknown;
  };
  if (typeof code === 'string' && STATUS_BY_CODE[code]) return STATUS_BY_CODE[code];
  if (root instanceof BadRequestError) return 400;
  // body-parser / http-errors (e.g. malformed JSON) say whether their message is safe to show.
  if (expose === true && typeof status === 'number' && status >= 400 && status < 500) return status;
  return 500;
}

/** Sends `{ error, message }` with the mapped status; logs 5xx (redacted) on the server. */
export function sendError(res: Response, error: unknown): void {
  const status = errorStatus(error);
  const root = rootError(error);
  const err = root instanceof Error ? root : new Error(String(root));
  if (status >= 500) console.error(`[orders-app] ${err.name}: ${redactSecrets(err.message)}`);
  const message = status === 500 ? 'Internal server error' : redactSecrets(err.message);
  if (!res.headersSent) res.status(status).json({ error: err.name, status, message });
}

/** An async JSON route: the handler's result is the body; a thrown error is mapped. */
export function jsonRoute(
  handler: (req: Request, res: Response) => Promise<unknown>,
  successStatus = 200,
): RequestHandler {
  return (req, res) => {
    handler(req, res).then(
      (body) => {
        if (!res.headersSent) res.status(successStatus).json(body);
      },
      (error: unknown) => sendError(res, error),
    );
  };
}

/** Express error middleware (e.g. a malformed JSON body) with the same mapping. */
export function errorMiddleware(
  error: unknown,
  _req: Request,
  res: Response,
  _next: NextFunction,
): void {
  sendError(res, error);
}
