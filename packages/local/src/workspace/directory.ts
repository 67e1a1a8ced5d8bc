/**
 * The fake workspace's directory: who owns the Lakebase project, which workspace groups exist
 * and who is in them, and who holds which permission on the project (the roles API checks it).
 */
import { assertEmail } from '../base/identities.js';
import type { ProjectPermission } from '../base/types.js';

const LEVELS: Record<ProjectPermission, number> = { CAN_USE: 1, CAN_MANAGE: 2 };
const GROUP_NAME = /^[^\s"]{1,63}$/;

export function assertGroupName(name: string): void {
  if (typeof name !== 'string' || !GROUP_NAME.test(name) || Buffer.byteLength(name) > 63) {
    throw new TypeError(
      `Not a usable group name (1-63 bytes, no quotes or spaces): ${JSON.stringify(name)}`,
    );
  }
}

export class Directory {
  readonly projectOwner: string;
  readonly #groups = new Map<string, Set<string>>();
  readonly #permissions = new Map<string, ProjectPermission>();

  constructor(projectOwner: string, permissions: Record<string, ProjectPermission> = {}) {
    assertEmail(projectOwner);
    this.projectOwner = projectOwner;
    for (const [identity, level] of Object.entries(permissions)) {
      if (!(level in LEVELS)) {
        throw new TypeError(
          `Unknown project permission ${JSON.stringify(level)} for ${identity}: expected CAN_USE or CAN_MANAGE`,
        );
      }
      this.#permissions.set(identity, level);
    }
  }

  /** Creates or replaces a workspace group and its members (user emails). */
  setGroup(name: string, members: readonly string[]): void {
    assertGroupName(name);
    for (const member of members) assertEmail(member);
    this.#groups.set(name, new Set(members));
  }

  hasGroup(name: string): boolean {
    return this.#groups.has(name);
  }

  /** True when `identity` is a member of the workspace group `group`. */
  isGroupMember(group: string, identity: string): boolean {
    return this.#groups.get(group)?.has(identity) === true;
  }

  /** The identity's permission on the project: the owner has CAN_MANAGE. */
  permission(identity: string): ProjectPermission | undefined {
    if (identity === this.projectOwner) return 'CAN_MANAGE';
    return this.#permissions.get(identity);
  }

  /** True when `identity` holds `level` or a higher one. */
  allows(identity: string, level: ProjectPermission): boolean {
    const held = this.permission(identity);
    return held !== undefined && LEVELS[held] >= LEVELS[level];
  }
}
