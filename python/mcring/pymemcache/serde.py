"""pymemcache's serializers: the ``serde`` objects a client calls as
``serialize(key, value) -> (bytes, flags)`` and
``deserialize(key, bytes, flags) -> value``.

The flags are python-memcached's (also pylibmc's): 0 bytes, 1 pickle,
2 int, 4 long, 8 compressed, 16 text.
"""

import logging
import pickle
import zlib
from functools import partial

FLAG_BYTES = 0
FLAG_PICKLE = 1 << 0
FLAG_INTEGER = 1 << 1
FLAG_LONG = 1 << 2
FLAG_COMPRESSED = 1 << 3
FLAG_TEXT = 1 << 4

DEFAULT_PICKLE_VERSION = pickle.HIGHEST_PROTOCOL


def _python_memcache_serializer(key, value, pickle_version=None):
    # Exact types: a subclass of str or int is pickled, so it comes back as
    # itself.
    kind = type(value)
    if kind is bytes:
        return value, FLAG_BYTES
    if kind is str:
        return value.encode("utf8"), FLAG_TEXT
    if kind is int:
        return b"%d" % value, FLAG_INTEGER
    return pickle.dumps(value, pickle_version), FLAG_PICKLE


def get_python_memcache_serializer(pickle_version=DEFAULT_PICKLE_VERSION):
    """A serializer pickling with ``pickle_version``."""
    return partial(_python_memcache_serializer, pickle_version=pickle_version)


python_memcache_serializer = get_python_memcache_serializer()


def python_memcache_deserializer(key, value, flags):
    """The value of stored bytes by their flags; a pickle that cannot be
    loaded reads as None (logged)."""
    if flags == 0:
        return value
    if flags & FLAG_TEXT:
        return value.decode("utf8")
    if flags & (FLAG_INTEGER | FLAG_LONG):
        return int(value)
    if flags & FLAG_PICKLE:
        try:
            return pickle.loads(value)
        except Exception:  # noqa: BLE001 (pymemcache reads a bad pickle as None)
            logging.info("Pickle error", exc_info=True)
            return None
    return value


class PickleSerde:
    """bytes, str and int as themselves, anything else pickled."""

    def __init__(self, pickle_version=DEFAULT_PICKLE_VERSION):
        self._serialize_func = get_python_memcache_serializer(pickle_version)

    def serialize(self, key, value):
        return self._serialize_func(key, value)

    def deserialize(self, key, value, flags):
        return python_memcache_deserializer(key, value, flags)


pickle_serde = PickleSerde()


class CompressedSerde:
    """Another serde's output, compressed when longer than
    ``min_compress_len`` and smaller for it (flag 8)."""

    def __init__(self, compress=zlib.compress, decompress=zlib.decompress,
                 serde=pickle_serde, min_compress_len=400):
        self._serde = serde
        self._compress = compress
        self._decompress = decompress
        self._min_compress_len = min_compress_len

    def serialize(self, key, value):
        data, flags = self._serde.serialize(key, value)
        if self._min_compress_len > 0 and len(data) > self._min_compress_len:
            packed = self._compress(data)
            if len(packed) <= len(data):
                return packed, flags | FLAG_COMPRESSED
        return data, flags

    def deserialize(self, key, value, flags):
        if flags & FLAG_COMPRESSED:
            value = self._decompress(value)
        return self._serde.deserialize(key, value, flags)


compressed_serde = CompressedSerde()


class LegacyWrappingSerde:
    """A serde of the old ``serializer``/``deserializer`` functions; without
    them values are stored as they are and read back as bytes."""

    def __init__(self, serializer_func, deserializer_func):
        self.serialize = serializer_func or self._default_serialize
        self.deserialize = deserializer_func or self._default_deserialize

    def _default_serialize(self, key, value):
        return value, 0

    def _default_deserialize(self, key, value, flags):
        return value
