/** Project permissions as every Lakebase API checks them: CAN_USE reads, CAN_MANAGE changes. */
import type { ProjectPermission } from '../../base/types.js';
import type { Directory } from '../directory.js';
import { ApiError } from './api-error.js';

/** Throws 403 PERMISSION_DENIED unless `identity` holds `level` on `project`. */
export function authorize(
  directory: Directory,
  project: string,
  identity: string,
  level: ProjectPermission,
  action: string,
): void {
  if (directory.allows(identity, level)) return;
  throw new ApiError(
    403,
    'PERMISSION_DENIED',
    `'${identity}' does not have ${level} permission on project '${project}', which is ` +
      `required to ${action}. The project owner (${directory.projectOwner}) has ` +
      'CAN_MANAGE and can grant it.',
  );
}
