"""pymemcache.client: the clients, as pymemcache exports them."""

from .base import Client, KeepaliveOpts, PooledClient
from .hash import HashClient

__all__ = ["Client", "HashClient", "KeepaliveOpts", "PooledClient"]
