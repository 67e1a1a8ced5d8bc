/** Rows as a tool answer can carry them: JSON values only (bigints, dates and bytes as strings). */

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A value the JSON of a tool answer can carry as is. */
export function jsonSafe(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
      if (Array.isArray(value)) return value.map(jsonSafe);
      const out: Record<string, JsonValue> = {};
      for (const [key, item] of Object.entries(value)) out[key] = jsonSafe(item);
      return out;
    }
    default:
      return String(value);
  }
}
