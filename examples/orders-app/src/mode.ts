/**
 * Local or real? A real Lakebase's environment (what Databricks Apps sets for a Lakebase
 * resource) has LAKEBASE_ENDPOINT and PGHOST; a PGHOST on this machine is a local Lakebase
 * (e.g. `lakebase-kit dev`'s .env.local), so the app starts its own instead.
 */
export interface ModeDecision {
  local: boolean;
  reason: string;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host.trim());
}

export function detectMode(env: NodeJS.ProcessEnv): ModeDecision {
  const { LAKEBASE_ENDPOINT: endpoint, PGHOST: host } = env;
  if (!endpoint || !host) {
    return { local: true, reason: 'LAKEBASE_ENDPOINT and PGHOST are not both set' };
  }
  if (isLoopbackHost(host)) {
    return { local: true, reason: `PGHOST=${host} points at a local Lakebase` };
  }
  return { local: false, reason: `LAKEBASE_ENDPOINT and PGHOST=${host} are set` };
}
