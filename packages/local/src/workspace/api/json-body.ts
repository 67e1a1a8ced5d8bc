/** A request body that must be a JSON object (400 MALFORMED_REQUEST otherwise). */
import type http from 'node:http';
import { readBody } from '../http.js';
import { ApiError } from './api-error.js';

/** `what`: the object expected, named in the error (`a Role`). */
export async function readJsonBody(
  req: http.IncomingMessage,
  what?: string,
): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  let body: unknown;
  try {
    body = raw ? JSON.parse(raw) : {};
  } catch {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const expected = what === undefined ? '' : ` (${what})`;
    throw new ApiError(400, 'MALFORMED_REQUEST', `Request body must be a JSON object${expected}`);
  }
  return body as Record<string, unknown>;
}
