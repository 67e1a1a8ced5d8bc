/**
 * The startup checks of the plugin: `runDoctor()` of `@lakebase-kit/core` on the plugin's
 * `Lakebase` (as `lakebase-kit doctor` runs them). One line says what they found (info when
 * nothing, warn otherwise), then each problem follows as a warning with its fix. They never
 * fail the app, and never hold a token.
 *
 * When they run is the plugin's business (see `LakebasePlugin.startupChecks`): after the app's
 * own setup, so that a table the app is still creating is never reported half made.
 */
import type { Lakebase, LakebasePoolConfig, Logger } from '@lakebase-kit/core';
import { type DoctorReport, runDoctor } from '@lakebase-kit/core/admin';

const LABEL = 'Startup checks (lakebase-kit doctor)';

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The one line that says what the checks found. */
export function summaryLine(report: DoctorReport): string {
  const ids = report.checks.map((check) => check.id);
  if (report.errors === 0 && report.warnings === 0) {
    return `${LABEL}: no problems found in ${plural(ids.length, 'check')} (${ids.join(', ')})`;
  }
  const problems = report.checks
    .filter((check) => check.status !== 'ok')
    .map((check) => `${check.id} (${check.status})`);
  return (
    `${LABEL}: ${plural(report.errors, 'error')} and ${plural(report.warnings, 'warning')} in ` +
    `${plural(ids.length, 'check')}: ${problems.join(', ')}; each follows with its fix`
  );
}

export async function logStartupChecks(
  lakebase: Lakebase,
  config: Partial<LakebasePoolConfig> | undefined,
  logger: Logger,
): Promise<DoctorReport | undefined> {
  // No extra token: the SP pool's own login shows whether minting works.
  const report = await runDoctor({ db: lakebase, config, mint: false });
  if (lakebase.closed) return undefined; // shut down meanwhile: the findings are moot
  const clean = report.errors === 0 && report.warnings === 0;
  if (clean) logger.info(summaryLine(report));
  else logger.warn(summaryLine(report));
  for (const check of report.checks) {
    if (check.status === 'ok') logger.debug(`doctor ${check.id}: ${check.finding}`);
    else logger.warn(`doctor ${check.id} (${check.status}): ${check.finding}. Fix: ${check.fix}`);
  }
  return report;
}
