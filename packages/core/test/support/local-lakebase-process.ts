/**
 * A local Lakebase in a child process, for tests that measure this process (its heap): the
 * emulator's own bookkeeping (minted tokens, per-role stats) stays out of the measurement.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

export interface LocalLakebaseProcess {
  env: Record<string, string>;
  /** Forwarded headers per user, with access tokens minted up front. */
  headers: Record<string, Record<string, string>>;
  stop(): Promise<void>;
}

const CHILD = `
const { startLocalLakebase } = await import(process.env.LOCAL_ENTRY);
const users = JSON.parse(process.env.LB_USERS);
const lb = await startLocalLakebase();
const quote = (e) => '"' + e.replaceAll('"', '""') + '"';
for (let i = 0; i < users.length; i += 1000) {
  const chunk = users.slice(i, i + 1000).map(quote);
  await lb.sql(chunk.map((q) => 'create role ' + q + ' login nosuperuser nobypassrls;').join('\\n') +
    '\\ngrant connect on database "' + lb.database + '" to ' + chunk.join(', ') + ';');
}
const headers = {};
for (const email of users) {
  headers[email] = { 'x-forwarded-access-token': lb.userToken(email), 'x-forwarded-email': email };
}
process.stdout.write(JSON.stringify({ env: lb.env, headers }) + '\\n');
process.stdin.resume();
process.stdin.on('end', async () => { await lb.stop(); process.exit(0); });
`;

/** Starts a local Lakebase with roles for `users` in a child process. */
export async function startLocalLakebaseProcess(users: string[]): Promise<LocalLakebaseProcess> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@lakebase-kit/local');
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: {
      ...process.env,
      LOCAL_ENTRY: `file://${entry.replace(/index\.cjs$/, 'index.js')}`,
      LB_USERS: JSON.stringify(users),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`the local Lakebase process exited (${code})`)));
  });
  const { env, headers } = JSON.parse(line);
  return {
    env,
    headers,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
