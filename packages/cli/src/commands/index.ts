/** The command registry: add a command by importing it here (one file per command). */
import type { Command } from './command.js';
import { dev } from './dev.js';

export const commands: Command[] = [dev];
