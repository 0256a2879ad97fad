//! One connection to one server: a socket, its buffers and its timeouts.
//!
//! The hot path costs what a hand-written blocking client costs: one `send`
//! and one `recv` per single-key request. The socket stays in blocking mode
//! with `SO_RCVTIMEO`/`SO_SNDTIMEO` set to the I/O timeout, so the first wait
//! for a reply is a plain blocking `recv`. Every later wait in the same
//! request goes through `poll(2)` with the time that remains, so no request
//! can outlive its deadline by more than the slack below. Fan-out over many
//! connections uses `MSG_DONTWAIT` sends and receives driven by one `poll`.
//!
//! The connection knows nothing about keys or placement, and parses nothing:
//! it hands out its buffered bytes and is told how many were consumed.
//!
//! A new connection may first do a [`Handshake`]: TLS (rustls over the same
//! socket, bounded by the connect timeout, driven without blocking when a
//! fan-out opens it) and a login (memcached's ASCII authentication, sent in
//! front of the first request and checked on its first reply line). A TLS
//! connection behaves like a plain one to its callers: every receive
//! decrypts all it can and moves the plaintext into the connection's own
//! buffer, so no decrypted byte waits inside rustls where `poll(2)` cannot
//! see it. Plain connections pay one untaken branch per call for this.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use crate::auth::{parse_login_reply, Login, LoginReply};
use crate::clock::{nanos, now_ns};
use crate::tls::TlsPeer;

/// Incremented in every child after `fork()`, so connections made before the
/// fork are recognised and never used by the child.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: a single atomic increment.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The current fork generation of this process.
#[inline]
pub fn fork_generation() -> u64 {
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// A point in time by which a request's I/O must be done, in [`now_ns`]
/// nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    start_ns: u64,
    at_ns: u64,
}

/// How long after the start of a request a plain blocking `recv` (bounded by
/// `SO_RCVTIMEO` = the full I/O timeout) may still be used; later waits use
/// `poll` with the remaining time. This is the most a request can overrun.
const BLOCKING_SLACK_NS: u64 = 2_000_000;

impl Deadline {
    /// A deadline `timeout` from now.
    #[inline]
    pub fn after(timeout: Duration) -> Deadline {
        Deadline::from(now_ns(), timeout)
    }

    /// A deadline `timeout` after `start_ns` (a [`now_ns`] reading), so
    /// that one clock read starts both a request's deadline and its timing.
    #[inline]
    pub fn from(start_ns: u64, timeout: Duration) -> Deadline {
        Deadline { start_ns, at_ns: start_ns.saturating_add(nanos(timeout)) }
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Deadline) -> Deadline {
        if other.at_ns < self.at_ns {
            other
        } else {
            self
        }
    }

    /// Time left, zero once passed.
    #[inline]
    pub fn remaining(&self) -> Duration {
        Duration::from_nanos(self.at_ns.saturating_sub(now_ns()))
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        now_ns() >= self.at_ns
    }

    /// Whether a wait may still be a plain blocking `recv` (see
    /// `BLOCKING_SLACK_NS`).
    #[inline]
    fn may_block(&self) -> bool {
        now_ns().saturating_sub(self.start_ns) < BLOCKING_SLACK_NS
    }

    /// Milliseconds left, rounded up, for `poll(2)`.
    fn poll_ms(&self) -> i32 {
        let left = self.remaining();
        if left.is_zero() {
            return 0;
        }
        let ms = left.as_millis().saturating_add(1);
        ms.min(i32::MAX as u128) as i32
    }
}

thread_local! {
    static INTERRUPT_CHECK: std::cell::Cell<Option<fn() -> bool>> =
        const { std::cell::Cell::new(None) };
}

/// Installs, for the calling thread, a check run whenever a wait is
/// interrupted by a signal (`EINTR`): if it returns true the request stops
/// with [`IoFailure::Interrupted`] instead of waiting out its timeout. The
/// Python binding uses it so Ctrl-C is handled at once.
pub fn set_interrupt_check(check: Option<fn() -> bool>) {
    INTERRUPT_CHECK.with(|c| c.set(check));
}

/// Whether the calling thread's interrupt check asks to stop.
fn interrupted() -> bool {
    INTERRUPT_CHECK.with(|c| c.get().is_some_and(|check| check()))
}

/// Whether the calling thread's interrupt check asks to stop, for waits
/// outside this module that a signal interrupted.
pub(crate) fn stop_requested() -> bool {
    interrupted()
}

/// An `EINTR` that the interrupt check turned into a stop.
fn interrupt_error() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted by a signal")
}

/// What went wrong on a connection. The client adds the server's name.
#[derive(Debug)]
pub enum IoFailure {
    /// The deadline passed; the string says during what.
    Timeout(&'static str),
    /// A signal interrupted the wait and the interrupt check asked to stop.
    Interrupted,
    /// The server closed the connection.
    Closed,
    /// The operating system reported an error.
    Os(io::Error),
    /// TLS failed; the message says why and what to change.
    Tls(String),
    /// The server refused the login; the message says how.
    Login(String),
}

impl std::fmt::Display for IoFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoFailure::Timeout(during) => write!(f, "timed out during {during}"),
            IoFailure::Interrupted => f.write_str("interrupted"),
            IoFailure::Closed => f.write_str("connection closed by server"),
            IoFailure::Os(e) => e.fmt(f),
            IoFailure::Tls(m) | IoFailure::Login(m) => f.write_str(m),
        }
    }
}

