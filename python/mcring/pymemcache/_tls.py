"""pymemcache's ``tls_context`` (an ``ssl.SSLContext``) as engine options.

The engine speaks TLS itself (rustls) and always verifies the server: it
takes the CAs to trust as a PEM file. An ``SSLContext`` does not say which
files it was loaded from, but it lists the CA certificates it holds; they
are written once to a private file (by content, removed when the process
exits) that the engine reads. A context with no CA of its own (one that
trusts the system's store) leaves the engine on the system's roots.

What a context cannot hand over is refused with a clear error rather than
ignored: verification turned off (``verify_mode=CERT_NONE``), host names not
checked (``check_hostname=False``). A client certificate loaded into the
context cannot be read back from it either: a server that requires one
refuses the handshake ("requires a client certificate").
"""

import atexit
import hashlib
import os
import shutil
import ssl
import tempfile
import threading

_lock = threading.Lock()
_dir = None


def tls_options(context):
    """Engine options for a pymemcache ``tls_context`` (``{}`` for None)."""
    if context is None:
        return {}
    if not isinstance(context, ssl.SSLContext):
        raise TypeError("tls_context must be an ssl.SSLContext")
    if context.verify_mode == ssl.CERT_NONE:
        raise ValueError(
            "tls_context has verify_mode=CERT_NONE: mcring always verifies the server's "
            "certificate; load the CA that signed it (load_verify_locations)"
        )
    if not context.check_hostname:
        raise ValueError(
            "tls_context has check_hostname=False: mcring always checks the server's name "
            "against its certificate; connect by a name (or IP) the certificate holds"
        )
    options = {"tls": True}
    cas = context.get_ca_certs(binary_form=True)
    if cas:
        options["tls_ca"] = _bundle("".join(ssl.DER_cert_to_PEM_cert(der) for der in cas))
    return options


def _remove(path, owner):
    # Only the process that made the directory removes it: a forked worker
    # (gunicorn, multiprocessing) leaving must not take it from the others.
    if os.getpid() == owner:
        shutil.rmtree(path, True)


def _bundle(pem):
    """The path of a private file holding ``pem``, written once per content."""
    global _dir
    with _lock:
        if _dir is None or not os.path.isdir(_dir):
            _dir = tempfile.mkdtemp(prefix="mcring-tls-")
            atexit.register(_remove, _dir, os.getpid())
        path = os.path.join(_dir, hashlib.sha256(pem.encode()).hexdigest()[:32] + ".pem")
        if not os.path.exists(path):
            fd, partial = tempfile.mkstemp(dir=_dir)
            with os.fdopen(fd, "w") as f:
                f.write(pem)
            os.replace(partial, path)
        return path
