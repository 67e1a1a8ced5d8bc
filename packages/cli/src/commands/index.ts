/** The command registry: add a command by importing it here (one file per command). */
import { branch } from './branch.js';
import type { Command } from './command.js';
import { dev } from './dev.js';
import { doctor } from './doctor.js';
import { env } from './env.js';
import { exec } from './exec.js';
import { roles } from './roles.js';
import { token } from './token.js';

export const commands: Command[] = [dev, token, env, exec, roles, doctor, branch];
