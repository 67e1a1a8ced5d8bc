/**
 * Who may log in at a door: the password must be a Postgres token minted for exactly that user
 * (or for a member of the workspace group of that name), or the password of a native password
 * role as Postgres stores it. A pooler door may refuse tokens (`acceptTokens`), as some of the
 * Lakebase docs say its pooler does. The emulator's own roles (the cluster's superuser, the
 * replication role) never log in through a door, whatever the password.
 */
import type { Log } from '../../base/types.js';
import { checkPassword } from '../../postgres/password-roles.js';
import { REPLICATION_ROLE } from '../../postgres/replication.js';
import { SUPERUSER } from '../../postgres/server.js';
import type { Instance } from './instance.js';

const INTERNAL = new Set([SUPERUSER, REPLICATION_ROLE]);

export interface LoginPolicyOptions {
  /** True when `password` is a valid Postgres token for `user` (the workspace checks). */
  token(user: string, password: string): boolean;
  /** The instance whose password roles count. */
  instance: Instance;
  /** Whether tokens are accepted at this door (default: always). */
  acceptTokens?: () => boolean;
  /** Which door, for log lines. */
  door: string;
  log: Log;
}

export type Verify = (user: string, password: string) => Promise<boolean>;

export function loginPolicy(options: LoginPolicyOptions): Verify {
  const { token, instance, acceptTokens = () => true, door, log } = options;
  return async (user, password) => {
    if (INTERNAL.has(user)) {
      log(`proxy: ${door}: "${user}" is the emulator's own role: refused`);
      return false;
    }
    if (token(user, password)) {
      if (acceptTokens()) return true;
      log(`proxy: ${door}: OAuth token logins are switched off here ("${user}")`);
      return false;
    }
    try {
      await instance.whenUp();
      return await checkPassword(instance.admin.sql, user, password);
    } catch {
      return false;
    }
  };
}
