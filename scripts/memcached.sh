# Real memcached processes on free 127.0.0.1 ports for the shell-driven
# tests, benchmarks and the demo; sourced, not run.
#
#   start_memcached [PORT]   starts one (on PORT, or on a free port); sets
#                            STARTED_PORT and STARTED_PID and remembers the pid
#   stop_memcacheds          kills every one started here (also resumes
#                            stopped ones first); call it from an EXIT trap
#
# MEMCACHED (binary), MEMCACHED_THREADS (default 2), MEMCACHED_WRAP (a
# command prefix, e.g. `taskset -c 0`) and MEMCACHED_EXTRA (more arguments,
# e.g. `-Z -o ssl_chain_cert=...,ssl_key=...` for TLS) adjust how servers run.

MEMCACHED="${MEMCACHED:-memcached}"
MEMCACHED_THREADS="${MEMCACHED_THREADS:-2}"
MEMCACHED_PIDS=()

# A port that was free a moment ago on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether memcached on port $1 answers `version` (a TLS server, -Z: whether
# it accepts connections).
memcached_answers() {
  if [[ " ${MEMCACHED_EXTRA:-} " == *" -Z "* ]]; then
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    return
  fi
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'version\r\n' >&3
    IFS= read -r -t 2 line <&3
    [[ "$line" == VERSION* ]]
  ) 2>/dev/null
}

start_memcached() {
  local as_root=() wrap=() extra=()
  [[ "$(id -u)" == 0 ]] && as_root=(-u root)
  [[ -n "${MEMCACHED_WRAP:-}" ]] && read -ra wrap <<<"$MEMCACHED_WRAP"
  [[ -n "${MEMCACHED_EXTRA:-}" ]] && read -ra extra <<<"$MEMCACHED_EXTRA"
  local tries=20
  [[ -n "${1:-}" ]] && tries=100 # a fixed port may still be in TIME_WAIT
  for _ in $(seq "$tries"); do
    local port="${1:-$(free_port)}" pid
    "${wrap[@]}" "$MEMCACHED" "${as_root[@]}" -l 127.0.0.1 -p "$port" -U 0 \
      -t "$MEMCACHED_THREADS" -m 64 "${extra[@]}" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 500); do
      kill -0 "$pid" 2>/dev/null || break
      if memcached_answers "$port"; then
        MEMCACHED_PIDS+=("$pid")
        STARTED_PORT=$port
        STARTED_PID=$pid
        return 0
      fi
      sleep 0.02
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    sleep 0.1
  done
  echo "could not start $MEMCACHED${1:+ on port $1}" >&2
  return 1
}

stop_memcacheds() {
  for pid in "${MEMCACHED_PIDS[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  MEMCACHED_PIDS=()
}
