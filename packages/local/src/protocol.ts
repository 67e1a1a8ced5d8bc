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

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** AuthenticationCleartextPassword. */
export function authCleartextRequest(): Buffer {
  const body = Buffer.alloc(4);
  body.writeInt32BE(3, 0);
  return message('R', body);
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
  return message('E', Buffer.concat(fields));
}

/** Reads the string of a PasswordMessage body (without its trailing NUL). */
export function parsePassword(body: Buffer): string {
  const end = body.indexOf(0);
  return body.toString('utf8', 0, end < 0 ? body.length : end);
}

/**
 * Walks a server→client byte stream message by message (across chunk boundaries) and
 * reports each message type and body. Used only during startup, to see BackendKeyData.
 */
export class MessageScanner {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: (type: string, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 5) {
      const length = this.pending.readInt32BE(1);
      if (this.pending.length < length + 1) break;
      const type = String.fromCharCode(this.pending[0]!);
      const body = this.pending.subarray(5, length + 1);
      this.pending = this.pending.subarray(length + 1);
      this.onMessage(type, body);
    }
  }
}
