export { startLocalLakebase } from './local-lakebase.js';
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
