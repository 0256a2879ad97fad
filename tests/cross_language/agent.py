"""The Python side of the cross-language test (see agent.c for the commands
and the output format)."""

import json
import os
import sys
import threading
import time

import mcring

VALUES = {
    "str": "héllo wörld ✓",
    "empty": "",
    "int": 42,
    "neg": -9000000000,
    "float": 3.25,
    "float2": 0.1,
    "bool_t": True,
    "bool_f": False,
    "map": {"a": 1, "b": [1, 2, 3], "c": "x"},
    "list": [1, "two", 3.5],
    "long": "abcdefgh" * 1000,
}


def shown(value):
    if isinstance(value, bool):
        return "bool " + ("true" if value else "false")
    if isinstance(value, int):
        return f"int {value}"
    if isinstance(value, float):
        return "float " + format(value, ".17g")
    if isinstance(value, (dict, list)):
        return "array " + json.dumps(value, separators=(",", ":"))
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return "string " + (value.hex() or "-")
    return f"other {type(value).__name__}"


def herd(mc, key, log, start_at, threads):
    """`herd KEY LOG START_AT THREADS`: THREADS threads call get_or_set on KEY
    at START_AT (Unix time); the compute appends a line to LOG, sleeps
    200 ms and returns who computed. Prints `<value> <ms waited>` per
    caller."""
    def compute():
        with open(log, "a") as f:
            f.write(f"Python {os.getpid()}\n")
        time.sleep(0.2)
        return f"computed by Python {os.getpid()}"

    out = []
    lock = threading.Lock()

    def caller():
        time.sleep(max(0.0, float(start_at) - time.time()))
        t0 = time.monotonic()
        value = mc.get_or_set(key, compute, 60)
        with lock:
            out.append(f"{value} {(time.monotonic() - t0) * 1000:.0f}")

    ts = [threading.Thread(target=caller) for _ in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("\n".join(out))


def main():
    config, cmd = sys.argv[1], sys.argv[2]
    mc = mcring.Client(config)
    if cmd == "place":
        for line in sys.stdin:
            print(mc.server_for(line.rstrip("\n")))
    elif cmd == "write":
        for name, value in VALUES.items():
            assert mc.set(f"{sys.argv[3]}:{name}", value)
        print("ok")
    elif cmd == "read":
        for name in VALUES:
            value = mc.get(f"{sys.argv[3]}:{name}", default=mcring)
            print(f"{name} missing" if value is mcring else f"{name} {shown(value)}")
    elif cmd == "readkeys":
        for line in sys.stdin:
            key = line.rstrip("\n")
            value = mc.get(key)
            if value is None:
                print(f"{key} missing")
            else:
                data = value.encode() if isinstance(value, str) else value
                print(f"{key} {data.hex() or '-'}")
    elif cmd == "herd":
        herd(mc, *sys.argv[3:7])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
