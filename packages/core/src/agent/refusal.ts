/**
 * What an agent's statement may not be, checked before anything is sent (by token, with the one
 * SQL lexer): empty or huge, not starting with a keyword, a session or transaction statement,
 * anything but a read in read-only mode, and calls of functions whose effects outlive a
 * rolled-back transaction or that run SQL given as text. Postgres enforces the rest (one
 * statement, the READ ONLY transaction).
 */
import { ValidationError } from '../base/errors.js';
import { calledFunctions, firstKeyword, SESSION_KEYWORDS } from '../base/sql-lexer.js';

const MAX_TEXT_LENGTH = 100_000;

/** The first keywords a read-only statement may start with. */
const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'SHOW', 'EXPLAIN']);

/**
 * What an agent's statement may never start with, in either mode: the session and transaction
 * statements (they would outlive the statement, or leave the connection in a state the pool
 * cannot trust), and those that run code or files or can't run in a transaction.
 */
const AGENT_REFUSED_KEYWORDS = new Set([
  ...SESSION_KEYWORDS,
  'DO',
  'CALL',
  'COPY',
  'CHECKPOINT',
  'VACUUM',
]);
/**
 * Functions whose effect outlives a rolled-back transaction, or reaches outside the
 * database: refused wherever they are called (by token: a name followed by `(`, however spelled).
 */
const SIDE_EFFECT_FUNCTIONS: ReadonlySet<string> = new Set([
  'set_config',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_advisory_unlock',
  'pg_advisory_unlock_all',
  'pg_advisory_unlock_shared',
  'pg_notify',
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'dblink_send_query',
  'lo_import',
  'lo_export',
  'lo_unlink',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_file_write',
  'pg_stat_reset',
  'pg_sleep_until',
]);
/** Functions that run SQL given to them as text: what that text does, no check here can see. */
const DYNAMIC_SQL_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'ts_stat',
  'ts_rewrite',
]);

function refuse(reason: string): ValidationError {
  return new ValidationError(`The statement was refused: ${reason}`, { option: 'text' });
}

/**
 * Why the statement is refused before anything is sent, or undefined. Postgres enforces the
 * rest (one statement, read-only transaction); this only refuses what a rollback cannot undo.
 */
export function refusal(
  text: unknown,
  values: unknown,
  readOnly: boolean,
): ValidationError | undefined {
  if (typeof text !== 'string' || text.trim() === '')
    return refuse('"text" must be a non-empty SQL string');
  if (text.length > MAX_TEXT_LENGTH) {
    return refuse(`it is longer than ${MAX_TEXT_LENGTH} characters`);
  }
  if (values !== undefined && values !== null && !Array.isArray(values)) {
    return refuse('"values" must be an array of parameter values');
  }
  const keyword = firstKeyword(text);
  if (keyword === '') return refuse('it does not start with an SQL keyword');
  if (AGENT_REFUSED_KEYWORDS.has(keyword)) {
    return refuse(`${keyword} changes the session or the transaction, not data`);
  }
  if (readOnly && !READ_KEYWORDS.has(keyword)) {
    return refuse(
      `only ${[...READ_KEYWORDS].join(', ')} statements run in read-only mode, not ${keyword}`,
    );
  }
  // by token: a call is a name followed by `(`, however it is spelled, quoted or commented
  for (const name of calledFunctions(text)) {
    const called = name.toLowerCase();
    if (SIDE_EFFECT_FUNCTIONS.has(called)) {
      return refuse(`${called}() has effects a rollback does not undo`);
    }
    if (DYNAMIC_SQL_FUNCTIONS.has(called)) {
      return refuse(`${called}() runs SQL given as text, which cannot be checked`);
    }
  }
  return undefined;
}
