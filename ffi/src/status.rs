//! The status every call returns, and the one place where engine errors and
//! outcomes become statuses.

use std::ffi::{c_char, CStr};

use mcring::{Error, Status};

use crate::boundary::value_call;
use crate::last_error;

/// What a call did. `MCRING_OK` is 0; every other value says why the call
/// did not do what was asked. `MCRING_NOT_FOUND`, `MCRING_NOT_STORED`,
/// `MCRING_EXISTS`, `MCRING_STORED_ELSEWHERE`, `MCRING_STALE` and
/// `MCRING_LEASE` are outcomes (a miss, a declined `add`, a `cas` that lost
/// the race, a write that only reached a failover target, a stale value, a
/// lease to fill) and leave `mcring_last_error()` unchanged; every other
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
    /// dead after repeated failures and was not tried; also a TLS failure
    /// (the message names the reason: an untrusted, expired or misnamed
    /// certificate, a missing client certificate, a server without TLS).
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
    /// `mcring_get_or_lease()`: the value is stale (invalidated, or in its
    /// stale time after expiry) and another caller is recomputing it; it is
    /// handed out all the same. An outcome: `mcring_last_error()` is
    /// unchanged.
    MCRING_STALE = 16,
    /// `mcring_get_or_lease()`: this caller won the lease and must compute
    /// the value, then store it with `mcring_lease_fill()` (or give the
    /// lease back with `mcring_lease_release()`). An outcome:
    /// `mcring_last_error()` is unchanged.
    MCRING_LEASE = 17,
    /// The server refused this client's login (memcached `-Y`: wrong
    /// `username`/`password`), or requires one and none is configured. The
    /// server is not marked dead; its new connections are not tried again
    /// for `retry_timeout_ms` (calls fail with this status meanwhile).
    /// The message never holds the password.
    MCRING_AUTH_FAILED = 18,
}

use mcring_status::*;

/// Every status, in numeric order.
const ALL: [mcring_status; 19] = [
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
    MCRING_STALE,
    MCRING_LEASE,
    MCRING_AUTH_FAILED,
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
            Error::AuthFailed { .. } => MCRING_AUTH_FAILED,
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

    /// php-memcached's result code (libmemcached's `memcached_return_t`)
    /// for this status when nothing more precise is known: the code of a
    /// status of its own kind of failure.
    pub(crate) fn memcached_code(self) -> i32 {
        match self {
            MCRING_OK => memcached_code::SUCCESS,
            // A value was handed out, a stale one, while another caller
            // recomputes it: mcring's own (php-memcached has no such read).
            MCRING_STALE => memcached_code::STALE,
            // The caller won the right to compute the missing value.
            MCRING_LEASE => memcached_code::NOTFOUND,
            MCRING_STORED_ELSEWHERE => memcached_code::STORED_ELSEWHERE,
            MCRING_NOT_FOUND => memcached_code::NOTFOUND,
            MCRING_NOT_STORED => memcached_code::NOTSTORED,
            MCRING_EXISTS => memcached_code::DATA_EXISTS,
            MCRING_BAD_KEY => memcached_code::BAD_KEY_PROVIDED,
            MCRING_BAD_VALUE => memcached_code::PAYLOAD_FAILURE,
            MCRING_BAD_CONFIG => memcached_code::PARSE_ERROR,
            MCRING_INVALID_ARGUMENT => memcached_code::INVALID_ARGUMENTS,
            MCRING_TIMEOUT => memcached_code::TIMEOUT,
            MCRING_CONNECTION_ERROR => memcached_code::CONNECTION_FAILURE,
            MCRING_SERVER_ERROR => memcached_code::SERVER_ERROR,
            MCRING_PROTOCOL_ERROR => memcached_code::PROTOCOL_ERROR,
            MCRING_NO_SERVERS => memcached_code::NO_SERVERS,
            MCRING_AUTH_FAILED => memcached_code::AUTH_FAILURE,
            MCRING_BUFFER_TOO_SMALL | MCRING_INTERNAL_ERROR => memcached_code::FAILURE,
        }
    }

    /// php-memcached's result code for an engine error: finer than the
    /// status (a server marked dead, a value too large, the kind of error
    /// reply), as libmemcached reports the same events.
    pub(crate) fn memcached_code_of_error(e: &Error) -> i32 {
        match e {
            Error::ServerDown { .. } => memcached_code::SERVER_TEMPORARILY_DISABLED,
            Error::BadValue(message) if message.contains("max_value_bytes") => {
                memcached_code::E2BIG
            }
            // The server's reply names its kind: "CLIENT_ERROR ..." (the
            // engine keeps that prefix), "ERROR ...", or SERVER_ERROR's text.
            Error::Server { message, .. } => {
                if message.starts_with("CLIENT_ERROR") {
                    memcached_code::CLIENT_ERROR
                } else if message.starts_with("ERROR") {
                    memcached_code::ERROR
                } else if message.contains("object too large") {
                    memcached_code::E2BIG
                } else if message.contains("out of memory") {
                    memcached_code::SERVER_MEMORY_ALLOCATION_FAILURE
                } else {
                    memcached_code::SERVER_ERROR
                }
            }
            other => mcring_status::of_error(other).memcached_code(),
        }
    }

    /// php-memcached's result code for a value the codec refused: `RES_E2BIG`
    /// for one over `max_value_bytes`, `RES_PAYLOAD_FAILURE` otherwise.
    pub(crate) fn memcached_code_of_value_error(e: &mcring::value::ValueError) -> i32 {
        match e {
            mcring::value::ValueError::TooLarge { .. } => memcached_code::E2BIG,
            _ => memcached_code::PAYLOAD_FAILURE,
        }
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
            MCRING_STALE => c"MCRING_STALE",
            MCRING_LEASE => c"MCRING_LEASE",
            MCRING_AUTH_FAILED => c"MCRING_AUTH_FAILED",
        }
    }
}

