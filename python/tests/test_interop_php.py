"""php-memcached 3.2 (the php CLI, JSON serializer, libketama-compatible
placement) and mcring read each other's values as the same values, through
real memcached."""

import json
import math
import subprocess

import pytest

import mcring

PRELUDE = r"""
error_reporting(E_ALL);
$m = new Memcached();
$m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
$m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON);
foreach (array_slice($argv, 1) as $port) { $m->addServer('127.0.0.1', (int)$port); }
function show($k, $v) {
    echo $k, '|', gettype($v), '|', is_string($v) ? bin2hex($v) : json_encode($v), "\n";
}
"""


def php(servers, code):
    """Runs PHP code with $m connected to the servers; returns its output."""
    out = subprocess.run(
        ["php", "-r", PRELUDE + code, "--"] + [str(s.port) for s in servers],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Warning" not in out.stdout and "Notice" not in out.stdout, out.stdout
    return out.stdout


def shown(output):
    """{key: (php type, value text)} from show() lines."""
    result = {}
    for line in output.splitlines():
        key, kind, text = line.split("|", 2)
        result[key] = (kind, text)
    return result


PY_TO_PHP = {
    # key: (python value, php gettype, what show() prints)
    "str": ("héllo ✓", "string", "héllo ✓".encode().hex()),
    "empty": ("", "string", ""),
    "bytes": (b"\x00\xffbin", "string", "00ff62696e"),
    "int": (-42, "integer", "-42"),
    "imax": (2**63 - 1, "integer", "9223372036854775807"),
    "float": (1.5, "double", "1.5"),
    "small": (0.1, "double", "0.1"),
    "big": (1e300, "double", "1.0e+300"),
    "true": (True, "boolean", "true"),
    "false": (False, "boolean", "false"),
    "none": (None, "NULL", "null"),
    "list": ([1, "x", [2.5, None]], "array", '[1,"x",[2.5,null]]'),
    "dict": ({"a": 1, "b": {"c": [True]}}, "object", '{"a":1,"b":{"c":[true]}}'),
    "long": ("abc" * 3000, "string", ("abc" * 3000).encode().hex()),
    "longdict": ({"k": ["v"] * 3000}, "object", json.dumps({"k": ["v"] * 3000}, separators=(",", ":"))),
}


def test_python_writes_php_reads(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    mc = mcring.Client([s.addr for s in servers])
    for key, (value, _, _) in PY_TO_PHP.items():
        assert mc.set(key, value)
    for key in ("long", "longdict"):
        stored = [s.raw_get(key) for s in servers if s.addr == mc.server_for(key)][0]
        assert stored[0] & 0x30 == 0x30, "compressed with zlib, php-memcached's way"
    out = shown(php(servers, "foreach (%s as $k) { show($k, $m->get($k)); }" % php_list(PY_TO_PHP)))
    for key, (_, kind, text) in PY_TO_PHP.items():
        assert out[key] == (kind, text), key
    # incr from PHP works on Python's int, and Python reads the result.
    mc.set("counter", 5)
    assert php(servers, "echo $m->increment('counter', 50);") == "55"
    assert mc.get("counter") == 55


def php_list(keys):
    return "[" + ",".join("'%s'" % k for k in keys) + "]"


PHP_WRITES = r"""
$values = [
    'str' => 'héllo ✓',
    'bin' => "\xff\x00abc",
    'empty' => '',
    'int' => -42,
    'imin' => PHP_INT_MIN,
    'float' => 1.5,
    'half' => 0.5,
    'exp' => 1.0e-7,
    'inf' => INF,
    'true' => true,
    'false' => false,
    'null' => null,
    'list' => [1, 'x', [2.5, null]],
    'assoc' => ['a' => 1, 'b' => ['c' => [true]]],
    'fastlz' => str_repeat('fastlz ', 2000),
];
foreach ($values as $k => $v) { if (!$m->set($k, $v)) { echo "set $k failed\n"; } }
$m->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_ZLIB);
$m->set('zlib', str_repeat('zlib ', 2000));
$m->set('zlibjson', array_fill(0, 1000, 'zlib'));
"""


def test_php_writes_python_reads(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    assert php(servers, PHP_WRITES) == ""
    mc = mcring.Client([s.addr for s in servers])
    expected = {
        "str": "héllo ✓",
        "bin": b"\xff\x00abc",
        "empty": "",
        "int": -42,
        "imin": -(2**63),
        "float": 1.5,
        "half": 0.5,
        "exp": 1.0e-7,
        "inf": math.inf,
        "true": True,
        "false": False,
        "list": [1, "x", [2.5, None]],
        "assoc": {"a": 1, "b": {"c": [True]}},
        "fastlz": "fastlz " * 2000,
        "zlib": "zlib " * 2000,
        "zlibjson": ["zlib"] * 1000,
    }
    for key, value in expected.items():
        got = mc.get(key)
        assert type(got) is type(value) and got == value, key
    assert mc.get("null", "missing") is None, "PHP null is stored (as JSON null)"
    assert mc.get_multi(list(expected)) == expected
    # The compressed values really were compressed by PHP, each its own way.
    flags = {k: next(s.raw_get(k) for s in servers if s.raw_get(k))[0] for k in ("fastlz", "zlib")}
    assert flags["fastlz"] & 0x50 == 0x50 and flags["zlib"] & 0x30 == 0x30


def test_same_placement_both_ways(start_memcached):
    servers = [start_memcached() for _ in range(3)]
    mc = mcring.Client([s.addr for s in servers])
    php(servers, "for ($i = 0; $i < 200; $i++) { $m->set('php' . $i, $i); }")
    keys = ["php%d" % i for i in range(200)]
    assert mc.get_multi(keys) == {k: i for i, k in enumerate(keys)}
    for key in keys[:20]:
        owner = next(s for s in servers if s.addr == mc.server_for(key))
        assert owner.raw_get(key) is not None
    mc.set_multi({"py%d" % i: i for i in range(200)})
    out = php(servers, "for ($i = 0; $i < 200; $i++) { show('py' . $i, $m->get('py' . $i)); }")
    assert shown(out) == {"py%d" % i: ("integer", str(i)) for i in range(200)}
