/**
 * The instance's directory: `dataDir` (kept, with its secrets in a state file, so data, the SP
 * and users survive restarts) or a new temp directory (removed on stop).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateState, newState, type PersistentState } from './state-file.js';

export interface DataDir {
  readonly root: string;
  readonly state: PersistentState;
  /** A temp directory of ours (not a given `dataDir`). */
  readonly temporary: boolean;
  /** Removes a temp directory; keeps a given `dataDir`. */
  remove(): Promise<void>;
}

export async function openDataDir(dataDir: string | undefined): Promise<DataDir> {
  const root = dataDir
    ? path.resolve(dataDir)
    : await fs.mkdtemp(path.join(os.tmpdir(), 'lakebase-local-'));
  await fs.mkdir(root, { recursive: true });
  // The postgres OS user must be able to traverse into the data dir.
  await fs.chmod(root, 0o755);
  const state = dataDir ? await loadOrCreateState(root) : newState();
  return {
    root,
    state,
    temporary: !dataDir,
    remove: async () => {
      if (!dataDir) await fs.rm(root, { recursive: true, force: true });
    },
  };
}
