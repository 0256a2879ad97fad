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

echo
echo "all tests passed"
