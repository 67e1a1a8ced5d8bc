/**
 * The private directory of Postgres' only socket: `<root>/run` (or, when that path is too long
 * for a socket or cannot be named in the setting, a temp directory of ours), mode 0700, owned by
 * the OS user Postgres runs as. Other OS users cannot enter it, so cannot reach Postgres at all.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OsUser } from './runtime/os-user.js';
import { PostgresStartError } from './start-error.js';

/**
 * The number in the socket's name (`.s.PGSQL.5432`). Nothing listens on a TCP port, and the
 * directory is private to one instance, so the usual number never collides.
 */
export const SOCKET_PORT = 5432;
/** Longest socket path Postgres accepts (sun_path is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 103;

const usable = (dir: string) =>
  Buffer.byteLength(path.join(dir, `.s.PGSQL.${SOCKET_PORT}.lock`)) <= MAX_SOCKET_PATH &&
  !/[,"\s]/.test(dir);

export class SocketDir {
  readonly #root: string;
  /** The temp directory, when `<root>/run` is not usable (kept across restarts). */
  #temporary: string | undefined;

  constructor(root: string) {
    this.#root = root;
  }

  /** Makes the directory private to `runAs` (us when undefined); resolves its path. */
  async prepare(runAs: OsUser | undefined): Promise<string> {
    let dir = path.join(this.#root, 'run');
    if (usable(dir)) {
      // Anything but a real directory there (a symlink, a file) is replaced.
      const existing = await fs.lstat(dir).catch(() => undefined);
      if (existing && !existing.isDirectory()) await fs.rm(dir, { force: true });
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    } else {
      this.#temporary ??= await fs.mkdtemp(path.join(os.tmpdir(), 'lbk-pg-'));
      if (!usable(this.#temporary)) {
        throw new PostgresStartError(
          'start-failed',
          `No directory for Postgres' Unix socket: both ${dir} and ${this.#temporary} make too long a path (max ${MAX_SOCKET_PATH} bytes) or hold a comma, quote or space`,
          'use a shorter data directory path, or set TMPDIR to a short one such as /tmp',
        );
      }
      dir = this.#temporary;
    }
    await fs.chmod(dir, 0o700);
    if (runAs) await fs.chown(dir, runAs.uid, runAs.gid);
    return dir;
  }

  /** Removes the temp directory, if one was made. */
  async remove(): Promise<void> {
    if (!this.#temporary) return;
    await fs.rm(this.#temporary, { recursive: true, force: true });
    this.#temporary = undefined;
  }
}
