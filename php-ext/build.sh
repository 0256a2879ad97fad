#!/usr/bin/env bash
# Builds the release libmcring and the mcring extension as a checkout
# builds it (phpize && ./configure && make, against the checkout's include/
# and target/release/), in a copy under target/php-ext/checkout/ so the
# source tree stays clean. Prints the path of mcring.so.
#
#   php-ext/build.sh     # then: php -d extension=$(php-ext/build.sh) ...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CHECKOUT="$ROOT/target/php-ext/checkout"

(cd "$ROOT" && cargo build --release --quiet -p mcring-ffi) >&2

# The copy sees the checkout's include/ and target/release/ where a
# checkout's php-ext/ does: one directory up.
rm -rf "$CHECKOUT"
mkdir -p "$CHECKOUT/target"
cp -r "$HERE" "$CHECKOUT/php-ext"
ln -s "$ROOT/include" "$CHECKOUT/include"
ln -s "$ROOT/target/release" "$CHECKOUT/target/release"
cd "$CHECKOUT/php-ext"
phpize >phpize.out 2>&1 || { cat phpize.out >&2; exit 1; }
./configure >configure.out 2>&1 || { cat configure.out >&2; exit 1; }
make -j2 >make.out 2>&1 || { cat make.out >&2; exit 1; }
if grep -q 'warning:' make.out; then
  grep 'warning:' make.out >&2
  echo "build.sh: the extension compiles with warnings" >&2
  exit 1
fi
echo "$CHECKOUT/php-ext/modules/mcring.so"
