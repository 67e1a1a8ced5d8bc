/**
 * The `query` agent tool: the official plugin's name, schema, descriptions, annotations, answer
 * (the bare rows) and refusal (`ReadOnlySqlViolation`), run by `@lakebase-kit/core`'s statement
 * runner on one user's scope. Read-only mode first applies AppKit's read-only rule, then runs
 * `readOnlyQuery` (one statement over the extended protocol, READ ONLY transaction always
 * rolled back, `statement_timeout`, row and byte caps); otherwise `singleStatementQuery` (one
 * statement, committed, annotated destructive so AppKit's agents ask a human first).
 */
import { ConfigurationError } from '@databricks/appkit';
import { defineTool, type ToolEntry } from '@databricks/appkit/beta';
import {
  ValidationError as CoreValidationError,
  STATEMENT_DEFAULTS,
  type StatementResult,
  type UserScope,
} from '@lakebase-kit/core';
import { z } from 'zod';
import { toAppKitError } from './errors.js';
import { assertReadOnlySql, ReadOnlySqlViolation } from './read-only-sql.js';

/** What the tool answers: the bare rows (as the official tool), or the runner's whole result. */
export type QueryToolAnswer = 'rows' | 'detailed';

/** `lakebase({ exposeAsAgentTool })`: the official `{ readOnly }`, plus the runner's limits. */
export interface LakebaseExposeAsAgentTool {
  /** Read-only (default `true`). `false` lets the tool write, as the user, after approval. */
  readOnly?: boolean;
  /**
   * `'rows'` (default): the rows array, as the official tool answers. `'detailed'`:
   * `{ rows, fields, rowCount, command, truncated, truncatedBy? }`, so the model sees when a
   * cap cut the answer.
   */
  answer?: QueryToolAnswer;
  /** `statement_timeout` of each statement in ms (default 10000). */
  timeoutMs?: number;
  /** Rows returned at most (default 1000). */
  maxRows?: number;
  /** Bytes of answer (the rows as JSON) at most (default 4 MiB). */
  maxBytes?: number;
}

export interface QueryToolOptions {
  readOnly: boolean;
  answer: QueryToolAnswer;
  timeoutMs: number;
  maxRows: number;
  maxBytes: number;
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
    context: { option: `exposeAsAgentTool.${name}` },
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
 * @throws ConfigurationError (AppKit's) naming the option in `context.option` when a value is
 * malformed.
 */
export function queryToolOptions(config: unknown): QueryToolOptions | undefined {
  if (config === undefined || config === null || config === false) return undefined;
  if (config === true) return { readOnly: true, answer: 'rows', ...STATEMENT_DEFAULTS };
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigurationError(
      'Invalid option "exposeAsAgentTool": expected { readOnly?, answer?, timeoutMs?, maxRows?, maxBytes? }',
      { context: { option: 'exposeAsAgentTool' } },
    );
  }
  const { readOnly, answer, timeoutMs, maxRows, maxBytes } = config as LakebaseExposeAsAgentTool;
  if (readOnly !== undefined && typeof readOnly !== 'boolean') {
    throw option('readOnly', 'expected true or false');
  }
  if (answer !== undefined && answer !== 'rows' && answer !== 'detailed') {
    throw option('answer', "expected 'rows' or 'detailed'");
  }
  return {
    readOnly: readOnly !== false,
    answer: answer ?? 'rows',
    timeoutMs: positiveInteger('timeoutMs', timeoutMs, STATEMENT_DEFAULTS.timeoutMs),
    maxRows: positiveInteger('maxRows', maxRows, STATEMENT_DEFAULTS.maxRows),
    maxBytes: positiveInteger('maxBytes', maxBytes, STATEMENT_DEFAULTS.maxBytes),
  };
}

/** The startup warning of the official plugin. */
export function queryToolWarning(options: QueryToolOptions): string {
  return `Lakebase agent tool is enabled (readOnly=${options.readOnly}). Every agent with access to this plugin can execute SQL against the Lakebase database as the requesting user's identity.`;
}

/**
 * Runs the statement on `scope()` (resolved per call: it throws when there is no user). An
 * aborted call throws the signal's reason, as AbortSignal-aware APIs do; a statement core
 * refuses in read-only mode throws `ReadOnlySqlViolation` (its reason is core's); every other
 * error of the kit is AppKit's (Postgres errors pass through).
 */
async function runStatement(
  options: QueryToolOptions,
  scope: () => UserScope,
  args: { text: string; values?: unknown[] | undefined },
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const { readOnly, answer, timeoutMs, maxRows, maxBytes } = options;
  signal?.throwIfAborted();
  if (readOnly) assertReadOnlySql(args.text);
  let result: StatementResult;
  try {
    const user = scope();
    const limits = { timeoutMs, maxRows, maxBytes, signal };
    result = readOnly
      ? await user.readOnlyQuery(args.text, args.values, limits)
      : await user.singleStatementQuery(args.text, args.values, limits);
  } catch (error) {
    signal?.throwIfAborted();
    if (readOnly && error instanceof CoreValidationError && error.option === 'text') {
      const reason = error.message.replace(/^The statement was refused: /, '');
      throw new ReadOnlySqlViolation(reason, { cause: error });
    }
    throw toAppKitError(error);
  }
  return answer === 'detailed' ? result : result.rows;
}

/** The `query` tool running on `scope()`. */
export function queryTool(
  options: QueryToolOptions,
  scope: () => UserScope,
): ToolEntry<typeof querySchema> {
  const { readOnly } = options;
  return defineTool({
    description: readOnly ? READ_ONLY_DESCRIPTION : WRITE_DESCRIPTION,
    schema: querySchema,
    annotations: {
      effect: readOnly ? 'read' : 'destructive',
      idempotent: false,
      requiresUserContext: true,
    },
    execute: (args, signal) => runStatement(options, scope, args, signal),
  });
}
