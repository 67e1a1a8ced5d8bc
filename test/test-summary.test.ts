/** The closing line of `pnpm test` (scripts/test.mjs), from turbo-prefixed vitest summaries. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { closingLine, summarize } from '../scripts/test.mjs';

const RUN = `
@lakebase-kit/local:test:  Test Files  7 passed (7)
@lakebase-kit/local:test:       Tests  54 passed (54)
@lakebase-kit/core:test:  Test Files  5 failed | 14 passed (19)
@lakebase-kit/core:test:       Tests  \u001b[1m\u001b[31m28 failed\u001b[39m\u001b[22m\u001b[2m | \u001b[22m\u001b[1m\u001b[32m95 passed\u001b[39m\u001b[22m\u001b[90m (123)\u001b[39m
@lakebase-kit/cli:test:  Test Files  1 failed | 5 passed (6)
@lakebase-kit/cli:test:       Tests  1 failed | 33 passed | 4 skipped (38)
@lakebase-kit/kysely:test:  Test Files  2 failed | 4 passed (6)
@lakebase-kit/kysely:test:       Tests  35 passed | 10 skipped (45)
@lakebase-kit/cli:test: it('Tests 3 passed') is not a summary line
`;

describe('pnpm test closing line', () => {
  it('sums every package, colours or not, failed files included; skipped only when some were', () => {
    // kysely: two files failed in beforeAll (their tests skipped): 2 failures, not 0.
    expect(summarize(RUN)).toEqual({ passed: 217, failed: 31, skipped: 14 });
    expect(closingLine(summarize(RUN))).toBe('217 passed, 31 failed, 14 skipped');
    expect(closingLine(summarize('x:test:  Tests  3 passed (3)'))).toBe('3 passed, 0 failed');
    expect(closingLine(summarize('no summary at all'))).toBe('0 passed, 0 failed');
  });
});
