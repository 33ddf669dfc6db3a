#!/usr/bin/env bash
# Prints how many storage tests ran on each backend and fails if the counts
# differ: every storage test must run on SQLite and on PostgreSQL.
set -euo pipefail
log=${1:?usage: count-backends.sh <cargo test output>}
# Count test names, not "… ok" line endings: with one test thread a test's
# own log lines can land between its name and its result. Failures are caught
# by cargo test's exit status (the Makefile pipes with pipefail).
sqlite=$(grep -cE '^test .*::sqlite \.\.\. ' "$log" || true)
postgres=$(grep -cE '^test .*::postgres \.\.\. ' "$log" || true)
skipped=$(grep -c 'SKIPPED (PostgreSQL unreachable' "$log" || true)
echo "Storage tests per backend: sqlite=$sqlite postgres=$postgres (postgres skipped: $skipped)"
if [ "$sqlite" -ne "$postgres" ] || [ "$sqlite" -eq 0 ]; then
  echo "error: every storage test must pass on both backends" >&2
  exit 1
fi
