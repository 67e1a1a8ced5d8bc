/**
 * The startup checks of the plugin: `runDoctor()` of `@lakebase-kit/core` on the plugin's
 * `Lakebase` (as `lakebase-kit doctor` runs them), each problem logged as a warning with its
 * fix. They never fail the app's start.
 */
import type { Lakebase, LakebasePoolConfig, Logger } from '@lakebase-kit/core';
import { type DoctorReport, runDoctor } from '@lakebase-kit/core/admin';

export async function logStartupChecks(
  lakebase: Lakebase,
  config: Partial<LakebasePoolConfig> | undefined,
  logger: Logger,
): Promise<DoctorReport | undefined> {
  // No extra token: the SP pool's own login shows whether minting works.
  const report = await runDoctor({ db: lakebase, config, mint: false });
  if (lakebase.closed) return undefined; // shut down meanwhile: the findings are moot
  for (const check of report.checks) {
    if (check.status === 'ok') logger.debug(`doctor ${check.id}: ${check.finding}`);
    else logger.warn(`doctor ${check.id} (${check.status}): ${check.finding}. Fix: ${check.fix}`);
  }
  return report;
}
