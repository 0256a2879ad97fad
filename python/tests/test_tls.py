"""TLS and authentication against real memcached (-Z, -Y): every command
over TLS and with a login, the refusal cases with their messages, and no
password in any message, repr() or stats."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time

import pytest

import mcring

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "hunter2-Py7k"


@pytest.fixture(scope="module")
def pki() -> str:
    """The test certificates (tests/tls/make-pki.sh), made once."""
    d = tempfile.mkdtemp(prefix="mcring-pki-")
    subprocess.run(["bash", os.path.join(ROOT, "tests/tls/make-pki.sh"), d], check=True)
    return d


@pytest.fixture
def authfile(tmp_path) -> str:
    path = tmp_path / "authfile"
    path.write_text(f"app:{SECRET}\n")
    return str(path)


@pytest.fixture
def password_file(tmp_path) -> str:
    path = tmp_path / "password"
    path.write_text(SECRET + "\n")
    return str(path)


def tls_server(start_memcached, pki: str, cert: str = "server", *extra: str, require_client=False):
    options = f"ssl_chain_cert={pki}/{cert}.pem,ssl_key={pki}/{cert}.key"
    if require_client:
        options += f",ssl_ca_cert={pki}/ca.pem,ssl_verify_mode=2"
    return start_memcached("-Z", "-o", options, *extra)


def tls_options(pki: str) -> dict:
    return dict(tls=True, tls_ca=f"{pki}/ca.pem", connect_timeout_ms=2000, io_timeout_ms=2000)


def every_command(c: mcring.Client) -> None:
    c.flush_all()
    assert c.set("k", "v1")
    assert c.get("k") == "v1"
    assert not c.add("k", "x")
    assert c.add("new", b"n")
    assert c.replace("k", "v2")
    assert c.append("k", "-a") and c.prepend("k", "p-")
    assert c.get("k") == "p-v2-a"
    value, cas = c.gets("k")
    assert value == "p-v2-a" and c.cas("k", "v3", cas) and not c.cas("k", "v4", cas)
    assert c.touch("k", 100)
    assert c.set("n", 10) and c.incr("n", 5) == 15 and c.decr("n", 3) == 12
    assert c.set("obj", {"a": [1, 2]}) and c.get("obj") == {"a": [1, 2]}
    big = os.urandom(700_000)
    assert c.set("big", big) and c.get("big") == big
    mapping = {f"m{i}": f"value {i}" for i in range(100)}
    assert c.set_multi(mapping) == []
    assert c.get_multi(list(mapping)) == mapping
    c.delete_multi(list(mapping))
    assert c.get_multi(list(mapping)) == {}
    assert c.delete("k") and not c.delete("k")
    c["item"] = "via mapping"
    assert "item" in c and c["item"] == "via mapping"
    assert all(v.startswith("1.") for v in c.version().values())
    assert all("pid" in s for s in c.server_stats().values())


def test_every_command_over_tls_with_a_login(start_memcached, pki, authfile, password_file):
    servers = [tls_server(start_memcached, pki, "server", "-Y", authfile) for _ in range(2)]
    c = mcring.Client(
        [m.addr for m in servers], username="app", password_file=password_file, **tls_options(pki)
    )
    every_command(c)
    total = {k: sum(s[k] for s in c.stats().values()) for k in ("tls_handshakes", "tls_resumptions", "connects")}
    assert total["tls_handshakes"] + total["tls_resumptions"] == total["connects"] > 0


def test_every_command_with_a_login_in_plaintext(start_memcached, authfile):
    m = start_memcached("-Y", authfile)
    every_command(mcring.Client(f"{m.addr} username=app password={SECRET}"))


def test_client_certificates_and_a_mixed_pool(start_memcached, pki):
    strict = tls_server(start_memcached, pki, require_client=True)
    plain = start_memcached()
    c = mcring.Client(
        [f"{strict.addr},tls=true", plain.addr],
        tls_ca=f"{pki}/ca.pem",
        tls_cert=f"{pki}/client.pem",
        tls_key=f"{pki}/client.key",
    )
    every_command(c)
    assert c.servers == [strict.addr, plain.addr]


def test_sessions_are_resumed_on_reconnect(start_memcached, pki):
    m = tls_server(start_memcached, pki)
    c = mcring.Client([m.addr], **tls_options(pki))
    c.set("r", 1)
    c.close()
    assert c.get("r") == 1
    assert c.stats()[m.addr]["tls_resumptions"] >= 1


def first_failure(client: mcring.Client, limit: float) -> mcring.Error:
    start = time.monotonic()
    with pytest.raises(mcring.Error) as info:
        client.set("x", 1)
    assert time.monotonic() - start < limit
    return info.value


@pytest.mark.parametrize(
    "cert, reason",
    [
        ("server-other-ca", "not signed by a trusted CA"),
        ("server-expired", "has expired"),
        ("server-wrong-name", "not valid for the server's name"),
    ],
)
def test_bad_server_certificates_are_refused(start_memcached, pki, cert, reason):
    m = tls_server(start_memcached, pki, cert)
    e = first_failure(mcring.Client([m.addr], **tls_options(pki)), 2.5)
    assert isinstance(e, mcring.ConnectionError) and reason in str(e), e
    assert e.server == m.addr


def test_a_missing_client_certificate_is_refused(start_memcached, pki):
    m = tls_server(start_memcached, pki, require_client=True)
    e = first_failure(mcring.Client([m.addr], **tls_options(pki)), 2.5)
    assert isinstance(e, mcring.ConnectionError) and "client certificate" in str(e), e


def test_plaintext_and_tls_mismatches_fail_within_the_timeouts(start_memcached, pki):
    tls = tls_server(start_memcached, pki)
    plain = start_memcached()
    e = first_failure(mcring.Client([tls.addr], connect_timeout_ms=500, io_timeout_ms=500), 1.5)
    assert isinstance(e, mcring.ConnectionError) and "set tls=true" in str(e), e
    options = dict(tls_options(pki), connect_timeout_ms=500, io_timeout_ms=500)
    e = first_failure(mcring.Client([plain.addr], **options), 1.5)
    assert "TLS" in str(e), e


def test_a_wrong_or_missing_password_is_an_auth_error(start_memcached, pki, authfile):
    m = tls_server(start_memcached, pki, "server", "-Y", authfile)
    c = mcring.Client([m.addr], username="app", password="wrong-" + SECRET, **tls_options(pki))
    with pytest.raises(mcring.AuthError) as info:
        c.get("k")
    e = info.value
    assert isinstance(e, mcring.Error) and e.server == m.addr
    assert "refused the login" in str(e)
    assert "refused the login" in c.health()[m.addr]["error"]
    for text in (str(e), repr(e), repr(c), str(c.stats()), str(c.health())):
        assert SECRET not in text
    with pytest.raises(mcring.AuthError, match="requires a login"):
        mcring.Client([m.addr], **tls_options(pki)).get("k")
    for bad in ({"password": SECRET}, {"username": "app", "password": SECRET + " x"}):
        with pytest.raises(mcring.ConfigError) as info:
            mcring.Client([m.addr], **bad)
        assert SECRET not in str(info.value)
    # Options written as server entries are refused without their value.
    for entries in ([m.addr, f"password={SECRET}"], [f"{m.addr} password={SECRET}"]):
        with pytest.raises(mcring.ConfigError) as info:
            mcring.Client(entries)
        assert SECRET not in str(info.value) and "bad server" in str(info.value)


def test_the_pylibmc_compat_client_logs_in(start_memcached, authfile):
    import mcring.pylibmc as pylibmc

    m = start_memcached("-Y", authfile)
    c = pylibmc.Client([m.addr], username="app", password=SECRET)
    assert c.set("k", "v") and c.get("k") == "v"
    c.set_behaviors({"tcp_nodelay": True})
    assert c.clone().get("k") == "v" and c.get("k") == "v"
    assert SECRET not in repr(c) + str(c) + str(c.get_behaviors())
    bad = pylibmc.Client([m.addr], username="app", password="not-" + SECRET)
    with pytest.raises(pylibmc.AuthError) as info:
        bad.set("k", "v")
    assert isinstance(info.value, pylibmc.Error) and isinstance(info.value, mcring.AuthError)
    assert "refused the login" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(TypeError):
        pylibmc.Client([m.addr], username="app")


def test_pymemcache_tls_context_side_by_side_with_pymemcache(start_memcached, pki):
    """pymemcache's ``tls_context`` (an ssl.SSLContext) works on
    mcring.pymemcache as on pymemcache: same results, each reads the
    other's values; what the engine cannot honour is refused up front."""
    import ssl

    import pymemcache.client.base
    import pymemcache.client.hash

    from mcring.pymemcache.client.base import Client as McRingClient
    from mcring.pymemcache.client.hash import HashClient as McRingHashClient

    server = tls_server(start_memcached, pki)
    host, port = server.addr.rsplit(":", 1)
    where = (host, int(port))
    context = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    theirs = pymemcache.client.base.Client(where, tls_context=context)
    ours = McRingClient(where, tls_context=context)
    assert theirs.set("a", b"from pymemcache", noreply=False) is True
    assert ours.set("b", b"from mcring", noreply=False) is True
    assert ours.get("a") == theirs.get("a") == b"from pymemcache"
    assert theirs.get("b") == ours.get("b") == b"from mcring"
    assert ours.get_many(["a", "b", "c"]) == theirs.get_many(["a", "b", "c"])
    assert ours.delete("a", noreply=False) is True and theirs.get("a") is None
    hashed = McRingHashClient([where], tls_context=context)
    assert hashed.get("b") == pymemcache.client.hash.HashClient([where], tls_context=context).get("b")

    # A context that trusts another CA: both refuse the server.
    other = ssl.create_default_context(cafile=f"{pki}/other-ca.pem")
    with pytest.raises(ssl.SSLError):
        pymemcache.client.base.Client(where, tls_context=other).get("b")
    with pytest.raises(Exception, match="not signed by a trusted CA"):
        McRingClient(where, tls_context=other).get("b")
    # What the engine cannot do is said at construction, not ignored.
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="CERT_NONE"):
        McRingClient(where, tls_context=unverified)
    unnamed = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    unnamed.check_hostname = False
    with pytest.raises(ValueError, match="check_hostname"):
        McRingClient(where, tls_context=unnamed)
    with pytest.raises(TypeError, match="SSLContext"):
        McRingClient(where, tls_context="ca.pem")
