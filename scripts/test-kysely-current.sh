#!/usr/bin/env bash
# The Kysely adapter's suite and type check on kysely 0.29 (the current line; the lockfile keeps
# 0.28, the lowest of our peer range `^0.28.0 || ^0.29.0`, which `pnpm test` runs), in a scratch
# copy of the checkout, so the real lockfile is never touched. CI runs it after `pnpm test`; run it
# by hand the same way: `bash scripts/test-kysely-current.sh [version]` (default 0.29.9).
# kysely 0.29 is ESM-only and declares Node >= 22; the suite runs it on the Node at hand (20.19+
# loads it from our CJS build too, through require(esm)).
set -euo pipefail
version="${1:-0.29.9}"
# shellcheck source=scripts/scratch-copy.sh
. "$(dirname "$0")/scratch-copy.sh"
scratch_copy kysely "kysely: ${version}"

echo "== kysely ${version}: installing into a scratch copy"
pnpm install --no-frozen-lockfile --reporter=silent
# (kysely exports no ./package.json: read the file above its entry point)
installed="$(cd packages/kysely && node --input-type=module -e "
import { readFileSync } from 'node:fs';
const entry = new URL(import.meta.resolve('kysely'));
let dir = new URL('.', entry);
for (;;) {
  try { console.log(JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')).version); break; }
  catch { dir = new URL('..', dir); }
}")"
echo "== kysely ${installed}"
[ "$installed" = "$version" ] || { echo "expected kysely ${version}, got ${installed}" >&2; exit 1; }

pnpm exec turbo run build --filter=@lakebase-kit/kysely... --output-logs=errors-only
# its types (src, tests and examples) against this kysely, then its suite
(cd packages/kysely && pnpm exec tsc --noEmit)
(cd packages/kysely && pnpm exec vitest run)
# the built CJS entry loads it too (require of the ESM-only kysely 0.29)
(cd packages/kysely && node -e "
const { lakebaseKysely, migrate } = require('./dist/index.cjs');
if (typeof lakebaseKysely !== 'function' || typeof migrate !== 'function') process.exit(3);
require('kysely');
console.log('== CJS build loads kysely ${version}');")
