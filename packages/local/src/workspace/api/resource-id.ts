/** Ids the Lakebase APIs take for new resources (branch_id, endpoint_id) and page tokens. */
import { invalid } from './api-error.js';

/** 1-63 characters: lowercase letters, digits and hyphens, starting with a letter. */
const RESOURCE_ID = /^[a-z][a-z0-9-]{0,62}$/;

/** `value` (the query parameter `field`), checked; required. */
export function validResourceId(field: string, value: string | null): string {
  if (value === null || value === '') throw invalid(`Query parameter '${field}' is required`);
  if (!RESOURCE_ID.test(value)) {
    throw invalid(
      `${field} '${value}' is invalid: it must be 1-63 characters long, start with a lowercase ` +
        'letter, and contain only lowercase letters, numbers, and hyphens',
    );
  }
  return value;
}

/** `page_size` and `page_token` applied to `items` (sorted by `key`). */
export function page<T>(items: T[], url: URL, key: (item: T) => string) {
  const pageSize = Number(url.searchParams.get('page_size') ?? 0);
  if (!Number.isInteger(pageSize) || pageSize < 0) {
    throw invalid('page_size must be a non-negative integer');
  }
  const token = url.searchParams.get('page_token');
  const start = token ? items.findIndex((item) => key(item) > token) : 0;
  const from = start < 0 ? items.length : start;
  const slice = pageSize > 0 ? items.slice(from, from + pageSize) : items.slice(from);
  const last = slice.at(-1);
  const more = last !== undefined && from + slice.length < items.length;
  return { items: slice, nextPageToken: more ? key(last) : undefined };
}
