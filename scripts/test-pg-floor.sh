#!/usr/bin/env bash
# The core and adapter suites on the lowest pg of our range (8.16.0, with the pg-pool,
# pg-protocol and pg-connection-string it was released with), in a scratch copy of the
# checkout, so the real lockfile (the newest pg 8.x) is never touched. CI runs it after
# `pnpm test`; run it by hand the same way: `bash scripts/test-pg-floor.sh`.
set -euo pipefail
# shellcheck source=scripts/scratch-copy.sh
. "$(dirname "$0")/scratch-copy.sh"
scratch_copy pg-floor 'pg: 8.16.0' 'pg-pool: 3.10.0' 'pg-protocol: 1.10.0' 'pg-connection-string: 2.9.0'

echo "== pg floor: installing pg 8.16.0 into a scratch copy"
pnpm install --no-frozen-lockfile --reporter=silent
# (pg 8.16 does not export ./package.json: read the files next to the entry points)
manifest="const { dirname, join } = require('node:path'); const fs = require('node:fs');
const pgMain = require.resolve('pg');
const poolMain = require.resolve('pg-pool', { paths: [pgMain] });
const read = (main, up) => JSON.parse(fs.readFileSync(join(dirname(main), up, 'package.json'), 'utf8')).version;"
version="$(cd packages/core && node -e "${manifest} console.log(read(pgMain, '..'))")"
pool="$(cd packages/core && node -e "${manifest} console.log(read(poolMain, '.'))")"
echo "== pg floor: pg ${version}, pg-pool ${pool}"
[ "$version" = "8.16.0" ] || { echo "expected pg 8.16.0, got ${version}" >&2; exit 1; }

pnpm exec turbo run build --filter='./packages/*' --output-logs=errors-only
(cd packages/prisma && node test/generate-client.mjs >/dev/null) # the Prisma suite's client
# (the two-minute heap test stays on the newest pg only: what it bounds is ours, not pg's, and
# CI's suites must stay within 15 minutes)
pnpm exec turbo run test --concurrency=1 --output-logs=full \
  --filter=@lakebase-kit/core --filter=@lakebase-kit/drizzle --filter=@lakebase-kit/kysely \
  --filter=@lakebase-kit/prisma --filter=@lakebase-kit/appkit -- --exclude test/obo/memory.test.ts
