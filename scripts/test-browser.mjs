#!/usr/bin/env node
/**
 * `pnpm test:browser`: the orders page in headless Chromium. Needs Debian's `chromium` package
 * (/usr/bin/chromium; without it: one line saying so, exit code 1). Builds the packages quietly,
 * then runs the example's browser suite (examples/orders-app/test/browser, driven by
 * playwright-core, on a local Lakebase of its own) and prints the screenshots it kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quietBuild } from './start.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP = path.join(root, 'examples', 'orders-app');
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS_DIR = path.join(APP, 'artifacts', 'browser');

/** The one line printed when Chromium is missing. */
export function missingChromiumLine(executable = CHROMIUM) {
  return `test:browser: no Chromium at ${executable}; install Debian's package: apt-get install chromium\n`;
}

function run(command, args, options) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: 'inherit' });
    child.once('error', (error) => {
      process.stderr.write(`${error.message}\n`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(args) {
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(missingChromiumLine());
    return 1;
  }
  process.stdout.write('Browser test: building the packages…\n');
  if (!(await quietBuild())) return 1;
  const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
  const code = await run(vitest, ['run', '--config', 'vitest.browser.config.ts', ...args], {
    cwd: APP,
  });
  const shots = existsSync(ARTIFACTS_DIR)
    ? readdirSync(ARTIFACTS_DIR).filter((name) => name.endsWith('.png'))
    : [];
  for (const name of shots.sort()) {
    process.stdout.write(`Screenshot: ${path.relative(root, path.join(ARTIFACTS_DIR, name))}\n`);
  }
  return code;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2).filter((arg) => arg !== '--')).then((code) => process.exit(code));
}
