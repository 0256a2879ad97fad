//! How a command ends: an exit status, and for failures one line on stderr.
//!
//! Exit statuses (README "Operate"): 0 success; 1 a complete but negative
//! answer (a miss, a key that does not exist, not stored, a server down in
//! `health`, `wait-up` timed out); 2 a failure: bad usage or config, or a
//! request that failed on some server or key (each named on stderr; the
//! output of everything else is still complete) — and for `monitor`, a
//! server below `--hit-rate-below`.

use std::io::{self, Write};

/// The command succeeded.
pub const OK: u8 = 0;
/// The answer is complete but negative or partial (a miss, not found).
pub const NEGATIVE: u8 = 1;
/// Something failed.
pub const FAILED: u8 = 2;

/// A command that could not go on.
#[derive(Debug)]
pub struct Failure {
    /// For stderr; empty for a closed stdout (nothing left to say).
    pub message: String,
    /// The exit status.
    pub status: u8,
}

impl Failure {
    /// Bad usage: status 2.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), status: FAILED }
    }

    /// The reader of stdout went away (`mcring get ... | head`): the
    /// command stops quietly with status 0.
    pub fn closed_pipe() -> Failure {
        Failure { message: String::new(), status: OK }
    }
}

impl From<mcring::Error> for Failure {
    fn from(e: mcring::Error) -> Failure {
        Failure { message: e.to_string(), status: FAILED }
    }
}

impl From<mcring::ConfigError> for Failure {
    fn from(e: mcring::ConfigError) -> Failure {
        Failure { message: e.to_string(), status: FAILED }
    }
}

/// Writes `mcring: MESSAGE` to stderr. Never panics (a closed stderr is
/// ignored): a failure report must not become a crash.
pub fn warn(message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "mcring: {message}");
}
