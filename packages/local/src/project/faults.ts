/** `lb.faults`: the fault switches, over the workspace's credential API and the endpoint. */
import type { LocalFaults, Log } from '../base/types.js';
import type { Workspace } from '../workspace/workspace.js';
import type { Endpoint } from './endpoint.js';

export function faultSwitches(workspace: Workspace, endpoint: Endpoint, log: Log): LocalFaults {
  const credentials = workspace.faults;
  return {
    credentials: (fault) => credentials.set(fault),
    credentialLatency: (ms) => credentials.setLatency(ms),
    credentialMalformed: (mode) => {
      credentials.malformed = mode;
    },
    revoke: (identity) => {
      const count = workspace.revokePgTokens(identity);
      log(`faults: revoked ${count} Postgres token(s) of ${identity}`);
    },
    setTokenTtl: (seconds) => workspace.setPgTokenTtl(seconds),
    suspend: (options = {}) => endpoint.suspend(options.mode ?? 'delay'),
    wake: () => {
      endpoint.wake();
      log('faults: woken');
    },
    restartPostgres: () => endpoint.restartPostgres(),
    reset: () => {
      credentials.reset();
      endpoint.wake();
      workspace.setPgTokenTtl();
    },
  };
}
