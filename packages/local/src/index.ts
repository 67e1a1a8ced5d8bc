export { startLocalLakebase } from './local-lakebase.js';
export type {
  ConnectionStats,
  CredentialFault,
  LocalFaults,
  LocalLakebase,
  LocalLakebaseEnv,
  LocalLakebaseOptions,
  LocalStats,
  MalformedMode,
  PgCredential,
  ServicePrincipal,
  SuspendOptions,
} from './types.js';
