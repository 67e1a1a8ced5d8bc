/**
 * The Postgres server: its only socket lives in a private directory; failures to start are a
 * PostgresStartError (what, why, the fix), never an unhandled event.
 */
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PostgresStartError, startLocalLakebase } from '../../src/index.js';
import { PostgresServer } from '../../src/postgres/server.js';
import {
  isRoot,
  privateDir,
  SUPERUSER_PASSWORD,
  scratchServer,
  superuserQuery,
  useScratch,
} from './scratch.js';

const scratch = useScratch('lbk-server-');

describe('the only socket', () => {
  it('is in <root>/run, mode 0700, owned by the OS user Postgres runs as; kept by a restart, gone after close', async () => {
    const { root, server } = await scratchServer(scratch.dir(), 'socket-');
    await server.start();
    try {
      expect(server.socketDir).toBe(path.join(root, 'run'));
      expect(server.socketPath).toBe(path.join(root, 'run', '.s.PGSQL.5432'));
      const dir = statSync(server.socketDir);
      expect(dir.mode & 0o777).toBe(0o700);
      // As root, Postgres runs as the postgres OS user, which owns pgdata and the socket dir.
      expect(dir.uid).toBe(statSync(server.pgdata).uid);
      if (isRoot) expect(dir.uid).not.toBe(0);
      else expect(dir.uid).toBe(process.getuid?.());
      expect(lstatSync(server.socketPath).isSocket()).toBe(true);
      await server.restart();
      const { rows } = await superuserQuery(server, 'select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await server.close();
    }
    expect(readdirSync(path.join(root, 'run'))).toEqual([]);
  });

  it('a data root too deep for a socket path gets a temp socket directory, removed on close', async () => {
    const deep = path.join(scratch.dir(), 'd'.repeat(60), 'e'.repeat(40));
    await fs.mkdir(deep, { recursive: true, mode: 0o755 });
    await fs.chmod(path.dirname(deep), 0o755);
    const { server } = await scratchServer(deep, 'root-');
    await server.start();
    let socketDir = '';
    try {
      socketDir = server.socketDir;
      expect(path.dirname(socketDir)).toBe(os.tmpdir());
      expect(path.basename(socketDir)).toMatch(/^lbk-pg-/);
      expect(statSync(socketDir).mode & 0o777).toBe(0o700);
      await server.restart();
      expect(server.socketDir).toBe(socketDir);
      const { rows } = await superuserQuery(server, 'select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await server.close();
    }
    expect(existsSync(socketDir)).toBe(false);
  });

  it('a symlink at <root>/run is replaced by a private directory (the socket never lands elsewhere)', async () => {
    const { root, server } = await scratchServer(scratch.dir(), 'link-');
    const elsewhere = path.join(scratch.dir(), 'elsewhere');
    await fs.mkdir(elsewhere, { mode: 0o777 });
    await fs.symlink(elsewhere, path.join(root, 'run'));
    await server.start();
    try {
      expect(lstatSync(path.join(root, 'run')).isDirectory()).toBe(true);
      expect(statSync(path.join(root, 'run')).mode & 0o777).toBe(0o700);
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('a Postgres that cannot start is a PostgresStartError', () => {
  it('a data dir another Postgres runs on: the cause and the last log lines, and the other one untouched', async () => {
    const { root, server: first } = await scratchServer(scratch.dir(), 'taken-');
    await first.start();
    const second = new PostgresServer({
      root,
      superuserPassword: SUPERUSER_PASSWORD,
      fast: true,
      log: () => undefined,
    });
    try {
      const error = await second.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostgresStartError);
      expect(error).toMatchObject({ problem: 'start-failed' });
      expect((error as Error).message).toMatch(/lock file "postmaster.pid" already exists/);
      expect((error as Error).message).not.toContain(SUPERUSER_PASSWORD);
      expect(second.isRunning).toBe(false);
      // The first one still answers on its socket.
      const { rows } = await superuserQuery(first, 'select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await second.close();
      await first.close();
    }
    expect(existsSync(path.join(root, 'pgdata', 'postmaster.pid'))).toBe(false);
  });

  it('a temp dir it cannot enter, where initdb would read its password file (as root)', async () => {
    const { server } = await scratchServer(scratch.dir(), 'data-');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = await privateDir(scratch.dir(), 'private-tmp');
    try {
      const started = server.start();
      if (!isRoot) {
        await started;
        return;
      }
      const error = await started.catch((e: unknown) => e);
      expect(error).toMatchObject({ problem: 'temp-dir-unreachable' });
      expect((error as PostgresStartError).hint).toContain('TMPDIR');
    } finally {
      process.env.TMPDIR = saved;
      await server.close();
    }
  });

  it('a data dir the Postgres OS user cannot enter (as root; it just works otherwise)', async () => {
    const dataDir = path.join(await privateDir(scratch.dir(), 'private-data'), 'lakebase');
    const started = startLocalLakebase({ dataDir });
    if (!isRoot) {
      await (await started).stop();
      return;
    }
    const error = await started.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStartError);
    expect(error).toMatchObject({ problem: 'data-dir-unreachable' });
    expect((error as Error).message).toContain(dataDir);
    expect((error as PostgresStartError).hint).toMatch(/o\+x/);
  });
});
