/**
 * The official agent tool's read-only rule, for the same refusals with the same error: every
 * `;`-separated statement (outside strings, quoted identifiers, dollar quotes and comments) must
 * start with SELECT, WITH, SHOW, EXPLAIN, DESCRIBE or DESC, else `ReadOnlySqlViolation` with
 * AppKit's message. AppKit does not export its check or its error class (`sql-policy` of
 * `@databricks/appkit` 0.38), so this module implements the same rule and reasons.
 *
 * It is only the first line here, as in AppKit: the statement then runs through core's
 * `readOnlyQuery` (one statement over the extended protocol, READ ONLY transaction always
 * rolled back, session-changing statements and side-effect functions refused).
 */

/** What AppKit's agent tool throws when a statement is not read-only (same name and message). */
export class ReadOnlySqlViolation extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`SQL read-only policy violation: ${reason}`, options);
    // an own, enumerable property, as AppKit's class sets it
    this.name = 'ReadOnlySqlViolation';
  }
}

const READ_ONLY_KEYWORDS = ['SELECT', 'WITH', 'SHOW', 'EXPLAIN', 'DESCRIBE', 'DESC'];
const ALLOWED = new Set(READ_ONLY_KEYWORDS);

type Unterminated = 'string' | 'block comment' | 'identifier' | 'dollar-quoted string';

/** End of a quoted run starting at `start` (the opening quote), or -1 when it never closes. */
function quotedEnd(sql: string, start: number, quote: string, backslash: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const ch = sql[i];
    if (backslash && ch === '\\' && i + 1 < sql.length) {
      i++;
    } else if (ch === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i++; // a doubled quote stands for itself
    }
  }
  return -1;
}

/** End of a (nested) block comment starting at `start`, or -1. */
function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  for (let i = start; i < sql.length - 1; i++) {
    const pair = sql.slice(i, i + 2);
    if (pair === '/*') {
      depth++;
      i++;
    } else if (pair === '*/') {
      depth--;
      i++;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * `sql` with everything that is not SQL keywords or punctuation (comments, string and dollar
 * quoted literals, quoted identifiers) replaced by spaces; or what was left unterminated.
 */
function blankOutLiterals(sql: string): { code: string } | { unterminated: Unterminated } {
  let code = '';
  let i = 0;
  const skipTo = (end: number) => {
    code += ' '.repeat(end - i);
    i = end;
  };
  while (i < sql.length) {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      skipTo(newline === -1 ? sql.length : newline);
    } else if (ch === '/' && next === '*') {
      const end = blockCommentEnd(sql, i);
      if (end === -1) return { unterminated: 'block comment' };
      skipTo(end);
    } else if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'")) {
      const open = ch === "'" ? i : i + 1;
      const end = quotedEnd(sql, open, "'", true);
      if (end === -1) return { unterminated: 'string' };
      skipTo(end);
    } else if (ch === '"' || ch === '`') {
      const end = quotedEnd(sql, i, ch, false);
      if (end === -1) return { unterminated: 'identifier' };
      skipTo(end);
    } else if (ch === '$' && /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = (/^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i)) as RegExpExecArray)[0];
      const close = sql.indexOf(tag, i + tag.length);
      if (close === -1) return { unterminated: 'dollar-quoted string' };
      skipTo(close + tag.length);
    } else {
      code += ch;
      i++;
    }
  }
  return { code };
}

/** Why `sql` is not read-only by AppKit's rule, or undefined when it is. */
export function readOnlyViolation(sql: string): string | undefined {
  const blanked = blankOutLiterals(sql);
  if ('unterminated' in blanked) return `SQL has an unterminated ${blanked.unterminated} literal`;
  const statements = blanked.code
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
  if (statements.length === 0) return 'SQL is empty or contains only comments';
  for (const [index, statement] of statements.entries()) {
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(statement)?.[0];
    if (word === undefined) return `statement ${index + 1} of ${statements.length} is empty`;
    if (!ALLOWED.has(word.toUpperCase())) {
      return `statement starts with '${word}'; only ${READ_ONLY_KEYWORDS.join(', ')} are allowed in read-only mode`;
    }
  }
  return undefined;
}

/** @throws ReadOnlySqlViolation when `sql` is not read-only by AppKit's rule. */
export function assertReadOnlySql(sql: string): void {
  const reason = readOnlyViolation(sql);
  if (reason !== undefined) throw new ReadOnlySqlViolation(reason);
}
