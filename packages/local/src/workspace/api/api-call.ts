/** One authenticated call of the Lakebase REST API (`/api/2.0/postgres/...`). */
import type http from 'node:http';

export interface ApiCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  method: string;
  /** The caller (an email, or the SP's application id). */
  identity: string;
}
