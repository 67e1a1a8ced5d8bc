/**
 * Who `token`, `env` and `exec` act as, and the environment the Databricks SDK authenticates
 * with. It untangles what a shell next to an app tends to hold (an app's or `lakebase-kit dev`'s
 * env file loaded, plus a token or a profile of your own):
 *
 * - `--profile P`: that profile alone. DATABRICKS_HOST / _CLIENT_ID / _CLIENT_SECRET / _TOKEN /
 *   _AUTH_TYPE of the environment would otherwise override or mix with it.
 * - `--user U` when the environment is `lakebase-kit dev`'s (LAKEBASE_LOCAL_USER_TOKENS holds
 *   U's access token): U's token, in place of the service principal's credentials.
 * - DATABRICKS_TOKEN next to DATABRICKS_CLIENT_ID/SECRET: the token (the SDK would refuse with
 *   "more than one authorization method configured: oauth and pat").
 *
 * Whenever the identity is not the environment's own (the three cases above), PGUSER and
 * DATABRICKS_CLIENT_ID of the environment no longer name its Postgres role: `--user` does, or
 * else the identity's SCIM userName. A `--user` that the identity's token cannot log in as is
 * an error before anything runs.
 */
import { ConfigurationError } from '@lakebase-kit/core';
import { parseUserTokens, USER_TOKENS_ENV } from '@lakebase-kit/local/dev-env';

/** The SDK's auth variables: none of them may leak into an identity chosen otherwise. */
const AUTH_VARS = [
  'DATABRICKS_HOST',
  'DATABRICKS_TOKEN',
  'DATABRICKS_CLIENT_ID',
  'DATABRICKS_CLIENT_SECRET',
  'DATABRICKS_AUTH_TYPE',
  'DATABRICKS_CONFIG_PROFILE',
] as const;
/** What names the Postgres role of the environment's own identity. */
const ROLE_VARS = ['PGUSER', 'DATABRICKS_CLIENT_ID'] as const;

export interface IdentityFlags {
  profile?: string;
  user?: string;
}

export interface ActingIdentity {
  /** The environment for the SDK and for the connection settings. */
  env: NodeJS.ProcessEnv;
  /** The Postgres role from `--user` (undefined: PGUSER of `env`, else SCIM userName). */
  user?: string;
  /** True when `user` must be checked against the identity's SCIM userName. */
  verifyUser: boolean;
  /** The users whose tokens `lakebase-kit dev`'s env file holds (for error messages). */
  localUsers: string[];
}

function without(env: NodeJS.ProcessEnv, keys: readonly string[]): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const key of keys) delete copy[key];
  return copy;
}

export function actingIdentity(flags: IdentityFlags, env: NodeJS.ProcessEnv): ActingIdentity {
  const user = flags.user?.trim() || undefined;
  const localTokens = parseUserTokens(env[USER_TOKENS_ENV]);
  const localUsers = [...localTokens.keys()];
  const profile = flags.profile?.trim();
  if (profile) {
    return {
      env: { ...without(env, [...AUTH_VARS, ...ROLE_VARS]), DATABRICKS_CONFIG_PROFILE: profile },
      user,
      verifyUser: user !== undefined,
      localUsers,
    };
  }
  const localToken = user === undefined ? undefined : localTokens.get(user);
  if (localToken) {
    const { DATABRICKS_HOST } = env;
    return {
      env: {
        ...without(env, [...AUTH_VARS, ...ROLE_VARS]),
        DATABRICKS_HOST,
        DATABRICKS_TOKEN: localToken,
      },
      user,
      verifyUser: false,
      localUsers,
    };
  }
  if (env.DATABRICKS_TOKEN && (env.DATABRICKS_CLIENT_ID || env.DATABRICKS_CLIENT_SECRET)) {
    return {
      env: without(env, ['DATABRICKS_CLIENT_ID', 'DATABRICKS_CLIENT_SECRET', 'PGUSER']),
      user,
      verifyUser: user !== undefined,
      localUsers,
    };
  }
  return { env, user, verifyUser: user !== undefined, localUsers };
}

/** Throws unless `identityName` (SCIM userName) can log in as `user`. */
export function assertSameUser(acting: ActingIdentity, identityName: string): void {
  const { user } = acting;
  if (!user || !acting.verifyUser || user.toLowerCase() === identityName.toLowerCase()) return;
  const local = acting.localUsers.length
    ? ` (lakebase-kit dev's ${USER_TOKENS_ENV} has tokens for ${acting.localUsers.join(', ')})`
    : '';
  throw new ConfigurationError(
    `--user ${user}: the Databricks identity is ${identityName}, whose token cannot log in as ` +
      `${user}. Authenticate as ${user} (DATABRICKS_TOKEN or --profile), or, on a local ` +
      `Lakebase, load the env file of \`lakebase-kit dev\`, which holds its users' tokens${local}`,
    { option: 'user', envVar: 'PGUSER' },
  );
}
