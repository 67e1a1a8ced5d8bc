/**
 * No login skips the proxy. Every door Postgres itself opens (found from the running postmaster,
 * not from our own configuration) is tried as the app's service principal, the project owner
 * and a user, without a token and with a wrong password: every attempt must fail, while the
 * proxy lets the same identities in with valid tokens. The same for the read replica's
 * postmaster and for both PgBouncers (the primary's and the replica's pooled hosts), and every
 * proxy door refuses the emulator's own roles whatever the token.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs, connectAt, type Door, loginErrorAt } from '../helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE], replicas: 1, pooler: true });
});
afterAll(async () => {
  await lb?.stop();
});

const identities = () => [lb.servicePrincipal.clientId, lb.projectOwner, ALICE];

function postmasterPid(pgdata = path.join(lb.dataDir, 'pgdata')): number {
  const text = readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

const replicaPgdata = () => path.join(lb.dataDir, 'replicas', 'read-replica-1', 'pgdata');

/** The pids of the PgBouncers of this local Lakebase (their config is under its data dir). */
function pgbouncerPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args[0]?.endsWith('pgbouncer') && args[1]?.startsWith(lb.dataDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Every proxy door: the direct and pooled hosts of the primary and of the replica. */
function proxyDoors(): { name: string; door: Door }[] {
  const replica = lb.replicas[0]!;
  return [
    { name: 'primary', door: { host: lb.env.PGHOST, port: lb.proxyPort } },
    { name: 'primary pooled', door: lb.pooler! },
    { name: 'replica', door: replica },
    { name: 'replica pooled', door: replica.pooler! },
  ];
}

/** Socket inodes of the open file descriptors of `pid`. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  return inodes;
}

interface Doors {
  tcp: { host: string; port: number }[];
  unix: string[];
}

/** What the postmaster listens on, from /proc (Linux): TCP and Unix sockets. */
function listeningDoors(pid: number): Doors {
  const inodes = socketInodes(pid);
  const tcp: Doors['tcp'] = [];
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address, state 0A = LISTEN, inode
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      const [hex, port] = fields[1]!.split(':') as [string, string];
      const host = v6 ? (/^0+1000000$/.test(hex) ? '::1' : '::') : hexToIpv4(hex);
      tcp.push({ host, port: Number.parseInt(port, 16) });
    }
  }
  const unix: string[] = [];
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; flag 00010000 = listening
    if (fields.length < 8 || !inodes.has(fields[6]!)) continue;
    if ((Number.parseInt(fields[3]!, 16) & 0x10000) === 0) continue;
    unix.push(fields[7]!);
  }
  return { tcp, unix };
}

function hexToIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24].join('.');
}

