/** Tiny HTTP helpers for the tests. */
export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field
  body: any;
  text: string;
}

export async function call(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; json?: unknown } = {},
): Promise<Reply> {
  const headers = { ...init.headers };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, base), {
    method: init.method ?? 'GET',
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

export const items = (orders: { item: string }[]): string[] => orders.map((o) => o.item).sort();
export const owners = (orders: { owner: string }[]): string[] => [
  ...new Set(orders.map((o) => o.owner)),
];