impl From<io::Error> for IoFailure {
    fn from(e: io::Error) -> IoFailure {
        if e.kind() == io::ErrorKind::Interrupted {
            IoFailure::Interrupted
        } else {
            IoFailure::Os(e)
        }
    }
}

const INITIAL_BUFFER: usize = 16 * 1024;
/// Free space guaranteed before each `recv`.
const MIN_READ: usize = 8 * 1024;
/// A buffer grown beyond this for a large value is released once it has
/// not been needed for `SHRINK_AFTER` replies.
const RETAINED_BUFFER: usize = 256 * 1024;
/// Drained replies in a row that fit in `RETAINED_BUFFER` before a grown
/// buffer is given back. Releasing it after every large reply made each
/// 1 MB get fault in (and zero) its 2 MB of fresh pages again: those gets
/// ran at a fifth of a raw socket client's rate. Kept while large values
/// keep coming, a connection holds at most about twice the largest value
/// it read recently.
const SHRINK_AFTER: u32 = 64;

/// What a new connection does before its first request: a TLS handshake,
/// a login, both or neither.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    pub(crate) tls: Option<TlsPeer>,
    pub(crate) login: Option<Login>,
}

impl Handshake {
    /// Whether the connection is plain and sends nothing first.
    pub fn is_plain(&self) -> bool {
        self.tls.is_none() && self.login.is_none()
    }

    /// Whether connections use TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// A connection's TLS session.
struct TlsState {
    session: rustls::ClientConnection,
    /// The handshake is not complete yet.
    handshaking: bool,
    /// How much of the connection's `out` rustls has taken.
    accepted: usize,
    /// Room for one receive of TLS bytes: rustls reads at most 4 KiB at a
    /// time from a reader, so the socket is read here in large receives and
    /// rustls fed from memory (all of it, before the next wait: nothing
    /// received may stay where `poll` cannot see it).
    input: Vec<u8>,
}

/// Bytes of TLS records taken from the socket in one receive.
const TLS_INPUT: usize = 32 * 1024;

/// The socket as rustls reads and writes it: `recv`/`send` with flags.
struct Socket {
    fd: RawFd,
    flags: libc::c_int,
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is a valid writable region of buf.len() bytes.
        let n = unsafe {
            libc::recv(self.fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), self.flags)
        };
        if n < 0 {
            return Err(last_os_error());
        }
        Ok(n as usize)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: buf is a valid readable region of buf.len() bytes.
        let n = unsafe {
            libc::send(
                self.fd,
                buf.as_ptr() as *const libc::c_void,
                buf.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(last_os_error());
        }
        Ok(n as usize)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What one TLS receive brought.
enum Received {
    /// Plaintext, now in the connection's buffer.
    Data,
    /// TLS bytes that carried no plaintext (a session ticket, part of a
    /// record).
    Nothing,
    /// Nothing was waiting on the socket.
    WouldBlock,
}

/// The error for an I/O failure during the TLS handshake.
fn handshake_io(e: io::Error) -> IoFailure {
    match e.raw_os_error() {
        Some(libc::ECONNRESET) | Some(libc::EPIPE) => IoFailure::Tls(
            "TLS: the server reset the connection during the handshake \
             (is TLS enabled on it, memcached -Z?)"
                .into(),
        ),
        _ => IoFailure::from(e),
    }
}

/// One open connection.
pub struct Conn {
    fd: OwnedFd,
    generation: u64,
    /// A non-blocking TCP connect is still in progress.
    connecting: bool,
    /// The TLS session of a TLS connection.
    tls: Option<Box<TlsState>>,
    /// The user whose login awaits its reply (sent ahead of the first
    /// request).
    login: Option<Arc<str>>,
    /// Length of the login command at the front of `out`.
    login_len: usize,
    /// Received bytes; `buf[start..end]` are not consumed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Drained replies in a row that fitted in `RETAINED_BUFFER` while the
    /// buffer was larger.
    small_replies: u32,
    /// The request being built; written by `flush` / `try_flush`.
    pub out: Vec<u8>,
    /// How much of `out` has been written.
    written: usize,
    /// Bytes received and sent over this connection's life.
    pub bytes_read: u64,
    /// Bytes sent over this connection's life.
    pub bytes_written: u64,
    /// Quiet (noreply) batches sent on this connection whose closing reply
    /// has not been read yet: their replies come before the next request's.
    pub owed: u32,
    /// Received bytes still to be dropped unread (an oversized value).
    to_skip: u64,
    tcp: bool,
    io_timeout: Duration,
    /// While connecting: the addresses to try after the current one, last
    /// first.
    next_addrs: Vec<(libc::c_int, Sockaddr)>,
}

fn last_os_error() -> io::Error {
    io::Error::last_os_error()
}

fn set_timeout_opt(fd: RawFd, opt: libc::c_int, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: fd is an open socket; tv is a valid timeval of the right size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_os_error())
    }
}

fn set_int_opt(fd: RawFd, level: libc::c_int, opt: libc::c_int, value: libc::c_int) {
    // SAFETY: fd is an open socket; value is a c_int of the right size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Waits for `events` on one fd until the deadline. Ok(true) when ready.
fn poll_one(fd: RawFd, events: libc::c_short, deadline: &Deadline) -> io::Result<bool> {
    loop {
        let mut p = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, deadline.poll_ms()) };
        if rc > 0 {
            return Ok(true);
        }
        if rc == 0 {
            if deadline.passed() {
                return Ok(false);
            }
            continue;
        }
        let e = last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        if interrupted() {
            return Err(interrupt_error());
        }
        if deadline.passed() {
            return Ok(false);
        }
    }
}

