"""``Client.cached``: a function's results cached through ``get_or_set``, so
that one call computes a missing result while concurrent callers with the
same arguments (in any thread, process or language sharing the pool) wait
for it."""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Callable


def default_key(func: Callable[..., Any], args: tuple, kwargs: dict) -> str:
    """``module.qualname:`` and a digest of the arguments' ``repr``: the same
    in every process for arguments whose ``repr`` is stable (str, int,
    tuples of them...), and always a valid memcached key."""
    described = repr((args, sorted(kwargs.items())))
    digest = hashlib.sha1(described.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{func.__module__}.{func.__qualname__}:{digest}"


def cached(client: Any, ttl: int, key: Any, lease_ttl: Any, recache_s: Any, stale_ttl: Any):
    if key is not None and not (isinstance(key, str) or callable(key)):
        raise TypeError("key must be a str template, a callable or None")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if key is None:
                k = default_key(func, args, kwargs)
            elif isinstance(key, str):
                k = key.format(*args, **kwargs)
            else:
                k = key(*args, **kwargs)
            return client.get_or_set(
                k,
                lambda: func(*args, **kwargs),
                ttl,
                lease_ttl=lease_ttl,
                recache_s=recache_s,
                stale_ttl=stale_ttl,
            )

        wrapper.cache_key = lambda *args, **kwargs: (  # type: ignore[attr-defined]
            default_key(func, args, kwargs)
            if key is None
            else key.format(*args, **kwargs)
            if isinstance(key, str)
            else key(*args, **kwargs)
        )
        return wrapper

    return decorate
