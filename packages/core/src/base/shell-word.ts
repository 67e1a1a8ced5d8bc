/** Text that goes into a command a person copies into a shell, quoted so it stays one word. */

/** `text` as one POSIX shell word: as is when plain, else single-quoted (`'` as `'\''`). */
export function shellWord(text: string): string {
  return /^[\w@.+:/=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` without control characters (terminal escapes, carriage returns, bidi overrides), for
 * printing names that came from a database or a request to a terminal. Newlines and tabs stay.
 */
export function stripControlCharacters(text: string): string {
  return text.replace(CONTROL, '');
}
