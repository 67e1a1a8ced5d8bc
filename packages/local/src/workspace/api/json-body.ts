/** A request body that must be a JSON object (400 MALFORMED_REQUEST otherwise). */
import type http from 'node:http';
import { readBody } from '../http.js';
import { ApiError } from './api-error.js';

export async function readJsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  let body: unknown;
  try {
    body = raw ? JSON.parse(raw) : {};
  } catch {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'MALFORMED_REQUEST', 'Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
