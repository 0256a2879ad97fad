"""pymemcache's interface on the mcring engine.

Code written for pymemcache runs with one line changed::

    from mcring.pymemcache.client.hash import HashClient
    from mcring.pymemcache import serde

    mc = HashClient([("10.0.0.1", 11211), ("10.0.0.2", 11211)], serde=serde.pickle_serde)
    mc.set("user:42", {"name": "Ada"}, expire=300)

or, for code that imports pymemcache by name (Django's ``PyMemcacheCache``),
``sys.modules["pymemcache"] = mcring.pymemcache`` (and its submodules, see
``alias()``). Arguments, return values, exceptions and the ``serde`` hook
are pymemcache 4's; placement is libmemcached's ketama (not pymemcache's
rendezvous hashing), failover and timeouts are the engine's.
"""

import sys

from . import exceptions, serde
from .client.base import Client, KeepaliveOpts, PooledClient
from .client.hash import HashClient
from .exceptions import (
    MemcacheClientError,
    MemcacheError,
    MemcacheIllegalInputError,
    MemcacheServerError,
    MemcacheUnexpectedCloseError,
    MemcacheUnknownCommandError,
    MemcacheUnknownError,
)

__version__ = "4.0.0"

__all__ = [
    "Client",
    "HashClient",
    "KeepaliveOpts",
    "MemcacheClientError",
    "MemcacheError",
    "MemcacheIllegalInputError",
    "MemcacheServerError",
    "MemcacheUnexpectedCloseError",
    "MemcacheUnknownCommandError",
    "MemcacheUnknownError",
    "PooledClient",
    "alias",
]


def alias(name="pymemcache"):
    """Makes ``import pymemcache`` (and ``pymemcache.client.hash``,
    ``pymemcache.serde`` ...) import this module: for code and frameworks
    that import pymemcache by name. Call it before they import it."""
    prefix = __name__
    for module_name, module in list(sys.modules.items()):
        if module_name == prefix or module_name.startswith(prefix + "."):
            sys.modules[name + module_name[len(prefix):]] = module
