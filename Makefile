# admit: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

# npm's tailwindcss and wasm-opt (binaryen 132) must come first: Debian's
# binaryen 108 corrupts the wasm and islands never hydrate.
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# The very environment cargo-leptos gives its builds. Exporting it to every
# cargo command (tests, clippy) keeps the compiler inputs identical, so the
# server and its dependencies are compiled once and shared.
export LEPTOS_OUTPUT_NAME := admit
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_SITE_PKG_DIR := pkg
export LEPTOS_SITE_ADDR := 127.0.0.1:3000
export LEPTOS_RELOAD_PORT := 3001
export LEPTOS_LIB_DIR := .
export LEPTOS_BIN_DIR := .
export LEPTOS_JS_MINIFY := false
export LEPTOS_HASH_FILES := false

# Features of the test build. The end2end server is built with the same ones,
# so `make test` compiles the server once.
TEST_FEATURES := ssr,test-hooks
STAMP := target/.setup-stamp
E2E_PORT ?= 3917
# --split: the scanner island is lazy (#[island(lazy)]); its wasm is split into
# a chunk of its own that only the scanner page loads. Every build needs it.
LEPTOS_BUILD := cargo leptos build --split
# Extra arguments for the test binary, e.g. `make test-rust T=payments` runs only
# tests whose names contain "payments".
T ?=

.PHONY: setup run build test test-rust test-e2e lint fmt clippy release sizes bench clean

# Set-up runs when something it installs may be missing or out of date.
$(STAMP): rust-toolchain.toml Cargo.lock package.json package-lock.json scripts/setup.sh
	bash scripts/setup.sh

setup:
	bash scripts/setup.sh

## make run: build, migrate, seed an empty database, serve on ADMIT_SITE_ADDR.
run: $(STAMP)
	$(LEPTOS_BUILD)
	./target/debug/admit seed
	exec ./target/debug/admit serve

build: $(STAMP)
	$(LEPTOS_BUILD)

release: $(STAMP)
	$(LEPTOS_BUILD) --release

## make sizes: the optimized wasm each kind of page downloads (not part of
## `make test`: an optimized wasm build takes minutes on 2 cores).
sizes: $(STAMP)
	$(LEPTOS_BUILD) --release --frontend-only
	bash scripts/wasm-sizes.sh target/site/pkg

## make test: formatting, clippy (server and wasm), unit and integration tests
## on SQLite and PostgreSQL, then end2end in Chromium.
test: $(STAMP) lint test-rust test-e2e
	@echo "make test: all green"

lint: fmt clippy

fmt:
	cargo fmt --check

clippy:
	cargo clippy --all-targets --features $(TEST_FEATURES) -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

test-rust: $(STAMP)
	@mkdir -p target
	@# One test at a time: Leptos 0.8's SSR can lose a request's context
	@# (expect_context panics) when many pages render at once in one process
	@# (reported in leptos-rs/leptos#4698); parallel tests on 2 cores hit it.
	cargo test --features $(TEST_FEATURES) -- --test-threads=1 $(T) 2>&1 | tee target/test-output.log
	@if [ -z "$(T)" ]; then bash scripts/count-backends.sh target/test-output.log; fi

test-e2e: $(STAMP)
	$(LEPTOS_BUILD) --bin-features $(TEST_FEATURES)
	bash scripts/e2e.sh $(E2E_PORT)

## make bench: the load benchmark (a benchmark, not a test). It builds the
## server optimized (profile bench-server), then `admit bench` seeds a fresh
## database per backend (SQLite, then PostgreSQL), starts `admit serve` on
## 127.0.0.1 and drives it over HTTP. The tables also go to
## target/bench-output.txt. Durations and loads come from BENCH_ARGS, e.g.
## `make bench BENCH_ARGS="--seconds 3"` (all options: `admit bench --help`).
BENCH_ARGS ?=
BENCH_BIN := $(or $(CARGO_TARGET_DIR),target)/bench-server/admit
bench: $(STAMP)
	cargo build --profile bench-server --bin admit --features ssr
	@mkdir -p target
	$(BENCH_BIN) bench $(BENCH_ARGS) | tee target/bench-output.txt

clean:
	cargo clean
	rm -rf node_modules data