/// Where a connection goes: a unix socket, or TCP addresses tried in turn.
/// The server layer resolves host names (off the request path); a
/// connection only ever sees addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A unix domain socket path.
    Unix(String),
    /// TCP addresses, in the order to try them.
    Tcp(Vec<SocketAddr>),
}

impl Target {
    /// Every address to try, as (family, sockaddr), first to last.
    fn sockaddrs(&self) -> io::Result<Vec<(libc::c_int, Sockaddr)>> {
        match self {
            Target::Unix(path) => Ok(vec![(libc::AF_UNIX, unix_sockaddr(path)?)]),
            Target::Tcp(addrs) if addrs.is_empty() => {
                Err(io::Error::new(io::ErrorKind::NotFound, "host name resolved to no address"))
            }
            Target::Tcp(addrs) => Ok(addrs
                .iter()
                .map(|a| (if a.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 }, sockaddr_of(a)))
                .collect()),
        }
    }

    fn is_tcp(&self) -> bool {
        matches!(self, Target::Tcp(_))
    }
}

type Sockaddr = (libc::sockaddr_storage, libc::socklen_t);

fn sockaddr_of(addr: &SocketAddr) -> Sockaddr {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn unix_sockaddr(path: &str) -> io::Result<Sockaddr> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_un.
    let sun = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_un) };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes();
    if bytes.len() >= sun.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "unix socket path too long"));
    }
    for (dst, &src) in sun.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    Ok((storage, len as libc::socklen_t))
}

/// Opens a non-blocking socket and connects it within the deadline.
fn connect_addr(
    family: libc::c_int,
    addr: &Sockaddr,
    deadline: &Deadline,
) -> Result<OwnedFd, IoFailure> {
    let fd = new_socket(family).map_err(IoFailure::Os)?;
    if start_connect(&fd, addr).map_err(IoFailure::Os)? {
        match poll_one(fd.as_raw_fd(), libc::POLLOUT, deadline) {
            Ok(true) => {}
            Ok(false) => return Err(IoFailure::Timeout("connect")),
            Err(e) => return Err(e.into()),
        }
        socket_error(fd.as_raw_fd()).map_err(IoFailure::Os)?;
    }
    Ok(fd)
}

/// Starts connecting `fd` to `addr` without waiting. Ok(true) if the
/// connection is still in progress.
fn start_connect(fd: &OwnedFd, addr: &Sockaddr) -> io::Result<bool> {
    // SAFETY: addr holds a sockaddr of length addr.1.
    let rc = unsafe {
        libc::connect(fd.as_raw_fd(), &addr.0 as *const _ as *const libc::sockaddr, addr.1)
    };
    if rc == 0 {
        return Ok(false);
    }
    let e = last_os_error();
    match e.raw_os_error() {
        // EAGAIN (a unix socket's full backlog) is a refusal, not progress.
        Some(libc::EINPROGRESS) | Some(libc::EINTR) => Ok(true),
        _ => Err(e),
    }
}

fn new_socket(family: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call.
    let raw = unsafe {
        libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0)
    };
    if raw < 0 {
        return Err(last_os_error());
    }
    // SAFETY: raw is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The pending error of a socket whose connect has finished.
fn socket_error(fd: RawFd) -> io::Result<()> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reading SO_ERROR into a c_int.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut err as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    if rc != 0 {
        return Err(last_os_error());
    }
    if err != 0 {
        return Err(io::Error::from_raw_os_error(err));
    }
    Ok(())
}

