//! Certificates and TLS / authenticating memcached servers for the tests.
//! The certificates are made once per test process by tests/tls/make-pki.sh
//! (openssl), in a fresh temporary directory.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::memcached::Memcached;

/// The test PKI: a CA, server and client certificates (see make-pki.sh).
pub struct Pki {
    /// Where the files are.
    pub dir: PathBuf,
}

impl Pki {
    /// The PKI of this test process, made on first use.
    pub fn get() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("mcring-pki-{}", std::process::id()));
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tls/make-pki.sh");
            let status = std::process::Command::new("bash")
                .arg(&script)
                .arg(&dir)
                .status()
                .expect("run tests/tls/make-pki.sh (is openssl installed?)");
            assert!(status.success(), "make-pki.sh failed");
            Pki { dir }
        })
    }

    /// The path of one of its files, e.g. `ca.pem`.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// How a test server checks client certificates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientCerts {
    /// It asks for none.
    None,
    /// It requires one signed by the test CA (`ssl_verify_mode=2`).
    Required,
}

/// memcached with TLS on a free port, presenting `cert` (a name from the
/// PKI without `.pem`, e.g. `server` or `server-expired`), plus `extra`
/// arguments (e.g. `-Y authfile`).
pub fn tls_memcached(cert: &str, client_certs: ClientCerts, extra: &[&str]) -> Memcached {
    let pki = Pki::get();
    let mut options = format!(
        "ssl_chain_cert={},ssl_key={}",
        pki.path(&format!("{cert}.pem")),
        pki.path(&format!("{cert}.key"))
    );
    if client_certs == ClientCerts::Required {
        options.push_str(&format!(",ssl_ca_cert={},ssl_verify_mode=2", pki.path("ca.pem")));
    }
    let mut args = vec!["-Z", "-o", options.as_str()];
    args.extend_from_slice(extra);
    Memcached::start_with(&args)
}

/// An authfile (`-Y`) for one user, written to a fresh temporary file.
pub fn authfile(user: &str, password: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("mcring-auth-{}-{n}", std::process::id()));
    std::fs::write(&path, format!("{user}:{password}\n")).expect("write authfile");
    path
}
