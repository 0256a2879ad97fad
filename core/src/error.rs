//! The engine's one error type. Each binding maps it once: C status codes,
//! Python exception classes, PHP result codes.
//!
//! A miss is not an error (`get` returns `None`), and neither is a store the
//! server declined (`add` on an existing key): those are outcomes.

use std::fmt;

use crate::config::ConfigError;
use crate::conn::IoFailure;
use crate::key::{display_key, KeyProblem};
use crate::protocol::ProtocolError;

/// Everything that can go wrong in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A key was refused before anything was sent.
    BadKey {
        /// The key as given (without the prefix).
        key: Vec<u8>,
        /// Why it was refused.
        problem: KeyProblem,
    },
    /// A value was refused before anything was sent.
    BadValue(String),
    /// The configuration is invalid.
    Config(ConfigError),
    /// No server is configured, or none is available for the key.
    NoServers,
    /// A server did not answer within the configured timeout.
    Timeout {
        /// The server's name (`host:port`).
        server: String,
        /// What was under way: `connect`, `write` or `read`.
        during: &'static str,
    },
    /// A connection could not be made, or broke (refused, reset, closed).
    Connection {
        /// The server's name.
        server: String,
        /// What happened.
        message: String,
    },
    /// The server is marked dead and was not tried.
    ServerDown {
        /// The server's name.
        server: String,
    },
    /// The server sent bytes that are not a valid reply.
    Protocol {
        /// The server's name.
        server: String,
        /// What was wrong.
        message: String,
    },
    /// A stored value is larger than this client's `max_value_bytes`: it was
    /// not read (the connection is closed), and the server is not at fault.
    TooLarge {
        /// The server's name.
        server: String,
        /// What was refused.
        message: String,
    },
    /// A signal interrupted the request and the thread's interrupt check
    /// asked to stop (see [`crate::conn::set_interrupt_check`]).
    Interrupted,
    /// The server refused this client's login (memcached `-Y`: wrong user
    /// name or password), or requires one and none is configured. Not a
    /// sign of the server's health: it is not marked dead, its keys do not
    /// move, and new connections to it are not tried again for
    /// `retry_timeout_ms` (requests fail with this error meanwhile).
    AuthFailed {
        /// The server's name.
        server: String,
        /// What the server said and what to change; never the password.
        message: String,
    },
    /// The server answered with `SERVER_ERROR`, `CLIENT_ERROR` or `ERROR`.
    Server {
        /// The server's name.
        server: String,
        /// The server's message.
        message: String,
    },
}

impl Error {
    /// Whether this error says something about a server's health (and should
    /// count towards marking it dead), as opposed to the request itself.
    pub fn is_server_failure(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::Connection { .. } | Error::Protocol { .. })
    }

    /// Whether the error is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// A connection-level failure on the connection to `server`.
    pub(crate) fn io(server: &str, f: IoFailure) -> Error {
        match f {
            IoFailure::Timeout(during) => Error::Timeout { server: server.to_string(), during },
            IoFailure::Interrupted => Error::Interrupted,
            IoFailure::Closed => Error::Connection {
                server: server.to_string(),
                message: "connection closed by server".to_string(),
            },
            IoFailure::Os(e) => {
                Error::Connection { server: server.to_string(), message: e.to_string() }
            }
            IoFailure::Tls(message) => Error::Connection { server: server.to_string(), message },
            IoFailure::Login(message) => Error::AuthFailed { server: server.to_string(), message },
        }
    }

    /// The error for a reply the parser refused: the server's fault (a
    /// value merely over this client's `max_value_bytes` is not refused by
    /// the parser but skipped, and reported as `TooLarge` for its key).
    pub(crate) fn parse(server: &str, e: &ProtocolError) -> Error {
        Error::protocol(server, &e.to_string())
    }

    /// A protocol error of `server`.
    pub(crate) fn protocol(server: &str, message: &str) -> Error {
        Error::Protocol { server: server.to_string(), message: message.to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadKey { key, problem } => {
                write!(f, "bad key \"{}\": {}", display_key(key), problem)
            }
            Error::BadValue(m) => write!(f, "bad value: {m}"),
            Error::Config(e) => e.fmt(f),
            Error::NoServers => f.write_str("no server available"),
            Error::Timeout { server, during } => write!(f, "{server}: timed out during {during}"),
            Error::Connection { server, message } => write!(f, "{server}: {message}"),
            Error::ServerDown { server } => {
                write!(f, "{server}: marked dead after repeated failures, not tried")
            }
            Error::Protocol { server, message } => write!(f, "{server}: protocol error: {message}"),
            Error::Interrupted => f.write_str("interrupted by a signal"),
            Error::TooLarge { server, message } => {
                write!(f, "{server}: value too large: {message}")
            }
            Error::Server { server, message } => write!(f, "{server}: server error: {message}"),
            Error::AuthFailed { server, message } => {
                write!(f, "{server}: authentication failed: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