impl Conn {
    /// Connects to `target` within `connect_timeout` (its addresses in turn);
    /// replies are then awaited for at most `io_timeout` per request.
    pub fn connect(
        target: &Target,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> Result<Conn, IoFailure> {
        Conn::connect_with(target, &Handshake::default(), connect_timeout, io_timeout)
    }

    /// Like [`Conn::connect`], then does `handshake`: the TLS handshake
    /// completes within the same `connect_timeout`; a login is queued in
    /// front of the first request.
    pub fn connect_with(
        target: &Target,
        handshake: &Handshake,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> Result<Conn, IoFailure> {
        let deadline = Deadline::after(connect_timeout);
        let mut last = None;
        for (family, addr) in target.sockaddrs().map_err(IoFailure::Os)? {
            match connect_addr(family, &addr, &deadline) {
                Ok(fd) => {
                    let mut conn = Conn::ready(fd, target.is_tcp(), io_timeout)?;
                    conn.begin_session(handshake)?;
                    if conn.tls.is_some() {
                        conn.handshake_within(&deadline)?;
                    }
                    return Ok(conn);
                }
                Err(e) => last = Some(e),
            }
            if deadline.passed() {
                break;
            }
        }
        Err(last.unwrap_or(IoFailure::Timeout("connect")))
    }

    /// Starts connecting without waiting, for fan-out over many servers: the
    /// caller polls [`Conn::fd`] for writability and then calls
    /// [`Conn::finish_connect`], which moves on to the next address when one
    /// fails, so a name with several addresses never blocks the fan-out.
    pub fn begin_connect(target: &Target, io_timeout: Duration) -> Result<Conn, IoFailure> {
        Conn::begin_connect_with(target, &Handshake::default(), io_timeout)
    }

    /// Like [`Conn::begin_connect`], then does `handshake`: the TLS
    /// handshake is driven by [`Conn::finish_connect`] as the socket polls
    /// ready for [`Conn::poll_events`]; the connection counts as connecting
    /// until it is complete.
    pub fn begin_connect_with(
        target: &Target,
        handshake: &Handshake,
        io_timeout: Duration,
    ) -> Result<Conn, IoFailure> {
        let mut addrs = target.sockaddrs().map_err(IoFailure::Os)?;
        addrs.reverse();
        let mut last = IoFailure::Timeout("connect");
        while let Some((family, addr)) = addrs.pop() {
            match Conn::start(family, &addr, target.is_tcp(), io_timeout) {
                Ok(mut conn) => {
                    conn.next_addrs = addrs;
                    conn.begin_session(handshake)?;
                    if !conn.connecting && conn.tls.is_some() {
                        conn.handshake_step()?;
                    }
                    return Ok(conn);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// A socket connecting to one address.
    fn start(
        family: libc::c_int,
        addr: &Sockaddr,
        tcp: bool,
        io_timeout: Duration,
    ) -> Result<Conn, IoFailure> {
        let fd = new_socket(family).map_err(IoFailure::Os)?;
        let in_progress = start_connect(&fd, addr).map_err(IoFailure::Os)?;
        let mut conn = Conn::ready(fd, tcp, io_timeout)?;
        conn.connecting = in_progress;
        Ok(conn)
    }

    /// Completes a connect begun by [`Conn::begin_connect`] once the socket
    /// polled writable. If that address refused, the next one is begun (the
    /// connection is then still connecting); the error of the last one is
    /// returned when none is left.
    pub fn finish_connect(&mut self) -> Result<(), IoFailure> {
        if self.connecting {
            match socket_error(self.fd()) {
                Ok(()) => self.connecting = false,
                Err(e) => return self.connect_next(e),
            }
        }
        if self.tls.as_ref().is_some_and(|t| t.handshaking) {
            self.handshake_step()?;
        }
        Ok(())
    }

    /// The current address refused with `e`: begins the next one.
    fn connect_next(&mut self, e: io::Error) -> Result<(), IoFailure> {
        let mut last = IoFailure::Os(e);
        while let Some((family, addr)) = self.next_addrs.pop() {
            let fd = match new_socket(family) {
                Ok(fd) => fd,
                Err(e) => {
                    last = IoFailure::Os(e);
                    continue;
                }
            };
            match start_connect(&fd, &addr) {
                Ok(in_progress) => {
                    let next = Conn::ready(fd, self.tcp, self.io_timeout)?;
                    self.fd = next.fd;
                    self.connecting = in_progress;
                    return Ok(());
                }
                Err(e) => last = IoFailure::Os(e),
            }
        }
        Err(last)
    }

    /// Whether a connect (or its TLS handshake) is still in progress.
    #[inline]
    pub fn is_connecting(&self) -> bool {
        self.connecting || self.tls.as_ref().is_some_and(|t| t.handshaking)
    }

    /// How many bytes at the front of `out` are the login, still unsent:
    /// whatever is to go before the first request goes after them.
    pub fn queued_login_len(&self) -> usize {
        if self.login.is_some() && self.written == 0 && self.out.len() >= self.login_len {
            self.login_len
        } else {
            0
        }
    }

    /// Whether this is a TLS connection.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether the TLS session was resumed from an earlier one (no full
    /// handshake); `None` for a plain connection or before the handshake.
    pub fn is_resumed(&self) -> Option<bool> {
        let kind = self.tls.as_ref()?.session.handshake_kind()?;
        Some(kind == rustls::HandshakeKind::Resumed)
    }

    /// The `poll(2)` events to wait for: writability while connecting,
    /// what the TLS handshake needs, then readability (and writability
    /// while a request is unwritten).
    #[inline]
    pub fn poll_events(&self) -> libc::c_short {
        if self.connecting {
            return libc::POLLOUT;
        }
        if let Some(tls) = &self.tls {
            if tls.handshaking || tls.session.wants_write() {
                return libc::POLLIN | libc::POLLOUT;
            }
        }
        if self.has_unwritten() {
            libc::POLLIN | libc::POLLOUT
        } else {
            libc::POLLIN
        }
    }

    /// What the connection waits for, for a timeout's message.
    pub fn waiting_for(&self) -> &'static str {
        if self.connecting {
            "connect"
        } else if self.tls.as_ref().is_some_and(|t| t.handshaking) {
            "TLS handshake"
        } else if self.has_unwritten() {
            "write"
        } else {
            "read"
        }
    }

    /// Starts what `handshake` asks of a new connection: a TLS session
    /// (its handshake begins once the TCP connect completes) and the login,
    /// queued as the first bytes of `out`.
    fn begin_session(&mut self, handshake: &Handshake) -> Result<(), IoFailure> {
        if let Some(peer) = &handshake.tls {
            let session = rustls::ClientConnection::new(peer.config.clone(), peer.name.clone())
                .map_err(|e| IoFailure::Tls(crate::tls::describe(&e)))?;
            self.tls = Some(Box::new(TlsState {
                session,
                handshaking: true,
                accepted: 0,
                input: Vec::new(),
            }));
        }
        if let Some(login) = &handshake.login {
            self.out.extend_from_slice(&login.command);
            self.login = Some(login.username.clone());
            self.login_len = login.command.len();
        }
        Ok(())
    }

    /// Advances the TLS handshake as far as it goes without waiting.
    /// Ok(true) once it is complete.
    fn handshake_step(&mut self) -> Result<bool, IoFailure> {
        let fd = self.fd();
        loop {
            let Some(tls) = self.tls.as_deref_mut() else { return Ok(true) };
            while tls.session.wants_write() {
                match tls.session.write_tls(&mut Socket { fd, flags: libc::MSG_DONTWAIT }) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(handshake_io(e)),
                }
            }
            if !tls.session.is_handshaking() {
                tls.handshaking = false;
                // Anything the server sent after its handshake is the
                // connection's to read.
                self.tls_drain()?;
                return Ok(true);
            }
            match tls.session.read_tls(&mut Socket { fd, flags: libc::MSG_DONTWAIT }) {
                Ok(0) => {
                    return Err(IoFailure::Tls(
                        "TLS: the server closed the connection during the handshake \
                         (is TLS enabled on it, memcached -Z?)"
                            .into(),
                    ))
                }
                Ok(_) => {
                    if let Err(e) = tls.session.process_new_packets() {
                        return Err(self.tls_failed(&e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if interrupted() {
                        return Err(IoFailure::Interrupted);
                    }
                }
                Err(e) => return Err(handshake_io(e)),
            }
        }
    }

    /// Completes the TLS handshake, waiting until the deadline.
    fn handshake_within(&mut self, deadline: &Deadline) -> Result<(), IoFailure> {
        while !self.handshake_step()? {
            match poll_one(self.fd(), self.poll_events(), deadline) {
                Ok(true) => {}
                Ok(false) => return Err(IoFailure::Timeout("TLS handshake")),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// A TLS error: the alert rustls queued goes out if the socket takes
    /// it now, and the failure says what went wrong.
    fn tls_failed(&mut self, e: &rustls::Error) -> IoFailure {
        let fd = self.fd();
        if let Some(tls) = self.tls.as_deref_mut() {
            let _ = tls.session.write_tls(&mut Socket { fd, flags: libc::MSG_DONTWAIT });
        }
        IoFailure::Tls(crate::tls::describe(e))
    }

    /// Moves every decrypted byte from rustls into the buffer. Returns how
    /// many there were.
    fn tls_drain(&mut self) -> Result<usize, IoFailure> {
        let mut total = 0;
        loop {
            self.reserve_read();
            let Some(tls) = self.tls.as_deref_mut() else { return Ok(total) };
            match tls.session.reader().read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    self.took(n)?;
                    total += n;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    return Ok(total)
                }
                Err(e) => return Err(IoFailure::Os(e)),
            }
        }
    }

    /// One receive of TLS bytes (`flags` as for `recv`), decrypted, and
    /// their plaintext moved into the buffer.
    fn tls_receive(&mut self, flags: libc::c_int) -> Result<Received, IoFailure> {
        let fd = self.fd();
        let Some(tls) = self.tls.as_deref_mut() else { return Ok(Received::WouldBlock) };
        let mut input = std::mem::take(&mut tls.input);
        input.resize(TLS_INPUT, 0);
        let received = Socket { fd, flags }.read(&mut input);
        let outcome = match received {
            Ok(n) => self.tls_feed(&input[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Received::WouldBlock),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if interrupted() {
                    Err(IoFailure::Interrupted)
                } else {
                    Ok(Received::Nothing)
                }
            }
            Err(e) => Err(IoFailure::Os(e)),
        };
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.input = input;
        }
        outcome
    }

    /// Hands received TLS bytes to rustls (all of them: the records
    /// complete in them are decrypted, a partial one waits in rustls for
    /// the rest, which is still on the socket) and moves the plaintext into
    /// the buffer. No bytes is the end of the stream.
    fn tls_feed(&mut self, mut data: &[u8]) -> Result<Received, IoFailure> {
        let fd = self.fd();
        let eof = data.is_empty();
        let mut got = 0;
        loop {
            let Some(tls) = self.tls.as_deref_mut() else { return Ok(Received::Nothing) };
            if !data.is_empty() && tls.session.read_tls(&mut data).map_err(IoFailure::Os)? == 0 {
                // After the server's close_notify: what follows is ignored.
                data = &[];
            }
            let state = match tls.session.process_new_packets() {
                Ok(state) => state,
                Err(e) => return Err(self.tls_failed(&e)),
            };
            if tls.session.wants_write() {
                // An answer rustls owes the server (an alert, a key update).
                let _ = tls.session.write_tls(&mut Socket { fd, flags: libc::MSG_DONTWAIT });
            }
            got += self.tls_drain()?;
            if data.is_empty() {
                if got > 0 {
                    return Ok(Received::Data);
                }
                if eof || state.peer_has_closed() {
                    return Err(IoFailure::Closed);
                }
                return Ok(Received::Nothing);
            }
        }
    }

    /// [`Conn::fill`] for a TLS connection.
    fn tls_fill(&mut self, deadline: &Deadline) -> Result<(), IoFailure> {
        // First wait of a request: a blocking recv bounded by SO_RCVTIMEO.
        let mut flags = if deadline.may_block() { 0 } else { libc::MSG_DONTWAIT };
        loop {
            match self.tls_receive(flags)? {
                Received::Data => return Ok(()),
                Received::Nothing => {}
                Received::WouldBlock if flags == 0 => return Err(IoFailure::Timeout("read")),
                Received::WouldBlock => match poll_one(self.fd(), libc::POLLIN, deadline) {
                    Ok(true) => {}
                    Ok(false) => return Err(IoFailure::Timeout("read")),
                    Err(e) => return Err(e.into()),
                },
            }
            if deadline.passed() {
                return Err(IoFailure::Timeout("read"));
            }
            flags = libc::MSG_DONTWAIT;
        }
    }

    /// [`Conn::try_fill`] for a TLS connection.
    fn tls_try_fill(&mut self) -> Result<usize, IoFailure> {
        let before = self.bytes_read;
        self.tls_receive(libc::MSG_DONTWAIT)?;
        Ok((self.bytes_read - before) as usize)
    }

    /// Hands the pending request to rustls and writes what it encrypted,
    /// as far as the socket takes it now. Ok(true) once all is on the
    /// socket.
    fn tls_send(&mut self) -> Result<bool, IoFailure> {
        let fd = self.fd();
        loop {
            let Some(tls) = self.tls.as_deref_mut() else { return Ok(true) };
            let mut progress = false;
            while tls.accepted < self.out.len() {
                match tls.session.writer().write(&self.out[tls.accepted..]) {
                    Ok(0) => break,
                    Ok(n) => {
                        tls.accepted += n;
                        progress = true;
                    }
                    Err(e) => return Err(IoFailure::Os(e)),
                }
            }
            while tls.session.wants_write() {
                match tls.session.write_tls(&mut Socket { fd, flags: libc::MSG_DONTWAIT }) {
                    Ok(_) => progress = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(IoFailure::Os(e)),
                }
            }
            if tls.accepted >= self.out.len() {
                tls.accepted = 0;
                let rest = self.out.len() - self.written;
                self.sent(rest as isize);
                return Ok(true);
            }
            if !progress {
                return Ok(false);
            }
        }
    }

    /// Wraps a (possibly still connecting) socket: back to blocking mode with
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO`, so that `MSG_DONTWAIT` makes single calls
    /// non-blocking and plain calls are bounded by the I/O timeout.
    fn ready(fd: OwnedFd, tcp: bool, io_timeout: Duration) -> Result<Conn, IoFailure> {
        let raw = fd.as_raw_fd();
        if tcp {
            set_int_opt(raw, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
        }
        // SAFETY: fcntl on our own open descriptor.
        unsafe {
            let flags = libc::fcntl(raw, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(raw, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
        set_timeout_opt(raw, libc::SO_RCVTIMEO, io_timeout).map_err(IoFailure::Os)?;
        set_timeout_opt(raw, libc::SO_SNDTIMEO, io_timeout).map_err(IoFailure::Os)?;
        Ok(Conn {
            fd,
            generation: fork_generation(),
            connecting: false,
            tls: None,
            login: None,
            login_len: 0,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            small_replies: 0,
            out: Vec::with_capacity(1024),
            written: 0,
            bytes_read: 0,
            bytes_written: 0,
            owed: 0,
            to_skip: 0,
            tcp,
            io_timeout,
            next_addrs: Vec::new(),
        })
    }

    /// Whether this connection was opened before a `fork()` of this process
    /// (and so is shared with the parent and must not be used).
    #[inline]
    pub fn is_inherited(&self) -> bool {
        self.generation != fork_generation()
    }

    /// The socket descriptor, for `poll`.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Received bytes not consumed yet (none while the reply to the login
    /// is still incomplete: those bytes are not a reply to any request).
    #[inline]
    pub fn buffered(&self) -> &[u8] {
        if self.login.is_some() {
            return &[];
        }
        &self.buf[self.start..self.end]
    }

    /// Marks `n` buffered bytes as consumed.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            // Every reply parsed from the buffer lay in buf[..end].
            let used = self.end;
            self.start = 0;
            self.end = 0;
            if self.buf.len() > RETAINED_BUFFER {
                if used > RETAINED_BUFFER {
                    self.small_replies = 0;
                } else {
                    self.small_replies += 1;
                }
                if self.small_replies >= SHRINK_AFTER {
                    self.small_replies = 0;
                    self.buf.truncate(INITIAL_BUFFER);
                    self.buf.shrink_to(INITIAL_BUFFER);
                }
            }
        }
    }

    /// Whether a request is still (partly) unwritten.
    pub fn has_unwritten(&self) -> bool {
        self.written < self.out.len()
    }

    /// Makes room for at least `MIN_READ` more bytes.
    fn reserve_read(&mut self) {
        if self.buf.len() - self.end >= MIN_READ {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < MIN_READ {
            let grown = (self.buf.len() * 2).max(self.end + MIN_READ);
            self.buf.resize(grown, 0);
        }
    }

    fn recv(&mut self, flags: libc::c_int) -> isize {
        self.reserve_read();
        let spare = &mut self.buf[self.end..];
        // SAFETY: spare is a valid writable region of spare.len() bytes.
        unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                spare.as_mut_ptr() as *mut libc::c_void,
                spare.len(),
                flags,
            )
        }
    }

    #[inline]
    fn took(&mut self, n: usize) -> Result<(), IoFailure> {
        self.end += n;
        self.bytes_read += n as u64;
        if self.to_skip > 0 || self.login.is_some() {
            self.after_receive()?;
        }
        Ok(())
    }

    /// Checks the reply to the login at the front of the buffer, and drops
    /// bytes to be skipped.
    #[cold]
    fn after_receive(&mut self) -> Result<(), IoFailure> {
        if let Some(user) = &self.login {
            match parse_login_reply(&self.buf[self.start..self.end]) {
                LoginReply::Incomplete => return Ok(()),
                LoginReply::Accepted(n) => {
                    self.login = None;
                    self.consume(n);
                }
                LoginReply::Refused(why) => {
                    return Err(IoFailure::Login(format!(
                        "the server refused the login of user {user:?} ({why}); check \
                         username= and password= against its -Y authfile"
                    )))
                }
            }
        }
        if self.to_skip > 0 {
            self.drop_skipped();
        }
        Ok(())
    }

    /// A plaintext connection failed before it received anything: the
    /// server may expect TLS.
    #[cold]
    fn plain_failure(&self, f: IoFailure) -> IoFailure {
        if self.bytes_read > 0 || !self.tcp {
            return f;
        }
        let what = match &f {
            IoFailure::Closed => "closed the connection",
            IoFailure::Os(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                "reset the connection"
            }
            _ => return f,
        };
        IoFailure::Os(io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("the server {what} before any reply (if it requires TLS, set tls=true)"),
        ))
    }

    /// Drops unconsumed bytes that are to be skipped.
    fn drop_skipped(&mut self) {
        let drop = (self.end - self.start).min(usize::try_from(self.to_skip).unwrap_or(usize::MAX));
        self.to_skip -= drop as u64;
        self.consume(drop);
    }

    /// Drops the next `n` bytes of the stream unread, those buffered now and
    /// those still to arrive (the data of a value too large to accept).
    pub fn skip(&mut self, n: u64) {
        self.to_skip += n;
        self.drop_skipped();
    }

    /// Whether no bytes are waiting to be skipped.
    pub fn is_skip_done(&self) -> bool {
        self.to_skip == 0
    }

    /// Whether the connection is open and its request fully written.
    pub fn is_sending_done(&self) -> bool {
        !self.connecting && !self.has_unwritten()
    }

    /// Whether the server has closed this idle connection (or sent
    /// something nobody asked for): one `poll` with no wait. Stale pooled
    /// connections are checked with it before a request that must not be
    /// sent twice.
    pub fn peer_closed(&mut self) -> bool {
        let mut p =
            libc::pollfd { fd: self.fd(), events: libc::POLLIN | libc::POLLRDHUP, revents: 0 };
        // SAFETY: one valid pollfd, no wait.
        let rc = unsafe { libc::poll(&mut p, 1, 0) };
        if rc <= 0 {
            return false;
        }
        let closed = p.revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0;
        let expected = self.owed > 0 || self.login.is_some();
        if closed || p.revents & libc::POLLIN == 0 {
            return closed;
        }
        if self.tls.is_some() {
            // TLS records may carry no reply at all (a session ticket):
            // read them, and judge by the plaintext they held.
            return match self.tls_receive(libc::MSG_DONTWAIT) {
                Err(_) => true,
                Ok(Received::Data) => !expected,
                Ok(Received::Nothing | Received::WouldBlock) => false,
            };
        }
        // Readable with nothing owed: end of file, or bytes out of step.
        !expected
    }

    /// Receives at least one byte, waiting until the deadline.
    pub fn fill(&mut self, deadline: &Deadline) -> Result<(), IoFailure> {
        if self.tls.is_some() {
            return self.tls_fill(deadline);
        }
        // First wait of a request: a plain blocking recv bounded by SO_RCVTIMEO.
        if deadline.may_block() {
            let n = self.recv(0);
            if n > 0 {
                return self.took(n as usize);
            }
            if n == 0 {
                return Err(self.plain_failure(IoFailure::Closed));
            }
            let e = last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Err(IoFailure::Timeout("read")),
                Some(libc::EINTR) if interrupted() => return Err(IoFailure::Interrupted),
                Some(libc::EINTR) => {}
                _ => return Err(self.plain_failure(IoFailure::Os(e))),
            }
        }
        loop {
            let n = self.recv(libc::MSG_DONTWAIT);
            if n > 0 {
                return self.took(n as usize);
            }
            if n == 0 {
                return Err(self.plain_failure(IoFailure::Closed));
            }
            let e = last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => match poll_one(self.fd(), libc::POLLIN, deadline) {
                    Ok(true) => {}
                    Ok(false) => return Err(IoFailure::Timeout("read")),
                    Err(e) => return Err(e.into()),
                },
                Some(libc::EINTR) => {
                    if interrupted() {
                        return Err(IoFailure::Interrupted);
                    }
                    if deadline.passed() {
                        return Err(IoFailure::Timeout("read"));
                    }
                }
                _ => return Err(self.plain_failure(IoFailure::Os(e))),
            }
        }
    }

    /// Receives whatever is available without waiting. Ok(0) if nothing was.
    pub fn try_fill(&mut self) -> Result<usize, IoFailure> {
        if self.tls.is_some() {
            return self.tls_try_fill();
        }
        loop {
            let n = self.recv(libc::MSG_DONTWAIT);
            if n > 0 {
                self.took(n as usize)?;
                return Ok(n as usize);
            }
            if n == 0 {
                return Err(self.plain_failure(IoFailure::Closed));
            }
            let e = last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(0),
                Some(libc::EINTR) => continue,
                _ => return Err(self.plain_failure(IoFailure::Os(e))),
            }
        }
    }

    fn send_some(&mut self) -> isize {
        let rest = &self.out[self.written..];
        // SAFETY: rest is a valid readable region of rest.len() bytes.
        unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                rest.as_ptr() as *const libc::c_void,
                rest.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        }
    }

    fn sent(&mut self, n: isize) {
        self.written += n as usize;
        self.bytes_written += n as u64;
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
    }

    /// Writes the whole pending request, waiting until the deadline.
    pub fn flush(&mut self, deadline: &Deadline) -> Result<(), IoFailure> {
        if self.tls.is_some() {
            while !self.tls_send()? {
                match poll_one(self.fd(), libc::POLLOUT, deadline) {
                    Ok(true) => {}
                    Ok(false) => return Err(IoFailure::Timeout("write")),
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(());
        }
        while self.has_unwritten() {
            let n = self.send_some();
            if n >= 0 {
                self.sent(n);
                continue;
            }
            let e = last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => match poll_one(self.fd(), libc::POLLOUT, deadline) {
                    Ok(true) => {}
                    Ok(false) => return Err(IoFailure::Timeout("write")),
                    Err(e) => return Err(e.into()),
                },
                Some(libc::EINTR) => {}
                _ => return Err(IoFailure::Os(e)),
            }
        }
        Ok(())
    }

    /// Writes as much of the pending request as the socket takes now.
    /// Ok(true) once everything is written.
    pub fn try_flush(&mut self) -> Result<bool, IoFailure> {
        if self.tls.is_some() {
            return self.tls_send();
        }
        while self.has_unwritten() {
            let n = self.send_some();
            if n >= 0 {
                self.sent(n);
                continue;
            }
            let e = last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(false),
                Some(libc::EINTR) => {}
                _ => return Err(IoFailure::Os(e)),
            }
        }
        Ok(true)
    }

    /// Whether the connection is between requests and may go back to the
    /// pool: nothing left to write, to skip or to connect, and nothing
    /// buffered that is not owed.
    /// Bytes already received are allowed when the connection owes the
    /// replies of quiet batches: they are the start of those replies, which
    /// the next request reads first. (Refusing such a connection closed it
    /// with unread bytes, which makes the kernel reset it, and memcached
    /// then dropped the quiet writes it had not read yet.)
    pub fn is_idle(&self) -> bool {
        (self.start == self.end || self.owed > 0)
            && !self.has_unwritten()
            && self.to_skip == 0
            && !self.is_connecting()
    }
}

/// Waits until any of `fds` is ready for its events or the deadline passes.
/// Returns the number of ready descriptors (0 on timeout).
pub fn poll_many(fds: &mut [libc::pollfd], deadline: &Deadline) -> io::Result<usize> {
    loop {
        // SAFETY: fds is a valid slice of pollfd.
        let rc =
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, deadline.poll_ms()) };
        if rc >= 0 {
            if rc == 0 && !deadline.passed() {
                continue;
            }
            return Ok(rc as usize);
        }
        let e = last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
        if interrupted() {
            return Err(interrupt_error());
        }
        if deadline.passed() {
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_counts_from_the_clock_reading_it_was_given() {
        let d = Deadline::after(Duration::from_secs(10));
        assert!(d.may_block(), "a request's first wait may block");
        assert!(!d.passed());
        assert!(d.remaining() > Duration::from_secs(9));
        // Started 5 ms ago: too late to block on the full SO_RCVTIMEO, and
        // 5 ms of its time are gone.
        let earlier = Deadline::from(now_ns() - 5_000_000, Duration::from_secs(1));
        assert!(!earlier.may_block());
        assert!(earlier.remaining() <= Duration::from_millis(995));
        assert!(Deadline::from(now_ns(), Duration::ZERO).passed());
        assert_eq!(Deadline::after(Duration::ZERO).poll_ms(), 0);
        let far = Deadline::after(Duration::MAX);
        assert!(!far.passed(), "a timeout past u64 nanoseconds saturates");
        assert_eq!(far.min(earlier).at_ns, earlier.at_ns);
    }

    /// Reads `n` bytes from `peer`'s writes into `c`, then consumes them.
    fn read_all(c: &mut Conn, n: usize) {
        let deadline = Deadline::after(Duration::from_secs(10));
        while c.buffered().len() < n {
            c.fill(&deadline).expect("fill");
        }
        c.consume(n);
    }

    #[test]
    fn a_buffer_grown_for_large_values_is_kept_until_they_stop_coming() {
        use std::io::Write as _;
        use std::os::unix::net::UnixStream;
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let mut c = Conn::ready(OwnedFd::from(a), false, Duration::from_secs(10)).expect("conn");
        let big = vec![b'v'; 1 << 20];
        let writer = std::thread::spawn(move || {
            for _ in 0..3 {
                b.write_all(&big).expect("write");
            }
            b
        });
        for _ in 0..3 {
            read_all(&mut c, 1 << 20);
            assert!(c.buf.len() >= 1 << 20, "kept for the next large value");
        }
        let mut b = writer.join().expect("writer");
        let grown = c.buf.len();
        for i in 1..=SHRINK_AFTER {
            b.write_all(b"END\r\n").expect("write");
            read_all(&mut c, 5);
            if i < SHRINK_AFTER {
                assert_eq!(c.buf.len(), grown, "kept after {i} small replies");
            }
        }
        assert_eq!(c.buf.len(), INITIAL_BUFFER, "given back once not needed");
    }
}
