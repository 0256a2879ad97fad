//! What servers' replies mean, for every layer of the engine: the values and
//! statuses requests return, and the errors for replies that do not fit the
//! request.

use crate::error::Error;
use crate::protocol::meta::MetaReply;
use crate::protocol::text::TextReply;

/// A value found in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The client flags stored with it.
    pub flags: u32,
    /// The CAS token, for `gets` and `get_and_touch`.
    pub cas: Option<u64>,
}

/// A value found in the cache, borrowed from the receive buffer: handed to
/// callbacks so bindings can build their own objects without a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItemRef<'a> {
    /// The stored bytes.
    pub value: &'a [u8],
    /// The client flags stored with it.
    pub flags: u32,
    /// The CAS token, for `gets` and `get_and_touch`.
    pub cas: Option<u64>,
}

impl ItemRef<'_> {
    /// An owned copy.
    pub fn to_item(&self) -> Item {
        Item { value: self.value.to_vec(), flags: self.flags, cas: self.cas }
    }
}

/// The outcome of a command that the server carried out or declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Stored, deleted or touched.
    Done,
    /// The condition of `add`, `replace`, `append` or `prepend` failed.
    NotStored,
    /// `cas`: the item changed since it was read.
    Exists,
    /// The item does not exist.
    NotFound,
    /// The write or delete took effect, but not on the key's home copies:
    /// they could not be reached, so it went to a failover target (with a
    /// TTL of at most `gutter_ttl`), and the home copies are invalidated
    /// before their servers serve again.
    StoredElsewhere,
}

impl Status {
    /// Whether the command took effect (on the key's home or elsewhere).
    pub fn is_done(self) -> bool {
        matches!(self, Status::Done | Status::StoredElsewhere)
    }

    /// Whether the command took effect on the key's home copies.
    pub fn is_home(self) -> bool {
        self == Status::Done
    }
}

/// Whether `got` equals `prefix` followed by `key`.
#[inline]
pub(crate) fn is_prefixed(got: &[u8], prefix: &[u8], key: &[u8]) -> bool {
    got.len() == prefix.len() + key.len()
        && same_bytes(&got[..prefix.len()], prefix)
        && same_bytes(&got[prefix.len()..], key)
}

/// Byte equality of two slices of the same length, in a plain loop: keys
/// are short, and a call to the C library's vectorised `memcmp` for each one
/// was measured to cost a third of a multi-get's CPU time.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Whether a `CLIENT_ERROR` says the connection has not logged in (memcached
/// with `-Y` answers every command of such a connection so).
fn is_unauthenticated(message: &[u8]) -> bool {
    message.strip_prefix(b"CLIENT_ERROR ").unwrap_or(message) == b"unauthenticated"
}

/// The error for a server that requires a login this client did not send.
fn login_required(server: &str) -> Error {
    Error::AuthFailed {
        server: server.to_string(),
        message: "the server requires a login (memcached -Y): set username= and password= \
                  (or password_file=)"
            .to_string(),
    }
}

/// An error for a reply that does not fit the request: `SERVER_ERROR` and
/// friends are reply-level errors, anything else means the stream is out of
/// step.
pub(crate) fn unexpected(server: &str, reply: TextReply<'_>) -> Error {
    match reply {
        TextReply::ClientError(m) if is_unauthenticated(m) => login_required(server),
        TextReply::ServerError(m) => Error::Server {
            server: server.to_string(),
            message: String::from_utf8_lossy(m).into_owned(),
        },
        TextReply::ClientError(m) => Error::Server {
            server: server.to_string(),
            message: format!("CLIENT_ERROR {}", String::from_utf8_lossy(m)),
        },
        TextReply::Error => Error::Server {
            server: server.to_string(),
            message: "ERROR (command not supported)".to_string(),
        },
        other => Error::protocol(server, &format!("unexpected reply {other:?}")),
    }
}

/// An error for a meta reply that does not fit the request: like
/// [`unexpected`], error replies (including `ERROR` from a server without
/// meta commands) are reply-level errors.
pub(crate) fn meta_unexpected(server: &str, reply: MetaReply<'_>) -> Error {
    match reply {
        MetaReply::ClientError(m) if is_unauthenticated(m) => login_required(server),
        MetaReply::ServerError(m) | MetaReply::ClientError(m) => Error::Server {
            server: server.to_string(),
            message: String::from_utf8_lossy(m).into_owned(),
        },
        MetaReply::Error => Error::Server {
            server: server.to_string(),
            message: "ERROR (meta commands need memcached 1.6)".to_string(),
        },
        other => Error::protocol(server, &format!("unexpected meta reply {other:?}")),
    }
}

/// The status carried by a storage, delete or touch reply.
pub(crate) fn status_reply(server: &str, reply: TextReply<'_>) -> Result<Status, Error> {
    match reply {
        TextReply::Stored | TextReply::Deleted | TextReply::Touched => Ok(Status::Done),
        TextReply::NotStored => Ok(Status::NotStored),
        TextReply::Exists => Ok(Status::Exists),
        TextReply::NotFound => Ok(Status::NotFound),
        other => Err(unexpected(server, other)),
    }
}
