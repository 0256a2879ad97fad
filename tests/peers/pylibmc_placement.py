"""Answers placement questions with pylibmc and the libmemcached it bundles.

Speaks the placement oracle's line protocol (tests/oracle/oracle.c): servers,
keys, keyshex, place, quit. Only computes: Client.hash() is libmemcached's
memcached_generate_hash, which hashes the key and looks the continuum up
without dialing a server.

Set up as pylibmc users do: behaviors first, servers in the constructor.
 - ketama-weighted: {"ketama_weighted": True} (key hash MD5). pylibmc applies
   "hash" before "ketama_weighted", which would reset it to MD5, so another
   hash is set after construction; the weighted continuum is built from MD5
   digests of the server names only, so it does not depend on the key hash.
 - ketama: {"ketama": True, "hash": h}; modula: {"hash": h}.
pylibmc cannot weight a unix socket nor mix sockets with TCP servers; such
lists are answered with "error".

The libmemcached 1.0.16 in pylibmc's wheel sizes its continuum for 100 points
per server while it is unweighted and only grows it when the server count
outgrows it, so a consistent distribution that turns weighted (a weight > 1
added after weight-1 servers, with {"ketama": True}) writes up to 160 points
per server past the end of the buffer: heap corruption (seen with valgrind
and as "mremap_chunk(): invalid pointer"). Such lists are answered with
"error" rather than with what a corrupted heap gives.
"""

import sys

import pylibmc

HASHES = {
    "one_at_a_time": "default",
    "md5": "md5",
    "crc": "crc",
    "fnv1_64": "fnv1_64",
    "fnv1a_64": "fnv1a_64",
    "fnv1_32": "fnv1_32",
    "fnv1a_32": "fnv1a_32",
    "hsieh": "hsieh",
    "murmur": "murmur",
    "jenkins": "jenkins",
    "murmur3": "murmur3",
}

out = sys.stdout

# The ketama-weighted client of the current list, whose key hash is changed
# after construction (see the module docstring).
LATE_HASH_CLIENTS = {}


def read_line():
    line = sys.stdin.buffer.readline()
    if not line:
        raise SystemExit("input ended early")
    if line.endswith(b"\n"):
        line = line[:-1]
    return line


def fatal(reason):
    out.write("fatal %s\n" % reason)
    out.flush()
    sys.exit(2)


def read_servers(n):
    specs = []
    for _ in range(n):
        fields = read_line().decode().split(" ")
        if fields[0] == "tcp" and len(fields) == 4:
            host, port, weight = fields[1], int(fields[2]), int(fields[3])
            shown = "[%s]" % host if ":" in host else host
            specs.append(("tcp", "%s:%d:%d" % (shown, port, weight), weight))
        elif fields[0] == "unix" and len(fields) == 3:
            path, weight = fields[1], int(fields[2])
            specs.append(("unix", path, weight))
        else:
            fatal("bad server line %r" % fields)
    return specs


def read_keys(n, hexed):
    keys = []
    for _ in range(n):
        line = read_line()
        keys.append(bytes.fromhex(line.decode()) if hexed else line)
    return keys


def overflows_continuum(weights, weighted):
    """Whether libmemcached 1.0.16's update_continuum, run after each server
    is added, would write past its continuum buffer."""
    capacity_servers = 0
    capacity_points = 0
    for live, weight in enumerate(weights, start=1):
        if weight > 1:
            weighted = True
        per_server = 160 if weighted else 100
        if live > capacity_servers:
            capacity_servers = live + 10
            capacity_points = capacity_servers * per_server
        # A weighted continuum has at most 160 points per server.
        if live * per_server > capacity_points:
            return True
    return False


def place(specs, keys, distribution, hash_name):
    head = "place %s %s " % (distribution, hash_name)
    if hash_name != "default":
        pylibmc_hash = HASHES.get(hash_name)
        if pylibmc_hash not in pylibmc.hashers:
            return head + "unsupported pylibmc has no hash %s\n" % hash_name
    kinds = {kind for kind, _, _ in specs}
    if len(kinds) > 1:
        return head + "error pylibmc cannot mix unix sockets and TCP servers\n"
    if any(kind == "unix" and weight not in (0, 1) for kind, _, weight in specs):
        return head + "error pylibmc cannot weight a unix socket\n"
    weights = [weight for _, _, weight in specs]
    if distribution != "modula" and overflows_continuum(weights, distribution == "ketama-weighted"):
        return head + "error pylibmc's libmemcached 1.0.16 would overflow its continuum buffer\n"
    servers = [spec for _, spec, _ in specs]
    behaviors = {}
    late = {}
    if distribution == "ketama-weighted":
        behaviors["ketama_weighted"] = True
        if hash_name != "default":
            late["hash"] = HASHES[hash_name]
    elif distribution == "ketama":
        behaviors["ketama"] = True
        if hash_name != "default":
            behaviors["hash"] = HASHES[hash_name]
    elif distribution == "modula":
        if hash_name != "default":
            behaviors["hash"] = HASHES[hash_name]
    else:
        return head + "error unknown distribution\n"
    try:
        if late:
            # One client per list serves every late hash.
            cache_key = (tuple(servers), distribution)
            client = LATE_HASH_CLIENTS.get(cache_key)
            if client is None:
                LATE_HASH_CLIENTS.clear()
                client = pylibmc.Client(servers, behaviors=behaviors)
                LATE_HASH_CLIENTS[cache_key] = client
            client.behaviors = late
        else:
            client = pylibmc.Client(servers, behaviors=behaviors)
    except pylibmc.Error as e:
        reason = str(e).replace("\n", " ")
        status = "unsupported" if "memcached_behavior_set" in reason else "error"
        return head + "%s %s\n" % (status, reason)
    lines = [head + "ok %d\n" % len(keys)]
    for key in keys:
        lines.append("%d\n" % client.hash(key))
    return "".join(lines)


def main():
    specs = []
    keys = []
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            break
        fields = line.decode().split()
        if not fields:
            fatal("empty command")
        command = fields[0]
        if command == "servers" and len(fields) == 2:
            specs = read_servers(int(fields[1]))
            out.write("ok %d\n" % len(specs))
        elif command in ("keys", "keyshex") and len(fields) == 2:
            keys = read_keys(int(fields[1]), command == "keyshex")
            out.write("ok %d\n" % len(keys))
        elif command == "place" and len(fields) == 3:
            out.write(place(specs, keys, fields[1], fields[2]))
        elif command == "quit":
            break
        else:
            fatal("unknown command %r" % line)
        out.flush()


main()
