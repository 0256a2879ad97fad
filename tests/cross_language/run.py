"""One ring, three languages: C (libmcring), Python (the mcring wheel) and
PHP (the mcring extension), plus php-memcached as the peer they replace,
against one pool of three real memcached servers on loopback.

Shows that
- all of them put each of 10,000 keys on the same server;
- every language reads the values every other language wrote as the same
  values (strings, integers, floats, booleans, arrays, a compressed string);
- with replicas=1 and a server killed, C, Python and PHP still read every
  key, from the same replica;
- 8 PHP processes, 8 Python threads and 2 C processes reading one missing
  key through the lease (getOrSet / get_or_set / mcring_get_or_lease), with
  a 200 ms compute, compute it once and all get the winner's value.

Run by scripts/test.sh with the built pieces in the environment:
MCRING_PREFIX (libmcring installed there), MCRING_PHP_EXT (mcring.so),
and this interpreter must have the mcring wheel installed.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = os.environ["MCRING_PREFIX"]
PHP_EXT = os.environ["MCRING_PHP_EXT"]
WORK = tempfile.mkdtemp(prefix="mcring-cross-")
failures = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_memcached():
    for _ in range(20):
        port = free_port()
        args = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "1"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"version\r\n")
                    if s.recv(100).startswith(b"VERSION"):
                        return proc, port
            except OSError:
                time.sleep(0.02)
            if proc.poll() is not None:
                break
        proc.kill()
    sys.exit("could not start memcached")


def raw_get(port, key):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"get " + key.encode() + b"\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.startswith(b"VALUE ")


def build_c_agent():
    out = os.path.join(WORK, "agent")
    subprocess.run(
        ["cc", "-O2", "-Wall", "-Werror", "-o", out, os.path.join(HERE, "agent.c"),
         f"-I{PREFIX}/include", f"-L{PREFIX}/lib", "-lmcring", f"-Wl,-rpath,{PREFIX}/lib"],
        check=True,
    )
    return out


def agents(c_agent):
    php = ["php", "-n", "-d", f"extension={PHP_EXT}", os.path.join(HERE, "agent.php")]
    return {
        "C": lambda config: [c_agent, config],
        "Python": lambda config: [sys.executable, os.path.join(HERE, "agent.py"), config],
        "PHP": lambda config: php + ["mcring", config],
        "php-memcached": lambda config: ["php", os.path.join(HERE, "agent.php"), "php-memcached", config],
    }


def run(argv, stdin=""):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, encoding="utf-8")
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}...: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def normalized(line):
    """A read line with JSON parsed, so encoders' spacing does not matter."""
    name, kind, *rest = line.split(" ", 2)
    value = rest[0] if rest else ""
    if kind == "array":
        value = json.dumps(json.loads(value), sort_keys=True, separators=(",", ":"))
    return f"{name} {kind} {value}"


EXPECTED = [
    "str string " + "héllo wörld ✓".encode().hex(),
    "empty string -",
    "int int 42",
    "neg int -9000000000",
    "float float 3.25",
    "float2 float " + format(0.1, ".17g"),
    "bool_t bool true",
    "bool_f bool false",
    'map array {"a":1,"b":[1,2,3],"c":"x"}',
    'list array [1,"two",3.5]',
    "long string " + (b"abcdefgh" * 1000).hex(),
]


