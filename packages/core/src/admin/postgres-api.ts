/**
 * The Lakebase management REST API (`/api/2.0/postgres/...`) as one small client: a call, with
 * the workspace client's own credentials (`config.authenticate`) and `fetch` (the SDK's
 * `apiClient.request` drops the body of PATCH requests), and the wait for a long-running
 * operation. Failures are typed: a 403 is a `PermissionDeniedError` naming the permission; the
 * rest are the API's own error class (`RolesApiError`, `BranchesApiError`), with the HTTP status
 * and Databricks `error_code`. No token is ever in a message.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { redactSecrets } from '../base/errors.js';
import { PermissionDeniedError } from './api-errors.js';

/** A long-running operation, as the API answers it. */
export interface Operation {
  name?: string;
  done?: boolean;
  error?: { error_code?: string; message?: string };
  response?: unknown;
  metadata?: unknown;
}

/** The error class an API's failures are (its message names the API and the action). */
export type ApiErrorClass = new (
  message: string,
  details: { status?: number; errorCode?: string; cause?: unknown },
) => Error;

export interface PostgresApiOptions {
  /** Give up waiting for an operation after this long (default 300000). */
  operationTimeoutMs?: number;
  /** Timeout of one HTTP call (default 30000). */
  requestTimeoutMs?: number;
  /** Reports the state of an operation while waiting (e.g. a branch's `INIT` → `READY`). */
  onProgress?: (message: string) => void;
}

export class PostgresApi {
  readonly #workspaceClient: WorkspaceClient;
  readonly #project: string;
  readonly #operationTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #apiName: string;
  readonly #errorClass: ApiErrorClass;

  constructor(
    workspaceClient: WorkspaceClient,
    /** `projects/<p>`, to name the permission a 403 lacks. */
    project: string,
    api: { name: string; errorClass: ApiErrorClass },
    options: PostgresApiOptions = {},
  ) {
    this.#workspaceClient = workspaceClient;
    this.#project = project;
    this.#apiName = api.name;
    this.#errorClass = api.errorClass;
    this.#operationTimeoutMs = options.operationTimeoutMs ?? 300_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  #failed(
    action: string,
    detail: string,
    details: { status?: number; errorCode?: string; cause?: unknown } = {},
  ): Error {
    return new this.#errorClass(
      `The Lakebase ${this.#apiName} API failed to ${action}: ${detail}`,
      details,
    );
  }

  /** Polls `operation` until done; its `response`, or the typed failure. */
  async wait(
    action: string,
    operation: Operation,
    onProgress?: (operation: Operation) => void,
  ): Promise<unknown> {
    const deadline = Date.now() + this.#operationTimeoutMs;
    let current = operation;
    let delay = 0;
    while (!current.done) {
      if (!current.name) {
        throw this.#failed(action, 'the API did not return an operation');
      }
      if (Date.now() > deadline) {
        throw this.#failed(
          action,
          `gave up waiting for operation ${current.name} after ${this.#operationTimeoutMs} ms`,
        );
      }
      onProgress?.(current);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(Math.max(delay * 2, 100), 2000);
      current = (await this.call(action, 'GET', current.name)) as Operation;
    }
    if (current.error) {
      const code = current.error.error_code;
      throw this.#failed(
        action,
        `${code ? `${code}: ` : ''}${redactSecrets(current.error.message ?? 'unknown error')}`,
        { errorCode: code },
      );
    }
    return current.response;
  }

  /** Every item of a paged list (`key` of each page, `next_page_token` to the next). */
  async listAll<T>(action: string, path: string, key: string): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    do {
      const page = (await this.call(action, 'GET', path, {
        query: pageToken ? { page_token: pageToken } : undefined,
      })) as Record<string, unknown> & { next_page_token?: string };
      items.push(...((page[key] as T[] | undefined) ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return items;
  }

  /** One call of `path` (under `/api/2.0/postgres/`); the JSON answer. */
  async call(
    action: string,
    method: string,
    path: string,
    options: { query?: Record<string, string>; body?: unknown } = {},
  ): Promise<unknown> {
    const config = this.#workspaceClient.config;
    const url = new URL(`/api/2.0/postgres/${path}`, await config.getHost());
    for (const [key, value] of Object.entries(options.query ?? {}))
      url.searchParams.set(key, value);
    const headers = new Headers({ Accept: 'application/json' });
    if (options.body !== undefined) headers.set('Content-Type', 'application/json');
    let response: Response;
    try {
      await config.authenticate(headers);
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.#requestTimeoutMs),
      });
    } catch (error) {
      throw this.#failed(
        action,
        `could not reach ${url.origin}: ${redactSecrets(error instanceof Error ? error.message : String(error))}`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = undefined;
    }
    if (response.ok && body !== undefined) return body;
    const { error_code: errorCode, message } = (body ?? {}) as {
      error_code?: string;
      message?: string;
    };
    const detail = `HTTP ${response.status}${errorCode ? ` ${errorCode}` : ''}${
      message ? `: ${redactSecrets(message)}` : body === undefined ? ' (not JSON)' : ''
    }`;
    if (response.status === 403) {
      const permission = /\b(CAN_[A-Z_]+)\b/.exec(message ?? '')?.[1] ?? 'CAN_MANAGE';
      throw new PermissionDeniedError(
        `The Lakebase ${this.#apiName} API refused to ${action}: ${detail}`,
        {
          missing: [`${permission} on project ${this.#project}`],
        },
      );
    }
    throw this.#failed(action, detail, { status: response.status, errorCode });
  }
}
