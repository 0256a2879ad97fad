#!/usr/bin/env bash
# Installs what the demo and the tests need, skipping what is already there.
# Sourced by scripts/demo.sh and scripts/test.sh; run as root on Debian.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
VENV="$ROOT/.venv"
export VENV

APT_PACKAGES=(
  memcached libmemcached-dev libmemcached-tools
  php-cli php-dev php-memcached php-fpm libfcgi-bin
  php-parser zlib1g-dev
  python3-venv python3-dev gcc make pkg-config valgrind
  linux-perf strace
  prometheus
  dnsmasq-base
  openssl ca-certificates
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust from https://rustup.rs and run again" >&2
  exit 2
fi

# The Python tools live in a venv inside the checkout: pylibmc and pymemcache
# (the peers), maturin (builds the wheel), pytest, prometheus_client (what
# mcring.prometheus.Collector registers with).
PY_PACKAGES=(pylibmc pymemcache maturin pytest prometheus_client)
# What the Python tests install beside the wheel in their fresh venv: the
# peers the compat modules are compared with, and the frameworks whose
# backends and test suites run on mcring (versions pinned: Django's and
# cachelib's test suites are those releases'), and prometheus_client for
# mcring.prometheus.
PY_TEST_PACKAGES=(
  pytest pylibmc==1.6.3 pymemcache==4.0.0
  django==5.2.19 flask==3.1.3 flask-caching==2.5.1 cachelib==0.17.0 pytest-xprocess
  gunicorn==27.0.1 prometheus_client==0.26.0
)
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup: creating $VENV"
  /usr/bin/python3 -m venv "$VENV"
fi
for p in "${PY_PACKAGES[@]}"; do
  if ! "$VENV/bin/python" -m pip show -q "$p" >/dev/null 2>&1; then
    echo "setup: pip install ${PY_PACKAGES[*]}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
    break
  fi
done
