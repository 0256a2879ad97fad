dnl The mcring extension, over libmcring (the C ABI of the mcring engine).
dnl
dnl   phpize && ./configure && make
dnl       in a checkout, after `cargo build --release -p mcring-ffi`: the
dnl       checkout's include/ and target/release/ (no install step)
dnl   ./configure --with-mcring=PREFIX
dnl       an installed libmcring: PREFIX/lib/pkgconfig/mcring.pc if there,
dnl       else PREFIX/include and PREFIX/lib

PHP_ARG_WITH([mcring],
  [for mcring support],
  [AS_HELP_STRING([[--with-mcring[=PREFIX]]],
    [Include mcring support; PREFIX is where libmcring is installed
     (default: the source checkout this extension is part of)])],
  [yes])

if test "$PHP_MCRING" != "no"; then
  if test "$PHP_MCRING" = "yes"; then
    dnl A checkout: php-ext/ sits beside include/ and target/.
    MCRING_ROOT=`cd "$srcdir/.." && pwd`
    MCRING_INCDIR="$MCRING_ROOT/include"
    MCRING_LIBDIR="$MCRING_ROOT/target/release"
    if test ! -f "$MCRING_INCDIR/libmcring.h"; then
      AC_MSG_ERROR([$MCRING_INCDIR/libmcring.h not found: build in an mcring checkout, or pass --with-mcring=PREFIX])
    fi
    if test ! -f "$MCRING_LIBDIR/libmcring.so" && test ! -f "$MCRING_LIBDIR/libmcring.dylib"; then
      AC_MSG_ERROR([libmcring not found in $MCRING_LIBDIR: run `cargo build --release -p mcring-ffi` in $MCRING_ROOT first])
    fi
    PHP_ADD_INCLUDE([$MCRING_INCDIR])
    PHP_ADD_LIBRARY_WITH_PATH([mcring], [$MCRING_LIBDIR], [MCRING_SHARED_LIBADD])
  else
    MCRING_PREFIX="$PHP_MCRING"
    AC_PATH_PROG([PKG_CONFIG], [pkg-config], [no])
    if test "$PKG_CONFIG" != "no" && test -f "$MCRING_PREFIX/lib/pkgconfig/mcring.pc"; then
      MCRING_CFLAGS=`PKG_CONFIG_PATH="$MCRING_PREFIX/lib/pkgconfig" $PKG_CONFIG --cflags mcring`
      MCRING_LIBS=`PKG_CONFIG_PATH="$MCRING_PREFIX/lib/pkgconfig" $PKG_CONFIG --libs mcring`
      PHP_EVAL_INCLINE([$MCRING_CFLAGS])
      PHP_EVAL_LIBLINE([$MCRING_LIBS], [MCRING_SHARED_LIBADD])
      dnl The loader finds the library where it was installed.
      PHP_ADD_LIBPATH([$MCRING_PREFIX/lib], [MCRING_SHARED_LIBADD])
    else
      if test ! -f "$MCRING_PREFIX/include/libmcring.h"; then
        AC_MSG_ERROR([$MCRING_PREFIX/include/libmcring.h not found])
      fi
      PHP_ADD_INCLUDE([$MCRING_PREFIX/include])
      PHP_ADD_LIBRARY_WITH_PATH([mcring], [$MCRING_PREFIX/lib], [MCRING_SHARED_LIBADD])
    fi
  fi

  dnl The library must be the one the header describes.
  old_LIBS="$LIBS"
  old_CPPFLAGS="$CPPFLAGS"
  LIBS="$LIBS $MCRING_SHARED_LIBADD"
  CPPFLAGS="$CPPFLAGS $INCLUDES"
  AC_MSG_CHECKING([that libmcring links])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[
#include <libmcring.h>
  ]], [[ return mcring_shared_health_init() == MCRING_OK ? 0 : mcring_server_count(NULL) > 0; ]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no]); AC_MSG_ERROR([cannot link against libmcring (see config.log)])])
  LIBS="$old_LIBS"
  CPPFLAGS="$old_CPPFLAGS"

  PHP_SUBST([MCRING_SHARED_LIBADD])
  PHP_NEW_EXTENSION([mcring],
    [mcring.c mcring_client.c mcring_codes.c mcring_commands.c mcring_lease.c mcring_multi.c mcring_servers.c mcring_membership.c mcring_report.c mcring_persistent.c mcring_values.c mcring_memcached.c mcring_memcached_options.c mcring_memcached_connection.c mcring_memcached_commands.c mcring_memcached_multi.c mcring_memcached_servers.c mcring_memcached_values.c mcring_session.c],
    [$ext_shared],, [-Wall -Wextra -Wno-unused-parameter])
fi
