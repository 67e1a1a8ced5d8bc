#!/usr/bin/env node
/**
 * `pnpm test`: every package's suite through turbo (one package at a time), its output passed
 * through as it comes, then one closing line for the whole run, summed over the vitest
 * summaries: `N passed, N failed` (`, N skipped` when some were). Exits with turbo's code.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Sums the `Tests  N failed | N passed | N skipped (T)` lines of vitest runs in `output`. A
 * test file that failed as a whole (say, in beforeAll) has no failed test, only skipped ones:
 * each such run counts at least its failed files (`Test Files  N failed | …`) as failed.
 */
export function summarize(output) {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  const counts = (text) => {
    const found = { passed: 0, failed: 0, skipped: 0 };
    for (const [, n, kind] of text.matchAll(/(\d+)\s+(passed|failed|skipped)/g))
      found[kind] += Number(n);
    return found;
  };
  let failedFiles = 0;
  for (const line of plain.split('\n')) {
    // `Tests  28 failed | 95 passed (123)`: counts, then the total in parentheses, at the end.
    const summary = /\b(Test Files|Tests)\s+(\d+\s+\w+(?:\s*\|\s*\d+\s+\w+)*)\s+\(\d+\)\s*$/.exec(
      line,
    );
    if (!summary) continue;
    const found = counts(summary[2]);
    if (summary[1] === 'Test Files') {
      failedFiles = found.failed;
      continue;
    }
    totals.passed += found.passed;
    totals.skipped += found.skipped;
    totals.failed += Math.max(found.failed, failedFiles);
    failedFiles = 0;
  }
  return totals;
}

export function closingLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  const env = process.stdout.isTTY ? { ...process.env, FORCE_COLOR: '1' } : process.env;
  const child = spawn(turbo, ['run', 'test', '--concurrency=1', ...process.argv.slice(2)], {
    cwd: root,
    env,
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
    process.stdout.write(chunk);
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
    process.stderr.write(chunk);
  });
  child.once('close', (code, signal) => {
    process.stdout.write(`\n${closingLine(summarize(output))}\n`);
    process.exit(code ?? (signal ? 1 : 0));
  });
}
