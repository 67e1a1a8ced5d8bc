/**
 * The fake Databricks workspace: its identities (the app's service principal, users, groups,
 * project permissions), the tokens it mints (access tokens and Postgres tokens), the credential
 * API's faults and counters, and its HTTP server (server.ts).
 */
import type { Log, PgCredential, ProjectPermission, ServicePrincipal } from '../base/types.js';
import { Operations } from './api/operations.js';
import { PostgresApi } from './api/router.js';
import { BranchService } from './branches/branch-service.js';
import { BranchesApi } from './branches/branches-api.js';
import { CredentialCalls } from './credential-calls.js';
import { CredentialFaults } from './credential-faults.js';
import { Directory } from './directory.js';
import { EndpointsApi } from './endpoints/endpoints-api.js';
import { ACCESS_TOKEN_TTL_SECONDS } from './oauth.js';
import { RolesApi } from './roles/roles-api.js';
import { WorkspaceServer } from './server.js';
import { rfc3339, TokenStore } from './tokens.js';
import type { ProjectBackend } from './workspace-types.js';

export interface WorkspaceOptions {
  servicePrincipal: ServicePrincipal;
  /** The one endpoint the credential API knows. */
  endpoint: string;
  /** `projects/<p>/branches/<b>`, the parent of the roles API. */
  branch: string;
  projectOwner: string;
  projectPermissions?: Record<string, ProjectPermission>;
  groups?: Record<string, string[]>;
  /** Lifetime of Postgres tokens the credential API mints (until `setPgTokenTtl`). */
  pgTokenTtlSeconds: number;
  log: Log;
}

export class Workspace {
  readonly servicePrincipal: ServicePrincipal;
  readonly directory: Directory;
  readonly faults = new CredentialFaults();
  readonly calls = new CredentialCalls();
  readonly operations = new Operations();
  readonly #tokens = new TokenStore();
  readonly #options: WorkspaceOptions;
  #pgTokenTtl: number;
  #server: WorkspaceServer | undefined;
  #branches: BranchService | undefined;

  constructor(options: WorkspaceOptions) {
    this.#options = options;
    this.servicePrincipal = options.servicePrincipal;
    this.#pgTokenTtl = options.pgTokenTtlSeconds;
    this.directory = new Directory(options.projectOwner, options.projectPermissions);
    for (const [group, members] of Object.entries(options.groups ?? {})) {
      this.directory.setGroup(group, members);
    }
  }

  /** `http://127.0.0.1:<port>` (once started). */
  get host(): string {
    return this.#server?.host ?? '';
  }

  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** Serves the API on `port` (0: a free one). */
  async start(port: number, backend: ProjectBackend): Promise<void> {
    const { branch, log } = this.#options;
    const { directory, operations } = this;
    const branches = new BranchService({
      defaultBranch: branch,
      defaultRoles: backend.roles,
      engine: backend.branches,
      log,
    });
    this.#branches = branches;
    const postgresApi = new PostgresApi({
      project: branches.project,
      defaultBranch: branch,
      directory,
      operations,
      branches,
      branchesApi: new BranchesApi({ service: branches, directory, operations, log }),
      rolesApi: new RolesApi({ directory, operations, log }),
      endpointsApi: new EndpointsApi({
        catalog: backend.endpoints,
        directory,
        operations,
        isProtected: (name) => branches.isProtected(name),
        appServicePrincipal: this.servicePrincipal.clientId,
        log,
      }),
      log,
    });
    this.#server = new WorkspaceServer({
      tokens: this.#tokens,
      servicePrincipal: this.servicePrincipal,
      endpoints: backend.endpoints,
      pgTokenTtlSeconds: () => this.#pgTokenTtl,
      directory: this.directory,
      faults: this.faults,
      calls: this.calls,
      log,
      postgresApi,
    });
    await this.#server.start(port);
  }

  /** The branches (records, states, expiry): `lb.branches` works on them. */
  get branches(): BranchService {
    if (!this.#branches) throw new Error('the workspace has not started');
    return this.#branches;
  }

  async close(): Promise<void> {
    this.#branches?.close();
    await this.#server?.close();
  }

  /** Lifetime of Postgres tokens minted from now on (no argument: back to the configured one). */
  setPgTokenTtl(seconds = this.#options.pgTokenTtlSeconds): void {
    this.#pgTokenTtl = seconds;
  }

  /** A new Databricks access token for `identity`. */
  accessToken(identity: string, ttlSeconds = ACCESS_TOKEN_TTL_SECONDS): string {
    return this.#tokens.mint(identity, 'access', ttlSeconds).token;
  }

  /** A Postgres token, exactly as the credential API would answer it. */
  mintPgToken(identity: string, ttlSeconds = this.#pgTokenTtl): PgCredential {
    const minted = this.#tokens.mint(identity, 'pg', ttlSeconds);
    return { token: minted.token, expire_time: rfc3339(minted.expiresAt) };
  }

  /**
   * True when `password` is a valid Postgres token for `user`, or for a member of the workspace
   * group `user` (a member logs in to the group's role with their own token).
   */
  verifyPgLogin(user: string, password: string): boolean {
    const identity = this.#tokens.verify(password, 'pg');
    return identity === user || (!!identity && this.directory.isGroupMember(user, identity));
  }

  /** Revokes every Postgres token minted so far for `identity`; how many. */
  revokePgTokens(identity: string): number {
    return this.#tokens.revoke(identity, 'pg');
  }
}
