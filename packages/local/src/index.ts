export {
  DEV_ENV_FILE,
  type DevEnv,
  devEnvFileText,
  devLakebaseAnswers,
  forwardedUserHeaders,
  parseUserTokens,
  readDevEnvFile,
  USER_TOKENS_ENV,
} from './dev-env.js';
export { startLocalLakebase } from './local-lakebase.js';
export { CACHE_DIR_ENV } from './postgres-runtime.js';
export { PostgresStartError, type PostgresStartProblem } from './postgres-start-error.js';
export {
  applyEnv,
  captureLogger,
  exportEnvUntilStop,
  renderError,
  type TestLogger,
  TOKEN_PATTERN,
} from './testing.js';
export type {
  ConnectionStats,
  CredentialFault,
  LocalFaults,
  LocalLakebase,
  LocalLakebaseEnv,
  LocalLakebaseOptions,
  LocalStats,
  LocalTls,
  MalformedMode,
  PgCredential,
  ProjectPermission,
  ServicePrincipal,
  SuspendOptions,
} from './types.js';
