#!/usr/bin/env bash
# Builds the mcring extension (php-ext/build.sh), the C floor and the Rust
# engine's own client (for reference), then runs the PHP key-value
# benchmark: mcring against php-memcached and the floor, pinned to one core.
# Arguments are passed on (--rounds=N, default 3).
#
#   bench/php/run.sh [--rounds=N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EXT="$("$ROOT/php-ext/build.sh")"
mkdir -p "$ROOT/target/bench"
FLOOR="$ROOT/target/bench/kv_floor"
cc -O2 -o "$FLOOR" "$ROOT/bench/c/kv_floor.c"
(cd "$ROOT" && cargo build --release --quiet -p mcring-bench --bin kv)
EXT_DIR="$(php-config --extension-dir)"
PHP="php -n -d extension=$EXT_DIR/igbinary.so -d extension=$EXT_DIR/msgpack.so -d extension=$EXT_DIR/memcached.so -d memcached.serializer=php -d extension=$EXT"
exec php -n "$ROOT/bench/php/kv_bench.php" --floor="$FLOOR" --engine="$ROOT/target/release/kv" --php="$PHP" "$@"
