#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust unit and integration tests against
# real memcached processes and the system libmemcached.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace

step "libmcring: release build, install into a temporary prefix, C tests (plain and under valgrind)"
libmcring_prefix="$ROOT/target/libmcring-test-prefix"
rm -rf "$libmcring_prefix"
PREFIX="$libmcring_prefix" scripts/install-libmcring.sh
tests/c/run.sh "$libmcring_prefix"

step "PHP extension: builds (checkout and installed libmcring), .phpt tests, a PHP-FPM pool"
php-ext/run-tests.sh

echo
echo "all tests passed"
