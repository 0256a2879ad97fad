#!/usr/bin/env bash
# The main job: shows where keys land on a sample ring.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

cargo build --release -q -p mcring
MCRING="$ROOT/target/release/mcring"
RING=(10.0.0.1:11211 10.0.0.2:11211 10.0.0.3:11211:2)

echo "Ring: ${RING[*]} (ketama-weighted, libmemcached-compatible; nothing is dialed)"
echo
echo "Where sample keys land:"
printf '%s\n' user:1 user:2 session:abc cart:42 "café" | paste - <(
  printf '%s\n' user:1 user:2 session:abc cart:42 "café" | "$MCRING" locate "${RING[@]}") |
  awk -F'\t' '{printf "  %-14s -> %s\n", $1, $2}'
echo
echo "10,000 keys per server (weight 2 takes about twice the share):"
seq 1 10000 | sed 's/^/key:/' | "$MCRING" locate "${RING[@]}" | sort | uniq -c |
  awk '{printf "  %-18s %6d\n", $2, $1}'
