/**
 * The one SQL lexer of the core: Postgres' lexical rules, enough to tell what a statement starts
 * with and which functions it calls, whatever its spelling. Comments (`--`, nested `/* *\/`),
 * strings (`'…'`, `E'…'`, `U&'…'`, `B'…'`, `X'…'`, `$tag$…$tag$`), quoted identifiers (`"…"` and
 * `U&"…"` with `\XXXX`/`\+XXXXXX` escapes and `UESCAPE`), parameters (`$1`) and operators are
 * told apart, so a check works on tokens, never on text: `pg_advisory_lock/**\/(1)` and
 * `u&"pg\005fnotify"(…)` are the calls they are. Pure; never throws (an unterminated string or
 * comment simply ends the text).
 */

export type SqlTokenKind =
  /** An unquoted word (keyword or identifier); `value` is lower-cased, as Postgres folds it. */
  | 'word'
  /** A quoted identifier; `value` is the name it denotes (escapes decoded, case kept). */
  | 'identifier'
  | 'string'
  | 'number'
  | 'parameter'
  | 'operator'
  /** One of `( ) [ ] , ; . :` (and `::`). */
  | 'punctuation';

export interface SqlToken {
  kind: SqlTokenKind;
  value: string;
  /** Offset of the token in the text. */
  start: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OPERATOR_CHARS = '+-*/<>=~!@#%^&|`?';
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Skips whitespace and comments from `i`; the offset of the next token (or the end). */
function skipTrivia(text: string, from: number): number {
  let i = from;
  for (;;) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end + 1;
    } else if (text.startsWith('/*', i)) {
      let depth = 0;
      while (i < text.length) {
        if (text.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (text.startsWith('*/', i)) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else return i;
  }
}

/** The end of a quoted run opened at `i` by `quote` (doubled quotes escape it; `backslash`: `\x` too). */
function quotedEnd(text: string, i: number, quote: string, backslash: boolean): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (backslash && c === '\\') j += 2;
    else if (c === quote) {
      if (text[j + 1] === quote) j += 2;
      else return j + 1;
    } else j++;
  }
  return text.length;
}

/** `body` of a `U&"…"` identifier with `escapeChar` escapes decoded (an invalid escape is kept as is). */
function decodeUnicodeEscapes(body: string, escapeChar: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== escapeChar) {
      out += c;
      continue;
    }
    if (body[i + 1] === escapeChar) {
      out += escapeChar;
      i++;
      continue;
    }
    const long = body[i + 1] === '+';
    const digits = body.slice(long ? i + 2 : i + 1, long ? i + 8 : i + 5);
    if (/^[0-9A-Fa-f]+$/.test(digits) && digits.length === (long ? 6 : 4)) {
      const code = Number.parseInt(digits, 16);
      if (code <= 0x10ffff) {
        out += String.fromCodePoint(code);
        i += long ? 7 : 4;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** The tokens of `text`, in order (comments and whitespace dropped). */
export function sqlTokens(text: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = skipTrivia(text, 0);
  while (i < text.length) {
    const start = i;
    const c = text[i] as string;
    const next = text[i + 1];
    const lower = c.toLowerCase();
    if ((lower === 'u' && next === '&' && (text[i + 2] === '"' || text[i + 2] === "'")) || false) {
      // U&"…" / U&'…' [UESCAPE 'c']
      const quote = text[i + 2] as string;
      const end = quotedEnd(text, i + 2, quote, false);
      let escapeChar = '\\';
      let after = skipTrivia(text, end);
      const uescape = /^uescape\b/i.exec(text.slice(after, after + 8));
      if (uescape) {
        const at = skipTrivia(text, after + 7);
        if (text[at] === "'" && text[at + 2] === "'") {
          escapeChar = text[at + 1] as string;
          after = at + 3;
        }
      } else after = end;
      const body = text.slice(i + 3, end - 1).replaceAll(quote + quote, quote);
      tokens.push({
        kind: quote === '"' ? 'identifier' : 'string',
        value: decodeUnicodeEscapes(body, escapeChar),
        start,
      });
      i = skipTrivia(text, after);
      continue;
    }
    if ("'" === c) {
      const end = quotedEnd(text, i, "'", false);
      tokens.push({ kind: 'string', value: text.slice(i + 1, end - 1), start });
      i = skipTrivia(text, end);
      continue;
    }
    if ((lower === 'e' || lower === 'b' || lower === 'x' || lower === 'n') && next === "'") {
      const end = quotedEnd(text, i + 1, "'", lower === 'e');
      tokens.push({ kind: 'string', value: text.slice(i + 2, end - 1), start });
      i = skipTrivia(text, end);
      continue;
    }
    if (c === '"') {
      const end = quotedEnd(text, i, '"', false);
      tokens.push({
        kind: 'identifier',
        value: text.slice(i + 1, end - 1).replaceAll('""', '"'),
        start,
      });
      i = skipTrivia(text, end);
      continue;
    }
    if (c === '$') {
      if (next !== undefined && /[0-9]/.test(next)) {
        let j = i + 1;
        while (j < text.length && /[0-9]/.test(text[j] as string)) j++;
        tokens.push({ kind: 'parameter', value: text.slice(i, j), start });
        i = skipTrivia(text, j);
        continue;
      }
      const tag = DOLLAR_TAG.exec(text.slice(i, i + 200));
      if (tag) {
        const close = text.indexOf(tag[0], i + tag[0].length);
        const end = close < 0 ? text.length : close + tag[0].length;
        tokens.push({
          kind: 'string',
          value: text.slice(i + tag[0].length, close < 0 ? text.length : close),
          start,
        });
        i = skipTrivia(text, end);
        continue;
      }
    }
    if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < text.length && WORD_PART.test(text[j] as string)) j++;
      tokens.push({ kind: 'word', value: text.slice(i, j).toLowerCase(), start });
      i = skipTrivia(text, j);
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z_.]/.test(text[j] as string)) j++;
      tokens.push({ kind: 'number', value: text.slice(i, j), start });
      i = skipTrivia(text, j);
      continue;
    }
    if (c === ':' && next === ':') {
      tokens.push({ kind: 'punctuation', value: '::', start });
      i = skipTrivia(text, i + 2);
      continue;
    }
    if ('()[],;.:'.includes(c)) {
      tokens.push({ kind: 'punctuation', value: c, start });
      i = skipTrivia(text, i + 1);
      continue;
    }
    if (OPERATOR_CHARS.includes(c)) {
      let j = i + 1;
      // an operator ends where a comment starts
      while (
        j < text.length &&
        OPERATOR_CHARS.includes(text[j] as string) &&
        !text.startsWith('--', j) &&
        !text.startsWith('/*', j)
      )
        j++;
      tokens.push({ kind: 'operator', value: text.slice(i, j), start });
      i = skipTrivia(text, j);
      continue;
    }
    tokens.push({ kind: 'punctuation', value: c, start });
    i = skipTrivia(text, i + 1);
  }
  return tokens;
}

