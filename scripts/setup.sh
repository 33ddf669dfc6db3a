#!/usr/bin/env bash
# admit: install everything the build and the tests need. Called by `make setup` from the repo root.
#
# Idempotent: every step first checks whether it is already satisfied and then prints "ok";
# otherwise it prints "installing" and installs. With nothing missing it takes about a second.
# At the end it writes target/.setup-stamp so the Makefile can skip this script while the stamp
# is newer than rust-toolchain.toml, Cargo.lock, package-lock.json and this script.
#
# PATH for the build: `$PWD/node_modules/.bin` must come FIRST on PATH (the Makefile exports it),
# so that cargo-leptos finds the npm `tailwindcss` CLI and npm's `wasm-opt` (binaryen 132).
# Debian 12's own binaryen 108 `wasm-opt` (/usr/bin) corrupts the `__wbindgen_externrefs` table
# and islands then never hydrate ("invalid for table" in the browser console).
#
# Environment knobs:
#   SETUP_SKIP_APT=1   never call apt-get (fail instead if a system package is missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$ROOT/node_modules/.bin:$CARGO_BIN:$PATH"
export DEBIAN_FRONTEND=noninteractive

# cargo-leptos' and wasm-bindgen-cli's release profiles use fat LTO with one codegen unit:
# ~19 min on 2 idle cores. These overrides cut that a lot; the tools run fine without LTO.
FAST_INSTALL_ENV=(CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)

CARGO_LEPTOS_VERSION=0.3.11
# tesseract (with Vietnamese) and librsvg2-bin: the ticket document tests read names back by OCR
# and scan the SVG QR code.
APT_PACKAGES=(chromium poppler-utils zbar-tools fonts-dejavu-core tesseract-ocr tesseract-ocr-eng tesseract-ocr-vie librsvg2-bin)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi

