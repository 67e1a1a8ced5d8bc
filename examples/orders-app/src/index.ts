/** The orders example: `startOrdersApp()` and its building blocks. */
export { type OrdersApp, type OrdersAppOptions, startOrdersApp } from './app.js';
export { createRepo, parseOrm } from './repos/index.js';
export { ORMS, type OrdersRepo, type OrmName } from './repos/types.js';
export { createOrdersServer, type OrdersServerOptions } from './server.js';
export * from './shared.js';
