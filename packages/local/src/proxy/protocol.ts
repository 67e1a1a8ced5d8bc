/** Minimal Postgres wire-protocol helpers for the proxy. */

export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
export const PROTOCOL_3 = 196608;

/** Parses the key/value parameters of a StartupMessage (the whole packet, length included). */
export function parseStartupParams(packet: Buffer): Record<string, string> {
  const params: Record<string, string> = {};
  let offset = 8;
  while (offset < packet.length) {
    const keyEnd = packet.indexOf(0, offset);
    if (keyEnd <= offset) break;
    const key = packet.toString('utf8', offset, keyEnd);
    const valueEnd = packet.indexOf(0, keyEnd + 1);
    if (valueEnd < 0) break;
    params[key] = packet.toString('utf8', keyEnd + 1, valueEnd);
    offset = valueEnd + 1;
  }
  return params;
}

/** A typed message: type byte, int32 length, body. */
export function encodeMessage(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** AuthenticationCleartextPassword. */
export function authCleartextRequest(): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(3, 0);
  return encodeMessage('R', body);
}

/** An ErrorResponse with severity FATAL. */
export function fatalError(code: string, text: string): Buffer {
  const fields: Buffer[] = [];
  const field = (type: string, value: string) => {
    fields.push(Buffer.from(type, 'latin1'), Buffer.from(value, 'utf8'), Buffer.from([0]));
  };
  field('S', 'FATAL');
  field('V', 'FATAL');
  field('C', code);
  field('M', text);
  fields.push(Buffer.from([0]));
  return encodeMessage('E', Buffer.concat(fields));
}

/** The fields of an ErrorResponse body, by field type (`C` code, `M` message, ...). */
export function parseErrorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const type = String.fromCharCode(body[offset]!);
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    fields[type] = body.toString('utf8', offset + 1, end);
    offset = end + 1;
  }
  return fields;
}

/** True for Postgres' FATAL 28000 `role "..." does not exist` (PgBouncer: `no such user`). */
export function isMissingRole(body: Buffer): boolean {
  const fields = parseErrorFields(body);
  if (fields.C === '08P01' && fields.M === 'no such user') return true;
  return fields.C === '28000' && /^role ".*" does not exist$/.test(fields.M ?? '');
}

/** Reads the string of a PasswordMessage body (without its trailing NUL). */
export function parsePassword(body: Buffer): string {
  const end = body.indexOf(0);
  return body.toString('utf8', 0, end < 0 ? body.length : end);
}
