/** Shared helpers of the permission test files: act as an identity of the local Lakebase. */
import type { LocalLakebase } from '@lakebase-kit/local';
import { afterAll } from 'vitest';
import type { ProvisioningTarget } from '../../src/admin/provisioning.js';
import { createLakebase } from '../../src/lakebase.js';
import type { Lakebase } from '../../src/lakebase-types.js';
import { createWorkspaceClient } from '../../src/pool/service-principal.js';

export interface Actor {
  lakebase: Lakebase;
  /** `{ db, workspaceClient, branch }` of this identity. */
  target: ProvisioningTarget;
  env: Record<string, string>;
}

const opened: Lakebase[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((lakebase) => lakebase.close()));
});

/** The app's SP (`lb.env`), or a workspace user (`lb.envFor(email)`), with its own pool. */
export function actAs(lb: LocalLakebase, email?: string): Actor {
  const env = email ? lb.envFor(email) : { ...lb.env };
  const lakebase = createLakebase({ env, telemetry: false });
  opened.push(lakebase);
  return {
    lakebase,
    env,
    target: {
      db: lakebase,
      workspaceClient: createWorkspaceClient(env),
      branch: env.LAKEBASE_ENDPOINT,
    },
  };
}
