#!/usr/bin/env bash
# How long a change of the server list takes with SERVERS servers (default
# 200): add/remove one server, replace a tenth, and the ring build alone.
# Pinned to one core. Nothing is dialed.
#
#   bench/list_change.sh [SERVERS] [CHANGES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build -q --release -p mcring-bench --bin list_change
taskset -c 0 target/release/list_change "${1:-200}" "${2:-200}"
