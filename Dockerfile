# admit: production image.
#   docker build -t admit .
#   docker run -p 3000:3000 -v admit-data:/app/data -e ADMIT_PUBLIC_URL=https://tickets.example admit
# Works with the legacy builder and BuildKit alike (no cache mounts, no syntax frontend to pull).
# Build tools come from crates.io and npm only (cargo-leptos with `no_downloads`): no GitHub fetches.

########################################################################################
# Builder
########################################################################################
FROM rust:1-bookworm AS builder

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# 1. The pinned toolchain (channel, wasm32 target, components) from rust-toolchain.toml.
COPY rust-toolchain.toml ./
RUN rustup toolchain install && rustc --version && rustup target list --installed

# 2. cargo-leptos, without its GitHub downloads. Its release profile uses fat LTO with one
#    codegen unit (very slow); the overrides apply to this install only.
ARG CARGO_LEPTOS_VERSION=0.3.11
RUN CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --locked --features no_downloads --version "${CARGO_LEPTOS_VERSION}"

# 3. wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock. Its shipped lockfile
#    can pin a crate the index lacks, so fall back to resolving without --locked.
COPY Cargo.lock ./
RUN set -eu; \
    v=$(awk '/^\[\[package\]\]/{n=""} /^name = "wasm-bindgen"$/{n=1; next} n && /^version = /{gsub(/"/,"",$3); print $3; exit}' Cargo.lock); \
    test -n "$v"; \
    export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16; \
    cargo install wasm-bindgen-cli --version "$v" --locked \
      || cargo install wasm-bindgen-cli --version "$v"; \
    test "$(wasm-bindgen --version)" = "wasm-bindgen $v"

# 4. Tailwind v4 CLI and wasm-opt (npm binaryen 132). `npm ci` can reject lockfiles written by
#    npm 11 against a registry mirror lacking other platforms' optional packages; `npm install`
#    still honours the locked versions.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
# node_modules/.bin first: cargo-leptos must find npm's tailwindcss and wasm-opt.
# (Debian's binaryen 108 wasm-opt corrupts the wasm-bindgen externref table: islands never hydrate.)
ENV PATH=/app/node_modules/.bin:$PATH
RUN tailwindcss --help >/dev/null && wasm-opt --version

# 5. The app. Output: target/release/admit and target/site.
COPY . .
RUN cargo leptos build --release --split \
 && ls -l target/release/admit target/site

########################################################################################
# Runtime
########################################################################################
FROM debian:bookworm-slim AS runtime

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 admit \
 && useradd --system --uid 10001 --gid admit --home-dir /app --shell /usr/sbin/nologin admit \
 && mkdir -p /app/data \
 && chown admit:admit /app/data

WORKDIR /app
COPY --from=builder /app/target/release/admit /app/admit
COPY --from=builder /app/target/site /app/site
COPY --from=builder /app/migrations /app/migrations
COPY --from=builder /app/Leptos.toml /app/Leptos.toml

# Leptos.toml is admit's runtime config; ADMIT_<KEY> variables override it.
ENV ADMIT_ENV=production \
    ADMIT_SITE_ADDR=0.0.0.0:3000 \
    ADMIT_SITE_ROOT=/app/site \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_ENV=PROD \
    RUST_LOG=info

# Numeric so that runAsNonRoot-style checks can verify it (user "admit").
USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 3000
CMD ["/app/admit", "serve"]