/** The statement's first keyword, upper-cased ('' when it does not start with a word). */
export function firstKeyword(text: string): string {
  const start = skipTrivia(text, 0);
  const c = text[start];
  if (c === undefined || !/[A-Za-z_]/.test(c)) return '';
  // the hot path (every query's telemetry and every set-role query): no token array
  let j = start + 1;
  while (j < text.length && /[A-Za-z]/.test(text[j] as string)) j++;
  if (j < text.length && WORD_PART.test(text[j] as string)) {
    // a word that goes on with digits, `_` or `$` is no keyword (`select1`), but still a word
    const token = sqlTokens(text.slice(start))[0];
    return token?.kind === 'word' ? token.value.toUpperCase() : '';
  }
  const word = text.slice(start, j);
  // `E'…'`, `U&"…"`, `B'…'`: a string or identifier, not a keyword
  if (word.length === 1 && (text[j] === "'" || text[j] === '&')) {
    return sqlTokens(text.slice(start))[0]?.kind === 'word' ? word.toUpperCase() : '';
  }
  return word.toUpperCase();
}

/**
 * The functions a statement calls: every name (a word or a quoted identifier, the last part of
 * a qualified name) followed by `(`. Unquoted names are lower-cased, as Postgres folds them;
 * keywords followed by `(` (`in (`, `values (`) are included, harmlessly.
 */
export function calledFunctions(text: string): string[] {
  const tokens = sqlTokens(text);
  const names: string[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    const token = tokens[i] as SqlToken;
    if ((token.kind === 'word' || token.kind === 'identifier') && tokens[i + 1]?.value === '(') {
      names.push(token.value);
    }
  }
  return names;
}

/**
 * Statements that change the session or the transaction rather than the data (first keyword).
 * Set-role `query()` refuses them on a shared connection; the agent's runner refuses them and
 * more.
 */
export const SESSION_KEYWORDS: ReadonlySet<string> = new Set([
  'BEGIN',
  'START',
  'COMMIT',
  'END',
  'ROLLBACK',
  'ABORT',
  'SAVEPOINT',
  'RELEASE',
  'PREPARE',
  'SET',
  'RESET',
  'DISCARD',
  'LISTEN',
  'UNLISTEN',
  'LOAD',
]);
