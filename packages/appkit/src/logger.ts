/**
 * AppKit-style logging for the plugin: `[appkit:lakebase]` lines; debug and info only when
 * `DEBUG` names `appkit:lakebase` (or `appkit:*`), as AppKit's own loggers do. A `logger`
 * option (AppKit's, pino, console...) replaces it.
 */
import type { Logger } from '@lakebase-kit/core';

const PREFIX = '[appkit:lakebase]';

function debugEnabled(env: NodeJS.ProcessEnv): boolean {
  const spec = env.DEBUG ?? '';
  return spec
    .split(/[\s,]+/)
    .some((part) => part === 'appkit:lakebase' || part === 'appkit:*' || part === '*');
}

export function appkitStyleLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const verbose = debugEnabled(env);
  const off = (): void => {};
  return {
    debug: verbose ? (m, ...a) => console.debug(`${PREFIX} ${m}`, ...a) : off,
    info: verbose ? (m, ...a) => console.info(`${PREFIX} ${m}`, ...a) : off,
    warn: (m, ...a) => console.warn(`${PREFIX} ${m}`, ...a),
    error: (m, ...a) => console.error(`${PREFIX} ${m}`, ...a),
  };
}
