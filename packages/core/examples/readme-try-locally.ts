import { createLakebase } from '@lakebase-kit/core';
import { startLocalLakebase } from '@lakebase-kit/local';

const lb = await startLocalLakebase({ users: ['alice@example.com'] });
const lakebase = createLakebase({ env: lb.env });
const scope = lakebase.asUser(await lb.userHeaders('alice@example.com'));
console.log((await scope.query('select current_user')).rows); // [{ current_user: 'alice@example.com' }]
await lakebase.close();
await lb.stop();
