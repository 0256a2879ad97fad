#!/usr/bin/env bash
# Regenerates mcring_arginfo.h from mcring.stub.php with PHP's own
# build/gen_stub.php (from php-dev), which wants nikic/PHP-Parser beside
# itself: Debian's php-parser package provides it (scripts/setup.sh
# installs it), so nothing is downloaded.
#
#   php-ext/gen-arginfo.sh           rewrite mcring_arginfo.h
#   php-ext/gen-arginfo.sh --check   fail if mcring_arginfo.h is stale
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GEN_STUB="$(ls /usr/lib/php/*/build/gen_stub.php 2>/dev/null | sort -V | tail -n 1)"
[[ -n "$GEN_STUB" ]] || { echo "gen-arginfo.sh: build/gen_stub.php not found (apt-get install php-dev)" >&2; exit 1; }
[[ -d /usr/share/php/PhpParser ]] || { echo "gen-arginfo.sh: PHP-Parser not found (apt-get install php-parser)" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcring-gen-stub.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cp "$GEN_STUB" "$WORK/gen_stub.php"
version="$(grep -oE '\$version = "[0-9.]+"' "$WORK/gen_stub.php" | grep -oE '[0-9.]+')"
mkdir -p "$WORK/PHP-Parser-$version/lib"
ln -s /usr/share/php/PhpParser "$WORK/PHP-Parser-$version/lib/PhpParser"
mkdir "$WORK/stub"
cp "$HERE/mcring.stub.php" "$WORK/stub/"
php "$WORK/gen_stub.php" --force-regeneration "$WORK/stub/mcring.stub.php" >/dev/null

if [[ "${1:-}" == "--check" ]]; then
  if ! cmp -s "$WORK/stub/mcring_arginfo.h" "$HERE/mcring_arginfo.h"; then
    diff -u "$HERE/mcring_arginfo.h" "$WORK/stub/mcring_arginfo.h" >&2 || true
    echo "gen-arginfo.sh: php-ext/mcring_arginfo.h is stale; run php-ext/gen-arginfo.sh" >&2
    exit 1
  fi
  echo "mcring_arginfo.h is up to date"
else
  cp "$WORK/stub/mcring_arginfo.h" "$HERE/mcring_arginfo.h"
  echo "wrote $HERE/mcring_arginfo.h"
fi
