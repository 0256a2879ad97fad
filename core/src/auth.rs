//! memcached's ASCII authentication (`memcached -Y authfile`): a new
//! connection sends `set <key> <flags> <exptime> <len>` with
//! `<username> <password>` as its data before anything else; the server
//! answers `STORED`, or `CLIENT_ERROR ...` and serves nothing on that
//! connection. The command goes out in front of the connection's first
//! request, so authenticating costs no round trip of its own.
//!
//! The exptime is -1: a server without `-Y` stores the command as an
//! ordinary item, already expired, so the password is never readable there.
//!
//! The password is a [`Secret`]: its `Debug` shows no value, and no error
//! or message is ever built from it.

use std::fmt;
use std::sync::Arc;

/// The key of the authentication command (ignored by memcached).
const AUTH_KEY: &str = "mcring_auth";

/// Longest line the reply to the authentication command may have.
const MAX_REPLY_LINE: usize = 1024;

/// A password. It is compared and sent, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// A password, checked to be sendable (memcached splits the
    /// authentication data at spaces and lines).
    pub fn new(password: &str) -> Result<Secret, &'static str> {
        if password.is_empty() {
            return Err("the password is empty");
        }
        if password.len() > 512 {
            return Err("the password is over 512 bytes");
        }
        if password.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err("the password contains a space or a control character, which memcached's authentication cannot carry");
        }
        Ok(Secret(password.into()))
    }

    /// The password itself, for the wire.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Checks a user name: memcached splits the authentication data at spaces.
pub(crate) fn check_username(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 250 {
        return Err("expected a user name of 1..250 bytes");
    }
    if name.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err("the user name contains a space or a control character");
    }
    Ok(())
}

/// Reads a password from `path` (once, when the option is set): the file's
/// first line, without its line end. The error names the file, never its
/// contents.
pub(crate) fn read_password_file(path: &str) -> Result<Secret, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| format!("{path} is not UTF-8 text"))?;
    let first = text.lines().next().unwrap_or("");
    Secret::new(first).map_err(|reason| format!("{path}: {reason}"))
}

/// The authentication a new connection sends first, encoded once per
/// client.
#[derive(Clone)]
pub struct Login {
    /// The user, for messages.
    pub(crate) username: Arc<str>,
    /// The encoded `set` command.
    pub(crate) command: Arc<[u8]>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").field("username", &self.username).finish_non_exhaustive()
    }
}

impl Login {
    /// The login for `username` and `password`.
    pub(crate) fn new(username: &str, password: &Secret) -> Login {
        let data = format!("{username} {}", password.expose());
        let mut command = format!("set {AUTH_KEY} 0 -1 {}\r\n", data.len()).into_bytes();
        command.extend_from_slice(data.as_bytes());
        command.extend_from_slice(b"\r\n");
        Login { username: username.into(), command: command.into() }
    }
}

/// What the front of a connection's received bytes says about its login.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LoginReply {
    /// The reply line is not complete yet.
    Incomplete,
    /// `STORED`: logged in; the reply's length.
    Accepted(usize),
    /// The server refused; why (its own words, which never hold the
    /// password).
    Refused(String),
}

/// Parses the reply to the login command at the front of `buf`.
pub(crate) fn parse_login_reply(buf: &[u8]) -> LoginReply {
    let Some(end) = memchr::memmem::find(buf, b"\r\n") else {
        if buf.len() > MAX_REPLY_LINE {
            return LoginReply::Refused("the server sent an overlong reply to the login".into());
        }
        return LoginReply::Incomplete;
    };
    let line = &buf[..end];
    if line == b"STORED" {
        return LoginReply::Accepted(end + 2);
    }
    let shown: String = String::from_utf8_lossy(&line[..line.len().min(120)])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    LoginReply::Refused(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_command_and_replies() {
        let secret = Secret::new("s3cret").unwrap();
        let login = Login::new("app", &secret);
        assert_eq!(&*login.command, b"set mcring_auth 0 -1 10\r\napp s3cret\r\n");
        assert!(!format!("{login:?}").contains("s3cret"));
        assert!(!format!("{secret:?}").contains("s3cret"));
        assert_eq!(parse_login_reply(b"STOR"), LoginReply::Incomplete);
        assert_eq!(parse_login_reply(b"STORED\r\nEND\r\n"), LoginReply::Accepted(8));
        assert_eq!(
            parse_login_reply(b"CLIENT_ERROR unauthenticated\r\n"),
            LoginReply::Refused("CLIENT_ERROR unauthenticated".into())
        );
        assert!(matches!(parse_login_reply(&[b'x'; 2000]), LoginReply::Refused(_)));
    }

    #[test]
    fn unsendable_secrets_are_refused_without_echo() {
        for bad in ["", "two words", "line\nbreak", "tab\tx"] {
            let e = Secret::new(bad).unwrap_err();
            assert!(bad.is_empty() || !e.contains(bad));
        }
        assert!(check_username("a b").is_err());
        assert!(check_username("app").is_ok());
    }
}
