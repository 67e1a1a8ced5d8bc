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

/**
 * On Postgres 15+ the `public` schema belongs to `pg_database_owner`. Core's `ownership` check
 * (through the current core) counts that schema itself as "not owned by the app" once the app
 * has a table in it (AppKit's template creates `todos` there) and proposes the deploy-first
 * trap's recovery, `DROP SCHEMA "public" CASCADE`: a false alarm with a harmful fix. The app
 * needs CREATE on `public`, not its ownership; the tables in it are still checked.
 */
const PUBLIC_SCHEMA_SUBJECT = 'schema public (owner pg_database_owner)';

/** `report` without that false alarm (an ownership finding whose only subject it is). */
export function withoutPublicSchemaAlarm(report: DoctorReport): DoctorReport {
  const checks = report.checks.map((check) =>
    check.id === 'ownership' &&
    check.status !== 'ok' &&
    check.subjects?.length === 1 &&
    check.subjects[0] === PUBLIC_SCHEMA_SUBJECT
      ? {
          id: check.id,
          status: 'ok' as const,
          finding:
            'the app owns every object it uses (the public schema belongs to pg_database_owner, as in every database)',
          fix: '',
        }
      : check,
  );
  const errors = checks.filter((check) => check.status === 'error').length;
  const warnings = checks.filter((check) => check.status === 'warn').length;
  return { ok: errors === 0, errors, warnings, checks };
}

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
  const report = withoutPublicSchemaAlarm(await runDoctor({ db: lakebase, config, mint: false }));
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
