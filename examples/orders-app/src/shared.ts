/**
 * The ORM-independent parts, shared with the AppKit example (`@lakebase-kit/example-orders-app/shared`):
 * migrations, the page, local-mode helpers, input validation and error mapping. Importing this
 * never loads an ORM adapter or the generated Prisma client.
 */
export { BadRequestError, errorStatus, jsonRoute, rootError, sendError } from './http-errors.js';
export {
  bannerLines,
  type OpenedLakebase,
  openLakebase,
  sourceFromOptions,
} from './lakebase-source.js';
export { closeServer, listen, PortInUseError } from './listen.js';
export {
  curlCommands,
  type DemoUsers,
  demoUsersFromTokens,
  demoUsersOf,
  mountLocalHeaders,
} from './local-mode.js';
export { DEMO_USERS, MIGRATIONS_FOLDER, runMigrations } from './migrations.js';
export {
  type ChooseOptions,
  chooseLakebase,
  DevEnvFileError,
  isLoopbackHost,
  type LakebaseSource,
  MissingLakebaseError,
  productionReason,
} from './mode.js';
export { parseNewOrder } from './orders-input.js';
export type { NewOrder, Order } from './repos/types.js';
export { orders } from './schema.js';
export { type PageConfig, PUBLIC_DIR, pageConfig } from './server.js';
export { closeOnStop, onStopSignal, runMain } from './signals.js';
export { parseStartArgs, START_OPTIONS_HELP, type StartArgs } from './start-args.js';
