/** The one build of every package: ESM first, CJS beside it, `.d.ts` for both, Node 20. */
import { defineConfig, type Options } from 'tsup';

export function packageBuild(entry: string[] = ['src/index.ts'], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...extra,
  });
}
