/** Secrets that must survive restarts of a persistent data dir (superuser password, SP). */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ServicePrincipal } from '../base/types.js';

export interface PersistentState {
  superuserPassword: string;
  servicePrincipal: ServicePrincipal;
}

const FILE = 'lakebase-local.json';

/** A new app service principal: a client id (UUID), its OAuth secret and a PAT. */
export function newServicePrincipal(): ServicePrincipal {
  return {
    clientId: randomUUID(),
    clientSecret: `dose${randomBytes(24).toString('hex')}`,
    pat: `dapi${randomBytes(16).toString('hex')}`,
  };
}

export function newState(): PersistentState {
  return {
    superuserPassword: randomBytes(24).toString('base64url'),
    servicePrincipal: newServicePrincipal(),
  };
}

/** Loads `<root>/lakebase-local.json`, creating it (mode 0600) on first use. */
export async function loadOrCreateState(root: string): Promise<PersistentState> {
  const file = path.join(root, FILE);
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as PersistentState;
    if (parsed.superuserPassword && parsed.servicePrincipal?.clientId) return parsed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const state = newState();
  await fs.writeFile(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}
