//! TLS settings of a client: rustls with the `ring` provider (no OpenSSL),
//! TLS 1.2 and 1.3, the server's certificate always verified.
//!
//! Trust comes from `tls_ca=` (a PEM bundle) or, without it, from the
//! system's roots as the OS keeps them (`rustls-native-certs`: Debian's
//! `/etc/ssl/certs`, including CAs an operator added with
//! `update-ca-certificates`), so mcring trusts what the host's other TLS
//! clients trust, and a CA rotation needs no rebuild.
//!
//! One rustls `ClientConfig` is built per distinct set of files (and
//! rebuilt when one of them changes on disk) and shared by every client of
//! the process that uses those files. Its session store is therefore
//! shared too: a reconnect, another client with the same settings (a PHP
//! request's non-persistent client), or a forked worker resumes the session
//! of an earlier handshake instead of paying for a full one. Session
//! tickets are not connection state: a child after `fork()` may use the
//! tickets it inherited on connections of its own, while it never touches
//! a connection (and so a TLS session's keys and sequence numbers) opened
//! by its parent (see [`crate::conn`]).
//!
//! The locks here are fork-safe: a lock held by a thread of the parent at
//! the moment of `fork()` is never released in the child, which then goes
//! without (no resumption, a fresh build) instead of waiting forever.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Resumption};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use crate::config::{Config, ConfigError, ServerSpec};
use crate::conn::fork_generation;

/// Sessions remembered per client config (each server takes a few).
const SESSIONS: usize = 256;

/// Configs kept for distinct settings; the oldest is dropped beyond.
const KEPT_CONFIGS: usize = 16;

/// A mutex that a forked child never waits for when a thread of its parent
/// held it at the moment of the fork.
struct ForkSafeMutex<T> {
    lock: Mutex<T>,
    /// Fork generation of the latest holder.
    holder: AtomicU64,
}

impl<T> ForkSafeMutex<T> {
    const fn new(value: T) -> ForkSafeMutex<T> {
        ForkSafeMutex { lock: Mutex::new(value), holder: AtomicU64::new(0) }
    }

    /// The lock, or `None` if a thread that no longer exists (one of the
    /// parent's, before a fork) holds it.
    fn lock(&self) -> Option<MutexGuard<'_, T>> {
        let generation = fork_generation();
        let guard = match self.lock.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                if self.holder.load(Ordering::Acquire) != generation {
                    return None;
                }
                self.lock.lock().unwrap_or_else(|p| p.into_inner())
            }
        };
        self.holder.store(generation, Ordering::Release);
        Some(guard)
    }
}

/// rustls's in-memory session cache behind a fork-safe lock (its own lock
/// is only ever taken while this one is held).
struct SessionStore {
    inner: ForkSafeMutex<ClientSessionMemoryCache>,
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionStore")
    }
}

impl ClientSessionStore for SessionStore {
    fn set_kx_hint(&self, name: ServerName<'static>, group: rustls::NamedGroup) {
        if let Some(c) = self.inner.lock() {
            c.set_kx_hint(name, group)
        }
    }

    fn kx_hint(&self, name: &ServerName<'_>) -> Option<rustls::NamedGroup> {
        self.inner.lock()?.kx_hint(name)
    }

    fn set_tls12_session(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        if let Some(c) = self.inner.lock() {
            c.set_tls12_session(name, value)
        }
    }

    fn tls12_session(
        &self,
        name: &ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.inner.lock()?.tls12_session(name)
    }

    fn remove_tls12_session(&self, name: &ServerName<'static>) {
        if let Some(c) = self.inner.lock() {
            c.remove_tls12_session(name)
        }
    }

    fn insert_tls13_ticket(
        &self,
        name: ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        if let Some(c) = self.inner.lock() {
            c.insert_tls13_ticket(name, value)
        }
    }

    fn take_tls13_ticket(
        &self,
        name: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.inner.lock()?.take_tls13_ticket(name)
    }
}

