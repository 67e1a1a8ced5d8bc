import { createLakebase } from '@lakebase-kit/core';
import { runDoctor } from '@lakebase-kit/core/admin';

// as the app (its service principal): a report of checks, never throws
const lakebase = createLakebase();
const report = await runDoctor({ db: lakebase, identities: ['alice@example.com'] });
for (const check of report.checks)
  if (check.status !== 'ok') console.warn(check.id, check.finding, check.fix);
await lakebase.close();
