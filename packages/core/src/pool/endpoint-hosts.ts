/**
 * The hosts of a Lakebase endpoint, from the endpoints API (`GET /api/2.0/postgres/{endpoint}`
 * → `status.hosts { host, read_write_pooled_host, read_only_host, read_only_pooled_host }`),
 * with the SP's workspace client (the SDK auth chain), cached per endpoint; and `HostCheck`,
 * which compares the hosts this app is configured with against them once, before the first
 * connection: a stale `PGHOST` would otherwise serve another branch without a word.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import type { Clock } from '../base/clock.js';
import { validateEndpoint } from '../base/endpoint-path.js';
import { ConfigurationError, redactSecrets } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { abortable, cancellableContext } from '../base/sdk-context.js';
import type { HostCheckMode, HostPort } from '../config/scale-out.js';

/** An endpoint as the endpoints API describes it (the parts the kit uses). */
export interface EndpointHosts {
  endpoint: string;
  /** `ENDPOINT_TYPE_READ_WRITE` or `ENDPOINT_TYPE_READ_ONLY`, when the API says. */
  type: string | undefined;
  /** `ACTIVE`, `IDLE`, ... when the API says. */
  state: string | undefined;
  /** Each `host[:port]` as answered; `host` is always there. */
  host: string;
  readWritePooledHost: string | undefined;
  readOnlyHost: string | undefined;
  readOnlyPooledHost: string | undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The API's answer, validated (only `status.hosts.host` is required). */
export function parseEndpointHosts(endpoint: string, response: unknown): EndpointHosts {
  const body = (typeof response === 'object' && response !== null ? response : {}) as Record<
    string,
    unknown
  >;
  const status = (
    typeof body.status === 'object' && body.status !== null ? body.status : {}
  ) as Record<string, unknown>;
  const hosts = (
    typeof status.hosts === 'object' && status.hosts !== null ? status.hosts : {}
  ) as Record<string, unknown>;
  const host = text(hosts.host);
  if (host === undefined) {
    throw new ConfigurationError(
      `The Lakebase endpoints API answered no status.hosts.host for ${endpoint} (is the endpoint being created?)`,
      { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
    );
  }
  return {
    endpoint,
    type: text(status.endpoint_type) ?? text(body.endpoint_type),
    state: text(status.current_state) ?? text(body.current_state),
    host,
    readWritePooledHost: text(hosts.read_write_pooled_host),
    readOnlyHost: text(hosts.read_only_host),
    readOnlyPooledHost: text(hosts.read_only_pooled_host),
  };
}

/** One call of the endpoints API for `endpoint`. */
export async function fetchEndpointHosts(
  workspaceClient: WorkspaceClient,
  endpoint: string,
  timeoutMs = 30_000,
): Promise<EndpointHosts> {
  const path = validateEndpoint(endpoint);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  timer.unref?.();
  try {
    const call = workspaceClient.apiClient.request(
      {
        path: `/api/2.0/postgres/${path}`,
        method: 'GET',
        headers: new Headers({ Accept: 'application/json' }),
        raw: false,
      },
      cancellableContext(controller.signal),
    );
    call.catch(() => {});
    return parseEndpointHosts(path, await abortable(call, controller.signal));
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    const status = (error as { statusCode?: unknown }).statusCode;
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(
      `Could not read endpoint ${path} from the Lakebase endpoints API` +
        `${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${redactSecrets(message)}`,
      { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Where the workspace client comes from (the SP's, created on first use). */
export interface WorkspaceClientSource {
  readonly workspaceClient: WorkspaceClient;
}

/** How long an endpoint's answer is kept (hosts change only when the endpoint is recreated). */
const TTL_MS = 10 * 60_000;
/** How long a failed lookup is remembered before the next one is tried. */
const FAILURE_TTL_MS = 5_000;
const MAX_ENDPOINTS = 32;

/** The endpoints API, cached per endpoint (single flight, bounded). */
export class EndpointDirectory {
  readonly #source: WorkspaceClientSource;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #entries = new Map<string, { at: number; ttl: number; hosts: Promise<EndpointHosts> }>();

  constructor(source: WorkspaceClientSource, clock: Clock, timeoutMs: number) {
    this.#source = source;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  hosts(endpoint: string): Promise<EndpointHosts> {
    const now = this.#clock.now();
    const cached = this.#entries.get(endpoint);
    if (cached && now - cached.at < cached.ttl) return cached.hosts;
    const entry = {
      at: now,
      ttl: TTL_MS,
      hosts: Promise.resolve() as unknown as Promise<EndpointHosts>,
    };
    entry.hosts = fetchEndpointHosts(this.#source.workspaceClient, endpoint, this.#timeoutMs);
    entry.hosts.catch(() => {
      entry.ttl = FAILURE_TTL_MS;
    });
    this.#entries.delete(endpoint);
    if (this.#entries.size >= MAX_ENDPOINTS) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    this.#entries.set(endpoint, entry);
    return entry.hosts;
  }
}

/** One configured host and the endpoint hosts it may be. */
export interface ExpectedHost {
  /** What it is, for the message: `PGHOST`, `the pooled host`, `the read-only host`. */
  what: string;
  configured: HostPort;
  endpoint: string;
  /** Which of the endpoint's hosts it may be. */
  oneOf: (hosts: EndpointHosts) => (string | undefined)[];
}

function sameHost(configured: HostPort, answered: string | undefined): boolean {
  if (answered === undefined) return false;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(answered);
  const match = v6 ?? /^([^:]+)(?::(\d+))?$/.exec(answered);
  if (!match?.[1]) return false;
  if (match[1].toLowerCase() !== configured.host.toLowerCase()) return false;
  return match[2] === undefined || Number(match[2]) === configured.port;
}

/** Where an endpoint's hosts come from (the cached directory, or one answer in hand). */
export interface EndpointHostsSource {
  hosts(endpoint: string): Promise<EndpointHosts>;
}

/** The mismatches of `expected` against the endpoints' answers; empty when all match. */
export async function hostMismatches(
  directory: EndpointHostsSource,
  expected: readonly ExpectedHost[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const item of expected) {
    const hosts = await directory.hosts(item.endpoint);
    const candidates = item.oneOf(hosts).filter((h): h is string => h !== undefined);
    if (!candidates.some((candidate) => sameHost(item.configured, candidate))) {
      problems.push(
        `${item.what} ${item.configured.host}:${item.configured.port} is not a host of ${item.endpoint}` +
          ` (it answers ${candidates.length ? candidates.join(', ') : 'no such host'})`,
      );
    }
  }
  return problems;
}

/**
 * The check before the first connection (every pool asks `ready()`; one API round per endpoint,
 * then a settled promise). `error`: a mismatch fails every connection with a
 * `ConfigurationError`; `warn`: one log line. An API that cannot be asked is one info line and
 * no check for this process (the doctor asks again): connections go on.
 */
export class HostCheck {
  readonly #mode: HostCheckMode;
  readonly #directory: EndpointDirectory;
  readonly #expected: readonly ExpectedHost[];
  readonly #logger: Logger;
  #result: Promise<void> | undefined;
  #passed = false;

  constructor(
    mode: HostCheckMode,
    directory: EndpointDirectory,
    expected: readonly ExpectedHost[],
    logger: Logger,
  ) {
    this.#mode = mode;
    this.#directory = directory;
    this.#expected = expected;
    this.#logger = logger;
  }

  get mode(): HostCheckMode {
    return this.#mode;
  }

  /**
   * Undefined once connections may go on (the hot path: no promise); else the check, which
   * rejects with the mismatch in `error` mode.
   */
  ready(): Promise<void> | undefined {
    if (this.#passed || this.#mode === 'off' || this.#expected.length === 0) return undefined;
    this.#result ??= this.#run();
    return this.#result;
  }

  /** The mismatches now (the doctor's check): asks the API again after its cache expired. */
  mismatches(): Promise<string[]> {
    return hostMismatches(this.#directory, this.#expected);
  }

  async #run(): Promise<void> {
    let problems: string[];
    try {
      problems = await hostMismatches(this.#directory, this.#expected);
    } catch (error) {
      // once, at info (an identity without CAN USE on the project is common, not an alarm):
      // connections go on, and the doctor's hosts check asks again
      this.#logger.info(
        `lakebase: could not check the hosts against the endpoint (hostCheck): ${error instanceof Error ? error.message : String(error)}`,
      );
      this.#passed = true;
      return;
    }
    if (problems.length === 0) {
      this.#passed = true;
      return;
    }
    const message =
      `lakebase: ${problems.join('; ')}. A stale PGHOST connects to another branch or project: ` +
      'set it from the endpoint (lakebase-kit env, or the app resource), or set hostCheck ' +
      "'warn' (env LAKEBASE_HOST_CHECK=warn) to only log this";
    if (this.#mode === 'warn') {
      this.#logger.warn(message);
      this.#passed = true;
      return;
    }
    throw new ConfigurationError(message, { option: 'host', envVar: 'PGHOST' });
  }
}