/// How a server's TLS connections are made: the shared client config and
/// the name its certificate must be valid for.
#[derive(Clone)]
pub(crate) struct TlsPeer {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) name: ServerName<'static>,
}

impl fmt::Debug for TlsPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsPeer").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A file's identity on disk: a changed file gets a new config.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Stamp {
    path: String,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(option: &str, path: &str) -> Result<Stamp, ConfigError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| ConfigError::new(option, format!("cannot read {path}: {e}")))?;
        Ok(Stamp { path: path.to_string(), len: meta.len(), modified: meta.modified().ok() })
    }
}

/// What a client config is built from.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Key {
    /// `None`: the system's roots.
    ca: Option<Stamp>,
    client: Option<(Stamp, Stamp)>,
    resumption: bool,
}

static CONFIGS: ForkSafeMutex<Vec<(Key, Arc<ClientConfig>)>> = ForkSafeMutex::new(Vec::new());

/// The TLS settings of every server of `config` (configured, then
/// gutter): `None` for plaintext servers. Files are read here (and again
/// only when they change), so a bad `tls_ca`, `tls_cert` or `tls_key`, or
/// a server name that cannot be verified, is an error when the client is
/// made.
pub(crate) fn peers(config: &Config) -> Result<Vec<Option<TlsPeer>>, ConfigError> {
    let servers: Vec<&ServerSpec> = config.servers.iter().chain(&config.gutter).collect();
    if !servers.iter().any(|s| config.uses_tls(s)) {
        return Ok(vec![None; servers.len()]);
    }
    let client_config = client_config(config)?;
    servers
        .into_iter()
        .map(|s| {
            if !config.uses_tls(s) {
                return Ok(None);
            }
            Ok(Some(TlsPeer { config: client_config.clone(), name: server_name(config, s)? }))
        })
        .collect()
}

/// The name `server`'s certificate is verified against.
fn server_name(config: &Config, server: &ServerSpec) -> Result<ServerName<'static>, ConfigError> {
    match &config.tls_server_name {
        Some(name) => ServerName::try_from(name.clone()).map_err(|_| {
            ConfigError::new("tls_server_name", format!("{name:?} is not a DNS name or IP address"))
        }),
        None => ServerName::try_from(server.host.clone()).map_err(|_| {
            ConfigError::new(
                &server.to_string(),
                "the host is not a valid DNS name for TLS; set tls_server_name=",
            )
        }),
    }
}

/// The shared client config for `config`'s files, built on first use.
fn client_config(config: &Config) -> Result<Arc<ClientConfig>, ConfigError> {
    let key = Key {
        ca: config.tls_ca.as_deref().map(|p| Stamp::of("tls_ca", p)).transpose()?,
        client: match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                Some((Stamp::of("tls_cert", cert)?, Stamp::of("tls_key", key)?))
            }
            _ => None,
        },
        resumption: config.tls_resumption,
    };
    let mut kept = CONFIGS.lock();
    if let Some(kept) = &kept {
        if let Some((_, c)) = kept.iter().find(|(k, _)| *k == key) {
            return Ok(c.clone());
        }
    }
    let built = Arc::new(build(config)?);
    if let Some(kept) = &mut kept {
        kept.retain(|(k, _)| !same_files(k, &key));
        if kept.len() >= KEPT_CONFIGS {
            kept.remove(0);
        }
        kept.push((key, built.clone()));
    }
    Ok(built)
}

/// Whether two keys name the same files (one replaces the other when a
/// file changed).
fn same_files(a: &Key, b: &Key) -> bool {
    let path = |s: &Option<Stamp>| s.as_ref().map(|s| s.path.clone());
    let client = |c: &Option<(Stamp, Stamp)>| {
        c.as_ref().map(|(cert, key)| (cert.path.clone(), key.path.clone()))
    };
    path(&a.ca) == path(&b.ca)
        && client(&a.client) == client(&b.client)
        && a.resumption == b.resumption
}

