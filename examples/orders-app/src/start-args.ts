/** The `pnpm start` options both example apps share: which Lakebase to run on. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { ChooseOptions } from './mode.js';

export const START_OPTIONS_HELP = `  --local            start a local Lakebase of its own, whatever the environment says
  --data-dir <dir>   keep that local Lakebase's data (and added orders) in <dir> across runs
  --env-file <file>  use the running \`lakebase-kit dev\` of this env file (default: .env.local
                     of the directory you run pnpm start in, when that lakebase-kit dev answers)
  -h, --help         this help
`;

type Options = NonNullable<ParseArgsConfig['options']>;

export interface StartArgs {
  help: boolean;
  /** What `chooseLakebase()` takes from the command line. */
  choose: Omit<ChooseOptions, 'env'>;
  /** The app's own options (`extra`). */
  values: Record<string, string | boolean | undefined>;
}

/** Parses `argv` (`pnpm start -- --orm kysely` passes the `--` through: it is dropped). */
export function parseStartArgs(argv: string[], extra: Options = {}): StartArgs {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      ...extra,
      local: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'env-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const { local, 'data-dir': dataDir, 'env-file': envFile, help, ...rest } = values;
  return {
    help: help === true,
    choose: {
      local: local === true || dataDir !== undefined,
      dataDir: dataDir as string | undefined,
      envFile: envFile as string | undefined,
    },
    values: rest as StartArgs['values'],
  };
}
