/**
 * The README's ```ts blocks that are fragments, not programs: each needs names that an earlier
 * block or the app around it defines. `context` declares exactly those (and nothing the block
 * declares itself); test/readme.test.ts puts it in front of the block and compiles the result
 * against the sources. A block is found by the heading it is under and its place among the
 * ```ts blocks under that heading (1 = the first).
 */
export interface Fragment {
  heading: string;
  nth: number;
  context: string;
}

export const FRAGMENTS: readonly Fragment[] = [
  {
    // "so every ORM takes it": the pool is accepted where each ORM wants a pg.Pool
    heading: 'Quick start',
    nth: 3,
    context: `import { createLakebasePool } from '@lakebase-kit/core';`,
  },
  {
    heading: 'Errors',
    nth: 1,
    context: `import type { Express } from 'express';
declare const app: Express;
declare const error: unknown;`,
  },
  {
    // "any { debug, info, warn, error }": a plain object type, not our Logger
    heading: 'Logging',
    nth: 1,
    context: `import { createLakebasePool } from '@lakebase-kit/core';
declare const myLogger: {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
};`,
  },
  {
    heading: 'Telemetry',
    nth: 1,
    context: `import { createLakebasePool } from '@lakebase-kit/core';`,
  },
  {
    // a Fetch handler: asUser takes a Fetch Request
    heading: 'On-behalf-of users',
    nth: 2,
    context: `import type { Lakebase } from '@lakebase-kit/core';
declare const lakebase: Lakebase;`,
  },
  {
    heading: 'The scope',
    nth: 1,
    context: `import type { Lakebase, RequestLike } from '@lakebase-kit/core';
declare const lakebase: Lakebase;
declare const req: RequestLike;
declare const id: number;`,
  },
  {
    // the route of the on-behalf-of example's app
    heading: 'SQL written by an agent: `readOnlyQuery` and `singleStatementQuery`',
    nth: 1,
    context: `import { type Lakebase, LakebaseError } from '@lakebase-kit/core';
import express from 'express';
declare const app: express.Express;
declare const lakebase: Lakebase;`,
  },
  {
    heading: "Thousands of users: `userPools.mode: 'set-role'`",
    nth: 1,
    context: `import { createLakebase, type RequestLike } from '@lakebase-kit/core';
declare const req: RequestLike;`,
  },
];
