"""pylibmc's exception classes, and the one place where mcring's exceptions
become them.

Every class is a subclass of ``mcring.pylibmc.Error`` (pylibmc's base), which
is itself an ``mcring.Error``; where mcring has a class for the same failure
it is a subclass of that one too (``ConnectionError`` of
``mcring.ConnectionError``, so of the builtin ``ConnectionError`` and
``OSError``; ``TimeoutError`` of ``mcring.TimeoutError`` ...). Bad keys and
bad values stay ``mcring.BadKeyError`` and ``mcring.BadValueError``: both
are ``ValueError``, which pylibmc raises for them.
"""

import mcring


class Error(mcring.Error):
    """pylibmc's base exception (also ``MemcachedError``)."""


MemcachedError = Error


class CacheMiss(Error):
    """Raised by a ``deserialize`` override to make a value read as a miss."""


def _subclass(name, *bases, doc=""):
    return type(name, (Error,) + bases, {"__module__": __name__, "__doc__": doc})


# pylibmc's names for libmemcached's return codes, in its order.
Failure = _subclass("Failure")
HostLookupError = _subclass("HostLookupError")
ConnectionError = _subclass(
    "ConnectionError", mcring.ConnectionError, doc="A server could not be reached."
)
ConnectionBindError = _subclass("ConnectionBindError")
WriteError = _subclass("WriteError")
ReadError = _subclass("ReadError")
UnknownReadFailure = _subclass("UnknownReadFailure")
ProtocolError = _subclass(
    "ProtocolError", mcring.ProtocolError, doc="A server sent a reply that is not memcached's."
)
ClientError = _subclass(
    "ClientError", mcring.ServerError, doc="A server refused the request (CLIENT_ERROR)."
)
ServerError = _subclass("ServerError", mcring.ServerError, doc="A server answered SERVER_ERROR.")
SocketCreateError = _subclass("SocketCreateError")
DataExists = _subclass("DataExists")
DataDoesNotExist = _subclass("DataDoesNotExist")
NotFound = _subclass("NotFound", doc="incr/decr of a key that does not exist.")
AllocationError = _subclass("AllocationError")
SomeErrors = _subclass("SomeErrors")
NoServers = _subclass("NoServers", mcring.ConnectionError, doc="No server is configured.")
UnixSocketError = _subclass("UnixSocketError")
NotSupportedError = _subclass("NotSupportedError")
FetchNotFinished = _subclass("FetchNotFinished")
BadKeyProvided = _subclass("BadKeyProvided")
InvalidHostProtocolError = _subclass("InvalidHostProtocolError")
ServerDead = _subclass("ServerDead", mcring.ServerDownError)
ServerDown = _subclass(
    "ServerDown",
    mcring.ServerDownError,
    doc="The server is marked dead after repeated failures and was not tried.",
)
TooBig = _subclass(
    "TooBig", mcring.BadValueError, doc="The value is larger than the largest item allowed."
)
UnknownStatKey = _subclass("UnknownStatKey")
# libmemcached reports a timeout as a failed read or write; mcring tells it
# apart (it is also mcring.TimeoutError, so the builtin TimeoutError).
TimeoutError = type(
    "TimeoutError",
    (ReadError, mcring.TimeoutError),
    {"__module__": __name__, "__doc__": "A server did not answer in time."},
)

# A refused login (pylibmc has no class of its own for it: libmemcached's
# AUTH_FAILURE is a plain pylibmc.Error there); also mcring.AuthError.
AuthError = _subclass(
    "AuthError", mcring.AuthError, doc="The server refused the login (memcached -Y)."
)

# pylibmc raises TypeError for a key or an argument of the wrong type.
ArgumentTypeError = type(
    "ArgumentTypeError",
    (Error, TypeError),
    {"__module__": __name__, "__doc__": "A key or argument of the wrong type (a TypeError)."},
)

#: (name, class) of every exception, as pylibmc's ``exceptions``.
exceptions = [
    (cls.__name__, cls)
    for cls in [
        Error, CacheMiss, Failure, HostLookupError, ConnectionError, ConnectionBindError,
        WriteError, ReadError, UnknownReadFailure, ProtocolError, ClientError, ServerError,
        SocketCreateError, DataExists, DataDoesNotExist, NotFound, AllocationError,
        SomeErrors, NoServers, UnixSocketError, NotSupportedError, FetchNotFinished,
        BadKeyProvided, InvalidHostProtocolError, ServerDead, ServerDown, TooBig,
        UnknownStatKey,
    ]
]
errors = tuple(cls for _, cls in exceptions)


def translate(e):
    """pylibmc's exception for an mcring exception (raise it ``from e``)."""
    message = str(e)
    if isinstance(e, mcring.TimeoutError):
        return TimeoutError(message)
    if isinstance(e, mcring.ServerDownError):
        return ServerDown(message)
    if isinstance(e, mcring.AuthError):
        return AuthError(message)
    if isinstance(e, mcring.ConnectionError):
        if getattr(e, "server", None) is None:
            return NoServers(message)
        return ConnectionError(message)
    if isinstance(e, mcring.ProtocolError):
        return ProtocolError(message)
    if isinstance(e, mcring.ServerError):
        if "CLIENT_ERROR" in message or "non-numeric" in message:
            return ClientError(message)
        if "too large" in message:
            return TooBig(message)
        return ServerError(message)
    if isinstance(e, mcring.BadValueError) and "max_value_bytes" in message:
        return TooBig(message)
    if isinstance(e, mcring.BadValueError) and isinstance(e.__cause__, Exception):
        # pickle's own exception, as pylibmc lets it through.
        return e.__cause__
    if isinstance(e, mcring.BadKeyError) and "must be str or bytes" in message:
        return ArgumentTypeError(message)
    if isinstance(e, mcring.BadValueError) and "must be an int" in message:
        return ArgumentTypeError(message)
    return e

__all__ = [name for name, _ in exceptions] + ["MemcachedError", "TimeoutError", "AuthError"]
