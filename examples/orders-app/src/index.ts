/** The orders example's building blocks (also used by the AppKit example). */
export { type OrdersApp, type OrdersAppOptions, startOrdersApp } from './app.js';
export { BadRequestError, errorStatus, jsonRoute, sendError } from './http-errors.js';
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
export { createRepo, parseOrm } from './repos/index.js';
export { type NewOrder, ORMS, type Order, type OrdersRepo, type OrmName } from './repos/types.js';
export { orders } from './schema.js';
export { createOrdersServer, type PageConfig, PUBLIC_DIR, pageConfig } from './server.js';
export { onStopSignal } from './signals.js';
