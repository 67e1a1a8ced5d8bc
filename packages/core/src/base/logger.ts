/**
 * The pluggable logger. Same shape as `@databricks/lakebase`'s and AppKit's
 * loggers, so either can be passed. Messages never contain secrets.
 */
export interface Logger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** Enable console levels individually (the official package's `LoggerConfig`). */
export interface LoggerConfig {
  debug?: boolean;
  info?: boolean;
  warn?: boolean;
  error?: boolean;
}

const noop = (): void => {};

function isLogger(value: Logger | LoggerConfig): value is Logger {
  return typeof (value as Logger).error === 'function';
}

/** A console logger with the given levels on; default: errors only. */
export function consoleLogger(
  levels: LoggerConfig = { error: true },
  prefix = '[lakebase]',
): Logger {
  return {
    debug: levels.debug ? (m, ...a) => console.debug(`${prefix} ${m}`, ...a) : noop,
    info: levels.info ? (m, ...a) => console.info(`${prefix} ${m}`, ...a) : noop,
    warn: levels.warn ? (m, ...a) => console.warn(`${prefix} ${m}`, ...a) : noop,
    error: levels.error ? (m, ...a) => console.error(`${prefix} ${m}`, ...a) : noop,
  };
}

/** A logger instance, a level config, or nothing (errors only, to the console). */
export function resolveLogger(logger?: Logger | LoggerConfig): Logger {
  if (!logger) return consoleLogger();
  return isLogger(logger) ? logger : consoleLogger(logger);
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
