/** The shape of one `lakebase-kit` command (one file per command in this folder). */

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full `--help` text. */
  help: string;
  /** Runs the command; resolves the exit code. */
  run(args: string[], io: CommandIO): Promise<number>;
}

/** Thrown for bad arguments: printed with the command's help, exit code 2. */
export class UsageError extends Error {}
