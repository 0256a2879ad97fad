//! The status every call returns, and the one place where engine errors and
//! outcomes become statuses.

use std::ffi::{c_char, CStr};

use mcring::{Error, Status};

use crate::boundary::value_call;

/// What a call did. `MCRING_OK` is 0; every other value says why the call
/// did not do what was asked. `MCRING_NOT_FOUND`, `MCRING_NOT_STORED`,
/// `MCRING_EXISTS` and `MCRING_STORED_ELSEWHERE` are outcomes (a miss, a
/// declined `add`, a `cas` that lost the race, a write that only reached a
/// failover target) and leave `mcring_last_error()` unchanged; every other
/// non-OK status sets it.
///
/// The numeric values are part of the ABI and never change.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mcring_status {
    /// Done.
    MCRING_OK = 0,
    /// The key does not exist (a miss, or `cas`/`touch`/`delete`/`incr` of a
    /// missing key).
    MCRING_NOT_FOUND = 1,
    /// The server declined the store: `add` of an existing key, `replace`,
    /// `append` or `prepend` of a missing one.
    MCRING_NOT_STORED = 2,
    /// `cas`: the item changed since its CAS token was read.
    MCRING_EXISTS = 3,
    /// A key was refused before anything was sent: empty, over 250 bytes
    /// with the prefix, or containing a space or control byte.
    MCRING_BAD_KEY = 4,
    /// A value was refused before anything was sent (over
    /// `max_value_bytes`), or could not be encoded or decoded.
    MCRING_BAD_VALUE = 5,
    /// The configuration string, a server or an option is invalid.
    MCRING_BAD_CONFIG = 6,
    /// A pointer argument is NULL, or a length is impossible.
    MCRING_INVALID_ARGUMENT = 7,
    /// A server did not answer within `connect_timeout_ms` / `io_timeout_ms`.
    MCRING_TIMEOUT = 8,
    /// A connection could not be made or broke, or the server is marked
    /// dead after repeated failures and was not tried.
    MCRING_CONNECTION_ERROR = 9,
    /// The server answered `SERVER_ERROR`, `CLIENT_ERROR` or `ERROR` (for
    /// example a value over memcached's item size limit, or `incr` of a
    /// value that is not a number).
    MCRING_SERVER_ERROR = 10,
    /// The server sent bytes that are not a valid reply (or a value over
    /// this client's `max_value_bytes`).
    MCRING_PROTOCOL_ERROR = 11,
    /// No server is configured.
    MCRING_NO_SERVERS = 12,
    /// The caller's buffer cannot hold the result.
    MCRING_BUFFER_TOO_SMALL = 13,
    /// A bug in libmcring (a caught panic); the message says where.
    MCRING_INTERNAL_ERROR = 14,
    /// The write or delete took effect, but not on the key's home copies:
    /// their servers could not be reached, so it went to a failover target
    /// (with a TTL of at most `gutter_ttl`), and the home copies are
    /// invalidated before their servers serve again. An outcome, like
    /// `MCRING_NOT_STORED`: `mcring_last_error()` is unchanged.
    MCRING_STORED_ELSEWHERE = 15,
}

use mcring_status::*;

/// Every status, in numeric order.
const ALL: [mcring_status; 16] = [
    MCRING_OK,
    MCRING_NOT_FOUND,
    MCRING_NOT_STORED,
    MCRING_EXISTS,
    MCRING_BAD_KEY,
    MCRING_BAD_VALUE,
    MCRING_BAD_CONFIG,
    MCRING_INVALID_ARGUMENT,
    MCRING_TIMEOUT,
    MCRING_CONNECTION_ERROR,
    MCRING_SERVER_ERROR,
    MCRING_PROTOCOL_ERROR,
    MCRING_NO_SERVERS,
    MCRING_BUFFER_TOO_SMALL,
    MCRING_INTERNAL_ERROR,
    MCRING_STORED_ELSEWHERE,
];

impl mcring_status {
    /// The status for an engine error. Every binding maps errors once; this
    /// is libmcring's mapping.
    pub(crate) fn of_error(e: &Error) -> mcring_status {
        match e {
            Error::BadKey { .. } => MCRING_BAD_KEY,
            Error::BadValue(_) => MCRING_BAD_VALUE,
            Error::Config(_) => MCRING_BAD_CONFIG,
            Error::NoServers => MCRING_NO_SERVERS,
            Error::Timeout { .. } => MCRING_TIMEOUT,
            Error::Connection { .. } | Error::ServerDown { .. } => MCRING_CONNECTION_ERROR,
            // A reply over this client's max_value_bytes is refused unread.
            Error::Protocol { .. } | Error::TooLarge { .. } => MCRING_PROTOCOL_ERROR,
            Error::Server { .. } => MCRING_SERVER_ERROR,
            // Only bindings that install an interrupt check (Python) see it.
            Error::Interrupted => MCRING_TIMEOUT,
            // A variant added to the engine later and not mapped yet.
            _ => MCRING_INTERNAL_ERROR,
        }
    }

