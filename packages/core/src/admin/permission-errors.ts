/**
 * Errors of provisioning (roles API, `databricks_create_role`, grants). Like every core error,
 * they carry a stable `code` and never a token.
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

/** The Lakebase roles API failed (other than a permission problem): the upstream API (502). */
export class RolesApiError extends LakebaseError {
  override readonly status = 502 as const;
  /** The HTTP status the API answered, when there was an answer. */
  readonly apiStatus: number | undefined;
  /** Databricks `error_code` (e.g. `ALREADY_EXISTS`), when the API gave one. */
  readonly errorCode: string | undefined;
  constructor(
    message: string,
    details: { status?: number; errorCode?: string; cause?: unknown } = {},
  ) {
    super('LAKEBASE_ROLES_API', message, { cause: details.cause });
    this.apiStatus = details.status;
    this.errorCode = details.errorCode;
  }
}
