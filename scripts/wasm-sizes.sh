#!/usr/bin/env bash
# Prints the wasm each kind of page downloads, raw and gzipped, and fails when
# the bundle every page with an island loads (event pages: tier and seat
# pickers, the hold countdown) outgrows its budget.
#   scripts/wasm-sizes.sh target/site/pkg
set -euo pipefail
pkg=${1:-target/site/pkg}
# Budget of the main bundle, gzipped: what an attendee on a phone downloads.
BUDGET_GZ=${WASM_BUDGET_GZ:-200000}
size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }
main="$pkg/admit.wasm"
[ -f "$main" ] || { echo "no $main: build first (make sizes)" >&2; exit 1; }
printf '%-48s %10s %10s\n' file bytes gzipped
printf '%-48s %10s %10s\n' "admit.wasm (every page with an island)" "$(size "$main")" "$(gz "$main")"
for chunk in "$pkg"/split_*.wasm; do
  [ -f "$chunk" ] || continue
  printf '%-48s %10s %10s\n' "$(basename "$chunk") (lazy)" "$(size "$chunk")" "$(gz "$chunk")"
done
printf '%-48s %10s %10s\n' "admit.js" "$(size "$pkg/admit.js")" "$(gz "$pkg/admit.js")"
main_gz=$(gz "$main")
if [ "$main_gz" -gt "$BUDGET_GZ" ]; then
  echo "admit.wasm is $main_gz bytes gzipped, over its budget of $BUDGET_GZ" >&2
  exit 1
fi
echo "main bundle within budget ($main_gz <= $BUDGET_GZ bytes gzipped)"