    /// The status for an outcome the server chose.
    pub(crate) fn of_outcome(s: Status) -> mcring_status {
        match s {
            Status::Done => MCRING_OK,
            Status::NotStored => MCRING_NOT_STORED,
            Status::Exists => MCRING_EXISTS,
            Status::NotFound => MCRING_NOT_FOUND,
            Status::StoredElsewhere => MCRING_STORED_ELSEWHERE,
        }
    }

    /// The status with this number, if there is one.
    pub(crate) fn from_number(n: u32) -> Option<mcring_status> {
        ALL.get(usize::try_from(n).ok()?).copied()
    }

    /// The enumerator's name, e.g. `MCRING_NOT_FOUND`.
    pub(crate) fn name(self) -> &'static CStr {
        match self {
            MCRING_OK => c"MCRING_OK",
            MCRING_NOT_FOUND => c"MCRING_NOT_FOUND",
            MCRING_NOT_STORED => c"MCRING_NOT_STORED",
            MCRING_EXISTS => c"MCRING_EXISTS",
            MCRING_BAD_KEY => c"MCRING_BAD_KEY",
            MCRING_BAD_VALUE => c"MCRING_BAD_VALUE",
            MCRING_BAD_CONFIG => c"MCRING_BAD_CONFIG",
            MCRING_INVALID_ARGUMENT => c"MCRING_INVALID_ARGUMENT",
            MCRING_TIMEOUT => c"MCRING_TIMEOUT",
            MCRING_CONNECTION_ERROR => c"MCRING_CONNECTION_ERROR",
            MCRING_SERVER_ERROR => c"MCRING_SERVER_ERROR",
            MCRING_PROTOCOL_ERROR => c"MCRING_PROTOCOL_ERROR",
            MCRING_NO_SERVERS => c"MCRING_NO_SERVERS",
            MCRING_BUFFER_TOO_SMALL => c"MCRING_BUFFER_TOO_SMALL",
            MCRING_INTERNAL_ERROR => c"MCRING_INTERNAL_ERROR",
            MCRING_STORED_ELSEWHERE => c"MCRING_STORED_ELSEWHERE",
        }
    }
}

/// A status as C passes it in: any number, not only the enumerators. Rust
/// must not receive an out-of-range value as `mcring_status`, so functions
/// taking a status take this; the header names it `mcring_status`.
pub type mcring_status_arg = u32;

/// The name of a status, e.g. `"MCRING_NOT_FOUND"`, as a static string.
/// A number that is no status gives `"MCRING_UNKNOWN_STATUS"`.
#[no_mangle]
pub extern "C" fn mcring_status_name(s: mcring_status_arg) -> *const c_char {
    value_call(c"MCRING_INTERNAL_ERROR".as_ptr(), || match mcring_status::from_number(s) {
        Some(status) => status.name().as_ptr(),
        None => c"MCRING_UNKNOWN_STATUS".as_ptr(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_agree() {
        for (n, s) in ALL.iter().enumerate() {
            assert_eq!(*s as usize, n);
            assert_eq!(mcring_status::from_number(n as u32), Some(*s));
            let name = unsafe { CStr::from_ptr(mcring_status_name(n as u32)) };
            assert_eq!(name, s.name());
            assert_eq!(name.to_str().unwrap(), format!("{s:?}"));
        }
        let unknown = unsafe { CStr::from_ptr(mcring_status_name(99)) };
        assert_eq!(unknown.to_str().unwrap(), "MCRING_UNKNOWN_STATUS");
    }

    #[test]
    fn every_engine_error_has_its_status() {
        let server = || "a:1".to_string();
        let cases = [
            (
                Error::BadKey { key: b"a b".to_vec(), problem: mcring::key::KeyProblem::Empty },
                MCRING_BAD_KEY,
            ),
            (Error::BadValue("big".into()), MCRING_BAD_VALUE),
            (Error::Config(mcring::ConfigError::new("x", "bad")), MCRING_BAD_CONFIG),
            (Error::NoServers, MCRING_NO_SERVERS),
            (Error::Timeout { server: server(), during: "read" }, MCRING_TIMEOUT),
            (
                Error::Connection { server: server(), message: "refused".into() },
                MCRING_CONNECTION_ERROR,
            ),
            (Error::ServerDown { server: server() }, MCRING_CONNECTION_ERROR),
            (Error::Protocol { server: server(), message: "junk".into() }, MCRING_PROTOCOL_ERROR),
            (Error::Server { server: server(), message: "oom".into() }, MCRING_SERVER_ERROR),
            (Error::TooLarge { server: server(), message: "big".into() }, MCRING_PROTOCOL_ERROR),
            (Error::Interrupted, MCRING_TIMEOUT),
        ];
        for (e, want) in cases {
            assert_eq!(mcring_status::of_error(&e), want, "{e:?}");
        }
        assert_eq!(mcring_status::of_outcome(Status::Done), MCRING_OK);
        assert_eq!(mcring_status::of_outcome(Status::NotStored), MCRING_NOT_STORED);
        assert_eq!(mcring_status::of_outcome(Status::Exists), MCRING_EXISTS);
        assert_eq!(mcring_status::of_outcome(Status::NotFound), MCRING_NOT_FOUND);
        assert_eq!(mcring_status::of_outcome(Status::StoredElsewhere), MCRING_STORED_ELSEWHERE);
    }
}
