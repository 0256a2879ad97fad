"""pylibmc's interface on the mcring engine.

Code written for pylibmc runs with one line changed::

    import mcring.pylibmc as pylibmc

    mc = pylibmc.Client(["10.0.0.1", "10.0.0.2:11212"], binary=True,
                        behaviors={"ketama_weighted": True, "num_replicas": 1})
    mc.set("user:42", {"name": "Ada"}, time=300)

or, for code and frameworks that import pylibmc by name (Django's
``PyLibMCCache``), ``sys.modules["pylibmc"] = mcring.pylibmc`` before they do.
The module mirrors pylibmc's layout: ``Client``, ``ClientPool``,
``ThreadMappedPool``, the exceptions (``Error``, ``NotFound``, ``ServerDown``,
``TooBig``, ...), ``hashers``, ``distributions``, ``pylibmc.client``,
``pylibmc.pools``, ``pylibmc.consts``. Values use pylibmc's flags, so pylibmc
and this client read each other's values; keys land where libmemcached (and
so pylibmc) puts them.
"""

from . import client, consts, errors, pools
from .client import Client, all_behaviors, all_callbacks, distributions, hashers
from .errors import *  # noqa: F401,F403 (pylibmc's exception names)
from .errors import exceptions
from .pools import ClientPool, ThreadMappedPool

import mcring as _mcring

__version__ = "1.6.3"
#: The engine behind this module (pylibmc reports its libmemcached here).
libmemcached_version = "mcring " + _mcring.__version__
support_compression = True
support_sasl = False
server_type_tcp = 1
server_type_udp = 2
server_type_unix = 4


def build_info():
    return "pylibmc %s for %s (compression=%s, sasl=%s)" % (
        __version__,
        libmemcached_version,
        support_compression,
        support_sasl,
    )


__all__ = [
    "Client",
    "ClientPool",
    "ThreadMappedPool",
    "distributions",
    "hashers",
    "build_info",
    "exceptions",
] + [name for name, _ in exceptions]


def alias(name="pylibmc"):
    """Makes ``import pylibmc`` (and ``pylibmc.pools`` ...) import this
    module: for code and frameworks that import pylibmc by name. Call it
    before they import it."""
    import sys

    prefix = __name__
    for module_name, module in list(sys.modules.items()):
        if module_name == prefix or module_name.startswith(prefix + "."):
            sys.modules[name + module_name[len(prefix):]] = module


__all__.append("alias")
