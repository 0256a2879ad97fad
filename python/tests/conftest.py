"""Fixtures: real memcached processes on free 127.0.0.1 ports, stopped by pid,
and a black-hole listener (connections complete, nothing is ever answered)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Callable, Iterator, List

import pytest

MEMCACHED = os.environ.get("MEMCACHED", "memcached")


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Memcached:
    """A memcached process on 127.0.0.1, started by a test."""

    def __init__(self, extra_args: List[str] = ()) -> None:
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        for _ in range(20):
            self.port = free_port()
            if self._spawn():
                return
        raise RuntimeError("could not start memcached on a free port")

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _spawn(self) -> bool:
        if shutil.which(MEMCACHED) is None:
            raise RuntimeError(f"{MEMCACHED} is not installed (scripts/setup.sh installs it)")
        args = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-t", "1", "-m", "64"]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        self.proc = subprocess.Popen(
            args + self.extra_args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # the port was taken meanwhile
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if "-Z" in self.extra_args:
                        return True  # TLS: accepting connections is enough
                    s.sendall(b"version\r\n")
                    # A server with -Y asks for a login first.
                    if s.recv(100).startswith((b"VERSION", b"CLIENT_ERROR unauthenticated")):
                        return True
            except OSError:
                time.sleep(0.01)
        self.kill()
        return False

    def raw(self, command: bytes) -> bytes:
        """Sends one text-protocol command and returns the reply up to its
        terminator (END, STORED, ...)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(command)
            data = b""
            ends = (b"END\r\n", b"STORED\r\n", b"DELETED\r\n", b"NOT_FOUND\r\n", b"OK\r\n", b"ERROR\r\n")
            while not data.endswith(ends):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data

    def raw_set(self, key: str, flags: int, data: bytes) -> None:
        """Stores bytes with the given flags, bypassing every client."""
        reply = self.raw(b"set %s %d 0 %d\r\n%s\r\n" % (key.encode(), flags, len(data), data))
        assert reply == b"STORED\r\n", reply

    def raw_get(self, key: str):
        """(flags, bytes) as stored, or None."""
        reply = self.raw(b"get %s\r\n" % key.encode())
        if reply == b"END\r\n":
            return None
        header, rest = reply.split(b"\r\n", 1)
        _, _, flags, length = header.split()
        return int(flags), rest[: int(length)]

    def stat(self, name: str) -> int:
        """One of memcached's own counters."""
        for line in self.raw(b"stats\r\n").split(b"\r\n"):
            parts = line.split()
            if len(parts) == 3 and parts[1] == name.encode():
                return int(parts[2])
        raise KeyError(name)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL by pid, and reap."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def start_memcached() -> Iterator[Callable[..., Memcached]]:
    """A factory of memcached processes, all killed after the test."""
    started: List[Memcached] = []

    def start(*extra_args: str) -> Memcached:
        m = Memcached(list(extra_args))
        started.append(m)
        return m

    yield start
    for m in started:
        m.kill()


@pytest.fixture
def memcached(start_memcached) -> Memcached:
    """One memcached process."""
    return start_memcached()


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An address whose connections complete (the kernel accepts them into
    the backlog) but are never read nor answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    try:
        yield "127.0.0.1:%d" % s.getsockname()[1]
    finally:
        s.close()