/// php-memcached's result codes (libmemcached's `memcached_return_t`
/// values, and php-memcached's own `RES_PAYLOAD_FAILURE`) that statuses and
/// errors map to.
pub(crate) mod memcached_code {
    pub(crate) const SUCCESS: i32 = 0;
    pub(crate) const FAILURE: i32 = 1;
    pub(crate) const CONNECTION_FAILURE: i32 = 3;
    pub(crate) const PROTOCOL_ERROR: i32 = 8;
    pub(crate) const CLIENT_ERROR: i32 = 9;
    pub(crate) const SERVER_ERROR: i32 = 10;
    pub(crate) const ERROR: i32 = 11;
    pub(crate) const DATA_EXISTS: i32 = 12;
    pub(crate) const NOTSTORED: i32 = 14;
    pub(crate) const NOTFOUND: i32 = 16;
    pub(crate) const NO_SERVERS: i32 = 20;
    pub(crate) const TIMEOUT: i32 = 31;
    pub(crate) const BAD_KEY_PROVIDED: i32 = 33;
    pub(crate) const AUTH_FAILURE: i32 = 41;
    pub(crate) const E2BIG: i32 = 37;
    pub(crate) const INVALID_ARGUMENTS: i32 = 38;
    pub(crate) const PARSE_ERROR: i32 = 43;
    pub(crate) const SERVER_TEMPORARILY_DISABLED: i32 = 47;
    pub(crate) const SERVER_MEMORY_ALLOCATION_FAILURE: i32 = 48;
    pub(crate) const PAYLOAD_FAILURE: i32 = -1001;
    /// mcring's own, outside libmemcached's numbers.
    pub(crate) const STORED_ELSEWHERE: i32 = -2001;
    pub(crate) const STALE: i32 = -2002;
}

