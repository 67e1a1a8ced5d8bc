/**
 * Whether the service principal may `SET ROLE` to an identity (`userPools.mode: 'auto'`): asked
 * once per identity (`pg_has_role(session_user, identity, 'SET')`) and remembered for a while,
 * bounded. A missing role is a remembered no (login mode then says so with its 403); any other
 * failure is not an answer and is asked again.
 */
import type { Clock } from '../../base/clock.js';
import type { Queryable } from '../../base/types.js';

interface Answer {
  can: Promise<boolean>;
  until: number;
  settled?: boolean;
}

export class SetRoleAccess {
  readonly #sp: Queryable;
  readonly #clock: Clock;
  readonly #answers = new Map<string, Answer>();
  readonly #rememberMs: number;
  readonly #max: number;

  constructor(options: { sp: Queryable; clock: Clock; rememberMs?: number; max?: number }) {
    this.#sp = options.sp;
    this.#clock = options.clock;
    this.#rememberMs = options.rememberMs ?? 60_000;
    this.#max = options.max ?? 10_000;
  }

  /** The remembered answer once it has arrived (no I/O, no promise: the hot path). */
  settled(identity: string): boolean | undefined {
    const answer = this.#answers.get(identity);
    if (answer?.settled === undefined || this.#clock.now() >= answer.until) return undefined;
    return answer.settled;
  }

  /** `pg_has_role(session_user, identity, 'SET')`, asked once per identity while remembered. */
  canSetRole(identity: string): Promise<boolean> {
    const known = this.#answers.get(identity);
    if (known && this.#clock.now() < known.until) return known.can;
    const answer: Answer = {
      can: Promise.resolve(false),
      until: this.#clock.now() + this.#rememberMs,
    };
    answer.can = this.#sp
      .query("select pg_catalog.pg_has_role(session_user, $1, 'SET') as can", [identity])
      .then(
        ({ rows }) => rows[0]?.can === true,
        (error: { code?: string }) => {
          // no such role: a remembered no; any other failure is not an answer
          if (error?.code !== '42704' && this.#answers.get(identity) === answer) {
            this.#answers.delete(identity);
          }
          return false;
        },
      );
    if (!this.#answers.has(identity) && this.#answers.size >= this.#max) {
      this.#answers.delete(this.#answers.keys().next().value as string);
    }
    this.#answers.set(identity, answer);
    answer.can.then((value) => {
      if (this.#answers.get(identity) === answer) answer.settled = value;
    });
    return answer.can;
  }
}
