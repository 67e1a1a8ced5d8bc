/** Validates the body of `POST /api/my-orders`: `{ item: string, quantity?: integer 1..1000 }`. */
import { BadRequestError } from './http-errors.js';
import type { NewOrder } from './repos/types.js';

export function parseNewOrder(body: unknown): NewOrder {
  const { item, quantity = 1 } = (body ?? {}) as { item?: unknown; quantity?: unknown };
  if (typeof item !== 'string' || item.trim() === '' || item.length > 200) {
    throw new BadRequestError('"item" must be a non-empty string of at most 200 characters');
  }
  const n = typeof quantity === 'string' && quantity.trim() !== '' ? Number(quantity) : quantity;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) {
    throw new BadRequestError('"quantity" must be an integer from 1 to 1000');
  }
  return { item: item.trim(), quantity: n };
}
