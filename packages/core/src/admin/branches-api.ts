/**
 * A client of the Lakebase Autoscaling branches and endpoints API of one project
 * (`/api/2.0/postgres/projects/<p>/branches[/<b>/endpoints]`): create a branch (from a parent,
 * now or at an earlier time or LSN, with an expiry policy), list, get, protect, reset, delete,
 * undelete; create and read a branch's compute endpoints. Creating, updating and deleting answer
 * long-running operations, which are waited for (with progress). Every documented failure is
 * typed: a bad `branch_id` (`ValidationError`, before any call), a taken one
 * (`BranchExistsError`), a protected branch (`BranchProtectedError`), no permission
 * (`PermissionDeniedError`, naming CAN MANAGE or CAN USE), not found (`NotFoundError`).
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { ValidationError } from '../base/errors.js';
import {
  BranchExistsError,
  BranchesApiError,
  BranchProtectedError,
  NotFoundError,
} from './api-errors.js';
import { type Operation, PostgresApi, type PostgresApiOptions } from './postgres-api.js';

export type BranchState = 'INIT' | 'READY' | 'RESETTING' | 'ARCHIVED' | 'IMPORTING' | string;

/** What a branch is asked to be (`spec`). Exactly one expiry policy is required on create. */
export interface BranchSpec {
  /** `projects/<p>/branches/<b>`; default: the project's default branch. */
  source_branch?: string;
  /** RFC 3339: branch from the parent as it was then (within the restore window). */
  source_branch_time?: string;
  /** An LSN of the parent (`0/16B3748`). */
  source_branch_lsn?: string;
  /** Lifetime from creation, e.g. `86400s`. */
  ttl?: string;
  /** RFC 3339 expiry. */
  expire_time?: string;
  /** A permanent branch. */
  no_expiry?: boolean;
  is_protected?: boolean;
}

export interface LakebaseBranch {
  /** `projects/<p>/branches/<b>` */
  name: string;
  uid?: string;
  parent?: string;
  create_time?: string;
  update_time?: string;
  spec?: BranchSpec;
  status?: BranchSpec & {
    current_state?: BranchState;
    pending_state?: BranchState;
    default?: boolean;
    logical_size_bytes?: number;
  };
}

export type EndpointType = 'ENDPOINT_TYPE_READ_WRITE' | 'ENDPOINT_TYPE_READ_ONLY';

export interface EndpointHostsStatus {
  host?: string;
  read_write_pooled_host?: string;
  read_only_host?: string;
  read_only_pooled_host?: string;
}

export interface LakebaseEndpoint {
  /** `projects/<p>/branches/<b>/endpoints/<e>` */
  name: string;
  uid?: string;
  parent?: string;
  spec?: {
    endpoint_type?: EndpointType;
    autoscaling_limit_min_cu?: number;
    autoscaling_limit_max_cu?: number;
  };
  status?: {
    endpoint_type?: EndpointType;
    hosts?: EndpointHostsStatus;
    current_state?: string;
    pending_state?: string;
  };
}

/** A branch or endpoint id: 1–63 characters, lowercase letters, digits and hyphens, a letter first. */
const RESOURCE_ID = /^[a-z][a-z0-9-]{0,62}$/;

/** Why `id` is not a valid branch (or endpoint) id, or undefined when it is. */
export function branchIdProblem(id: string): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'it is empty';
  if (id.length > 63) return `it is ${id.length} characters long (at most 63)`;
  if (!/^[a-z]/.test(id)) return 'it must start with a lowercase letter';
  if (!RESOURCE_ID.test(id)) return 'it may hold only lowercase letters, digits and hyphens';
  return undefined;
}

/** `pr-123-fix-login`-style id from any text (a PR title, a git branch): valid, or throws. */
export function toBranchId(text: string): string {
  const id = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/-+$/, '');
  const problem = branchIdProblem(id);
  if (problem) {
    throw new ValidationError(`Cannot make a branch id of "${text}": ${problem}`, {
      option: 'branchId',
    });
  }
  return id;
}

