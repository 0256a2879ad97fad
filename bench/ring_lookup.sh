#!/usr/bin/env bash
# Ring lookup cost per key, mcring against libmemcached, on one pinned core.
# Builds the release binary, then runs it with taskset -c 0. Arguments are
# passed on (--keys N, --rounds R).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -p mcring-bench --bin ring_lookup
exec taskset -c 0 target/release/ring_lookup "$@"
