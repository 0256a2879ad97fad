"""server_for equals the system libmemcached's memcached_server_by_key, over
random server lists and keys. libmemcached is called through ctypes and only
computes: the 10.x hosts named here are never dialed."""

import ctypes
import ctypes.util
import random

import pytest

import mcring

# enum memcached_behavior_t (libmemcached-1.0/types/behavior.h)
BEHAVIOR_KETAMA = 3
BEHAVIOR_KETAMA_WEIGHTED = 16


def load_libmemcached():
    path = ctypes.util.find_library("memcached") or "libmemcached.so.11"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:  # a missing oracle fails the test, never skips it
        raise RuntimeError("the system libmemcached is needed (apt-get install libmemcached11)") from e
    lib.memcached_create.restype = ctypes.c_void_p
    lib.memcached_create.argtypes = [ctypes.c_void_p]
    lib.memcached_free.argtypes = [ctypes.c_void_p]
    lib.memcached_behavior_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64]
    lib.memcached_behavior_set.restype = ctypes.c_int
    lib.memcached_server_add_with_weight.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_uint16,
        ctypes.c_uint32,
    ]
    lib.memcached_server_add_with_weight.restype = ctypes.c_int
    lib.memcached_server_by_key.restype = ctypes.c_void_p
    lib.memcached_server_by_key.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.memcached_server_name.restype = ctypes.c_char_p
    lib.memcached_server_name.argtypes = [ctypes.c_void_p]
    lib.memcached_server_port.restype = ctypes.c_uint16
    lib.memcached_server_port.argtypes = [ctypes.c_void_p]
    return lib


LIB = load_libmemcached()


def libmemcached_owners(servers, keys, behavior):
    """What libmemcached says owns each key."""
    memc = LIB.memcached_create(None)
    assert memc
    try:
        if behavior is not None:
            assert LIB.memcached_behavior_set(memc, behavior, 1) == 0
        for host, port, weight in servers:
            assert LIB.memcached_server_add_with_weight(memc, host.encode(), port, weight) == 0
        owners = []
        rc = ctypes.c_int(0)
        for key in keys:
            instance = LIB.memcached_server_by_key(memc, key, len(key), ctypes.byref(rc))
            assert instance, "libmemcached placed no server (rc %d)" % rc.value
            name = LIB.memcached_server_name(instance).decode()
            owners.append("%s:%d" % (name, LIB.memcached_server_port(instance)))
        return owners
    finally:
        LIB.memcached_free(memc)


def random_servers(rng):
    servers = []
    names = set()
    count = rng.randint(1, 12)
    while len(servers) < count:
        if rng.random() < 0.5:
            host = "10.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
        else:
            host = "cache-%d.example" % rng.randint(0, 99)
        port = rng.choice([11211, 11212, rng.randint(1024, 65535)])
        if (host, port) in names:
            continue
        names.add((host, port))
        servers.append((host, port, rng.randint(1, 5)))
    return servers


def random_keys(rng, n):
    keys = []
    for _ in range(n):
        length = rng.randint(1, 60)
        keys.append(bytes(rng.choice(range(33, 127)) for _ in range(length)))
    return keys


@pytest.mark.parametrize(
    "distribution,behavior,weighted",
    [
        ("ketama-weighted", BEHAVIOR_KETAMA_WEIGHTED, True),
        ("ketama", BEHAVIOR_KETAMA, False),
        ("modula", None, False),
    ],
)
def test_server_for_matches_libmemcached(distribution, behavior, weighted):
    rng = random.Random(20240611 + len(distribution))
    for _ in range(40):
        servers = random_servers(rng)
        if not weighted:
            servers = [(h, p, 1) for h, p, _ in servers]
        keys = random_keys(rng, 200)
        mc = mcring.Client(["%s:%d:%d" % s for s in servers], distribution=distribution)
        expected = libmemcached_owners(servers, keys, behavior)
        assert [mc.server_for(k) for k in keys] == expected, servers
        # str keys are placed by their UTF-8 bytes.
        assert mc.server_for(keys[0].decode()) == expected[0]


def test_weights_move_keys():
    """Sanity check that the oracle comparison above can fail: weights change
    placement, and the oracle sees it."""
    servers = [("10.0.0.1", 11211, 1), ("10.0.0.2", 11211, 1)]
    heavy = [("10.0.0.1", 11211, 1), ("10.0.0.2", 11211, 5)]
    keys = random_keys(random.Random(1), 300)
    light_owners = libmemcached_owners(servers, keys, BEHAVIOR_KETAMA_WEIGHTED)
    heavy_owners = libmemcached_owners(heavy, keys, BEHAVIOR_KETAMA_WEIGHTED)
    assert light_owners != heavy_owners
    mc = mcring.Client(["10.0.0.1:11211:1", "10.0.0.2:11211:5"])
    assert [mc.server_for(k) for k in keys] == heavy_owners
