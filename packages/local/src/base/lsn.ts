/** Postgres WAL positions (LSNs) as text, `16/B374D848`: checked and compared. */

const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

export function isLsn(value: unknown): value is string {
  return typeof value === 'string' && LSN.test(value);
}

/** The LSN as a number of bytes. */
export function lsnValue(lsn: string): bigint {
  const match = LSN.exec(lsn);
  if (!match) throw new TypeError(`Not an LSN (like 0/16B3748): ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** True when `a` is at or past `b`. */
export function lsnReached(a: string, b: string): boolean {
  return lsnValue(a) >= lsnValue(b);
}
