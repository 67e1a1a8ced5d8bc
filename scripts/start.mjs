#!/usr/bin/env node
/**
 * `pnpm start [-- options]`: builds the packages quietly (their output is shown only if the
 * build fails), then runs the orders app with the options, in the foreground. Ctrl+C reaches
 * the app (same terminal process group), which stops cleanly; this exits with its code.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP = path.join(root, 'examples', 'orders-app');

/** Runs a command with its output kept, not shown; resolves `{ code, output }`. */
export function runQuietly(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    child.once('error', (error) => resolve({ code: 127, output: `${error.message}\n` }));
    child.once('close', (code, signal) =>
      resolve({ code: code ?? 128, signal, output: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}

/** Runs a command quietly: true when it passed; else its output goes to `write`. */
export async function quietly(
  command,
  args,
  options,
  write = (text) => process.stderr.write(text),
) {
  const { code, output } = await runQuietly(command, args, options);
  if (code === 0) return true;
  write(`${output}\n${path.basename(command)} failed (exit code ${code}); its output is above.\n`);
  return false;
}

/** The packages' build (turbo, cached), quietly. */
export function quietBuild() {
  // turbo itself, not `pnpm exec`: with NODE_ENV=production pnpm would first check the install.
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  return quietly(turbo, ['run', 'build', '--filter=./packages/*', '--output-logs=errors-only'], {
    cwd: root,
  });
}

async function main(args) {
  process.stdout.write('Starting the orders app: building the packages…\n');
  if (!(await quietBuild())) return 1;
  // The example's own start command (node + tsx), without pnpm's banner lines.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: APP,
    stdio: 'inherit',
  });
  // In a terminal, Ctrl+C reaches the app too (one process group): only wait for it then.
  // Elsewhere (a supervisor, a test) pass every stop signal on.
  const interactive = process.stdin.isTTY === true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal !== 'SIGINT' || !interactive) child.kill(signal);
    });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2).filter((arg) => arg !== '--')).then((code) => process.exit(code));
}
