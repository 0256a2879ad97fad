"""mcring: a memcached client with libmemcached-exact key placement.

Keys land on the same servers as with php-memcached (``OPT_LIBKETAMA_COMPATIBLE``)
and pylibmc (``ketama_weighted``), and values are stored with php-memcached's
flags, so PHP and Python services sharing a pool read each other's values.
The engine is written in Rust and shared with the C and PHP bindings.

    import mcring

    mc = mcring.Client(["10.0.0.1:11211", "10.0.0.2:11211:2"], replicas=1)
    mc.set("user:42", {"name": "Ada"}, ttl=300)
    mc.get("user:42")        # {'name': 'Ada'}

Code written for pylibmc or pymemcache runs on the same engine through
``mcring.pylibmc`` and ``mcring.pymemcache``; ``mcring.django`` and
``mcring.flask`` are cache backends for Django and Flask-Caching.
"""

from ._mcring import (
    AuthError,
    BadKeyError,
    BadValueError,
    Client,
    ConfigError,
    ConnectionError,
    Error,
    InterruptedError,
    ProtocolError,
    ServerDownError,
    ServerError,
    TimeoutError,
    UnreadableValueError,
    __version__,
    shared_health,
)

# `ConnectionError`, `TimeoutError` and `InterruptedError` share their names
# with builtins (and subclass them): they are reached as `mcring.X`, and
# `from mcring import *` leaves the builtins alone.
__all__ = [
    "AuthError",
    "BadKeyError",
    "BadValueError",
    "Client",
    "ConfigError",
    "Error",
    "ProtocolError",
    "ServerDownError",
    "ServerError",
    "UnreadableValueError",
    "__version__",
    "shared_health",
]
