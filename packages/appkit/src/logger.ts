/**
 * The plugin's log lines, as AppKit's own loggers write them. AppKit does not export its
 * `createLogger` (0.38), so this writes the same output: `[appkit:lakebase] <message>` through
 * `console.log` (info), `console.warn` and `console.error`, the message formatted with
 * `util.format` (`%s`, `%d`, `%O`); debug lines only when `DEBUG` names `appkit:lakebase`
 * (or `appkit:*`, `*`), as AppKit's debug output. A `logger` option (AppKit's, pino, console...)
 * replaces it; `{ debug?, info?, warn?, error? }` picks the levels of these lines.
 */
import { format } from 'node:util';
import type { Logger, LoggerConfig } from '@lakebase-kit/core';

const SCOPE = 'appkit:lakebase';
const PREFIX = `[${SCOPE}]`;

function debugEnabled(env: NodeJS.ProcessEnv): boolean {
  return (env.DEBUG ?? '')
    .split(/[\s,]+/)
    .some((part) => part === SCOPE || part === 'appkit:*' || part === '*');
}

const noop = (): void => {};

function isLogger(value: Logger | LoggerConfig): value is Logger {
  return typeof (value as Logger).error === 'function';
}

/** AppKit-style lines with the given levels (default: info, warn and error; debug by `DEBUG`). */
export function appkitStyleLogger(
  levels?: LoggerConfig,
  env: NodeJS.ProcessEnv = process.env,
): Logger {
  const on = {
    debug: levels?.debug ?? debugEnabled(env),
    info: levels?.info ?? true,
    warn: levels?.warn ?? true,
    error: levels?.error ?? true,
  };
  const line =
    (write: (...data: unknown[]) => void) =>
    (message: string, ...args: unknown[]) =>
      write(PREFIX, format(message, ...args));
  return {
    debug: on.debug ? line(console.debug) : noop,
    info: on.info ? line(console.log) : noop,
    warn: on.warn ? line(console.warn) : noop,
    error: on.error ? line(console.error) : noop,
  };
}

/** The plugin's logger: the one given, AppKit-style lines with the levels given, or the default. */
export function pluginLogger(option: Logger | LoggerConfig | undefined): Logger {
  if (option && isLogger(option)) return option;
  return appkitStyleLogger(option);
}
