"""Threads: 1, 2, 8 and 32 threads of one process running single-key gets
(1,000 keys, 100-byte values, 3 servers), ops/s of the whole process and
the connections it opened (memcached's total_connections on every server,
before and after the run).

Clients, in the same run: the floor (bench/c/kv_floor.c, its own sockets
per thread), libmemcached with one memcached_st per thread (its handles
are not thread-safe), one mcring client shared by every thread through
libmcring (C; with the default pool_size=32 idle connections per server,
and with the old default pool_size=8), and from Python one shared mcring.Client against pylibmc's
ThreadMappedPool (a clone of the client per thread). Each server is its own
memcached process (2 threads). Two placements: everything pinned to CPU 0
(the CPU cost of sharing: locks, wake-ups), and clients and servers free on
both CPUs (what concurrency buys on this 2-core machine).

    bench/threads.sh [--rounds N] [--threads 1,2,8,32] [--modes pinned,free]
"""

from __future__ import annotations

import argparse

import harness as h

SERVERS = 3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", default="1,2,8,32")
    p.add_argument("--modes", default="pinned,free")
    p.add_argument("--ops", type=int, default=100000)
    args = p.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    modes = args.modes.split(",")
    rounds, ops = args.rounds, args.ops
    if h.SMOKE:
        counts, modes, rounds, ops = [1, 4], ["pinned"], 1, 2000
    h.build_c()
    py = h.venv_python()
    cmds = h.clients(python=py)
    names = ["floor", "libmemcached", "libmcring", "libmcring-pool8", "py-mcring", "py-pylibmc"]
    # mcring keeps pool_size (32) idle connections per server; more threads
    # in requests at once than that return connections the pool closes. The
    # same with the old default of 8:
    cmds["libmcring-pool8"] = cmds["libmcring"]
    sections = []
    for mode in modes:
        cpus = "0" if mode == "pinned" else "0-1"
        servers = h.Servers(SERVERS, cpus=cpus, threads=2)
        rows = []
        for n in counts:

            def job(name, n=n):
                def go():
                    before = [int(h.server_stats(p)["total_connections"]) for p in servers.ports]
                    c = ops // 2 if name.startswith("py-") else ops
                    env = {"KV_THREADS": n}
                    if name == "libmcring-pool8":
                        env["KV_MCRING_OPTIONS"] = "pool_size=8"
                    got = h.run(cmds[name], "get", max(c, n), servers.names, env, cpus=cpus)
                    after = [int(h.server_stats(p)["total_connections"]) for p in servers.ports]
                    # Each stats query is a connection of its own.
                    opened = sum(a - b - 1 for a, b in zip(after, before))
                    return got + [opened]

                return go

            med = h.median_runs(rounds, {name: job(name) for name in names})
            f = med["floor"][0]
            row = [n, "%.0f" % f]
            row += ["%.0f (%s)" % (med[c][0], h.ratio(med[c][0], f)) for c in names[1:]]
            row += ["%.0f" % med[c][1] for c in names]
            rows.append(row)
        servers.stop()
        header = ["threads", "floor ops/s", "libmemcached", "mcring (libmcring)", "mcring pool_size=8",
                  "Python mcring", "pylibmc pool"]
        header += ["conns " + c for c in ["floor", "libmemcached", "mcring", "mcring pool_size=8", "py-mcring",
                                          "pylibmc"]]
        title = ("pinned to CPU 0" if mode == "pinned" else "clients and servers on both CPUs")
        sections.append("**%s**\n\n%s" % (title, h.table(header, rows)))
    how = ("`bench/threads.sh --rounds %d`: single-key gets, %d per run (Python: %d) split over the "
           "threads; ops/s of the process with the ratio to the floor at the same thread count; "
           "conns = connections the process opened over its run (preload included), summed over "
           "the %d servers; median of %d runs." % (rounds, ops, ops // 2, SERVERS, rounds))
    h.save("threads", "Threads sharing one client", how, "\n\n".join(sections))


if __name__ == "__main__":
    main()