# ---------------------------------------------------------------------------------------------
say() { printf 'setup: %-44s %s\n' "$1" "$2"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  [ "${SETUP_SKIP_APT:-0}" = 1 ] && die "apt packages missing ($*) and SETUP_SKIP_APT=1"
  command -v apt-get >/dev/null || die "apt-get not found; install manually: $*"
  if [ "$APT_UPDATED" = 0 ]; then
    "${SUDO[@]}" apt-get update -q
    APT_UPDATED=1
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

dpkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# If someone is already running `cargo install <crate>` on this machine, wait for it instead of
# starting a second heavy build on the same (2) cores.
wait_for_other_cargo_install() {
  local crate=$1 waited=0
  while pgrep -f "cargo install ${crate}( |$)" >/dev/null 2>&1; do
    if [ "$waited" = 0 ]; then say "$crate" "waiting for a running 'cargo install $crate'"; fi
    waited=1
    sleep 10
  done
}

# ---------------------------------------------------------------------------------------------
# a. Rust toolchain pinned in rust-toolchain.toml (RUSTUP_AUTO_INSTALL=0: install explicitly).
step_rust() {
  command -v rustup >/dev/null || die "rustup not found (install it from https://rustup.rs first)"
  local channel
  channel=$(sed -n 's/^[[:space:]]*channel[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' rust-toolchain.toml | head -n1)
  [ -n "$channel" ] || die "no channel in rust-toolchain.toml"
  local targets components missing=0 t c
  targets=$(sed -n 's/^[[:space:]]*targets[[:space:]]*=[[:space:]]*\[\(.*\)\].*/\1/p' rust-toolchain.toml | tr -d '" ' | tr ',' ' ')
  components=$(sed -n 's/^[[:space:]]*components[[:space:]]*=[[:space:]]*\[\(.*\)\].*/\1/p' rust-toolchain.toml | tr -d '" ' | tr ',' ' ')

  if ! rustup toolchain list 2>/dev/null | grep -qE "^${channel//./\\.}(-| |$)"; then
    missing=1
  else
    local installed_targets installed_components
    installed_targets=$(rustup target list --installed --toolchain "$channel" 2>/dev/null || true)
    installed_components=$(rustup component list --installed --toolchain "$channel" 2>/dev/null || true)
    for t in $targets; do grep -qx "$t" <<<"$installed_targets" || missing=1; done
    for c in $components; do grep -q "^${c}-" <<<"$installed_components" || missing=1; done
  fi

  if [ "$missing" = 0 ]; then
    say "rust toolchain $channel (+ ${targets// /, }, ${components// /, })" ok
    return
  fi
  say "rust toolchain $channel" installing
  # rustup >= 1.28 installs whatever rust-toolchain.toml names; older ones need it spelled out.
  if ! rustup toolchain install; then
    local args=(--profile minimal)
    for t in $targets; do args+=(--target "$t"); done
    for c in $components; do args+=(--component "$c"); done
    rustup toolchain install "$channel" "${args[@]}"
  fi
}

# b. cargo-leptos, without its GitHub downloads (tools come from npm / cargo instead).
step_cargo_leptos() {
  local have
  have=$(cargo leptos --version 2>/dev/null || true)
  if grep -q "\b${CARGO_LEPTOS_VERSION}\b" <<<"$have"; then
    say "cargo-leptos $CARGO_LEPTOS_VERSION" ok
    return
  fi
  wait_for_other_cargo_install cargo-leptos
  have=$(cargo leptos --version 2>/dev/null || true)
  if grep -q "\b${CARGO_LEPTOS_VERSION}\b" <<<"$have"; then
    say "cargo-leptos $CARGO_LEPTOS_VERSION" ok
    return
  fi
  say "cargo-leptos $CARGO_LEPTOS_VERSION" "installing (slow: ~10-20 min on 2 cores)"
  env "${FAST_INSTALL_ENV[@]}" cargo install cargo-leptos --locked --features no_downloads \
    --version "$CARGO_LEPTOS_VERSION"
}

# c. wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock.
wasm_bindgen_version() {
  local v=""
  if [ -f Cargo.lock ]; then
    v=$(awk '/^\[\[package\]\]/{n=""} /^name = "wasm-bindgen"$/{n=1; next} n && /^version = /{gsub(/"/,"",$3); print $3; exit}' Cargo.lock)
  fi
  if [ -z "$v" ]; then # no lockfile yet: use the exact pin in Cargo.toml
    v=$(sed -n 's/^wasm-bindgen[[:space:]]*=.*"=\([0-9][0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
  fi
  [ -n "$v" ] || die "cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml"
  echo "$v"
}

step_wasm_bindgen() {
  local want have
  want=$(wasm_bindgen_version)
  have=$(wasm-bindgen --version 2>/dev/null || true)
  if [ "$have" = "wasm-bindgen $want" ]; then
    say "wasm-bindgen-cli $want" ok
    return
  fi
  wait_for_other_cargo_install wasm-bindgen-cli
  have=$(wasm-bindgen --version 2>/dev/null || true)
  if [ "$have" = "wasm-bindgen $want" ]; then
    say "wasm-bindgen-cli $want" ok
    return
  fi
  say "wasm-bindgen-cli $want" "installing (was: ${have:-none})"
  # --locked can fail when the crate's shipped lockfile pins a version missing from the index
  # (0.2.130 pins webpki-roots 1.0.11); then resolve afresh.
  if ! env "${FAST_INSTALL_ENV[@]}" cargo install wasm-bindgen-cli --version "$want" --locked --force; then
    say "wasm-bindgen-cli $want" "retrying without --locked"
    env "${FAST_INSTALL_ENV[@]}" cargo install wasm-bindgen-cli --version "$want" --force
  fi
  [ "$(wasm-bindgen --version)" = "wasm-bindgen $want" ] || die "wasm-bindgen --version is not $want"
}

# d. npm devDependencies: Tailwind v4 CLI, binaryen (wasm-opt), playwright-core.
step_npm() {
  if ! command -v npm >/dev/null; then
    say "node + npm" installing
    apt_install nodejs npm
  fi
  local marker=node_modules/.package-lock.json # npm's hidden lockfile, written on every install
  if [ -f "$marker" ] && [ ! package-lock.json -nt "$marker" ] && [ ! package.json -nt "$marker" ] \
     && [ -x node_modules/.bin/tailwindcss ] && [ -x node_modules/.bin/wasm-opt ]; then
    say "npm devDependencies" ok
  else
    say "npm devDependencies" installing
    if [ -f package-lock.json ]; then
      # npm 11 writes lockfiles that its own `npm ci` rejects when the registry mirror lacks the
      # optional @tailwindcss/oxide-* packages for other platforms; `npm install` still honours
      # the locked versions.
      local log
      log=$(mktemp)
      if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
        say "npm devDependencies" "npm ci refused ($(grep -m1 -oE 'Missing: [^ ]+|code E[A-Z0-9]+' "$log" || echo 'see npm log')...); npm install"
        npm install --no-audit --no-fund
      else
        grep -E '^(added|removed|changed|up to date)' "$log" || true
      fi
      rm -f "$log"
    else
      npm install --no-audit --no-fund
    fi
    touch "$marker"
  fi
  node_modules/.bin/tailwindcss --help >/dev/null 2>&1 || die "node_modules/.bin/tailwindcss does not run"
  node_modules/.bin/wasm-opt --version >/dev/null 2>&1 || die "node_modules/.bin/wasm-opt does not run"
}

# e. System packages for the browser tests and ticket checks, plus the SMTP sink.
step_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do dpkg_installed "$p" || missing+=("$p"); done
  if [ "${#missing[@]}" = 0 ]; then
    say "apt: ${APT_PACKAGES[*]}" ok
  else
    say "apt: ${missing[*]}" installing
    apt_install "${missing[@]}"
  fi
}

step_aiosmtpd() {
  if python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    say "python3 aiosmtpd" ok
    return
  fi
  say "python3 aiosmtpd" installing
  # In a venv --user is refused; on Debian's own python pip is refused (PEP 668): then use apt.
  python3 -m pip install -q --user aiosmtpd 2>/dev/null \
    || python3 -m pip install -q aiosmtpd 2>/dev/null \
    || apt_install python3-aiosmtpd
  python3 -c 'import aiosmtpd' || die "python3 cannot import aiosmtpd"
}

# f. PostgreSQL on 127.0.0.1:5432, user postgres, no password (trust) for local tests.
pg_version() { find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n1; }
pg_ready() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }
pg_query_ok() { [ "$(psql -h 127.0.0.1 -p 5432 -U postgres -w -Atc 'select 1' 2>/dev/null)" = 1 ]; }

