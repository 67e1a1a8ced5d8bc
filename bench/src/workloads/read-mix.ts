/**
 * P9 (child side): a read-heavy mix in one app process, with or without a read-only endpoint
 * (`createLakebase({ read })`). Each lane loops, for `seconds`: write a row on the primary,
 * read it back through the read side (`lakebase.read` or `asUser(req).read`) and check that
 * the read saw it, then `plainReads` reads of seeded rows through the read side. Half the
 * lanes run as the service principal, the others each as one user (login mode: their own
 * connections, on the replica too). All reads are lookups by primary key, so the orchestrator
 * can count them on each server (`pg_stat_user_indexes.idx_scan`).
 */
import { createLakebase, redactSecrets } from '@lakebase-kit/core';
import type pg from 'pg';
import type { ReadMixResult, ReadMixTask } from '../protocol.js';

const WRITE = 'insert into public.p9_rows (body) values ($1) returning id, body';
const READ = 'select id, body from public.p9_rows where id = $1';

type Run = (text: string, values: unknown[]) => Promise<pg.QueryResult>;

interface Lane {
  write: Run;
  read: Run;
}

export async function runReadMix(task: ReadMixTask): Promise<ReadMixResult> {
  const lakebase = createLakebase(
    task.read
      ? {
          read: {
            endpoint: task.read.endpoint,
            host: task.read.host,
            consistency: task.read.consistency,
            maxWaitMs: task.read.maxWaitMs,
          },
        }
      : {},
  );
  const sp: Lane = {
    write: (text, values) => lakebase.query(text, values),
    read: (text, values) => lakebase.read.query(text, values),
  };
  // as a request handler would: a scope per request, from the forwarded headers
  const user = (headers: Record<string, string>): Lane => ({
    write: (text, values) => lakebase.asUser(headers).query(text, values),
    read: (text, values) => lakebase.asUser(headers).read.query(text, values),
  });
  const lanes: Lane[] = [
    ...Array.from({ length: task.spLanes }, () => sp),
    ...task.users.map((headers) => user(headers)),
  ];
  const result: ReadMixResult = {
    seconds: task.seconds,
    loops: 0,
    writes: 0,
    reads: 0,
    readBacks: 0,
    stale: 0,
    errors: 0,
    errorSamples: [],
  };
  const samples = new Set<string>();
  try {
    // warm-up off the counted table: hosts checked, tokens minted, connections open
    await lakebase.ready();
    await Promise.all(
      lanes.map((lane) => lane.write('select 1', []).then(() => lane.read('select 1', []))),
    );
    const start = performance.now();
    const deadline = start + task.seconds * 1000;
    const loop = async (lane: Lane, laneIndex: number) => {
      let n = 0;
      while (performance.now() < deadline) {
        try {
          const body = `lane ${laneIndex} loop ${n++}`;
          const written = await lane.write(WRITE, [body]);
          result.writes++;
          const id = written.rows[0]?.id as string;
          const back = await lane.read(READ, [id]);
          result.reads++;
          result.readBacks++;
          if (back.rows[0]?.body !== body) result.stale++;
          for (let i = 0; i < task.plainReads; i++) {
            await lane.read(READ, [1 + Math.floor(Math.random() * task.seededRows)]);
            result.reads++;
          }
          result.loops++;
        } catch (error) {
          result.errors++;
          if (samples.size < 5) samples.add(redactSecrets(String((error as Error).message), 160));
        }
      }
    };
    await Promise.all(lanes.map(loop));
    result.seconds = (performance.now() - start) / 1000;
    const read = lakebase.stats().read;
    if (read) {
      result.kit = {
        checks: read.checks,
        waited: read.waited,
        primaryFallbacks: read.primaryFallbacks,
        writes: read.writes,
      };
    }
    result.errorSamples = [...samples];
    return result;
  } finally {
    // every connection ends: the servers flush their counters when a backend exits
    await lakebase.close();
  }
}
