/**
 * The Lakebase `Role` resource as the roles API speaks it, and what the API asks of whatever
 * keeps the roles (`RoleStore`; the Postgres layer implements it). Types only.
 */

export type IdentityType = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP';
export type AuthMethod = 'LAKEBASE_OAUTH_V1' | 'PG_PASSWORD_SCRAM_SHA_256' | 'NO_LOGIN';

export interface RoleAttributesJson {
  createdb?: boolean;
  createrole?: boolean;
  bypassrls?: boolean;
}

export type RoleAttribute = keyof RoleAttributesJson;

export interface RoleSpecJson {
  postgres_role?: string;
  identity_type?: IdentityType;
  auth_method?: AuthMethod;
  membership_roles?: string[];
  attributes?: RoleAttributesJson;
}

export interface RoleStatusJson {
  role_id: string;
  postgres_role: string;
  identity_type?: IdentityType;
  auth_method: AuthMethod;
  membership_roles: string[];
  attributes: Required<RoleAttributesJson>;
}

export interface RoleJson {
  name: string;
  parent: string;
  role_id: string;
  create_time?: string;
  update_time?: string;
  spec?: RoleSpecJson;
  status: RoleStatusJson;
}

/** A role as a validated create request defines it. */
export interface RoleDefinition {
  postgresRole: string;
  identityType: IdentityType | undefined;
  login: boolean;
  attributes: Required<RoleAttributesJson>;
  /** Member of `databricks_superuser` (`membership_roles: ['DATABRICKS_SUPERUSER']`). */
  superuser: boolean;
}

/** One change of an update request. */
export type RoleChange =
  | { kind: 'superuser'; member: boolean }
  | { kind: 'login'; login: boolean }
  | { kind: 'attribute'; attribute: RoleAttribute; on: boolean };

/** What the roles API needs from the roles' keeper. Every call runs as the cluster's superuser. */
export interface RoleStore {
  /** Every role of the branch, by role id. */
  list(): Promise<RoleJson[]>;
  get(roleId: string): Promise<RoleJson | undefined>;
  byPostgresRole(name: string): Promise<RoleJson | undefined>;
  /** A role id for a new role: the RFC 1123 slug of its name, made unique. */
  newRoleId(postgresRole: string): Promise<string>;
  /** Roles Lakebase manages itself (`databricks_superuser`, the project owner). */
  isManaged(postgresRole: string): boolean;
  /** Creates the role as the project owner would, or (`existing`) brings it to `role`. */
  define(
    role: RoleDefinition,
    existing: boolean,
    roleId: string,
    spec: RoleSpecJson,
  ): Promise<void>;
  /** Applies `changes` and remembers `spec` as the role's last given spec. */
  change(
    roleId: string,
    postgresRole: string,
    changes: RoleChange[],
    spec: RoleSpecJson,
  ): Promise<void>;
  ownsObjects(postgresRole: string): Promise<boolean>;
  /** Drops the role (and its privileges), its objects reassigned to `heir` first if given. */
  drop(postgresRole: string, heir: string | undefined): Promise<void>;
}
