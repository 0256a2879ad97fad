"""One Python client running one benchmark workload, as the C clients do.

    python kv_client.py <mcring|pylibmc|pymemcache> <op> <ops> <host:port>...

prints ``<ops_per_second>`` (``<ops/s> <p50_us> <p99_us>`` with KV_LATENCY=1),
for the workloads bench/c/kv_common.h defines, read from the same
environment: KV_KEYS, KV_MULTI, KV_VALUE_LEN, KV_VALUE_FILE, KV_THREADS,
KV_LATENCY, KV_RSS_EVERY. Ops: get, set, mget, mset, mdel, mixed.

    KV_COMPRESS=1   mcring: compress_threshold=2000 (its default; otherwise 0)
                    pylibmc: min_compress_len=2000 (otherwise no compression)
    KV_THREADS=N    N threads share one mcring.Client; pylibmc threads take
                    their own client from a pylibmc.ThreadMappedPool
    KV_MCRING_OPTIONS   extra mcring options, "name=value name=value"

Values are bytes. Run by the scale benchmarks (bench/scale/), pinned by them.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def env(name, default):
    value = os.environ.get(name, "")
    return int(value) if value else default


KEYS = env("KV_KEYS", 1000)
MULTI = env("KV_MULTI", 100)
THREADS = env("KV_THREADS", 1)
LATENCY = env("KV_LATENCY", 0) == 1
COMPRESS = env("KV_COMPRESS", 0) == 1
VALUE_LEN = env("KV_VALUE_LEN", 100)


def load_value():
    path = os.environ.get("KV_VALUE_FILE", "")
    if not path:
        return b"x" * VALUE_LEN
    with open(path, "rb") as f:
        data = f.read(VALUE_LEN)
    if len(data) < VALUE_LEN:
        raise SystemExit("KV_VALUE_FILE is shorter than KV_VALUE_LEN")
    return data


def make_client(name, servers):
    """A factory of per-thread clients (mcring: the same one every time)."""
    if name == "mcring":
        import mcring

        options = dict(kv.split("=", 1) for kv in os.environ.get("KV_MCRING_OPTIONS", "").split())
        for k, v in list(options.items()):
            if v.isdigit():
                options[k] = int(v)
        options.setdefault("compress_threshold", 2000 if COMPRESS else 0)
        client = mcring.Client(servers, **options)
        return lambda: client, client
    if name == "pylibmc":
        import pylibmc

        behaviors = {"ketama_weighted": True, "tcp_nodelay": True}
        if os.environ.get("KV_PYLIBMC_DIST") == "modula":
            behaviors = {"distribution": "modula", "tcp_nodelay": True}
        base = pylibmc.Client(servers, binary=False, behaviors=behaviors)
        if THREADS == 1:
            return lambda: base, base
        pool = pylibmc.ThreadMappedPool(base)
        local = threading.local()
        # The pool's clones (memcached_clone of libmemcached 1.0.16) lose
        # ketama_weighted and place about half the keys elsewhere than
        # `base` does; the keys are preloaded through a clone so that every
        # thread finds them.

        def per_thread():
            # The pool maps each thread to its own clone of `base`.
            if not hasattr(local, "mc"):
                local.ctx = pool.reserve()
                local.mc = local.ctx.__enter__()
            return local.mc

        return per_thread, per_thread()
    if name == "pymemcache":
        from pymemcache.client.hash import HashClient

        hosts = [(s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])) for s in servers]
        client = HashClient(hosts, no_delay=True)
        return lambda: client, client
    raise SystemExit("unknown client " + name)


def compress_args(name):
    if name == "pylibmc" and COMPRESS:
        return {"min_compress_len": 2000}
    return {}


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def main():
    name, op, ops, *servers = sys.argv[1:]
    ops = int(ops)
    value = load_value()
    keys = ["py%s:%d" % (name, i) for i in range(KEYS)]
    extra = compress_args(name)
    per_thread, main_client = make_client(name, servers)
    mc = main_client

    def batch(i):
        base = (i * MULTI) % KEYS
        if base + MULTI <= KEYS:
            return keys[base : base + MULTI]
        return [keys[(base + k) % KEYS] for k in range(MULTI)]

    for key in keys:
        mc.set(key, value, **extra)
    if mc.get(keys[0]) != value:
        raise SystemExit("preloaded key does not read back")

    if op == "mixed":
        return mixed(mc, keys, batch, value, ops, extra)

    def one_op(c, i):
        if op == "get":
            if c.get(keys[i % KEYS]) is None:
                # A read that timed out goes to the failover target, and
                # misses there: the counters say.
                counters = c.stats() if name == "mcring" else ""
                raise SystemExit("preloaded key missing %s" % (counters,))
        elif op == "set":
            c.set(keys[i % KEYS], value, **extra)
        elif op == "mget":
            if len(c.get_multi(batch(i))) != MULTI:
                raise SystemExit("preloaded keys missing")
        elif op == "mset":
            c.set_multi({k: value for k in batch(i)}, **extra)
        elif op == "mdel":
            c.delete_multi(batch(i))
        else:
            raise SystemExit("unknown op " + op)

    lat = []
    busy = [0.0] * THREADS
    errors = []

    def worker(t, first, n):
        try:
            run_span(t, first, n)
        except BaseException as e:  # a thread's exception would be lost
            errors.append(e)

    def run_span(t, first, n):
        c = per_thread()
        timed = LATENCY or op == "mdel"
        clock = time.perf_counter
        mine = []
        for i in range(first, first + n):
            if op == "mdel":
                c.set_multi({k: value for k in batch(i)})
            if timed:
                t0 = clock()
                one_op(c, i)
                d = clock() - t0
                busy[t] += d
                mine.append(d)
            else:
                one_op(c, i)
        lat.extend(mine)

    share = ops // THREADS
    spans = [(t, share * t, share + (ops % THREADS if t == THREADS - 1 else 0)) for t in range(THREADS)]
    start = time.perf_counter()
    if THREADS == 1:
        worker(*spans[0])
    else:
        threads = [threading.Thread(target=worker, args=s) for s in spans]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    seconds = time.perf_counter() - start
    if errors:
        raise SystemExit("%s: %r" % (name, errors[0]))
    if op == "mdel":
        seconds = max(busy)
    if op == "mset" and len(mc.get_multi(batch(ops - 1))) != MULTI:
        raise SystemExit("mset: keys missing afterwards")
    if op == "mdel" and mc.get_multi(batch(spans[0][1] + spans[0][2] - 1)):
        raise SystemExit("mdel: keys left afterwards")
    if LATENCY:
        lat.sort()
        print("%.0f %.1f %.1f" % (ops / seconds, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6))
    else:
        print("%.0f" % (ops / seconds))


def mixed(mc, keys, batch, value, ops, extra):
    """bench/memory.sh's mix, as kv_mixed in bench/c/kv_common.h."""
    every = env("KV_RSS_EVERY", 1000000)
    big = b"y" * (200 * 1024)
    absent = ["absent:%d" % i for i in range(KEYS)]
    print("rss 0 %d" % rss_kib(), flush=True)
    start = time.perf_counter()
    for i in range(ops):
        r = i % 100
        if r < 60:
            mc.get(keys[i % KEYS])
        elif r < 65:
            mc.get(absent[i % KEYS])
        elif r < 85:
            mc.set(keys[i % KEYS], value, **extra)
        elif r < 90:
            mc.delete_multi([keys[i % KEYS]])
        elif r < 95:
            mc.get_multi(batch(i))
        elif r < 99:
            mc.set_multi({k: value for k in batch(i)}, **extra)
        else:
            mc.set("big:0", big, **extra)
            mc.get("big:0")
        if (i + 1) % every == 0:
            print("rss %d %d" % (i + 1, rss_kib()), flush=True)
    print("%.0f" % (ops / (time.perf_counter() - start)))


if __name__ == "__main__":
    main()
