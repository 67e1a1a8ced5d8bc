/**
 * Errors as HTTP answers: `errorResponse(error)` gives the status and a JSON body for any error
 * of the kit (`{ error: { code, message } }`, the status the error carries), and
 * `lakebaseErrorHandler()` is the same as Express error middleware. Other errors are not
 * answered here: a generic server error (500, no message) for `errorResponse`, `next(error)`
 * for the middleware, so the app's own handler decides. Messages never hold a secret.
 */
import { LakebaseError } from './errors.js';

/** What to answer for an error. */
export interface ErrorResponse {
  status: number;
  body: { error: { code: string; message: string } };
}

/** The HTTP answer for `error`: its own status and code for the kit's errors, else a plain 500. */
export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof LakebaseError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal server error' } } };
}

/** The parts of Express's response this middleware uses. */
interface ResponseLike {
  headersSent?: boolean;
  status(code: number): { json(body: unknown): unknown };
}

/**
 * Express error middleware: answers the kit's errors (`AuthenticationError` 401/403,
 * `PoolBudgetError` 503, ...) with their status and `{ error: { code, message } }`, and passes
 * anything else on. `app.use(lakebaseErrorHandler())` after the routes.
 */
export function lakebaseErrorHandler() {
  return (error: unknown, _req: unknown, res: ResponseLike, next: (error?: unknown) => void) => {
    if (!(error instanceof LakebaseError) || res.headersSent) {
      next(error);
      return;
    }
    const { status, body } = errorResponse(error);
    res.status(status).json(body);
  };
}
