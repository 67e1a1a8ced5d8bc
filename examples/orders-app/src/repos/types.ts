/** The one interface the routes use; one small implementation per ORM. */
import type { RequestLike } from '@lakebase-kit/core';

export const ORMS = ['drizzle', 'kysely', 'prisma'] as const;
export type OrmName = (typeof ORMS)[number];

/** An order as the API returns it. */
export interface Order {
  id: number;
  item: string;
  quantity: number;
  owner: string;
  createdAt: string;
}

export interface NewOrder {
  item: string;
  quantity: number;
}

export interface OrdersRepo {
  readonly orm: OrmName;
  /** Every order, as the app's service principal (the table owner: RLS does not apply). */
  allOrders(): Promise<Order[]>;
  /** The request's user's orders, as that user (RLS: `owner = current_user`). */
  myOrders(req: RequestLike): Promise<Order[]>;
  /** Inserts as the user; `owner` defaults to `current_user`, i.e. the user's own role. */
  addMyOrder(req: RequestLike, order: NewOrder): Promise<Order>;
  /** `current_user` on the user's connection. */
  whoami(req: RequestLike): Promise<string>;
  /** Drops the ORM's clients; the shared `Lakebase` is closed by its owner. */
  close(): Promise<void>;
}

/** Row → `Order` (timestamps as ISO strings, whatever the ORM returned). */
export function toOrder(row: {
  id: number;
  item: string;
  quantity: number;
  owner: string;
  createdAt: Date | string;
}): Order {
  const createdAt = row.createdAt instanceof Date ? row.createdAt : new Date(row.createdAt);
  return {
    id: Number(row.id),
    item: row.item,
    quantity: Number(row.quantity),
    owner: row.owner,
    createdAt: createdAt.toISOString(),
  };
}
