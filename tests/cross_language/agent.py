"""The Python side of the cross-language test (see agent.c for the commands
and the output format)."""

import json
import sys

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
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
