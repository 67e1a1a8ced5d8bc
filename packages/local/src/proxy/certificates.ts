/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, made at
 * start with the pure-JS `selfsigned` (no dependency on an `openssl` binary). The CA also
 * issues a certificate per further host (the pooled host, replicas, branches: each on a
 * loopback address of its own), so that host-name verification holds on every door.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface LocalCertificates {
  /** PEM of the local CA: what clients trust (`PGSSLROOTCERT`). */
  caPem: string;
  /** Path of the file holding `caPem`. */
  caFile: string;
  /** Server certificate (PEM), signed by the CA; SAN IP 127.0.0.1, DNS localhost. */
  cert: string;
  /** Server private key (PEM). Never leaves the process. */
  key: string;
  /** A server certificate (and its key) for `host`, an IP address, signed by the same CA. */
  issue(host: string): Promise<{ key: string; cert: string }>;
}

const isIp = (host: string) => /^[0-9.]+$/.test(host) || host.includes(':');

const DAY_MS = 24 * 60 * 60 * 1000;

export async function createLocalCertificates(dir: string): Promise<LocalCertificates> {
  const notBeforeDate = new Date(Date.now() - DAY_MS);
  const notAfterDate = new Date(Date.now() + 30 * DAY_MS);
  // A unique CA name per instance: a client trusting another instance's CA must fail cleanly.
  const caName = `lakebase-kit local CA ${randomBytes(6).toString('hex')}`;
  const ca = await generate([{ name: 'commonName', value: caName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const serverFor = async (hosts: string[]) => {
    const server = await generate([{ name: 'commonName', value: hosts[0]! }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: hosts.map((host) =>
            isIp(host) ? { type: 7, ip: host } : { type: 2, value: host },
          ),
        },
      ],
    });
    return { key: server.private, cert: server.cert };
  };
  const server = await serverFor(['localhost', '127.0.0.1']);
  const caFile = path.join(dir, 'local-ca.pem');
  await fs.writeFile(caFile, ca.cert, { mode: 0o644 });
  return {
    caPem: ca.cert,
    caFile,
    cert: server.cert,
    key: server.key,
    issue: (host) => serverFor(host === '127.0.0.1' ? ['localhost', host] : [host]),
  };
}
