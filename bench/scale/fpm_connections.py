"""Connection cost of PHP-FPM: a static pool of 64 workers, 50 memcached
servers, every request making its client (with or without a persistent id)
and fetching 100 keys spread over the servers (bench/php/fpm_app.php).

After the requests (64 in flight at a time, through FastCGI from here):
the connections each server holds (established sockets, from ss), the
connections opened over the run (memcached's total_connections), and each
worker's memory (VmRSS, and the private memory from smaps_rollup) against a
pool whose requests make no client at all. Every pool loads the same
extensions (igbinary, msgpack, php-memcached, mcring) with `php-fpm -n`,
so only what the client does differs. Not pinned: this measures state, not
CPU.

    bench/fpm_connections.sh [--workers 64] [--servers 50] [--requests-per-worker 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

import harness as h

APP = os.path.join(h.ROOT, "bench", "php", "fpm_app.php")
# libmemcached's timeouts, as the other benchmarks use (bench/scale/harness.py).
MCRING_OPTIONS = json.dumps({k: int(v) for k, v in (kv.split("=") for kv in h.MCRING_TIMEOUTS.split())})

# ---- a FastCGI client (the responder role, one request per connection) ----------


def _record(kind, content, request_id=1):
    return struct.pack("!BBHHBx", 1, kind, request_id, len(content), 0) + content


def _pair(name, value):
    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)

    return length(len(name)) + length(len(value)) + name + value


def fcgi_get(port, script, query, timeout=30):
    """GETs `script` with `query` from the FastCGI server on `port`; the body."""
    params = {"SCRIPT_FILENAME": script, "REQUEST_METHOD": "GET", "GATEWAY_INTERFACE": "CGI/1.1",
              "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1"}
    body = b"".join(_pair(k.encode(), v.encode()) for k, v in params.items())
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(_record(1, struct.pack("!HB5x", 1, 0)) + _record(4, body) + _record(4, b"")
                  + _record(5, b""))
        data, out = b"", b""
        while True:
            while len(data) >= 8:
                _, kind, _, clen, plen = struct.unpack("!BBHHB", data[:7])
                if len(data) < 8 + clen + plen:
                    break
                content = data[8:8 + clen]
                data = data[8 + clen + plen:]
                if kind == 6:
                    out += content
                elif kind == 3:
                    return out.split(b"\r\n\r\n", 1)[-1]
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("FastCGI connection closed early")
            data += chunk


# ---- the pool ----------------------------------------------------------------------


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def memory_kib(pid):
    """(VmRSS, private) of a process, in KiB."""
    rss = private = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                private += int(line.split()[1])
    return rss, private


class Pool:
    def __init__(self, workers, php_ext, work):
        fpm = shutil.which("php-fpm8.2") or shutil.which("php-fpm")
        if not fpm:
            raise SystemExit("php-fpm is needed")
        self.port = h.free_ports(1)[0]
        conf = os.path.join(work, "fpm-%d.conf" % self.port)
        root = "user = root\ngroup = root\n" if os.geteuid() == 0 else ""
        with open(conf, "w") as f:
            f.write("[global]\npid = %s/fpm-%d.pid\nerror_log = %s/fpm-%d.log\ndaemonize = no\n\n"
                    "[bench]\n%slisten = 127.0.0.1:%d\nlisten.backlog = 1024\npm = static\n"
                    "pm.max_children = %d\nclear_env = no\n"
                    % (work, self.port, work, self.port, root, self.port, workers))
        cmd = [fpm, "-n", "-R", "-F", "-y", conf] + [a for x in php_ext for a in ("-d", x)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=h._die_with_parent)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if len(children(self.proc.pid)) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("php-fpm did not start")

    def workers(self):
        return children(self.proc.pid)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def drive(port, queries, parallel):
    """Sends every query, `parallel` at a time; the decoded replies."""
    replies = [None] * len(queries)
    lock = threading.Lock()
    next_index = [0]

    def worker():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= len(queries):
                return
            body = fcgi_get(port, APP, queries[i])
            try:
                replies[i] = json.loads(body)
            except ValueError:
                replies[i] = {"error": body[:300].decode(errors="replace")}

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def total_connections(servers):
    """Connections the servers accepted so far, not counting the stats
    queries made here (memcached counts per process; one query each)."""
    firsts = {}
    for port in servers.ports:
        firsts.setdefault(servers.owner[port].pid, port)
    total = sum(int(h.server_stats(p)["total_connections"]) for p in firsts.values())
    servers.queries = getattr(servers, "queries", 0) + len(firsts)
    return total - servers.queries


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=64)
    p.add_argument("--servers", type=int, default=50)
    p.add_argument("--requests-per-worker", type=int, default=30)
    args = p.parse_args()
    workers, nservers, per = args.workers, args.servers, args.requests_per_worker
    if h.SMOKE:
        workers, nservers, per = 4, 3, 3
    php = h.php_command()
    extensions = [a for a in php[2:] if a.startswith("extension=")]
    servers = h.Servers(nservers, processes=max(1, nservers // 10), cpus="0-1", memory_mb=64,
                        max_conns=8192)
    names = ",".join(servers.names)
    work = tempfile.mkdtemp(prefix="mcring-fpm-bench-")
    cases = [("no client (baseline)", "none", ""), ("mcring, persistent id", "mcring", "bench"),
             ("php-memcached, persistent id", "php-memcached", "bench"),
             ("mcring, no persistent id", "mcring", ""), ("php-memcached, no persistent id", "php-memcached", "")]
    results = []
    try:
        for label, client, pid in cases:
            pool = Pool(workers, extensions, work)
            if client == "none":
                pre = drive(pool.port, [urllib.parse.urlencode({"client": "preload", "servers": names,
                                                                "options": MCRING_OPTIONS})], 1)
                if pre[0].get("found") != 1000:
                    raise SystemExit("preload failed: %r" % pre)
            opened0 = total_connections(servers)
            n = workers * per
            queries = [urllib.parse.urlencode({"client": client, "servers": names, "pid": pid, "n": i,
                                               "options": MCRING_OPTIONS}) for i in range(n)]
            start = time.monotonic()
            replies = drive(pool.port, queries, workers)
            seconds = time.monotonic() - start
            bad = [r for r in replies if "error" in r]
            if bad:
                raise SystemExit("%s: %d bad replies, e.g. %r" % (label, len(bad), bad[0]))
            # A multi-get leaves out the keys of servers it could not reach
            # in time (a stall of the shared machine): counted, not hidden.
            partial = sum(1 for r in replies if client != "none" and r.get("found") != 100)
            served = {r["pid"] for r in replies}
            time.sleep(0.5)  # closed sockets leave the established state
            held = h.established(servers.ports)
            opened = total_connections(servers) - opened0
            mem = [memory_kib(w) for w in pool.workers()]
            pool.stop()
            results.append({
                "label": label, "requests": n, "rps": n / seconds, "served": len(served), "partial": partial,
                "held": sorted(held.values()), "opened": opened / nservers,
                "rss": statistics.median(m[0] for m in mem), "private": statistics.median(m[1] for m in mem),
            })
            h.log("%s: %r" % (label, results[-1]))
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)
    base = results[0]
    rows = []
    for r in results:
        held = r["held"]
        rows.append([r["label"], "%d / %d" % (r["served"], workers), "%.0f" % r["rps"], r["partial"],
                     "%d / %d / %d" % (held[0], statistics.median(held), held[-1]),
                     "%.1f" % r["opened"], "%.0f" % r["rss"], "%+.0f" % (r["rss"] - base["rss"]),
                     "%+.0f" % (r["private"] - base["private"])])
    how = ("`bench/fpm_connections.sh`: PHP-FPM `pm = static` with %d workers, %d memcached servers "
           "(%d processes, several ports each), %d requests (%d per worker) %d at a time, each making "
           "its client and fetching 100 of 1,000 keys (about %d distinct servers per request). "
           "Connections held = established sockets per server after the run (min / median / max over "
           "the servers); opened = connections accepted per server during the run; memory = median "
           "over the workers, KiB, and the difference from the baseline pool (kernel socket buffers "
           "are not in RSS)." % (workers, nservers, max(1, nservers // 10), workers * per, per, workers,
                                  round(nservers * (1 - (1 - 1 / nservers) ** 100))))
    header = ["client", "workers that served", "requests/s", "requests missing keys", "connections held per server",
              "opened per server", "worker RSS KiB", "RSS vs baseline", "private vs baseline"]
    h.save("fpm_connections", "PHP-FPM: 64 workers, 50 servers", how, h.table(header, rows))


if __name__ == "__main__":
    main()
