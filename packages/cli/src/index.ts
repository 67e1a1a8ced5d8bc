export type { Command, CommandIO } from './commands/command.js';
export { UsageError } from './commands/command.js';
export { commands } from './commands/index.js';
export { main } from './main.js';
