import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalLakebase } from '../src/index.js';
import { connectAs, rolesApi } from './helpers.js';

function postmasterPid(dataDir: string): number {
  const text = readFileSync(path.join(dataDir, 'pgdata', 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function acceptsAt(door: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(door.port, door.host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function postgresProcessesFor(dataDir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(dataDir));
}

const persistentRoot = path.join(os.tmpdir(), `lakebase-local-persist-${process.pid}`);
afterAll(async () => {
  await fs.rm(persistentRoot, { recursive: true, force: true });
});

describe('lifecycle', () => {
  it('stop() leaves no Postgres process, closes every port, removes the temp dir; idempotent', async () => {
    const lb = await startLocalLakebase();
    const pid = postmasterPid(lb.dataDir);
    expect(alive(pid)).toBe(true);
    expect(postgresProcessesFor(lb.dataDir).length).toBeGreaterThan(0);
    const socketDir = path.join(lb.dataDir, 'run');
    expect(readdirSync(socketDir)).toContain(`.s.PGSQL.${lb.postgresPort}`);
    const client = await connectAs(lb, lb.env.PGUSER, lb.mintPgToken(lb.env.PGUSER).token);
    await Promise.all([lb.stop(), lb.stop()]);
    await lb.stop();
    expect(alive(pid)).toBe(false);
    expect(postgresProcessesFor(lb.dataDir)).toEqual([]);
    expect(existsSync(lb.dataDir)).toBe(false);
    expect(await accepts(lb.proxyPort)).toBe(false);
    expect(await accepts(lb.apiPort)).toBe(false);
    await client.end().catch(() => undefined);
  });

  it('stop() with replicas, a pooler and branches leaves no process, port, socket or temp dir', async () => {
    const lb = await startLocalLakebase({ replicas: 1, pooler: true, historyRetentionSeconds: 60 });
    try {
      const replica = lb.replicas[0]!;
      const branch = await lb.branches.create('short');
      const doors = [
        { host: '127.0.0.1', port: lb.proxyPort },
        lb.pooler!,
        replica,
        replica.pooler!,
        branch,
        { host: '127.0.0.1', port: lb.apiPort },
      ];
      // Three postmasters (primary, replica, branch) and two PgBouncers, with their children.
      const processes = postgresProcessesFor(lb.dataDir);
      expect(processes.filter((line) => / -D /.test(line))).toHaveLength(3);
      expect(processes.filter((line) => /pgbouncer/.test(line))).toHaveLength(2);
      const sockets = () =>
        readFileSync('/proc/net/unix', 'utf8')
          .split('\n')
          .filter((line) => line.includes(lb.dataDir) || /lbk-pg/.test(line)).length;
      expect(sockets()).toBeGreaterThanOrEqual(4);
      for (const door of doors)
        expect(await acceptsAt(door), `${door.host}:${door.port}`).toBe(true);
      await lb.stop();
      expect(postgresProcessesFor(lb.dataDir)).toEqual([]);
      for (const door of doors)
        expect(await acceptsAt(door), `${door.host}:${door.port}`).toBe(false);
      expect(existsSync(lb.dataDir)).toBe(false);
      expect(
        readFileSync('/proc/net/unix', 'utf8')
          .split('\n')
          .filter((line) => line.includes(lb.dataDir)),
      ).toEqual([]);
    } finally {
      await lb.stop(); // idempotent: also when an assertion failed first
    }
  });

  it('a dataDir persists data, the SP and users across restarts, and is kept on stop', async () => {
    const first = await startLocalLakebase({
      dataDir: persistentRoot,
      users: ['alice@example.com'],
    });
    const clientId = first.servicePrincipal.clientId;
    const sp = await connectAs(first, clientId, first.mintPgToken(clientId).token);
    // The SP has CONNECT and CREATE on the database: it keeps its tables in its own schema.
    await sp.query('create schema kept; create table kept.memo (v text)');
    await sp.query("insert into kept.memo values ('kept')");
    await sp.end();
    const created = await rolesApi(first, first.projectOwner, 'POST', '/roles?role_id=kept-role', {
      spec: { identity_type: 'USER', postgres_role: 'kept@example.com' },
    });
    expect(created.status).toBe(200);
    await first.stop();
    expect(existsSync(path.join(persistentRoot, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(readdirSync(path.join(persistentRoot, 'run'))).toEqual([]);

    const second = await startLocalLakebase({ dataDir: persistentRoot });
    try {
      expect(second.servicePrincipal.clientId).toBe(clientId);
      const again = await connectAs(second, clientId, second.mintPgToken(clientId).token);
      expect((await again.query('select v from kept.memo')).rows).toEqual([{ v: 'kept' }]);
      await again.end();
      const alice = await connectAs(
        second,
        'alice@example.com',
        second.mintPgToken('alice@example.com').token,
      );
      await alice.end();
      // The roles API remembers the role id it was given.
      const role = await rolesApi(second, second.projectOwner, 'GET', '/roles/kept-role');
      expect(await role.json()).toMatchObject({
        role_id: 'kept-role',
        status: { postgres_role: 'kept@example.com', identity_type: 'USER' },
      });
    } finally {
      await second.stop();
    }
  });

  it('fixed ports are honoured; a taken port fails the start and leaves nothing behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    // A data dir of its own, so that only processes of this failed start can match it (other
    // test files start their own Postgres at the same time).
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lakebase-local-taken-'));
    const processesOf = (dir: string) =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes(dir)).length;
    await expect(startLocalLakebase({ proxyPort: taken, dataDir })).rejects.toThrow(/EADDRINUSE/);
    expect(processesOf(dataDir)).toBe(0);
    await fs.rm(dataDir, { recursive: true, force: true });
    await new Promise((resolve) => blocker.close(resolve));
    const lb = await startLocalLakebase({ proxyPort: taken });
    try {
      expect(lb.proxyPort).toBe(taken);
      expect(lb.env.PGPORT).toBe(String(taken));
    } finally {
      await lb.stop();
    }
  });
});
