#!/usr/bin/env bash
# Runs the end2end browser tests: starts the built server on a fresh SQLite
# database with demo data, runs Playwright (system Chromium), stops the server.
set -euo pipefail
port=${1:-3917}
work=$(mktemp -d)
export ADMIT_DATABASE_URL="sqlite://$work/e2e.db"
export ADMIT_DATA_DIR="$work/data"
export ADMIT_SITE_ADDR="127.0.0.1:$port"
export ADMIT_PUBLIC_URL="http://127.0.0.1:$port"
export ADMIT_LOG="warn,admit=info"
./target/debug/admit seed
./target/debug/admit serve > "$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export ADMIT_E2E_URL="http://127.0.0.1:$port"
# The outbox worker writes every email as an .eml file here; the tests read them.
export ADMIT_E2E_MAIL_DIR="$work/data/mail"
if ! npm run --silent e2e; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
  exit 1
fi
