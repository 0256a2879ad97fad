"""pylibmc's client pools, over a thread-safe client.

An ``mcring.pylibmc.Client`` may be shared by threads, so a pool is not
needed; these exist so code written around pylibmc's pools runs unchanged.
Each pooled client is a clone (its own connections).
"""

import contextlib
import queue
import threading


class ClientPool(queue.Queue):
    """A queue of clients: ``with pool.reserve() as mc: ...``."""

    def __init__(self, mc=None, n_slots=0):
        super().__init__(n_slots)
        if mc is not None:
            self.fill(mc, n_slots)

    @contextlib.contextmanager
    def reserve(self, block=False):
        """A client of the pool for the ``with`` block (waits for one with
        ``block``; ``queue.Empty`` otherwise when none is free)."""
        mc = self.get(block)
        try:
            yield mc
        finally:
            self.put(mc)

    def fill(self, mc, n_slots):
        """Puts ``n_slots`` clones of ``mc`` in the pool."""
        for _ in range(n_slots):
            self.put(mc.clone())


class ThreadMappedPool(dict):
    """One clone of ``master`` per thread: ``with pool.reserve() as mc: ...``."""

    def __new__(cls, master):
        return super().__new__(cls)

    def __init__(self, master):
        super().__init__()
        self.master = master

    @property
    def current_key(self):
        return threading.get_ident()

    @contextlib.contextmanager
    def reserve(self):
        """This thread's client for the ``with`` block (made on first use)."""
        key = self.current_key
        mc = self.pop(key, None)
        if mc is None:
            mc = self.master.clone()
        try:
            yield mc
        finally:
            self[key] = mc

    def relinquish(self):
        """Forgets this thread's client; returns it (or None)."""
        return self.pop(self.current_key, None)
