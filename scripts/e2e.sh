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
server=""
fake=""
cleanup() {
  for pid in $server $fake; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $server $fake; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# "Sign in with Google" against the fake OpenID provider of the test-hooks
# build, on the next port.
fake_port=$((port + 1))
export ADMIT_GOOGLE_CLIENT_ID="admit-e2e.apps.googleusercontent.com"
export ADMIT_GOOGLE_CLIENT_SECRET="admit-e2e-secret"
export ADMIT_GOOGLE_ISSUER_URL="http://127.0.0.1:$fake_port"
./target/debug/admit fake-oidc --addr "127.0.0.1:$fake_port" \
  --client-id "$ADMIT_GOOGLE_CLIENT_ID" --client-secret "$ADMIT_GOOGLE_CLIENT_SECRET" \
  --redirect-uri "$ADMIT_PUBLIC_URL/api/v1/auth/google/callback" > "$work/fake-oidc.log" 2>&1 &
fake=$!
./target/debug/admit seed
./target/debug/admit serve > "$work/server.log" 2>&1 &
server=$!
export ADMIT_E2E_URL="http://127.0.0.1:$port"
# The outbox worker writes every email as an .eml file here; the tests read them.
export ADMIT_E2E_MAIL_DIR="$work/data/mail"
# E2E_FILES=end2end/tests/scanner.test.mjs runs only those files.
if ! if [ -n "${E2E_FILES:-}" ]; then node --test --test-concurrency=1 $E2E_FILES; else npm run --silent e2e; fi; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
  echo "--- fake OpenID provider log ---"; tail -n 20 "$work/fake-oidc.log"
  exit 1
fi
