/** "At a glance": the headline ratios of a run, one line per row group, as markdown. */
import type { P1Result } from './scenarios/p1-overhead.js';
import type { P2Result } from './scenarios/p2-storm.js';
import type { P3Result } from './scenarios/p3-rollover.js';
import type { P4Result } from './scenarios/p4-users.js';
import type { P5Result } from './scenarios/p5-http.js';
import type { P6Result } from './scenarios/p6-many-users.js';
import type { P7Result } from './scenarios/p7-one-process.js';
import { type P8Cell, type P8Result, p8TargetMet } from './scenarios/p8-scale-out.js';
import { type P9Result, p9TargetMet } from './scenarios/p9-read-mix.js';

export interface Results {
  p1?: P1Result;
  p2?: P2Result;
  p3?: P3Result;
  p4?: P4Result;
  p5?: P5Result;
  p6?: P6Result;
  p7?: P7Result;
  p8?: P8Result;
  p9?: P9Result;
}

const x = (n: number) => `${n.toFixed(2)}×`;
const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
const p8Cell = (c: P8Cell) =>
  `${c.rps} req/s, peak ${c.peakServerConnections} server connections, ${c.failed} failed`;
const ms = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)} ms`;

export function summaryTable(r: Results): string {
  const lines: string[] = [];
  if (r.p1) {
    const { sequential: s, concurrent: c } = r.p1.ratios;
    lines.push(
      `| P1 query time, telemetry on (sequential / 16-way mix) | ${x(s.oursVsRaw)} / ${x(c.oursVsRaw)} of raw pg | ${x(s.oursVsOfficial)} / ${x(c.oursVsOfficial)} of official |`,
      `| P1 query time, telemetry off (sequential / 16-way mix) | ${x(s.oursNoTelemetryVsRaw)} / ${x(c.oursNoTelemetryVsRaw)} of raw pg | |`,
    );
  }
  if (r.p2) {
    lines.push(
      `| P2 credential calls, ${r.p2.options.connections}-way connect storm | ${r.p2.ours.credentialCalls} | official: ${r.p2.official.credentialCalls} |`,
    );
  }
  if (r.p3) {
    const { ours, official } = r.p3;
    lines.push(
      `| P3 connect p50 / p99 across token rollovers | ${ms(ours.p50Ms)} / ${ms(ours.p99Ms)} | official: ${ms(official.p50Ms)} / ${ms(official.p99Ms)} (${x(ours.p50Ms / official.p50Ms)} / ${x(ours.p99Ms / official.p99Ms)}) |`,
      `| P3 connects that waited on the credential API | ${ours.slowConnects} of ${ours.connects} | official: ${official.slowConnects} of ${official.connects} |`,
    );
  }
  if (r.p4) {
    const { ours, official, options: o } = r.p4;
    lines.push(
      `| P4 ${o.users} users × ${o.queriesPerUser} queries: peak connections / failed queries | ${ours.peakConnections} / ${ours.errors} | official: ${official.peakConnections} / ${official.errors} |`,
    );
  }
  if (r.p5) {
    lines.push(
      `| P5 HTTP req/s, asUser(req) route vs SP route | ${x(r.p5.userVsSp)} (${r.p5.user.rps} vs ${r.p5.sp.rps}) | |`,
    );
  }
  if (r.p6) {
    for (const m of r.p6.modes) {
      lines.push(
        `| P6 ${r.p6.options.users} users over HTTP, mode '${m.mode}': asUser vs SP route | ${x(m.userVsSp)} (${m.userRps} vs ${m.spRps} req/s) | ${m.newConnections} new connections, peak ${m.peakConnections}, ${m.mismatches} identity mismatches |`,
      );
    }
  }
  if (r.p7) {
    const { withSdk: s, withoutSdk: n } = r.p7;
    lines.push(
      `| P7 one process, OTel SDK registered: ours vs raw pg / vs official | ${x(s.oursVsRaw.median)} / ${x(s.oursVsOfficial.median)} | targets ≤ ${x(r.p7.targets.withSdkVsRaw)} / ≤ ${x(r.p7.targets.withSdkVsOfficial)} |`,
      `| P7 one process, no OTel SDK: ours vs raw pg | ${x(n.oursVsRaw.median)} | target ≤ ${x(r.p7.targets.withoutSdkVsRaw)} |`,
    );
  }
  if (r.p8) {
    const { options: o, cells } = r.p8;
    const who = `P8 ${o.processes} processes × ${o.usersPerProcess} users`;
    for (const mode of ['login', 'set-role'] as const) {
      const pooled = cells.find((c) => c.mode === mode && c.pooled);
      const direct = cells.filter((c) => c.mode === mode && !c.pooled);
      if (!pooled) continue;
      const directText = direct
        .map((c) => `${mode === 'login' ? `budget ${c.budget}: ` : ''}${p8Cell(c)}`)
        .join('; ');
      lines.push(
        `| ${who}, '${mode}': pooled (target ≤ ${o.maxConnections} connections, 0 failed: ${p8TargetMet(r.p8, pooled) ? 'met' : 'NOT met'}) | ${p8Cell(pooled)} | direct: ${directText} |`,
      );
    }
  }
  if (r.p9) {
    const primary = r.p9.variants.find((v) => v.variant === 'primary');
    const replica = r.p9.variants.find((v) => v.variant === 'replica');
    if (primary && replica) {
      lines.push(
        `| P9 90 % reads, read replica (read-your-writes): primary's share of reads / stale read-backs (target ≤ ${pct(r.p9.targetPrimaryShare)} / 0: ${p9TargetMet(r.p9, replica) ? 'met' : 'NOT met'}) | ${pct(replica.primaryShare)} / ${replica.stale} of ${replica.readBacks}, ${replica.rps} req/s | no replica: ${pct(primary.primaryShare)} / ${primary.stale}, ${primary.rps} req/s (${x(replica.rps / primary.rps)}) |`,
      );
    }
  }
  return ['| | ours | compared |', '|---|---|---|', ...lines].join('\n');
}