/** Connects straight to Postgres (not the proxy); resolves the error, or null on success. */
async function directLogin(
  host: string,
  port: number,
  user: string,
  password: string | undefined,
): Promise<Error | null> {
  const client = new pg.Client({
    host,
    port,
    user,
    database: lb.database,
    ssl: false,
    connectionTimeoutMillis: 5000,
    ...(password === undefined ? {} : { password }),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return error as Error;
  }
  await client.end();
  return null;
}

/**
 * Sends a StartupMessage for `user` over the Unix socket `socketPath` from a child process
 * running as `uid`/`gid`: `ok` when Postgres let it in (AuthenticationOk), else the error.
 */
function unixLoginAs(
  socketPath: string,
  user: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<string> {
  const script = `
    const net = require('node:net');
    const [socketPath, user, database] = process.argv.slice(1);
    const params = Buffer.from(['user', user, 'database', database, ''].join('\\0') + '\\0');
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + params.length, 0);
    head.writeInt32BE(196608, 4);
    const socket = net.connect(socketPath);
    socket.on('connect', () => socket.write(Buffer.concat([head, params])));
    socket.on('error', (e) => { process.stdout.write(e.code ?? e.message); process.exit(0); });
    socket.once('data', (d) => {
      process.stdout.write(d[0] === 0x52 && d.readInt32BE(5) === 0 ? 'ok' : 'refused');
      socket.destroy();
    });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, socketPath, user, lb.database], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'inherit'],
      ...ids,
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('close', () => resolve(out));
  });
}

describe('no login skips the proxy', () => {
  it('Postgres listens on no TCP port', () => {
    expect(listeningDoors(postmasterPid()).tcp).toEqual([]);
  });

  it('direct TCP logins (any door of the postmaster, and postgresPort) fail without a token and with a wrong password', async () => {
    const doors = listeningDoors(postmasterPid()).tcp;
    const candidates = [...doors, { host: '127.0.0.1', port: lb.postgresPort }];
    for (const { host, port } of candidates) {
      for (const user of identities()) {
        for (const password of [undefined, '', 'wrong-password']) {
          const error = await directLogin(host, port, user, password);
          expect(error, `${user} at ${host}:${port} with ${password ?? 'no password'}`).not.toBe(
            null,
          );
        }
      }
    }
  });

  it('the only other door is a Unix socket in a directory only the Postgres OS user may enter', () => {
    const { unix } = listeningDoors(postmasterPid());
    expect(unix).toHaveLength(1);
    const dir = statSync(path.dirname(unix[0]!));
    expect(dir.mode & 0o777).toBe(0o700);
    const postgresUid = statSync(path.join(lb.dataDir, 'pgdata')).uid;
    expect(dir.uid).toBe(postgresUid);
    if (process.getuid?.() === 0) {
      // As root, Postgres runs as its own OS user, not as us.
      expect(postgresUid).not.toBe(0);
    } else {
      expect(postgresUid).toBe(process.getuid?.());
    }
  });

  it('another OS user cannot reach that socket (as root: `nobody` is refused; root itself gets in)', async () => {
    const [socketPath] = listeningDoors(postmasterPid()).unix;
    expect(socketPath).toBeDefined();
    if (process.getuid?.() !== 0) {
      // Not root: Postgres runs as us, and no other user may enter the directory (0700).
      expect(statSync(path.dirname(socketPath!)).uid).toBe(process.getuid?.());
      return;
    }
    const nobody = { uid: 65534, gid: 65534 };
    for (const user of identities()) {
      expect(await unixLoginAs(socketPath!, user, nobody), `${user} as nobody`).toBe('EACCES');
    }
    // The socket is live: the emulator's own OS user (the proxy's) does get in.
    expect(await unixLoginAs(socketPath!, lb.servicePrincipal.clientId, undefined)).toBe('ok');
  });

  it('through the proxy, a valid token lets each of them in', async () => {
    for (const user of identities()) {
      const client = await connectAs(lb, user, lb.mintPgToken(user).token);
      expect((await client.query('select current_user')).rows[0].current_user).toBe(user);
      await client.end();
    }
  });
});

describe('the replica and the poolers: no door skips the token check either', () => {
  it('the replica postmaster and both PgBouncers listen on no TCP port, each on one private socket', () => {
    const bouncers = pgbouncerPids();
    expect(bouncers).toHaveLength(2);
    const postgresUid = statSync(path.join(lb.dataDir, 'pgdata')).uid;
    for (const pid of [postmasterPid(replicaPgdata()), ...bouncers]) {
      const doors = listeningDoors(pid);
      expect(doors.tcp, `pid ${pid}`).toEqual([]);
      expect(doors.unix, `pid ${pid}`).toHaveLength(1);
      const dir = statSync(path.dirname(doors.unix[0]!));
      expect(dir.mode & 0o777).toBe(0o700);
      expect(dir.uid).toBe(postgresUid);
    }
  });

  it('as another OS user, no PgBouncer or replica socket can be reached (as root: `nobody`)', async () => {
    if (process.getuid?.() !== 0) return; // Not root: every socket directory is ours, 0700.
    const nobody = { uid: 65534, gid: 65534 };
    const sockets = [postmasterPid(replicaPgdata()), ...pgbouncerPids()].flatMap(
      (pid) => listeningDoors(pid).unix,
    );
    for (const socketPath of sockets) {
      expect(await unixLoginAs(socketPath, ALICE, nobody), socketPath).toBe('EACCES');
    }
  });

  it('every door refuses a missing token and a wrong password, and takes a valid token', async () => {
    const aliceToken = lb.mintPgToken(ALICE).token;
    for (const { name, door } of proxyDoors()) {
      for (const user of identities()) {
        for (const password of ['', 'wrong-password', aliceToken]) {
          if (password === aliceToken && user === ALICE) continue;
          const error = await loginErrorAt(lb, door, user, password);
          expect(error.code, `${user} at ${name}`).toBe('28P01');
        }
        const client = await connectAt(lb, door, user, lb.mintPgToken(user).token);
        expect((await client.query('select current_user as u')).rows[0].u).toBe(user);
        await client.end();
      }
    }
  });

  it("every door refuses the emulator's own roles, even with a token minted for their name", async () => {
    lb.addGroup('postgres', [ALICE]);
    for (const { name, door } of proxyDoors()) {
      for (const role of ['postgres', 'lakebase_replicator']) {
        const error = await loginErrorAt(lb, door, role, lb.mintPgToken(role).token);
        expect(error.code, `${role} at ${name}`).toBe('28P01');
      }
      // A member of a group named like the superuser gets nothing either.
      const viaGroup = await loginErrorAt(lb, door, 'postgres', lb.mintPgToken(ALICE).token);
      expect(viaGroup.code, `group token at ${name}`).toBe('28P01');
    }
  });

  it("no door opens a replication connection or PgBouncer's admin console", async () => {
    for (const { name, door } of proxyDoors()) {
      const replication = new pg.Client({
        host: door.host,
        port: door.port,
        user: ALICE,
        password: lb.mintPgToken(ALICE).token,
        database: lb.database,
        ssl: { ca: lb.tls!.caPem },
        // @ts-expect-error node-postgres passes `replication` through as a startup parameter
        replication: 'database',
      });
      replication.on('error', () => undefined);
      await expect(replication.connect(), name).rejects.toThrow();
      await replication.end().catch(() => undefined);
    }
    for (const door of [lb.pooler!, lb.replicas[0]!.pooler!]) {
      const error = await loginErrorAt(lb, door, ALICE, lb.mintPgToken(ALICE).token, 'pgbouncer');
      expect(error.message).toMatch(/not allowed|does not exist/);
    }
  });
});
