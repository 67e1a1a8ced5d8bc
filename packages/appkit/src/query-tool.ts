/**
 * The `query` agent tool: the official plugin's name, schema, descriptions and annotations,
 * run by `@lakebase-kit/core`'s statement runner on one user's scope. Read-only mode runs
 * `readOnlyQuery` (one statement over the extended protocol, READ ONLY transaction always
 * rolled back, `statement_timeout`, row cap); otherwise `singleStatementQuery` (one statement,
 * committed, annotated destructive so AppKit's agents ask a human first).
 */
import { defineTool, type ToolEntry } from '@databricks/appkit/beta';
import {
  ConfigurationError,
  STATEMENT_DEFAULTS,
  type StatementResult,
  type UserScope,
} from '@lakebase-kit/core';
import { z } from 'zod';

/** `lakebase({ exposeAsAgentTool })`: the official `{ readOnly }`, plus the runner's limits. */
export interface LakebaseExposeAsAgentTool {
  /** Read-only (default `true`). `false` lets the tool write, as the user, after approval. */
  readOnly?: boolean;
  /** `statement_timeout` of each statement in ms (default 10000). */
  timeoutMs?: number;
  /** Rows returned at most (default 1000); the answer's `truncated` says when there were more. */
  maxRows?: number;
}

export interface QueryToolOptions {
  readOnly: boolean;
  timeoutMs: number;
  maxRows: number;
}

/** The tool's name in the plugin's registry (`lakebase.query` in an agent's toolkit). */
export const QUERY_TOOL = 'query';

const READ_ONLY_DESCRIPTION =
  'Execute a read-only SQL query against the Lakebase PostgreSQL database. Only SELECT, WITH, SHOW, EXPLAIN, and DESCRIBE statements are accepted. Use $1, $2, etc. as placeholders and pass values separately.';
const WRITE_DESCRIPTION =
  'Execute a parameterized SQL statement against the Lakebase PostgreSQL database. Use $1, $2, etc. as placeholders and pass values separately. This tool can modify data; every invocation requires explicit human approval.';

const querySchema = z.object({
  text: z.string().describe('SQL statement with $1, $2, ... placeholders for parameters'),
  values: z
    .array(z.unknown())
    .optional()
    .describe('Parameter values corresponding to placeholders'),
});

function option(name: string, message: string): ConfigurationError {
  return new ConfigurationError(`Invalid option "exposeAsAgentTool.${name}": ${message}`, {
    option: `exposeAsAgentTool.${name}`,
  });
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw option(name, 'expected a positive integer');
  }
  return value;
}

/**
 * The tool's options, or undefined when the tool is off. As in the official plugin any truthy
 * `exposeAsAgentTool` turns it on and only `readOnly: false` allows writes.
 * @throws ConfigurationError naming the option when a value is malformed.
 */
export function queryToolOptions(config: unknown): QueryToolOptions | undefined {
  if (config === undefined || config === null || config === false) return undefined;
  if (config === true) return { readOnly: true, ...STATEMENT_DEFAULTS };
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigurationError(
      'Invalid option "exposeAsAgentTool": expected { readOnly?, timeoutMs?, maxRows? }',
      { option: 'exposeAsAgentTool' },
    );
  }
  const { readOnly, timeoutMs, maxRows } = config as LakebaseExposeAsAgentTool;
  if (readOnly !== undefined && typeof readOnly !== 'boolean') {
    throw option('readOnly', 'expected true or false');
  }
  return {
    readOnly: readOnly !== false,
    timeoutMs: positiveInteger('timeoutMs', timeoutMs, STATEMENT_DEFAULTS.timeoutMs),
    maxRows: positiveInteger('maxRows', maxRows, STATEMENT_DEFAULTS.maxRows),
  };
}

/** The startup warning of the official plugin. */
export function queryToolWarning(options: QueryToolOptions): string {
  return `Lakebase agent tool is enabled (readOnly=${options.readOnly}). Every agent with access to this plugin can execute SQL against the Lakebase database as the requesting user's identity.`;
}

/**
 * The `query` tool running on `scope()` (resolved per call: it throws when there is no user).
 * It answers the runner's `StatementResult`; refusals and Postgres errors are thrown.
 */
export function queryTool(
  options: QueryToolOptions,
  scope: () => UserScope,
): ToolEntry<typeof querySchema> {
  const { readOnly, timeoutMs, maxRows } = options;
  return defineTool({
    description: readOnly ? READ_ONLY_DESCRIPTION : WRITE_DESCRIPTION,
    schema: querySchema,
    annotations: {
      effect: readOnly ? 'read' : 'destructive',
      idempotent: false,
      requiresUserContext: true,
    },
    execute: (args, signal): Promise<StatementResult> => {
      signal?.throwIfAborted();
      const user = scope();
      const limits = { timeoutMs, maxRows, signal };
      return readOnly
        ? user.readOnlyQuery(args.text, args.values, limits)
        : user.singleStatementQuery(args.text, args.values, limits);
    },
  });
}