step_postgres() {
  if pg_ready && pg_query_ok; then
    say "postgresql on 127.0.0.1:5432" ok
    return
  fi
  if ! pg_ready; then
    if [ -z "$(pg_version)" ] || [ ! -d "/etc/postgresql/$(pg_version)/main" ]; then
      say "postgresql" installing
      apt_install postgresql
    fi
    local ver
    ver=$(pg_version)
    if [ -z "$ver" ] || [ ! -d "/etc/postgresql/$ver/main" ]; then die "no PostgreSQL cluster under /etc/postgresql"; fi
    say "postgresql $ver cluster" starting
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    local _
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    pg_ready || die "PostgreSQL $ver did not come up on 127.0.0.1:5432 (see /var/log/postgresql/)"
  fi
  if ! pg_query_ok; then
    # Fresh Debian clusters use scram-sha-256 on 127.0.0.1: allow passwordless local TCP logins
    # (local development and tests only). The lines go first so that they win.
    local ver hba
    ver=$(pg_version)
    hba="/etc/postgresql/$ver/main/pg_hba.conf"
    [ -f "$hba" ] || die "cannot log in as postgres on 127.0.0.1:5432 and $hba does not exist"
    if ! "${SUDO[@]}" grep -qE '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
      say "postgresql $ver pg_hba.conf" "adding trust for 127.0.0.1 and ::1"
      "${SUDO[@]}" sed -i '1i host all all ::1/128 trust' "$hba"
      "${SUDO[@]}" sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
      "${SUDO[@]}" sed -i '1i # added by admit scripts/setup.sh: passwordless local TCP logins for tests' "$hba"
    fi
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
    sleep 1
  fi
  pg_query_ok || die "psql -h 127.0.0.1 -U postgres -c 'select 1' fails"
  say "postgresql on 127.0.0.1:5432" ok
}

# ---------------------------------------------------------------------------------------------
mkdir -p target
# One setup at a time (e.g. two `make` runs in parallel).
exec 9>target/.setup.lock
flock 9

step_rust
step_apt            # before npm: a plain machine may also need nodejs/npm from apt
step_aiosmtpd
step_postgres
step_npm
step_cargo_leptos   # the two cargo installs run one after the other (2 cores)
step_wasm_bindgen

touch target/.setup-stamp
say "stamp target/.setup-stamp" written
