/**
 * The ORM-independent parts, shared with the AppKit example (`@lakebase-kit/example-orders-app/shared`):
 * migrations, the page, local-mode helpers, input validation and error mapping. Importing this
 * never loads an ORM adapter or the generated Prisma client.
 */
export { BadRequestError, errorStatus, jsonRoute, rootError, sendError } from './http-errors.js';
export { closeServer, listen, PortInUseError } from './listen.js';
export {
  curlCommands,
  type LocalUsers,
  localUserHeaders,
  mountLocalHeaders,
} from './local-mode.js';
export { DEMO_USERS, MIGRATIONS_FOLDER, runMigrations } from './migrations.js';
export { detectMode, isLoopbackHost, type ModeDecision } from './mode.js';
export { parseNewOrder } from './orders-input.js';
export type { NewOrder, Order } from './repos/types.js';
export { orders } from './schema.js';
export { type PageConfig, PUBLIC_DIR, pageConfig } from './server.js';
export { closeOnStop, onStopSignal, runMain } from './signals.js';
