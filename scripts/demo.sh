#!/usr/bin/env bash
# The main job: three local memcached servers; PHP writes 1,000 sessions,
# Python and C read every one back; mcring places keys as libmemcached does;
# a server is killed and reads go on from the replicas; it comes back and
# recovers. Everything runs on 127.0.0.1 and is stopped at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcring-demo.XXXXXX")"
source scripts/memcached.sh
cleanup() {
  stop_memcacheds
  rm -rf "$WORK"
}
trap cleanup EXIT

say "Building: libmcring, the Python wheel, the PHP extension, the C reader"
cargo build --release -q -p mcring-ffi -p mcring-cli
"$VENV/bin/maturin" develop --release --quiet -m python/Cargo.toml >/dev/null 2>&1
PHP_EXT="$(php-ext/build.sh)"
cc -O2 -o "$WORK/read_sessions" scripts/demo/read_sessions.c -Iinclude -Ltarget/release \
  -lmcring -lmemcached -Wl,-rpath,"$ROOT/target/release"
PHP=(php -n -d "extension=$PHP_EXT")
PY="$VENV/bin/python"

items() { # port -> curr_items
  "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"stats\r\n")
data = b""
while not data.endswith(b"END\r\n"):
    data += s.recv(65536)
print(next(l.split()[2] for l in data.decode().splitlines() if l.startswith("STAT curr_items ")))
EOF
}

PORTS=() SERVERS=()
declare -A PID
for _ in 1 2 3; do
  start_memcached
  PORTS+=("$STARTED_PORT") SERVERS+=("127.0.0.1:$STARTED_PORT") PID[$STARTED_PORT]=$STARTED_PID
done
CONFIG="${SERVERS[*]} replicas=1 read_repair=true connect_timeout_ms=300 io_timeout_ms=500"
say "Three memcached servers: ${SERVERS[*]}"
echo "Every client uses the same config string:"
echo "  \"$CONFIG\""

say "1. PHP writes 1,000 sessions (arrays, stored as JSON with php-memcached's flags)"
"${PHP[@]}" scripts/demo/write_sessions.php "$CONFIG"

say "2. Python and C read them back"
"$PY" scripts/demo/read_sessions.py "$CONFIG"
"$WORK/read_sessions" "$CONFIG"

say "3. Where the keys live: mcring's placement next to libmemcached's"
"$WORK/read_sessions" "${SERVERS[*]}" --placement "${SERVERS[@]}" | tail -n +2
echo
echo "  Items stored per server (each session has a primary and one replica):"
for p in "${PORTS[@]}"; do printf '  %-18s %8s\n' "127.0.0.1:$p" "$(items "$p")"; done

VICTIM="${PORTS[1]}"
say "4. Kill 127.0.0.1:$VICTIM (SIGKILL): reads go on from the replicas"
{ kill -9 "${PID[$VICTIM]}"; wait "${PID[$VICTIM]}" || true; } 2>/dev/null
"$PY" scripts/demo/read_sessions.py "$CONFIG"
"$WORK/read_sessions" "$CONFIG"
echo "  mcring health:"
target/release/mcring --servers "$CONFIG" health 2>/dev/null | sed 's/^/    /' || true

say "5. Restart it, empty, on the same port: read repair fills it again"
start_memcached "$VICTIM"
sleep 1.2   # past retry_timeout_ms: the next request probes the server
printf '  items on 127.0.0.1:%s before reading: %s\n' "$VICTIM" "$(items "$VICTIM")"
"$PY" scripts/demo/read_sessions.py "$CONFIG"
printf '  items on 127.0.0.1:%s after reading:  %s (the sessions it is primary for)\n' \
  "$VICTIM" "$(items "$VICTIM")"
echo "  mcring health:"
target/release/mcring --servers "$CONFIG" health | sed 's/^/    /'

say "Done: stopping the servers."
