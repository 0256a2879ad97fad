#!/usr/bin/env bash
# Runs every test: formatting and lints; Rust unit and integration tests
# against real memcached processes, the system libmemcached and the peers;
# libmcring's C tests (also under valgrind); the Python wheel's tests in a
# fresh venv; the PHP extension's tests and a PHP-FPM pool; and the
# cross-language test of C, Python and PHP on one ring; and the scale
# benchmarks once at toy size.
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

step "libmcring: release build, install into a temporary prefix, C tests (plain and under valgrind)"
libmcring_prefix="$ROOT/target/libmcring-test-prefix"
rm -rf "$libmcring_prefix"
PREFIX="$libmcring_prefix" scripts/install-libmcring.sh
tests/c/run.sh "$libmcring_prefix"

step "python: wheel into a fresh venv, pytest"
rm -rf target/wheels-python target/py-venv
"$VENV/bin/maturin" build --release --quiet -m python/Cargo.toml -o target/wheels-python
"$VENV/bin/python" -m venv target/py-venv
# The wheel alone must import and work (and its compat modules); then the
# test runner, the peers and the frameworks join it.
target/py-venv/bin/python -m pip install -q --disable-pip-version-check target/wheels-python/mcring-*.whl
target/py-venv/bin/python -c 'import mcring, mcring.pylibmc, mcring.pymemcache.client.hash; mcring.Client(["127.0.0.1:11211"]).server_for("k")'
target/py-venv/bin/python -m pip install -q --disable-pip-version-check "${PY_TEST_PACKAGES[@]}"
# The compat modules run side by side with the real pylibmc and pymemcache;
# Django's and cachelib's own cache tests (their sdists are fetched by the
# tests into target/.cache) run on mcring; gunicorn shares server health.
(cd python/tests && ../../target/py-venv/bin/python -m pytest -q -p no:cacheprovider .)

step "PHP extension: builds (checkout and installed libmcring), .phpt tests, a PHP-FPM pool"
php-ext/run-tests.sh

step "one ring, three languages: C, Python, PHP and php-memcached on one pool"
php_ext="$(php-ext/build.sh)"
MCRING_PREFIX="$libmcring_prefix" MCRING_PHP_EXT="$php_ext" \
  target/py-venv/bin/python tests/cross_language/run.py

step "scale benchmarks at toy size: each builds, runs every client and prints its table (bench/smoke.sh)"
BENCH_PYTHON="$ROOT/target/py-venv/bin/python" BENCH_PHP_EXT="$php_ext" bench/smoke.sh

echo
echo "all tests passed"
