/** What each entry point exports: the emulator, the test helpers, the dev env file's helpers. */
import { describe, expect, it } from 'vitest';

describe('entry points', () => {
  it('@lakebase-kit/local: the emulator only', async () => {
    expect(Object.keys(await import('../src/index.js')).sort()).toEqual([
      'BranchHistoryError',
      'CACHE_DIR_ENV',
      'PGBOUNCER_ENV',
      'PoolerUnavailableError',
      'PostgresStartError',
      'startLocalLakebase',
    ]);
  });

  it('@lakebase-kit/local/testing: the test helpers', async () => {
    expect(Object.keys(await import('../src/testing.js')).sort()).toEqual([
      'TOKEN_PATTERN',
      'applyEnv',
      'captureLogger',
      'exportEnvUntilStop',
      'renderError',
    ]);
  });

  it('@lakebase-kit/local/dev-env: the env file of lakebase-kit dev', async () => {
    expect(Object.keys(await import('../src/dev-env.js')).sort()).toEqual([
      'DEV_ENV_FILE',
      'USER_TOKENS_ENV',
      'devEnvFileText',
      'devLakebaseAnswers',
      'forwardedUserHeaders',
      'parseUserTokens',
      'readDevEnvFile',
    ]);
  });
});
