/**
 * Copies a directory tree that a running Postgres keeps changing: files that vanish during the
 * copy are skipped (WAL replay restores what matters), each file is cloned where the file
 * system can (copy-on-write) and copied otherwise, and every copy is given to the OS user
 * Postgres runs as (as root, copies would otherwise belong to root, and Postgres refuses a data
 * directory it does not own).
 */
import { constants, type Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { OsUser } from '../runtime/os-user.js';

/** What to do with an entry, by its path relative to the tree's root (`/`-separated). */
export type CopyDecision = 'copy' | 'skip' | 'empty';

export interface CopyTreeOptions {
  /** `empty` copies a directory without its contents. Default: copy everything. */
  decide?(relative: string, entry: Dirent): CopyDecision;
  /** The owner of every copy (undefined: us). */
  owner?: OsUser;
}

const vanished = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

export async function copyTree(from: string, to: string, options: CopyTreeOptions = {}) {
  await copyDirectory(from, to, '', options);
}

/** Copies one file (clone if possible); false when it vanished meanwhile. */
export async function copyFileTo(from: string, to: string, owner?: OsUser): Promise<boolean> {
  try {
    await fs.copyFile(from, to, constants.COPYFILE_FICLONE);
  } catch (error) {
    if (vanished(error)) return false;
    throw error;
  }
  if (owner) await fs.chown(to, owner.uid, owner.gid);
  return true;
}

async function copyDirectory(from: string, to: string, relative: string, options: CopyTreeOptions) {
  await fs.mkdir(to, { mode: 0o700 });
  await fs.chmod(to, 0o700);
  if (options.owner) await fs.chown(to, options.owner.uid, options.owner.gid);
  let entries: Dirent[];
  try {
    entries = await fs.readdir(from, { withFileTypes: true });
  } catch (error) {
    if (vanished(error)) return;
    throw error;
  }
  await Promise.all(
    entries.map(async (entry) => {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      const decision = options.decide?.(child, entry) ?? 'copy';
      if (decision === 'skip') return;
      const source = path.join(from, entry.name);
      const target = path.join(to, entry.name);
      if (entry.isDirectory()) {
        if (decision === 'empty') {
          await fs.mkdir(target, { mode: 0o700 });
          if (options.owner) await fs.chown(target, options.owner.uid, options.owner.gid);
          return;
        }
        await copyDirectory(source, target, child, options);
      } else if (entry.isFile()) {
        await copyFileTo(source, target, options.owner);
      } else if (entry.isSymbolicLink()) {
        // Tablespaces (pg_tblspc) are links; the local Lakebase makes none.
        await fs.symlink(await fs.readlink(source), target);
      }
    }),
  );
}
