# Sourced by the scratch-copy suites (test-pg-floor.sh, test-kysely-current.sh): a copy of the
# checkout in a temporary folder, removed on exit, with versions pinned in the `overrides:` map
# of its pnpm-workspace.yaml, so the real lockfile is never touched.
#
#   scratch_copy <name> <package>: <version> [<package>: <version> ...]
#
# leaves the shell in the copy (`$work`); the caller installs and runs there.
scratch_copy() {
  local name="$1"
  shift
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  work="$(mktemp -d "${TMPDIR:-/tmp}/lakebase-kit-${name}.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  chmod 755 "$work" # embedded Postgres runs as another OS user when we are root

  # the tracked files only (plus uncommitted edits of them), no node_modules or build output
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
    (cd "$work" && tar -xf -)

  cd "$work"
  grep -q '^overrides:' pnpm-workspace.yaml || {
    echo "scripts/scratch-copy.sh: pnpm-workspace.yaml has no overrides: block" >&2
    exit 1
  }
  # the pins, first in the `overrides:` map (in the order given)
  local pin i
  for ((i = $#; i >= 1; i--)); do
    pin="${!i}"
    sed -i "/^overrides:/a\\
  ${pin}" pnpm-workspace.yaml
  done
}
