/** `lb.faults`: the fault switches, over the workspace's credential API and the computes. */
import type { LocalFaults, Log } from '../base/types.js';
import type { Workspace } from '../workspace/workspace.js';
import type { Project } from './project.js';

export function faultSwitches(workspace: Workspace, project: Project, log: Log): LocalFaults {
  const credentials = workspace.faults;
  const main = () => project.mainEndpoint;
  const lag = project.replicaLag;
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
    suspend: (options = {}) => {
      const mode = options.mode ?? 'delay';
      log(`faults: suspended (${mode})`);
      return main().suspend(mode);
    },
    wake: () => {
      main().wake();
      log('faults: woken');
    },
    restartPostgres: () => project.main.restart(),
    replicaLag: (on) => lag.set(on),
    reset: () => {
      credentials.reset();
      main().wake();
      workspace.setPgTokenTtl();
      if (lag.on) lag.set(false).catch(() => undefined);
    },
  };
}
