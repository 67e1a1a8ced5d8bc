/** An update request (`PATCH ...?update_mask=`) → the changes to make and the spec to keep. */
import type { RoleAttribute, RoleChange, RoleJson, RoleSpecJson } from '../../base/role-types.js';
import { invalid } from '../api/api-error.js';
import { ATTRIBUTES, attributes, authMethod, membership } from './role-request.js';

const UPDATABLE = new Set([
  'spec.membership_roles',
  'spec.attributes',
  'spec.attributes.createdb',
  'spec.attributes.createrole',
  'spec.attributes.bypassrls',
  'spec.auth_method',
]);
const IMMUTABLE = new Set(['spec.identity_type', 'spec.postgres_role', 'name', 'role_id']);

/** The request body's `spec` (absent: empty). */
export function updateSpec(body: Record<string, unknown>): RoleSpecJson {
  const spec = body.spec ?? {};
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw invalid("Field 'spec' must be an object");
  }
  return spec as RoleSpecJson;
}

/** The paths to update: the mask's, or (no mask) every field the spec gives. */
export function updatePaths(spec: RoleSpecJson, mask: string | null): string[] {
  return mask ? mask.split(',').map((p) => p.trim()) : Object.keys(spec).map((k) => `spec.${k}`);
}

/**
 * What updating `current` with `spec` along `paths` changes, and the spec remembered after it.
 * With an explicit mask, naming an immutable field is an error; without one, giving it its
 * current value is fine.
 */
export function roleUpdate(
  current: RoleJson,
  spec: RoleSpecJson,
  paths: readonly string[],
  masked: boolean,
): { changes: RoleChange[]; saved: RoleSpecJson } {
  const changes: RoleChange[] = [];
  const saved: RoleSpecJson = { ...(current.spec ?? {}) };
  for (const path of paths) {
    if (IMMUTABLE.has(path)) {
      const key = path.slice('spec.'.length) as 'identity_type' | 'postgres_role';
      const now =
        key === 'postgres_role' ? current.status.postgres_role : current.status.identity_type;
      if (masked || (spec[key] !== undefined && spec[key] !== now)) {
        throw invalid(`'${path}' cannot be changed after the role is created`);
      }
      continue;
    }
    if (!UPDATABLE.has(path)) {
      throw invalid(
        `update_mask path '${path}' is not supported; use ${[...UPDATABLE].join(', ')}`,
      );
    }
    if (path === 'spec.membership_roles') {
      const member = membership(spec.membership_roles);
      changes.push({ kind: 'superuser', member });
      saved.membership_roles = member ? ['DATABRICKS_SUPERUSER'] : [];
    } else if (path === 'spec.auth_method') {
      const method = authMethod(spec.auth_method, current.status.identity_type);
      changes.push({ kind: 'login', login: method !== 'NO_LOGIN' });
      saved.auth_method = method;
    } else {
      const only = path.split('.')[2] as RoleAttribute | undefined;
      const given = attributes(spec.attributes);
      const keys = only ? [only] : ATTRIBUTES;
      for (const attribute of keys) {
        changes.push({ kind: 'attribute', attribute, on: given[attribute] });
      }
      saved.attributes = {
        ...saved.attributes,
        ...Object.fromEntries(keys.map((k) => [k, given[k]])),
      };
    }
  }
  return { changes, saved };
}
