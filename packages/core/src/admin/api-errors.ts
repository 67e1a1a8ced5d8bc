/**
 * Errors of the Lakebase management APIs (roles, branches, endpoints) and of provisioning
 * (`databricks_create_role`, grants). Like every core error, they carry a stable `code` and
 * never a token.
 */
import { LakebaseError } from '../base/errors.js';

/** The caller lacks a permission; `missing` names each one (`CAN_MANAGE on project …`, `CREATEROLE`). */
export class PermissionDeniedError extends LakebaseError {
  override readonly status = 403 as const;
  readonly missing: readonly string[];
  constructor(message: string, details: { missing: string[]; cause?: unknown }) {
    super('LAKEBASE_PERMISSION_DENIED', message, { cause: details.cause });
    this.missing = Object.freeze([...details.missing]);
  }
}

/** A Lakebase management API (roles, branches, endpoints) failed: the upstream API (502). */
export class LakebaseApiError extends LakebaseError {
  override readonly status = 502 as const;
  /** The HTTP status the API answered, when there was an answer. */
  readonly apiStatus: number | undefined;
  /** Databricks `error_code` (e.g. `ALREADY_EXISTS`), when the API gave one. */
  readonly errorCode: string | undefined;
  constructor(
    message: string,
    details: { status?: number; errorCode?: string; cause?: unknown; code?: string } = {},
  ) {
    super(details.code ?? 'LAKEBASE_API', message, { cause: details.cause });
    this.apiStatus = details.status;
    this.errorCode = details.errorCode;
  }
}

/** The Lakebase roles API failed (other than a permission problem). */
export class RolesApiError extends LakebaseApiError {
  constructor(
    message: string,
    details: { status?: number; errorCode?: string; cause?: unknown } = {},
  ) {
    super(message, { ...details, code: 'LAKEBASE_ROLES_API' });
  }
}

/** The branches or endpoints API failed (other than the cases below). */
export class BranchesApiError extends LakebaseApiError {
  constructor(
    message: string,
    details: { status?: number; errorCode?: string; cause?: unknown } = {},
  ) {
    super(message, { ...details, code: 'LAKEBASE_BRANCHES_API' });
  }
}

/** A branch of that id exists already (409). The fix: another id, or `--replace`. */
export class BranchExistsError extends LakebaseError {
  override readonly status = 409 as const;
  readonly branch: string;
  constructor(message: string, branch: string) {
    super('LAKEBASE_BRANCH_EXISTS', message);
    this.branch = branch;
  }
}

/** The branch is protected: it cannot be deleted or reset until unprotected (409). */
export class BranchProtectedError extends LakebaseError {
  override readonly status = 409 as const;
  readonly branch: string;
  constructor(message: string, branch: string) {
    super('LAKEBASE_BRANCH_PROTECTED', message);
    this.branch = branch;
  }
}

/** No such branch or endpoint (404). */
export class NotFoundError extends LakebaseError {
  override readonly status = 404 as const;
  constructor(message: string) {
    super('LAKEBASE_NOT_FOUND', message);
  }
}
