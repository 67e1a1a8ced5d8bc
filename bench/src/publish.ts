/**
 * Where a run's results go, and the README tables made from them. A plain `pnpm bench` writes
 * `runs/` (git-ignored); only `pnpm bench -- --save` (a full run without failures) writes the
 * committed `results/latest.{json,md}` and regenerates, from that JSON, the table in
 * bench/README.md and the summary in the root README.md. A test renders them again from
 * `results/latest.json` and fails when a README was edited by hand.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { busyWarning, type Machine, machineLine, markdownTable } from './report.js';
import type { Row } from './scenarios/context.js';
import { type Results, summaryTable } from './summary.js';

export interface Report {
  machine: Machine;
  seconds: number;
  quick: boolean;
  scenarios: string[];
  failures: Record<string, string>;
  results: Results;
  rows: Row[];
}

/** The committed results (the READMEs' source) and the untracked runs. */
export const SAVED = new URL('../results/', import.meta.url);
export const RUNS = new URL('../runs/', import.meta.url);
export const BENCH_README = new URL('../README.md', import.meta.url);
export const ROOT_README = new URL('../../README.md', import.meta.url);

/** bench/README.md: everything of a run (also `latest.md`). */
export const RESULTS_MARKERS = ['<!-- bench:results:start -->', '<!-- bench:results:end -->'];
/** README.md: the summary table and the machine line. */
export const SUMMARY_MARKERS = ['<!-- bench:summary:start -->', '<!-- bench:summary:end -->'];

const machineSentence = (report: Report) =>
  `Machine: ${machineLine(report.machine)}. Total bench time ${report.seconds} s.`;

/** The full markdown of a run: summary, every row, the machine (and a warning if it was busy). */
export function resultsMarkdown(report: Report): string {
  const warning = busyWarning(report.machine);
  return [
    'At a glance:',
    summaryTable(report.results),
    'All rows:',
    markdownTable(report.rows),
    machineSentence(report),
    ...(warning ? [warning] : []),
  ].join('\n\n');
}

/** The root README's part: the summary table and the machine line. */
export function summaryMarkdown(report: Report): string {
  return `${summaryTable(report.results)}\n\n${machineSentence(report)}`;
}

/** `text` with the part between `markers` replaced by `body`; throws when they are missing. */
export function replaceSection(text: string, [start, end]: string[], body: string): string {
  const at = text.indexOf(start!);
  const to = text.indexOf(end!);
  if (at < 0 || to < at) throw new Error(`markers ${start} … ${end} not found`);
  return `${text.slice(0, at + start!.length)}\n\n${body}\n\n${text.slice(to)}`;
}

/** The part between `markers`, or undefined. */
export function section(text: string, [start, end]: string[]): string | undefined {
  const at = text.indexOf(start!);
  const to = text.indexOf(end!);
  return at < 0 || to < at ? undefined : text.slice(at + start!.length, to);
}

/**
 * Markdown as compared: Biome aligns table columns when it formats the READMEs, so cells are
 * trimmed and delimiter rows reduced; blank lines at the ends do not count.
 */
export function normalizeMarkdown(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      if (!line.startsWith('|')) return line.trimEnd();
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
      return `|${cells.map((cell) => (/^:?-+:?$/.test(cell) ? '---' : cell)).join('|')}|`;
    })
    .join('\n');
}

/** Writes a run: `runs/` unless `save`, else `results/` and both READMEs. Returns what it wrote. */
export async function publish(report: Report, save: boolean): Promise<string[]> {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = `${resultsMarkdown(report)}\n`;
  if (!save) {
    await writeFile(new URL('latest.json', RUNS), json);
    await writeFile(new URL('latest.md', RUNS), markdown);
    return ['runs/latest.json', 'runs/latest.md'];
  }
  await writeFile(new URL('latest.json', SAVED), json);
  await writeFile(new URL('latest.md', SAVED), markdown);
  const bench = await readFile(BENCH_README, 'utf8');
  await writeFile(BENCH_README, replaceSection(bench, RESULTS_MARKERS, resultsMarkdown(report)));
  const root = await readFile(ROOT_README, 'utf8');
  await writeFile(ROOT_README, replaceSection(root, SUMMARY_MARKERS, summaryMarkdown(report)));
  return ['results/latest.json', 'results/latest.md', 'bench/README.md', 'README.md'];
}