def main():
    servers = [start_memcached() for _ in range(3)]
    config = " ".join(f"127.0.0.1:{port}" for _, port in servers)
    langs = agents(build_c_agent())
    try:
        print("placement: 10,000 keys, four clients")
        rng = random.Random(7)
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:_-.é東京ü"
        keys = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(10_000)]
        keys = [k for k in keys if len(k.encode()) <= 250]
        answers = {name: run(argv(config) + ["place"], "\n".join(keys) + "\n").splitlines()
                   for name, argv in langs.items()}
        for name, placed in answers.items():
            same = placed == answers["php-memcached"]
            check(same and len(placed) == len(keys),
                  f"{name}: {len(placed)} keys placed as php-memcached (libmemcached) places them")
        counts = {s: answers["C"].count(s) for s in sorted(set(answers["C"]))}
        print(f"     keys per server: {counts}")

        print("values: each client writes, every client reads")
        for writer, wargv in langs.items():
            tag = "from-" + writer.lower()
            out = run(wargv(config) + ["write", tag])
            check(out.strip() == "ok", f"{writer} wrote its values")
            for reader, rargv in langs.items():
                got = [normalized(l) for l in run(rargv(config) + ["read", tag]).splitlines()]
                expected = [normalized(l) for l in EXPECTED]
                wrong = [f"{g!r} (want {e!r})" for g, e in zip(got, expected) if g != e]
                check(got == expected, f"{reader} reads what {writer} wrote" +
                      (f": {wrong[:3]}" if wrong else ""))

        print("stampede: 8 PHP processes, 8 Python threads, 2 C processes on one missing key")
        log = os.path.join(WORK, "computes.log")
        open(log, "w").close()
        start_at = f"{time.time() + 2.0:.3f}"  # after every interpreter started
        herd = [("PHP", langs["PHP"](config) + ["herd", "herd:key", log, start_at]) for _ in range(8)]
        herd.append(("Python (8 threads)", langs["Python"](config) + ["herd", "herd:key", log, start_at, "8"]))
        herd += [("C", langs["C"](config) + ["herd", "herd:key", log, start_at]) for _ in range(2)]
        procs = [(name, subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                 for name, a in herd]
        lines = []
        failed = []
        for name, p in procs:
            out, err = p.communicate(timeout=60)
            if p.returncode != 0:
                failed.append(f"{name}: exit {p.returncode}: {err.strip()}")
            lines += out.splitlines()
        check(not failed, f"all {len(procs)} processes exited 0" + (f": {failed}" if failed else ""))
        with open(log) as f:
            computed = f.read().split("\n")[:-1]
        check(len(computed) == 1, f"one compute of {len(lines)} callers: {computed}")
        values = {line.rsplit(" ", 1)[0] for line in lines}
        winner = computed[0] if computed else "?"
        check(len(lines) == 18 and values == {f"computed by {winner}"},
              f"every caller got the winner's value ({winner}): {sorted(values)}")
        waits = sorted(int(line.rsplit(" ", 1)[1]) for line in lines if line)
        if waits:
            print(f"     waited: median {waits[len(waits) // 2]} ms, max {waits[-1]} ms (compute 200 ms)")

        print("replicas=1, one server killed: C, Python and PHP read every key")
        replicated = config + " replicas=1 connect_timeout_ms=300 io_timeout_ms=500"
        import mcring  # the wheel under test
        mc = mcring.Client(replicated)
        names = [f"rep:{i}" for i in range(1000)]
        for key in names:
            assert mc.set(key, f"value-{key}")
        victim_proc, victim_port = servers[1]
        victim = f"127.0.0.1:{victim_port}"
        victim_proc.send_signal(signal.SIGKILL)
        victim_proc.wait()
        orphaned = [k for k in names if mc.server_for(k) == victim]
        check(len(orphaned) > 100, f"{len(orphaned)} keys had the killed server as primary")
        want = "\n".join(f"{k} {('value-' + k).encode().hex()}" for k in names)
        for lang in ("C", "Python", "PHP"):
            got = run(langs[lang](replicated) + ["readkeys"], "\n".join(names) + "\n").strip()
            missing = got.count(" missing")
            check(got == want, f"{lang}: {len(names) - missing} of {len(names)} keys read, values intact")
        # The replica each of them read from: the same server, the key's
        # second copy, holds the value (and no other live server does).
        ports = {f"127.0.0.1:{p}": p for _, p in servers if p != victim_port}
        on_replica = 0
        for key in orphaned:
            copies = mc.copies_for(key)
            holders = [name for name, p in ports.items() if raw_get(p, key)]
            on_replica += holders == [copies[1]]
        check(on_replica == len(orphaned), "every orphaned key lives on exactly its replica")
    finally:
        for proc, _ in servers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(WORK, ignore_errors=True)
    if failures:
        print(f"\ncross-language: {len(failures)} failed")
        sys.exit(1)
    print("\ncross-language: all passed")


if __name__ == "__main__":
    main()
