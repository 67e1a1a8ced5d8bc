/**
 * AppKit-style logging for the plugin: `[appkit:lakebase]` lines; debug and info only when
 * `DEBUG` names `appkit:lakebase` (or `appkit:*`), as AppKit's own loggers do. A `logger`
 * option (AppKit's, pino, console...) replaces it.
 */
import { consoleLogger, type Logger } from '@lakebase-kit/core';

const PREFIX = '[appkit:lakebase]';

function debugEnabled(env: NodeJS.ProcessEnv): boolean {
  const spec = env.DEBUG ?? '';
  return spec
    .split(/[\s,]+/)
    .some((part) => part === 'appkit:lakebase' || part === 'appkit:*' || part === '*');
}

export function appkitStyleLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const verbose = debugEnabled(env);
  return consoleLogger({ debug: verbose, info: verbose, warn: true, error: true }, PREFIX);
}