fn build(config: &Config) -> Result<ClientConfig, ConfigError> {
    let roots = match &config.tls_ca {
        Some(path) => roots_from(path)?,
        None => system_roots()?,
    };
    let mut provider = rustls::crypto::ring::default_provider();
    // AES-128-GCM first: as safe for this use, and cheaper per record than
    // AES-256 (memcached's OpenSSL takes the client's order in TLS 1.3).
    provider.cipher_suites.sort_by_key(|s| match s.suite() {
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => 1,
        _ => 2,
    });
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| ConfigError::new("tls", format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots);
    let mut built = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates("tls_cert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                ConfigError::new("tls_key", format!("{key}: no usable private key ({e})"))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                ConfigError::new(
                    "tls_cert",
                    format!("tls_cert and tls_key do not go together: {e}"),
                )
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    built.resumption = if config.tls_resumption {
        Resumption::store(Arc::new(SessionStore {
            inner: ForkSafeMutex::new(ClientSessionMemoryCache::new(SESSIONS)),
        }))
    } else {
        Resumption::disabled()
    };
    Ok(built)
}

/// Every certificate in a PEM file.
fn certificates(option: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bad = |reason: String| ConfigError::new(option, format!("{path}: {reason}"));
    let read = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&read)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The CAs of a `tls_ca` bundle.
fn roots_from(path: &str) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates("tls_ca", path)? {
        roots.add(cert).map_err(|e| {
            ConfigError::new("tls_ca", format!("{path}: a certificate is not a usable CA ({e})"))
        })?;
    }
    Ok(roots)
}

/// The system's roots.
fn system_roots() -> Result<RootCertStore, ConfigError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(ConfigError::new(
            "tls",
            "no system root certificates found (install ca-certificates, or set tls_ca=)",
        ));
    }
    Ok(roots)
}

/// A TLS failure as a user reads it: what went wrong and what to change.
pub(crate) fn describe(e: &rustls::Error) -> String {
    use rustls::Error as E;
    let detail = match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "the server's certificate is not signed by a trusted CA (check tls_ca=)".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server's certificate has expired ({c})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the server's certificate is not valid yet ({c})")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the server's certificate is not valid for the server's name ({c}); \
                     set tls_server_name= to a name in the certificate"
                )
            }
            other => format!("the server's certificate was refused: {other}"),
        },
        E::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate (set tls_cert= and tls_key=)".into()
        }
        E::AlertReceived(
            a @ (AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::AccessDenied),
        ) => format!(
            "the server refused this client's certificate (alert {a:?}; check tls_cert= \
             against the server's ssl_ca_cert)"
        ),
        E::AlertReceived(AlertDescription::HandshakeFailure) => {
            "the server refused the handshake (alert HandshakeFailure: it may require a \
             client certificate, tls_cert= and tls_key=, or share no cipher with TLS 1.2/1.3)"
                .into()
        }
        E::AlertReceived(AlertDescription::ProtocolVersion) => {
            "the server accepts neither TLS 1.2 nor TLS 1.3".into()
        }
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. } => {
            format!("the server did not answer in TLS ({e}); is TLS enabled on it (memcached -Z)?")
        }
        other => other.to_string(),
    };
    format!("TLS: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_configs_need_no_files() {
        let c = Config::parse("a:1 b:2").unwrap();
        assert!(peers(&c).unwrap().iter().all(|p| p.is_none()));
    }

    #[test]
    fn missing_files_are_config_errors() {
        let c = Config::parse("127.0.0.1:1 tls=true tls_ca=/nonexistent/ca.pem").unwrap();
        let e = peers(&c).unwrap_err();
        assert_eq!(e.token, "tls_ca");
        assert!(e.reason.contains("/nonexistent/ca.pem"), "{e}");
    }

    #[test]
    fn mixed_pools_choose_per_server() {
        let c = Config::parse("127.0.0.1:1,tls=true 127.0.0.1:2").unwrap();
        let peers = peers(&c).unwrap();
        assert!(peers[0].is_some() && peers[1].is_none());
    }
}