export class LakebaseBranchesApi {
  /** `projects/<p>` */
  readonly project: string;
  readonly #api: PostgresApi;
  readonly #onProgress: ((message: string) => void) | undefined;

  constructor(workspaceClient: WorkspaceClient, project: string, options: PostgresApiOptions = {}) {
    const match = /^(projects\/[^/\s]+)(\/|$)/.exec(project);
    if (!match) {
      throw new ValidationError(
        `Invalid Lakebase project "${project}": expected projects/<project> (or a branch or endpoint path in it)`,
        { option: 'project' },
      );
    }
    this.project = match[1] as string;
    this.#onProgress = options.onProgress;
    this.#api = new PostgresApi(
      workspaceClient,
      this.project,
      { name: 'branches', errorClass: BranchesApiError },
      options,
    );
  }

  /** `projects/<p>/branches/<id>`, the id checked. */
  branchName(branchId: string): string {
    if (branchId.startsWith(`${this.project}/branches/`)) {
      branchId = branchId.slice(`${this.project}/branches/`.length).split('/')[0] as string;
    }
    const problem = branchIdProblem(branchId);
    if (problem) {
      throw new ValidationError(
        `Invalid branch id "${branchId}": ${problem} (e.g. pr-123, dev-alice)`,
        { option: 'branchId' },
      );
    }
    return `${this.project}/branches/${branchId}`;
  }

  /**
   * Creates a branch and waits until the operation is done. `spec` needs exactly one expiry
   * policy (`ttl`, `expire_time` or `no_expiry`); at most one of `source_branch_time` and
   * `source_branch_lsn`.
   */
  async create(branchId: string, spec: BranchSpec): Promise<LakebaseBranch> {
    const name = this.branchName(branchId);
    const policies = [spec.ttl, spec.expire_time, spec.no_expiry ? true : undefined].filter(
      (p) => p !== undefined,
    );
    if (policies.length !== 1) {
      throw new ValidationError(
        `A branch needs exactly one expiry policy: ttl (e.g. 24h), expire_time, or no_expiry (a permanent branch); got ${policies.length}`,
        { option: 'ttl' },
      );
    }
    if (spec.source_branch_time !== undefined && spec.source_branch_lsn !== undefined) {
      throw new ValidationError('Give source_branch_time or source_branch_lsn, not both', {
        option: 'at',
      });
    }
    const operation = await this.#mapped(name, () =>
      this.#api.call('create branch', 'POST', `${this.project}/branches`, {
        query: { branch_id: name.split('/').at(-1) as string },
        body: { spec },
      }),
    );
    return (await this.#wait('create branch', name, operation as Operation)) as LakebaseBranch;
  }

  async get(branchId: string): Promise<LakebaseBranch> {
    const name = this.branchName(branchId);
    return (await this.#mapped(name, () =>
      this.#api.call('read branch', 'GET', name),
    )) as LakebaseBranch;
  }

  /** Every branch of the project (all pages). */
  list(): Promise<LakebaseBranch[]> {
    return this.#api.listAll('list branches', `${this.project}/branches`, 'branches');
  }

  /** Protects (or unprotects) a branch from deletion and reset. */
  async protect(branchId: string, isProtected = true): Promise<LakebaseBranch> {
    const name = this.branchName(branchId);
    const operation = await this.#mapped(name, () =>
      this.#api.call('update branch', 'PATCH', name, {
        query: { update_mask: 'spec.is_protected' },
        body: { name, spec: { is_protected: isProtected } },
      }),
    );
    return (await this.#wait('update branch', name, operation as Operation)) as LakebaseBranch;
  }

  /** Resets a branch to its parent's current state (its own changes are lost). */
  async reset(branchId: string): Promise<LakebaseBranch> {
    const name = this.branchName(branchId);
    const operation = await this.#mapped(name, () =>
      this.#api.call('reset branch', 'POST', `${name}/reset`, { body: {} }),
    );
    return (await this.#wait('reset branch', name, operation as Operation)) as LakebaseBranch;
  }

  /** Deletes a branch (soft: `undelete` brings it back while it is kept). */
  async delete(branchId: string): Promise<void> {
    const name = this.branchName(branchId);
    const operation = await this.#mapped(name, () =>
      this.#api.call('delete branch', 'DELETE', name),
    );
    await this.#wait('delete branch', name, operation as Operation);
  }

  async undelete(branchId: string): Promise<LakebaseBranch> {
    const name = this.branchName(branchId);
    const operation = await this.#mapped(name, () =>
      this.#api.call('undelete branch', 'POST', `${name}/undelete`, { body: {} }),
    );
    return (await this.#wait('undelete branch', name, operation as Operation)) as LakebaseBranch;
  }

  /** Creates a compute endpoint of a branch and waits until it is done. */
  async createEndpoint(
    branchId: string,
    endpointId: string,
    type: EndpointType = 'ENDPOINT_TYPE_READ_WRITE',
  ): Promise<LakebaseEndpoint> {
    const branch = this.branchName(branchId);
    const problem = branchIdProblem(endpointId);
    if (problem) {
      throw new ValidationError(`Invalid endpoint id "${endpointId}": ${problem}`, {
        option: 'endpointId',
      });
    }
    const operation = await this.#mapped(`${branch}/endpoints/${endpointId}`, () =>
      this.#api.call('create endpoint', 'POST', `${branch}/endpoints`, {
        query: { endpoint_id: endpointId },
        body: { spec: { endpoint_type: type } },
      }),
    );
    return (await this.#wait(
      'create endpoint',
      `${branch}/endpoints/${endpointId}`,
      operation as Operation,
    )) as LakebaseEndpoint;
  }

  async listEndpoints(branchId: string): Promise<LakebaseEndpoint[]> {
    const branch = this.branchName(branchId);
    const page = (await this.#mapped(branch, () =>
      this.#api.call('list endpoints', 'GET', `${branch}/endpoints`),
    )) as { endpoints?: LakebaseEndpoint[] };
    return page.endpoints ?? [];
  }

  async getEndpoint(endpoint: string): Promise<LakebaseEndpoint> {
    return (await this.#mapped(endpoint, () =>
      this.#api.call('read endpoint', 'GET', endpoint),
    )) as LakebaseEndpoint;
  }

  /** The documented failures as their typed errors. */
  async #mapped<T>(resource: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.#typed(resource, error);
    }
  }

  async #wait(action: string, resource: string, operation: Operation): Promise<unknown> {
    try {
      return await this.#api.wait(action, operation, (current) => {
        const state = (current.metadata as { current_state?: string } | undefined)?.current_state;
        this.#onProgress?.(`${action} ${resource}: ${state ?? 'in progress'}`);
      });
    } catch (error) {
      throw this.#typed(resource, error);
    }
  }

  #typed(resource: string, error: unknown): unknown {
    if (!(error instanceof BranchesApiError)) return error;
    const code = error.errorCode;
    if (code === 'ALREADY_EXISTS' || error.apiStatus === 409) {
      return new BranchExistsError(
        `${resource} exists already: pick another id, or delete it first (lakebase-kit branch delete)`,
        resource,
      );
    }
    if (code === 'NOT_FOUND' || error.apiStatus === 404) {
      return new NotFoundError(
        `${resource} does not exist (lakebase-kit branch list shows what does)`,
      );
    }
    if (
      /protect/i.test(error.message) &&
      // "… is already protected: each project supports one protected branch": not this one
      !/already protected|one protected branch/i.test(error.message) &&
      (code === 'FAILED_PRECONDITION' || code === 'PERMISSION_DENIED' || error.apiStatus === 400)
    ) {
      return new BranchProtectedError(
        `${resource} is protected: it cannot be deleted or reset until it is unprotected (lakebase-kit branch protect ${resource.split('/').at(-1)} --off)`,
        resource,
      );
    }
    return error;
  }
}
