import {
  ConfigurationError,
  createLakebase,
  type Lakebase,
  type LakebaseConfig,
} from '@lakebase-kit/core';

/** Keys that may be given next to a shared `lakebase` (they configure the adapter itself). */
const ALLOWED_WITH_SHARED = new Set(['logger']);

/**
 * The `Lakebase` an adapter binds to: the shared one (never closed by the adapter), or a new
 * one made from `config` (owned: the adapter closes it).
 */
export function resolveLakebase(
  lakebase: Lakebase | undefined,
  config: Record<string, unknown>,
): { lakebase: Lakebase; owned: boolean } {
  if (!lakebase) return { lakebase: createLakebase(config as LakebaseConfig), owned: true };
  const ignored = Object.keys(config).filter(
    (key) => config[key] !== undefined && !ALLOWED_WITH_SHARED.has(key),
  );
  if (ignored.length > 0) {
    throw new ConfigurationError(
      `Pass either a shared \`lakebase\` or connection options, not both (got ${ignored
        .map((k) => `\`${k}\``)
        .join(', ')} next to \`lakebase\`; configure them on createLakebase() instead)`,
      { option: 'lakebase' },
    );
  }
  return { lakebase, owned: false };
}
