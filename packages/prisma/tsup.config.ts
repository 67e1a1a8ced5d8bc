import { packageBuild } from '../../tsup.base.js';

// `shims`: import.meta.url in the CJS build (pg-of-adapter.ts resolves the adapter's own `pg`)
export default packageBuild(['src/index.ts'], { shims: true });
