#!/usr/bin/env bash
# Builds libmcring in release mode and installs it:
#   $LIBDIR/libmcring.so.<version>, with libmcring.so.<abi> (the soname) and
#     libmcring.so symlinks, and libmcring.a
#   $INCLUDEDIR/libmcring.h
#   $LIBDIR/pkgconfig/mcring.pc
#
#   PREFIX=/usr/local scripts/install-libmcring.sh
#
# Environment: PREFIX (default /usr/local), LIBDIR (default $PREFIX/lib),
# INCLUDEDIR (default $PREFIX/include), DESTDIR (staging root for
# packaging), NO_BUILD=1 to install the existing release build,
# CARGO_TARGET_DIR as for cargo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${PREFIX:-/usr/local}"
LIBDIR="${LIBDIR:-$PREFIX/lib}"
INCLUDEDIR="${INCLUDEDIR:-$PREFIX/include}"
DESTDIR="${DESTDIR:-}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# What a program linking libmcring.a statically needs besides it: the
# system zlib (the codec's), and Rust's standard library on Linux
# (`rustc --print native-static-libs`).
LIBS_PRIVATE="-lz -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

die() { echo "install-libmcring: $*" >&2; exit 1; }

if [[ -z "${NO_BUILD:-}" ]]; then
  cargo build --release -p mcring-ffi --manifest-path "$ROOT/Cargo.toml"
fi

so="$TARGET_DIR/release/libmcring.so"
archive="$TARGET_DIR/release/libmcring.a"
header="$ROOT/include/libmcring.h"
[[ -f "$so" && -f "$archive" ]] || die "no release build in $TARGET_DIR/release"

version="$(sed -n 's/^#define MCRING_VERSION "\(.*\)"$/\1/p' "$header")"
[[ -n "$version" ]] || die "no MCRING_VERSION in $header"
soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]$/\1/p')"
[[ "$soname" == libmcring.so.* ]] || die "$so has no soname libmcring.so.N (got '$soname')"

lib="$DESTDIR$LIBDIR"
install -d "$lib" "$lib/pkgconfig" "$DESTDIR$INCLUDEDIR"
install -m 0755 "$so" "$lib/libmcring.so.$version"
ln -sfn "libmcring.so.$version" "$lib/$soname"
ln -sfn "$soname" "$lib/libmcring.so"
install -m 0644 "$archive" "$lib/libmcring.a"
install -m 0644 "$header" "$DESTDIR$INCLUDEDIR/libmcring.h"
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@LIBDIR@|$LIBDIR|" -e "s|@INCLUDEDIR@|$INCLUDEDIR|" \
    -e "s|@VERSION@|$version|" -e "s|@LIBS_PRIVATE@|$LIBS_PRIVATE|" \
    "$ROOT/ffi/mcring.pc.in" >"$lib/pkgconfig/mcring.pc"

# A system library directory needs the loader cache refreshed.
if [[ -z "$DESTDIR" && "$(id -u)" == 0 && ( "$LIBDIR" == /usr/local/lib || "$LIBDIR" == /usr/lib ) ]]; then
  ldconfig || true
fi

echo "installed libmcring $version ($soname) into ${DESTDIR}${PREFIX}"
