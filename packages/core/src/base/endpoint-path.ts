/**
 * Lakebase resource paths: an endpoint is `projects/<p>/branches/<b>/endpoints/<e>`, its branch
 * `projects/<p>/branches/<b>`. The one place that parses them.
 */
import { ValidationError } from './errors.js';

const ENDPOINT = /^projects\/[^/\s]+\/branches\/[^/\s]+\/endpoints\/[^/\s]+$/;
const BRANCH = /^projects\/[^/\s]+\/branches\/[^/\s]+$/;

/** `endpoint`, checked. @throws ValidationError naming the option and env variable. */
export function validateEndpoint(endpoint: string): string {
  if (typeof endpoint !== 'string' || !ENDPOINT.test(endpoint)) {
    throw new ValidationError(
      `Invalid Lakebase endpoint "${String(endpoint)}" (option "endpoint" / env LAKEBASE_ENDPOINT): ` +
        'expected projects/<project>/branches/<branch>/endpoints/<endpoint>',
      { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
    );
  }
  return endpoint;
}

/** `projects/<p>/branches/<b>` of an endpoint path (or a branch path, checked). */
export function branchOf(endpointOrBranch: string): string {
  if (BRANCH.test(endpointOrBranch)) return endpointOrBranch;
  return validateEndpoint(endpointOrBranch).split('/endpoints/')[0] as string;
}

/** The branch of `endpoint` when it is a valid endpoint path, else a placeholder (for messages). */
export function branchOrPlaceholder(endpoint: string | undefined): string {
  return endpoint !== undefined && ENDPOINT.test(endpoint)
    ? branchOf(endpoint)
    : 'projects/<project>/branches/<branch>';
}