/// php-memcached's result code (`Memcached::RES_*`, libmemcached's
/// `memcached_return_t`) for status `s` as the last call on this thread
/// returned it: for a failure that call recorded, the code of its precise
/// cause (`RES_SERVER_TEMPORARILY_DISABLED` for a server marked dead,
/// `RES_E2BIG` for a value too large, `RES_CLIENT_ERROR` for a
/// `CLIENT_ERROR` reply, ...); otherwise the code of the status's kind
/// (`MCRING_OK` 0, `MCRING_NOT_FOUND` 16, `MCRING_NOT_STORED` 14,
/// `MCRING_EXISTS` 12, `MCRING_BAD_KEY` 33, `MCRING_BAD_VALUE` -1001
/// (`RES_PAYLOAD_FAILURE`), `MCRING_BAD_CONFIG` 43, `MCRING_INVALID_ARGUMENT`
/// 38, `MCRING_TIMEOUT` 31, `MCRING_CONNECTION_ERROR` 3,
/// `MCRING_SERVER_ERROR` 10, `MCRING_PROTOCOL_ERROR` 8, `MCRING_NO_SERVERS`
/// 20, `MCRING_STORED_ELSEWHERE` -2001 and `MCRING_STALE` -2002 (mcring's
/// own), `MCRING_LEASE` 16 (a miss to compute), other statuses 1
/// (`RES_FAILURE`)). A number that is no status gives 1.
#[no_mangle]
pub extern "C" fn mcring_memcached_code(s: mcring_status_arg) -> i32 {
    value_call(memcached_code::FAILURE, || match mcring_status::from_number(s) {
        Some(status) => last_error::code_for(status).unwrap_or(status.memcached_code()),
        None => memcached_code::FAILURE,
    })
}

/// php-memcached's result code for status `s` itself, whatever the last call
/// recorded: the codes listed for `mcring_memcached_code()`. For a status a
/// binding made up itself (not returned by a libmcring call).
#[no_mangle]
pub extern "C" fn mcring_status_memcached_code(s: mcring_status_arg) -> i32 {
    value_call(memcached_code::FAILURE, || {
        mcring_status::from_number(s).map_or(memcached_code::FAILURE, mcring_status::memcached_code)
    })
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
            (Error::AuthFailed { server: server(), message: "refused".into() }, MCRING_AUTH_FAILED),
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

    #[test]
    fn memcached_codes_of_statuses_and_causes() {
        use crate::boundary::{status_call, Failure};
        let plain = [
            (MCRING_OK, 0),
            (MCRING_NOT_FOUND, 16),
            (MCRING_NOT_STORED, 14),
            (MCRING_EXISTS, 12),
            (MCRING_BAD_KEY, 33),
            (MCRING_BAD_VALUE, -1001),
            (MCRING_TIMEOUT, 31),
            (MCRING_CONNECTION_ERROR, 3),
            (MCRING_NO_SERVERS, 20),
        ];
        for (status, code) in plain {
            assert_eq!(mcring_memcached_code(status as u32), code, "{status:?}");
        }
        assert_eq!(mcring_memcached_code(99), 1);
        let server = || "a:1".to_string();
        let causes = [
            (Error::ServerDown { server: server() }, 47),
            (Error::Connection { server: server(), message: "refused".into() }, 3),
            (Error::Server { server: server(), message: "CLIENT_ERROR bad data".into() }, 9),
            (Error::Server { server: server(), message: "object too large for cache".into() }, 37),
            (
                Error::Server { server: server(), message: "out of memory storing object".into() },
                48,
            ),
            (Error::Server { server: server(), message: "busy".into() }, 10),
            (Error::BadValue("value is 9 bytes, over max_value_bytes 8".into()), 37),
        ];
        for (e, code) in causes {
            let status = status_call(|| Err(Failure::of_error(&e)));
            assert_eq!(mcring_memcached_code(status as u32), code, "{e:?}");
        }
        // A status other than the recorded failure's gets its plain code.
        let status =
            status_call(|| Err(Failure::of_error(&Error::ServerDown { server: server() })));
        assert_eq!(status, MCRING_CONNECTION_ERROR);
        assert_eq!(mcring_memcached_code(MCRING_TIMEOUT as u32), 31);
        assert_eq!(mcring_memcached_code(MCRING_CONNECTION_ERROR as u32), 47);
    }
}
