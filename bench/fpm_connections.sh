#!/usr/bin/env bash
# Connection cost of PHP-FPM: 64 static workers, 50 servers, mcring and
# php-memcached with and without persistent ids; connections per server and
# memory per worker. See bench/scale/fpm_connections.py.
#
#   bench/fpm_connections.sh [--workers 64] [--servers 50] [--requests-per-worker 30]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 bench/scale/fpm_connections.py "$@"
