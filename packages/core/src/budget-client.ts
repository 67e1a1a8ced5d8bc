/**
 * The `pg.Client` subclass user pools are built with: `connect()` takes a slot from the global
 * user-connection budget before opening the socket, and the slot comes back exactly once, when
 * its socket has really closed (after the connection ended or the connect failed).
 */
import pg from 'pg';
import type { ConnectionBudget, ReleaseSlot } from './connection-budget.js';
import { ClosedError } from './errors.js';

type ConnectCallback = ((err: Error) => void) | ((err: null, client: pg.Client) => void);

interface ClientInternals {
  connection?: { stream?: NodeJS.EventEmitter };
  _ending?: boolean;
}

/** A `pg.Client` class bound to `budget` (extends `Base`, default `pg.Client`). */
export function budgetClientClass(
  budget: ConnectionBudget,
  Base: typeof pg.Client = pg.Client,
): typeof pg.Client {
  class BudgetClient extends Base {
    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | undefined {
      const run = async (): Promise<pg.Client> => {
        const release = await this.takeSlot();
        // The slot comes back when this socket has really closed (also after a failed connect,
        // so the server never sees more connections than the budget, even for a moment).
        const stream = (this as unknown as ClientInternals).connection?.stream as
          | (NodeJS.EventEmitter & { destroyed?: boolean })
          | undefined;
        if (stream) stream.once('close', release);
        else this.once('end', release);
        try {
          await super.connect();
        } catch (error) {
          if (!stream || stream.destroyed) setImmediate(release);
          throw error;
        }
        return this;
      };
      if (!callback) return run();
      const done = callback as (err: Error | null, client?: pg.Client) => void;
      run().then(
        (client) => done(null, client),
        (error: Error) => done(error),
      );
      return undefined;
    }

    /** Waits for a slot; gives up if pg-pool's connection timeout destroys the socket meanwhile. */
    private async takeSlot(): Promise<ReleaseSlot> {
      const internals = this as unknown as ClientInternals;
      const stream = internals.connection?.stream;
      const abandoned = new AbortController();
      const onClose = () => abandoned.abort();
      stream?.once('close', onClose);
      let release: ReleaseSlot;
      try {
        release = await budget.acquire(abandoned.signal);
      } finally {
        stream?.removeListener('close', onClose);
      }
      if (abandoned.signal.aborted || internals._ending) {
        release();
        throw new ClosedError('The user connection was closed before it opened');
      }
      return release;
    }
  }
  return BudgetClient;
}
