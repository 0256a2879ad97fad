"""Fan-out width: one multi-get of 1,000 keys (100-byte values) over 10, 50
and 200 memcached servers on loopback, calls per second and the latency of
the call (median and p99 of every call of the run).

Clients, in the same run: the floor (bench/c/kv_floor.c: raw blocking
sockets, key i on server i % n, every server's `get` line written before
any reply is read), libmemcached 1.1.4 (memcached_mget + fetch,
ketama-weighted; modula at 200 servers, where Debian's 1.1.4 aborts on a
ketama ring over 100 servers), the mcring engine (bench/src/kv.rs,
get_multi_with), libmcring from C (mcring_get_multi), and from Python
mcring.Client.get_multi and pylibmc 1.6 (its bundled libmemcached 1.0.16,
ketama-weighted at every width). Servers are spread over 8 memcached
processes (several listening ports each, `-l host:p1,host:p2,...`), one
thread each; servers and clients all pinned to CPU 0, so a call's
latency is all the CPU work it causes, client and servers together.

At the widest width the engine also runs with `fanout_window=N` for each
N of --windows (at most N keys awaiting replies per call, against incast),
beside the same engine without a window. On loopback there is no switch
buffer to overflow, so these columns show what the window costs, not what
it saves.

    bench/fanout.sh [--rounds N] [--widths 10,50,200] [--windows 100,20]
                    [--clients floor,libmemcached,engine,...]
"""

from __future__ import annotations

import argparse

import harness as h

KEYS = 1000
CLIENTS = ["floor", "libmemcached", "engine", "libmcring", "py-mcring", "py-pylibmc"]
TITLES = {"libmemcached": "libmemcached", "engine": "engine", "libmcring": "libmcring",
          "py-mcring": "Python mcring", "py-pylibmc": "pylibmc"}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--widths", default="10,50,200")
    p.add_argument("--calls", type=int, default=0, help="calls per run (default: by width)")
    p.add_argument("--windows", default="100,20",
                   help="fanout_window values the engine also runs with at the widest width ('' for none)")
    p.add_argument("--clients", default=",".join(CLIENTS),
                   help="clients to run (the floor always runs); default all")
    args = p.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    windows = [int(w) for w in args.windows.split(",") if w]
    rounds = args.rounds
    if h.SMOKE:
        widths, rounds = [3], 1
    chosen = set(args.clients.split(",")) | {"floor"}
    unknown = chosen - set(CLIENTS)
    if unknown:
        raise SystemExit("unknown clients: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(CLIENTS)))
    names = [c for c in CLIENTS if c in chosen]
    h.build_c()
    py = h.venv_python() if any(c.startswith("py-") for c in names) else None
    cmds = h.clients(python=py)
    # The engine with a window: a column of its own, run at the widest width.
    windowed = ["engine window=%d" % w for w in windows] if "engine" in names else []
    rows = []
    for n in widths:
        servers = h.Servers(n, processes=8, memory_mb=64)
        calls = args.calls or (20 if h.SMOKE else {10: 600, 50: 400}.get(n, 250))
        env = {"KV_KEYS": KEYS, "KV_MULTI": KEYS, "KV_LATENCY": 1}
        lm_env = dict(env, KV_LMC_DIST="modula" if n > 100 else "ketama")

        def job(name, window=None):
            e = lm_env if name == "libmemcached" else env
            if window is not None:
                e = dict(env, KV_MCRING_OPTIONS="fanout_window=%d" % window)
            # Python clients take ~10x longer per call: fewer calls.
            c = calls // 4 if name.startswith("py-") else calls
            return lambda: h.run(cmds[name], "mget", max(c, 10), servers.names, e)

        jobs = {name: job(name) for name in names}
        if n == max(widths):
            for label, w in zip(windowed, windows):
                jobs[label] = job("engine", w)
        med = h.median_runs(rounds, jobs)
        servers.stop()
        f = med["floor"][0]
        cols = names[1:] + windowed
        row = [n, KEYS, "%.0f" % f]
        row += ["%.0f (%s)" % (med[c][0], h.ratio(med[c][0], f)) if c in med else "-" for c in cols]
        row += ["%.0f / %.0f" % (med[c][1], med[c][2]) if c in med else "-" for c in names + windowed]
        rows.append(row)
    header = ["servers", "keys/call", "floor calls/s"] + [TITLES[c] for c in names[1:]] + windowed
    header += ["p50 / p99 µs " + c for c in names + windowed]
    how = ("`bench/fanout.sh --rounds %d`: calls/s of a 1,000-key multi-get, with the ratio to the "
           "floor in the same run; latency of the call, median and p99 over every call of the run; "
           "each figure the median of %d runs. libmemcached is ketama-weighted at 10 and 50 servers "
           "and modula at 200 (Debian's 1.1.4 aborts on a ketama ring over 100 servers); pylibmc's "
           "bundled libmemcached 1.0.16 is ketama-weighted throughout. Servers spread over 8 memcached "
           "processes; everything pinned to CPU 0." % (rounds, rounds))
    if windowed:
        how += (" `engine window=N`: the engine with `fanout_window=N`, at %d servers only (loopback: no "
                "switch buffer for the window to protect)." % max(widths))
    h.save("fanout", "Fan-out width: 1,000-key multi-get", how, h.table(header, rows))


if __name__ == "__main__":
    main()
