"""pymemcache's exception classes, all under ``mcring.Error``.

Network failures are raised as mcring's ``ConnectionError`` and
``TimeoutError``, which are the builtin ``OSError`` subclasses pymemcache's
socket errors are (``HashClient`` counts them as server failures).
"""

import mcring


class MemcacheError(mcring.Error):
    """Base class of pymemcache's exceptions."""


class MemcacheClientError(MemcacheError):
    """memcached refused the request (CLIENT_ERROR)."""


class MemcacheUnknownCommandError(MemcacheClientError):
    """memcached does not know the command (ERROR)."""


class MemcacheIllegalInputError(MemcacheClientError):
    """A key or value memcached cannot take (refused before anything is sent)."""


class MemcacheServerError(MemcacheError):
    """memcached failed the request (SERVER_ERROR), or the value is too large."""


class MemcacheUnknownError(MemcacheError):
    """A reply that is not memcached's."""


class MemcacheUnexpectedCloseError(MemcacheServerError, mcring.ConnectionError):
    """The server closed the connection."""


def translate(e):
    """pymemcache's exception for an mcring exception; network failures
    stay as they are (they are ``OSError``)."""
    message = str(e)
    if isinstance(e, (mcring.BadKeyError, mcring.BadValueError)):
        if "max_value_bytes" in message:
            return MemcacheServerError("object too large for cache: " + message)
        return MemcacheIllegalInputError(message)
    if isinstance(e, mcring.ProtocolError):
        return MemcacheUnknownError(message)
    if isinstance(e, mcring.ServerError):
        if "CLIENT_ERROR" in message or "non-numeric" in message:
            return MemcacheClientError(message)
        if "command not supported" in message:
            return MemcacheUnknownCommandError(message)
        return MemcacheServerError(message)
    if isinstance(e, mcring.ConnectionError) and "closed by server" in message:
        return MemcacheUnexpectedCloseError(message)
    return e
