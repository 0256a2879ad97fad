#!/usr/bin/env bash
# Builds the release wheel into the project's venv (which has pylibmc and
# pymemcache), then runs the Python key-value benchmark once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/setup.sh"
cd "$ROOT"
"$VENV/bin/maturin" develop --release --quiet -m python/Cargo.toml
exec "$VENV/bin/python" bench/python/kv_bench.py "$@"
