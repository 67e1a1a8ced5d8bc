/** The results table as text (console) and markdown, and the machine it ran on. */
import os from 'node:os';
import type { Row } from './scenarios/context.js';

export interface Machine {
  cpus: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average before the run (other work) and at its end (the bench included). */
  loadAverage: { start: number; end: number };
  date: string;
}

export function describeMachine(loadAtStart: number): Machine {
  const cpus = os.cpus();
  const models = [...new Set(cpus.map((cpu) => cpu.model.trim()))].join(', ');
  return {
    cpus: `${cpus.length} × ${models}`,
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    loadAverage: { start: loadAtStart, end: Math.round(os.loadavg()[0]! * 100) / 100 },
    date: new Date().toISOString(),
  };
}

const COLUMNS: Array<[keyof Row, string]> = [
  ['metric', 'row'],
  ['raw', 'raw pg.Pool'],
  ['official', '@databricks/lakebase 0.6.0 / AppKit'],
  ['ours', '@lakebase-kit/core'],
  ['oursVsRaw', 'ours/raw'],
  ['oursVsOfficial', 'ours/official'],
];

const cell = (row: Row, key: keyof Row) => row[key] ?? '—';

/** A plain aligned table for the terminal (notes listed below it). */
export function textTable(rows: Row[]): string {
  const widths = COLUMNS.map(([key, title]) =>
    Math.max(title.length, ...rows.map((row) => cell(row, key).length)),
  );
  const line = (values: string[]) =>
    values.map((value, i) => value.padEnd(widths[i] as number)).join(' │ ');
  const out = [
    line(COLUMNS.map(([, title]) => title)),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...rows.map((row) => line(COLUMNS.map(([key]) => cell(row, key)))),
  ];
  const notes = [...new Set(rows.map((row) => row.note).filter(Boolean))];
  if (notes.length) out.push('', ...notes.map((note) => `  · ${note}`));
  return out.join('\n');
}

const escapePipes = (text: string) => text.replace(/\|/g, '\\|');

export function markdownTable(rows: Row[]): string {
  const head = [...COLUMNS.map(([, title]) => title), 'notes'];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const values = [...COLUMNS.map(([key]) => cell(row, key)), row.note ?? ''];
    out.push(`| ${values.map(escapePipes).join(' | ')} |`);
  }
  return out.join('\n');
}

/**
 * A warning when other work shared the CPUs: the load average before the run above the core
 * count (during the run the benchmark's own processes count too, so only the start tells).
 */
export function busyWarning(m: Machine): string | undefined {
  const load = m.loadAverage.start;
  if (load <= m.cores) return undefined;
  return `Warning: the machine was busy with other work (load average ${load} on ${m.cores} cores when the run started); wall-time numbers are noisy, the spreads show how much.`;
}

export function machineLine(m: Machine): string {
  return `${m.cpus}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load average ${m.loadAverage.start} → ${m.loadAverage.end}; ${m.date}`;
}
