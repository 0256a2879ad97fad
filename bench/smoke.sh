#!/usr/bin/env bash
# Runs every scale benchmark once at toy size (BENCH_SMOKE=1: a few
# operations, one round, small pools; nothing saved): proves each one-command
# benchmark still builds, starts its servers and clients and prints its
# table. Not a measurement. The clients are built once, into their own
# directory (BENCH_OUT, default target/bench-smoke), so a smoke run does not
# disturb a real run's binaries. BENCH_PYTHON (a python with mcring, pylibmc
# and pymemcache) and BENCH_PHP_EXT (a built mcring.so) reuse what a test
# run has built already.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export BENCH_SMOKE=1 BENCH_OUT="${BENCH_OUT:-$PWD/target/bench-smoke}"
echo "==> building the benchmark clients"
start=$SECONDS
python3 bench/scale/harness.py build >/dev/null
echo "    ($((SECONDS - start)) s)"
export BENCH_BUILT=1
for b in fanout threads values multi_write fpm_connections memory profile; do
  echo "==> bench/$b.sh (smoke)"
  start=$SECONDS
  out="$(bench/$b.sh 2>&1)" || { echo "$out" | tail -20; echo "bench/$b.sh failed" >&2; exit 1; }
  echo "$out" | grep -c '^| ' | xargs printf '    %s table lines'
  echo " ($((SECONDS - start)) s)"
done
