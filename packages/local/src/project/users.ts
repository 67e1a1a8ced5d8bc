/**
 * User management: `addUser` (idempotent, concurrency-safe) and `grantSetRole`, one role change
 * at a time, in the queue the roles API shares.
 */
import { assertEmail } from '../base/identities.js';
import { SerialQueue } from '../base/serial-queue.js';
import type { ProjectRoles } from '../postgres/project-roles.js';

export class Users {
  /**
   * Role changes run one at a time: concurrent GRANT CONNECTs update the same pg_database row
   * and fail with "tuple concurrently updated".
   */
  readonly roleChanges = new SerialQueue();
  readonly #roles: ProjectRoles;
  readonly #servicePrincipal: string;
  readonly #grantSetRole: boolean;
  readonly #adding = new Map<string, Promise<void>>();
  readonly #known = new Set<string>();

  /** `grantSetRole`: give the SP SET on every user role made here. */
  constructor(roles: ProjectRoles, servicePrincipal: string, grantSetRole: boolean) {
    this.#roles = roles;
    this.#servicePrincipal = servicePrincipal;
    this.#grantSetRole = grantSetRole;
  }

  /** A Postgres role for `email` (LOGIN, CONNECT); once, however many callers ask at once. */
  async add(email: string): Promise<void> {
    assertEmail(email);
    if (this.#known.has(email)) return;
    let pending = this.#adding.get(email);
    if (!pending) {
      const created = this.roleChanges.run(async () => {
        await this.#roles.ensureUser(email);
        if (this.#grantSetRole) await this.#roles.grantSetRole(this.#servicePrincipal, email);
      });
      pending = created.then(
        () => {
          this.#known.add(email);
          this.#adding.delete(email);
        },
        (error) => {
          this.#adding.delete(email);
          throw error;
        },
      );
      this.#adding.set(email, pending);
    }
    await pending;
  }

  /**
   * Grants `member` (default: the service principal) SET (not INHERIT) on `role`; with `grant:
   * false`, revokes.
   */
  grantSetRole(role: string, grant = true, member = this.#servicePrincipal): Promise<void> {
    return this.roleChanges.run(() => this.#roles.grantSetRole(member, role, grant));
  }
}
