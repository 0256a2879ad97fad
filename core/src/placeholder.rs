//! Lease placeholders, told apart from empty values.
//!
//! A lease read of a missing key (`mg ... N`) makes memcached create an
//! empty item, the placeholder, that stands for the key until the lease's
//! winner stores its value (see `lease`). memcached's text `get` returns it
//! like any other item: an empty value with flags 0. A plain read that
//! returned it would hand the caller an empty string where the key is
//! missing, for as long as the winner computes, so plain reads check: a
//! text reply that could be a placeholder (empty, flags 0: rare among real
//! values) is looked at once more with `mg`, whose flags say whether it is
//! one (`W`/`Z`: a lease was handed out for it, and it is not a stale
//! value). Meta replies carry the flags already.

use crate::error::Result;
use crate::protocol::meta::{self, MetaFlag, MetaFlags, MetaReply};
use crate::reply::meta_unexpected;
use crate::server_set::ServerSet;

/// Whether a meta reply's item is a lease placeholder: empty, flags 0, a
/// lease handed out for it (`W` to this reader, or `Z` to another), and
/// not a stale (invalidated) value.
pub(crate) fn is_placeholder(data: &[u8], flags: &MetaFlags<'_>) -> bool {
    data.is_empty()
        && flags.client_flags().unwrap_or(0) == 0
        && !flags.stale()
        && (flags.won() || flags.win_sent())
}

/// Whether a text `get` reply's item could be a placeholder (and must be
/// checked with [`ServerSet::is_placeholder_now`] before it is returned).
#[inline]
pub(crate) fn may_be_placeholder(data: &[u8], flags: u32) -> bool {
    data.is_empty() && flags == 0
}

impl ServerSet {
    /// Whether `key` on server `s` is now a lease placeholder, or gone:
    /// either way a read of it is a miss. One `mg <key> f` (no value).
    pub(crate) fn is_placeholder_now(&self, s: usize, key: &[u8]) -> Result<bool> {
        let prefix = self.io.prefix.clone();
        let mut placeholder = false;
        self.exchange_meta(
            s,
            true,
            |buf| meta::encode_mg(buf, &prefix, key, &[MetaFlag::ReturnFlags]),
            |name, reply| {
                placeholder = match reply {
                    MetaReply::Hit(flags) => is_placeholder(b"", &flags),
                    MetaReply::Value { data, flags } => is_placeholder(data, &flags),
                    MetaReply::Miss(_) => true,
                    // No meta protocol (memcached before 1.6): no leases
                    // either, so a real empty value.
                    MetaReply::Error => false,
                    other => return Err(meta_unexpected(name, other)),
                };
                Ok(())
            },
        )?;
        Ok(placeholder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Limits;

    fn flags_of(reply: &[u8]) -> (Vec<u8>, bool) {
        let limits = Limits::default();
        match meta::parse_meta_reply(reply, &limits).unwrap().unwrap().0 {
            MetaReply::Value { data, flags } => (data.to_vec(), is_placeholder(data, &flags)),
            MetaReply::Hit(flags) => (Vec::new(), is_placeholder(b"", &flags)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn memcached_1_6_replies_tell_placeholders_from_empty_values() {
        // Replies as memcached 1.6.18 sends them.
        assert!(flags_of(b"HD c1 f0 t-1 W\r\n").1, "the vivifying read's own placeholder");
        assert!(flags_of(b"HD f0 Z\r\n").1, "another reader's view of it");
        assert!(flags_of(b"VA 0 Z\r\n\r\n").1);
        assert!(!flags_of(b"HD f0\r\n").1, "an empty value someone stored");
        assert!(!flags_of(b"HD f0 X W\r\n").1, "an invalidated empty value is stale, not missing");
        assert!(!flags_of(b"HD f0 Z X\r\n").1);
        assert!(!flags_of(b"HD f5 Z\r\n").1, "flags: a value, recached");
        assert!(!flags_of(b"VA 1 Z\r\nx\r\n").1, "data: a value, recached");
        assert!(may_be_placeholder(b"", 0));
        assert!(!may_be_placeholder(b"", 1) && !may_be_placeholder(b"x", 0));
    }
}
