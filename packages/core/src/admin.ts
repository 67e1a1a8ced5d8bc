/**
 * `@lakebase-kit/core/admin` — administration of a Lakebase app's database: the doctor's checks,
 * role provisioning (the roles API and `databricks_create_role`), grants, and the resolved
 * settings the CLI prints. Used by `lakebase-kit`, AppKit's startup checks and
 * `lakebase.doctor()`; never on a request's path.
 */

export {
  BranchExistsError,
  BranchesApiError,
  BranchProtectedError,
  LakebaseApiError,
  NotFoundError,
  PermissionDeniedError,
  RolesApiError,
} from './admin/api-errors.js';
export {
  type BranchSpec,
  type BranchState,
  branchIdProblem,
  type EndpointHostsStatus,
  type EndpointType,
  type LakebaseBranch,
  LakebaseBranchesApi,
  type LakebaseEndpoint,
  toBranchId,
} from './admin/branches-api.js';
export {
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  type DoctorStatus,
  runDoctor,
} from './admin/doctor.js';
export {
  type AddRoleResult,
  addRole,
  type GrantSchemaOptions,
  type GrantSchemaResult,
  grantSchemaAccess,
  listRoles,
  type ProvisioningPath,
  type ProvisioningTarget,
  type RoleSummary,
} from './admin/provisioning.js';
export { missingRoles, roleExists } from './admin/role-lookup.js';
export {
  type LakebaseRole,
  type LakebaseRoleSpec,
  LakebaseRolesApi,
  type RoleAuthMethod,
  type RolesApiOptions,
} from './admin/roles-api.js';
export { branchOf } from './base/endpoint-path.js';
export {
  createRoleCommands,
  type IdentityType,
  inferIdentityType,
} from './base/role-name.js';
export { shellWord, stripControlCharacters } from './base/shell-word.js';
export type { Queryable } from './base/types.js';
export { type ResolvedConfig, resolveConfig } from './config/resolve-config.js';
export { createWorkspaceClient } from './pool/service-principal.js';
