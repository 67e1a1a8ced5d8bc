/**
 * The READMEs' benchmark tables are generated from the saved run (`results/latest.json`, by
 * `pnpm bench -- --save`), not copied by hand: render them again and compare.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BENCH_README,
  normalizeMarkdown,
  RESULTS_MARKERS,
  type Report,
  ROOT_README,
  replaceSection,
  resultsMarkdown,
  SAVED,
  SUMMARY_MARKERS,
  section,
  summaryMarkdown,
} from '../src/publish.js';

const saved = JSON.parse(readFileSync(new URL('latest.json', SAVED), 'utf8')) as Report;
const read = (url: URL) => readFileSync(url, 'utf8');

describe('benchmark tables in the READMEs', () => {
  it('results/latest.md is the saved run rendered', () => {
    expect(read(new URL('latest.md', SAVED))).toBe(`${resultsMarkdown(saved)}\n`);
  });

  it('bench/README.md holds every row of the saved run', () => {
    const part = section(read(BENCH_README), RESULTS_MARKERS);
    expect(part).toBeDefined();
    expect(normalizeMarkdown(part!)).toBe(normalizeMarkdown(resultsMarkdown(saved)));
  });

  it('README.md holds its summary table and machine line', () => {
    const part = section(read(ROOT_README), SUMMARY_MARKERS);
    expect(part).toBeDefined();
    expect(normalizeMarkdown(part!)).toBe(normalizeMarkdown(summaryMarkdown(saved)));
  });

  it('a hand edit is caught, and replaceSection puts the generated part back', () => {
    const readme = read(ROOT_README);
    const edited = readme.replace(/\| 1\.\d\d× \//, '| 0.99× /');
    expect(edited).not.toBe(readme);
    expect(normalizeMarkdown(section(edited, SUMMARY_MARKERS)!)).not.toBe(
      normalizeMarkdown(summaryMarkdown(saved)),
    );
    const fixed = replaceSection(edited, SUMMARY_MARKERS, summaryMarkdown(saved));
    expect(normalizeMarkdown(section(fixed, SUMMARY_MARKERS)!)).toBe(
      normalizeMarkdown(summaryMarkdown(saved)),
    );
  });
});
