/** The `lakebase-kit` dispatcher: `lakebase-kit <command> [options]`. */
import { stripControlCharacters } from '@lakebase-kit/core/admin';
import { type Command, type CommandIO, UsageError } from './commands/command.js';
import { commands } from './commands/index.js';

function usage(list: Command[]): string {
  const width = Math.max(...list.map((command) => command.name.length));
  const lines = list.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return (
    `Usage: lakebase-kit <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n` +
    "Branches: exec, doctor and dev take --branch <id>, for that Lakebase branch's compute\n" +
    '(lakebase-kit branch create pr-42 --ttl 72h; lakebase-kit exec --branch pr-42 -- npm test).\n\n' +
    "Run `lakebase-kit <command> --help` for a command's options.\n"
  );
}

/**
 * The terminal: what the CLI prints may hold names from a database or a request (a table named
 * with an escape sequence, a carriage return), so control characters are stripped on the way
 * out; newlines and tabs stay, and `--json` escapes them anyway.
 */
const defaultIO = (): CommandIO => ({
  stdout: (text) => process.stdout.write(stripControlCharacters(text)),
  stderr: (text) => process.stderr.write(stripControlCharacters(text)),
  cwd: process.cwd(),
  env: process.env,
});

/** Runs the CLI with `argv` (without `node` and the script); resolves the exit code. */
export async function main(argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage(commands));
    return name ? 0 : 2;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr(`Unknown command "${name}".\n\n${usage(commands)}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const usageProblem =
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    if (usageProblem) {
      io.stderr(`${(error as Error).message}\n\n${command.help}`);
      return 2;
    }
    io.stderr(`lakebase-kit ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}
