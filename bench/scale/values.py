"""Value size: get and set of 10 KB, 100 KB and 1 MB values on one server,
bytes of value per second, with and without compression.

The value is JSON-like text (target/bench/value.txt, made here from a
fixed seed) that zlib's default level shrinks to about a third. Clients,
in the same run, all pinned with the server to CPU 0:

* raw (no compression anywhere): the floor (bench/c/kv_floor.c: a set is
  one writev of header, value and CRLF; a get one recv loop into a buffer,
  so its rate is what the kernel's copies allow), libmemcached, the mcring
  engine, libmcring from C, mcring and pylibmc from Python, mcring and
  php-memcached from PHP (compression off in each);
* compressed (zlib at the default level above 2,000 bytes): libmcring
  through its value codec (mcring_encode_bytes / mcring_value_decode),
  mcring from Python and PHP (their default), pylibmc (min_compress_len=2000),
  php-memcached (OPT_COMPRESSION with zlib; its default is FastLZ).

Ratios are to the raw floor of the same size and op; `memcpy` is the rate
of copying the value once in user space, for scale.

    bench/values.sh [--rounds N] [--sizes 10240,102400,1048576]
"""

from __future__ import annotations

import argparse
import os

import harness as h

RAW = ["floor", "libmemcached", "engine", "libmcring", "py-mcring", "py-pylibmc", "php-mcring",
       "php-php-memcached"]
COMPRESSED = ["libmcring", "py-mcring", "py-pylibmc", "php-mcring", "php-php-memcached"]
LABEL = {"floor": "floor", "libmemcached": "libmemcached", "engine": "engine", "libmcring": "libmcring",
         "py-mcring": "Python mcring", "py-pylibmc": "pylibmc", "php-mcring": "PHP mcring",
         "php-php-memcached": "php-memcached"}


def value_file(size):
    """JSON-like records from a fixed-seed generator, `size` bytes or more."""
    path = os.path.join(h.OUT, "value.txt")
    if os.path.exists(path) and os.path.getsize(path) >= size:
        return path
    words = []
    x = 12345
    for _ in range(600):
        w = ""
        for _ in range(3 + x % 7):
            x = (x * 1103515245 + 12345) % 2**31
            w += "abcdefghijklmnopqrstuvwxyz"[x % 26]
        words.append(w)
    out, i = [], 0
    while sum(map(len, out)) < size:
        x = (x * 1103515245 + 12345) % 2**31
        pick = lambda k: words[(x >> k) % len(words)]  # noqa: E731
        out.append('{"id":%d,"user":"%s","tags":["%s","%s"],"score":%d.%02d,"text":"%s %s %s %s %s"},'
                   % (i, pick(1), pick(3), pick(5), x % 1000, x % 100, pick(2), pick(4), pick(6), pick(8),
                      pick(10)))
        i += 1
    with open(path, "w") as f:
        f.write("".join(out))
    return path


def mb(x):
    return "%.0f" % (x / 1e6)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sizes", default="10240,102400,1048576")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rounds = args.rounds
    if h.SMOKE:
        sizes, rounds = [10240], 1
    h.build_c()
    cmds = h.clients(python=h.venv_python(), php=h.php_command())
    path = value_file(max(sizes))
    server = h.Servers(1, memory_mb=1024, threads=1, item_size="2m")
    raw_rows, z_rows = [], []
    for size in sizes:
        keys = max(8, min(1000, (16 << 20) // size))
        # 1 GB of values a run: from a quarter of a second (the floor, at
        # about 4 GB/s) to a few seconds (the slowest raw client, 300-400
        # MB/s); zlib runs an eighth of that (zlib's default level makes
        # 30-70 MB/s here).
        raw_ops = max(20, int(1e9 // size))
        z_ops = max(10, raw_ops // 8)
        if h.SMOKE:
            raw_ops = z_ops = 20
        env = {"KV_KEYS": keys, "KV_VALUE_LEN": size, "KV_VALUE_FILE": path}
        for op in ["get", "set"]:

            def job(name, compress, op=op, env=env):
                e = dict(env, KV_COMPRESS=1 if compress else 0)
                ops = z_ops if compress else raw_ops
                return lambda: h.run(cmds[name], op, ops, server.names, e)

            jobs = {("raw", n): job(n, False) for n in RAW}
            jobs.update({("zlib", n): job(n, True) for n in COMPRESSED})
            jobs[("memcpy", "floor")] = lambda env=env: h.run(cmds["floor"], "memcpy", int(4e9 // size), server.names, env)
            med = h.median_runs(rounds, {"%s %s %s %d" % (k[0], k[1], op, size): v for k, v in jobs.items()})
            get = lambda mode, name: med["%s %s %s %d" % (mode, name, op, size)][0] * size  # noqa: E731
            floor = get("raw", "floor")
            memcpy = get("memcpy", "floor")
            label = "%s %s" % (op, "%d KB" % (size // 1024) if size < 1 << 20 else "%d MB" % (size >> 20))
            raw_rows.append([label, mb(memcpy), mb(floor)]
                            + ["%s (%s)" % (mb(get("raw", n)), h.ratio(get("raw", n), floor)) for n in RAW[1:]])
            z_rows.append([label, mb(floor)]
                          + ["%s (%s)" % (mb(get("zlib", n)), h.ratio(get("zlib", n), floor))
                             for n in COMPRESSED])
            # The rows so far, should a later one fail.
            h.log("row raw: " + " | ".join(raw_rows[-1]))
            h.log("row zlib: " + " | ".join(z_rows[-1]))
    server.stop()
    how = ("`bench/values.sh --rounds %d`: MB of value per second (10^6 bytes; a get's or a set's "
           "value bytes, uncompressed), ratio to the raw floor of the same row in the same run; "
           "median of %d runs; one server, everything pinned to CPU 0." % (rounds, rounds))
    body = "**Raw (no compression)**\n\n" + h.table(
        ["op, size", "memcpy", "floor"] + [LABEL[n] for n in RAW[1:]], raw_rows)
    body += "\n\n**Compressed (zlib, default level, above 2,000 bytes)**\n\n" + h.table(
        ["op, size", "raw floor"] + [LABEL[n] for n in COMPRESSED], z_rows)
    h.save("values", "Value size: 10 KB to 1 MB", how, body)


if __name__ == "__main__":
    main()
