import { packageBuild } from '../../tsup.base.js';

export default packageBuild(['src/index.ts', 'src/admin.ts', 'src/adapter.ts']);
