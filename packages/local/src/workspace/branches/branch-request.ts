/**
 * Reading a branch request: the create body's `spec` (source, an earlier point, exactly one
 * expiration policy, protection) and an update's `spec` and `update_mask`.
 */
import { isLsn } from '../../base/lsn.js';
import { invalid } from '../api/api-error.js';
import type { Expiration } from './branch-record.js';

/** RFC 3339, fractional seconds up to nanoseconds. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
/** A protobuf JSON Duration: seconds with an `s`, e.g. `3600s`, `1.5s`. */
const DURATION = /^(\d+)(\.\d{1,9})?s$/;

export interface CreateSpec {
  source: string | undefined;
  time: { text: string; time: Date } | undefined;
  lsn: string | undefined;
  expiration: Expiration;
  isProtected: boolean;
}

/** The Branch of a request body (`{ spec }`, or `{ branch: { spec } }`). */
export function specOf(body: Record<string, unknown>): Record<string, unknown> {
  const branch = (typeof body.branch === 'object' && body.branch !== null ? body.branch : body) as {
    spec?: unknown;
  };
  const spec = branch.spec;
  if (spec === undefined) return {};
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw invalid("Field 'spec' must be an object");
  }
  return spec as Record<string, unknown>;
}

export function timestamp(field: string, value: unknown): { text: string; time: Date } {
  const time = typeof value === 'string' && TIMESTAMP.test(value) ? new Date(value) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw invalid(`${field} must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z`);
  }
  return { text: value as string, time };
}

function duration(field: string, value: unknown): { seconds: number; text: string } {
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  const seconds = match ? Number(`${match[1]}${match[2] ?? ''}`) : Number.NaN;
  if (!match || !(seconds > 0)) {
    throw invalid(`${field} must be a positive duration in seconds, e.g. "3600s"`);
  }
  return { seconds, text: value as string };
}

/** Exactly one of `ttl`, `expire_time`, `no_expiry: true` (an expiration policy is required). */
export function expirationOf(spec: Record<string, unknown>, now: Date): Expiration {
  const given = ['ttl', 'expire_time', 'no_expiry'].filter((key) => spec[key] !== undefined);
  if (given.length !== 1) {
    throw invalid(
      given.length === 0
        ? 'An expiration policy is required: give spec.ttl, spec.expire_time, or spec.no_expiry: true'
        : `spec.ttl, spec.expire_time and spec.no_expiry are mutually exclusive (got ${given.join(', ')})`,
    );
  }
  if (spec.ttl !== undefined) return { kind: 'ttl', ...duration('spec.ttl', spec.ttl) };
  if (spec.expire_time !== undefined) {
    const { time } = timestamp('spec.expire_time', spec.expire_time);
    if (time <= now) throw invalid('spec.expire_time must be in the future');
    return { kind: 'expire_time', at: time };
  }
  if (spec.no_expiry !== true) {
    throw invalid(
      'spec.no_expiry must be true when given; give spec.ttl or spec.expire_time instead',
    );
  }
  return { kind: 'no_expiry' };
}

/** A create request's spec, checked. */
export function createSpec(spec: Record<string, unknown>, now: Date): CreateSpec {
  const source = spec.source_branch;
  if (
    source !== undefined &&
    (typeof source !== 'string' || !/^projects\/[^/]+\/branches\/[^/]+$/.test(source))
  ) {
    throw invalid('spec.source_branch must look like projects/<project>/branches/<branch>');
  }
  if (spec.source_branch_time !== undefined && spec.source_branch_lsn !== undefined) {
    throw invalid('spec.source_branch_time and spec.source_branch_lsn are mutually exclusive');
  }
  const lsn = spec.source_branch_lsn;
  if (lsn !== undefined && !isLsn(lsn)) {
    throw invalid('spec.source_branch_lsn must be an LSN like 0/16B3748');
  }
  if (spec.is_protected !== undefined && typeof spec.is_protected !== 'boolean') {
    throw invalid('spec.is_protected must be a boolean');
  }
  return {
    source,
    time:
      spec.source_branch_time === undefined
        ? undefined
        : timestamp('spec.source_branch_time', spec.source_branch_time),
    lsn: lsn as string | undefined,
    expiration: expirationOf(spec, now),
    isProtected: spec.is_protected === true,
  };
}

/** `update_mask`: the fields an update may change (`spec.is_protected`, `spec.expiration`). */
export function updatePaths(mask: string | null): Set<'protection' | 'expiration'> {
  if (!mask) throw invalid('update_mask is required: spec.is_protected and/or spec.expiration');
  const paths = new Set<'protection' | 'expiration'>();
  for (const path of mask.split(',').map((part) => part.trim())) {
    if (path === 'spec.is_protected') paths.add('protection');
    else if (['spec.expiration', 'spec.ttl', 'spec.expire_time', 'spec.no_expiry'].includes(path)) {
      paths.add('expiration');
    } else {
      throw invalid(
        `update_mask: '${path}' cannot be updated (spec.is_protected, spec.expiration); source fields are immutable`,
      );
    }
  }
  return paths;
}
