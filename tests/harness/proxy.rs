//! A TCP proxy that sits between a client under test and a real memcached
//! and misbehaves on command: black holes, delays, resets, cut replies,
//! garbage replies and refused connections.
//!
//! The proxy runs a single-threaded tokio runtime on a background thread.
//! The test thread switches faults with [`FaultProxy::set`]; every
//! connection task watches the current fault, so a change applies to
//! connections already open as well as to new ones.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// How a [`FaultProxy`] treats its connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Plain forwarding in both directions.
    None,
    /// Accept connections, read and discard requests, never reply. Open
    /// connections stop forwarding too (their upstream connections are
    /// dropped, so nothing stale is delivered afterwards). The client must
    /// time out.
    Blackhole,
    /// Forward, but hold every chunk read from the server for this long
    /// before passing it on to the client.
    Delay(Duration),
    /// Reset every open and every new connection (`SO_LINGER` 0, then
    /// close, which sends RST): the client sees `ECONNRESET`, on a new
    /// connection possibly already from `connect` itself.
    Reset,
    /// Forward at most this many reply bytes on each connection (counted
    /// from when the fault took effect on it), then close the connection:
    /// a reply cut in half.
    CutReplyAfter(usize),
    /// Answer every chunk of request bytes with these bytes instead of
    /// forwarding; the connection stays open.
    Garbage(Vec<u8>),
    /// Answer the first chunk of request bytes with these bytes, then close
    /// the connection.
    GarbageThenClose(Vec<u8>),
    /// Stop listening: new connects get `ECONNREFUSED` and open connections
    /// are closed. The port stays reserved (bound, not listening), and any
    /// other fault makes the proxy listen again on the same port.
    Refuse,
}

impl Fault {
    /// Whether requests go to the server under this fault.
    fn forwards(&self) -> bool {
        matches!(self, Fault::None | Fault::Delay(_) | Fault::CutReplyAfter(_))
    }
}

/// What the test thread publishes to the proxy tasks.
#[derive(Clone, Debug)]
struct Setting {
    fault: Fault,
    /// Bumped by every `set`; acknowledged by the accept loop.
    generation: u64,
    /// How many times `Reset` was set: a connection that sees this grow
    /// resets even if the fault has already moved on (quick flapping).
    resets: u64,
    /// How many times `Refuse` was set, for the same reason.
    refusals: u64,
}

/// The accept loop's answer to a `set`: which generation it has applied
/// and whether listening again failed.
#[derive(Default)]
struct Ack {
    applied: u64,
    error: Option<String>,
}

/// Counters and the acknowledgement channel shared with the proxy tasks.
#[derive(Default)]
struct Shared {
    accepted: AtomicU64,
    open: AtomicUsize,
    to_client: AtomicU64,
    to_server: AtomicU64,
    ack: Mutex<Ack>,
    acked: Condvar,
}

impl Shared {
    fn acknowledge(&self, generation: u64, error: Option<String>) {
        let mut ack = match self.ack.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        ack.applied = generation;
        ack.error = error;
        self.acked.notify_all();
    }
}

/// A fault-injecting TCP proxy on `127.0.0.1:<free port>` in front of one
/// upstream server. Dropping it stops the runtime and closes every socket
/// (listener, client and upstream connections).
pub struct FaultProxy {
    addr: SocketAddr,
    settings: Option<watch::Sender<Setting>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// How long `set` waits for the proxy to apply a listening change.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the proxy retries binding its own port again.
const REBIND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the proxy waits for the upstream server to accept.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Read buffer size per direction.
const CHUNK: usize = 16 * 1024;
/// Stop reading from a side while this many bytes wait for the other side.
const BACKLOG_LIMIT: usize = 256 * 1024;

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (which must be a loopback
    /// address), listening on `127.0.0.1:<free port>` with `Fault::None`.
    ///
    /// # Panics
    /// If `upstream` is not a loopback address, or the runtime or the
    /// listening socket cannot be created.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        assert!(
            upstream.ip().is_loopback(),
            "FaultProxy only forwards to loopback addresses, not {upstream}"
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .expect("build tokio runtime for FaultProxy");
        let listener = runtime
            .block_on(async { bind_listener(SocketAddr::from(([127, 0, 0, 1], 0))) })
            .expect("FaultProxy: listen on 127.0.0.1:0");
        let addr = listener.local_addr().expect("FaultProxy: local_addr");
        let initial = Setting { fault: Fault::None, generation: 0, resets: 0, refusals: 0 };
        let (sender, receiver) = watch::channel(initial);
        let shared = Arc::new(Shared::default());
        let task_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(accept_loop(listener, addr, upstream, receiver, task_shared));
                // Dropping the runtime here drops every connection task and
                // with it every socket.
                drop(runtime);
            })
            .expect("spawn FaultProxy thread");
        FaultProxy { addr, settings: Some(sender), shared, thread: Some(thread) }
    }

    /// The address the proxy listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the proxy listens on; it stays the same across `Refuse`.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The server token for a config string: `127.0.0.1:port`.
    pub fn spec(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }

    /// Switches to `fault`. It takes effect at once on new connections and
    /// on connections already open. Returns after the listening socket
    /// reflects the fault (closed for `Refuse`, listening otherwise), so a
    /// connect right after `set` sees the new behaviour.
    ///
    /// # Panics
    /// If the proxy cannot listen on its port again after `Refuse`, or does
    /// not apply the change within 10 s.
    pub fn set(&self, fault: Fault) {
        let Some(sender) = self.settings.as_ref() else {
            return;
        };
        let mut generation = 0;
        sender.send_modify(|s| {
            s.generation += 1;
            match fault {
                Fault::Reset => s.resets += 1,
                Fault::Refuse => s.refusals += 1,
                _ => {}
            }
            s.fault = fault;
            generation = s.generation;
        });
        let ack = match self.shared.ack.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (ack, timeout) = match self
            .shared
            .acked
            .wait_timeout_while(ack, ACK_TIMEOUT, |a| a.applied < generation)
        {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        assert!(
            !timeout.timed_out(),
            "FaultProxy on port {} did not apply a fault change within {ACK_TIMEOUT:?}",
            self.port()
        );
        if let Some(error) = &ack.error {
            panic!("FaultProxy on port {}: {error}", self.port());
        }
    }

    /// Connections accepted since the proxy started.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Client connections currently open through the proxy.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Bytes written to clients (forwarded replies and garbage). Counted
    /// just after each write, so a client may read bytes a moment before
    /// they show here: poll rather than assert right after a read.
    pub fn bytes_to_client(&self) -> u64 {
        self.shared.to_client.load(Ordering::SeqCst)
    }

    /// Bytes written to the upstream server (counted just after each write).
    pub fn bytes_to_server(&self) -> u64 {
        self.shared.to_server.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Dropping the sender ends the accept loop and every connection
        // task; the thread then drops the runtime and all sockets.
        self.settings = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A loopback port with nothing listening on it, for "connection refused"
/// tests. The port is held by a bound, non-listening socket kept for the
/// life of the process, so nothing else can start listening there.
///
/// # Panics
/// If no socket can be bound on 127.0.0.1.
pub fn closed_port() -> u16 {
    static RESERVED: Mutex<Vec<TcpSocket>> = Mutex::new(Vec::new());
    let socket = TcpSocket::new_v4().expect("closed_port: create socket");
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("closed_port: bind 127.0.0.1:0");
    let port = socket.local_addr().expect("closed_port: local_addr").port();
    match RESERVED.lock() {
        Ok(mut held) => held.push(socket),
        Err(poisoned) => poisoned.into_inner().push(socket),
    }
    port
}

/// A bound socket with `SO_REUSEADDR`, so the proxy can take its own port
/// again while old connections on it linger in TIME_WAIT.
fn bind_socket(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    bind_socket(addr)?.listen(1024)
}

/// Retries `attempt` every 10 ms until it succeeds or `REBIND_TIMEOUT` passes.
async fn retry<T>(mut attempt: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let deadline = Instant::now() + REBIND_TIMEOUT;
    loop {
        match attempt() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Brings the listening socket in line with `fault`: closed (with the port
/// held by a bound, non-listening socket) for `Refuse`, listening otherwise.
/// Returns an error message if listening again failed.
async fn apply_listening(
    fault: &Fault,
    addr: SocketAddr,
    listener: &mut Option<TcpListener>,
    reserved: &mut Option<TcpSocket>,
) -> Option<String> {
    if *fault == Fault::Refuse {
        if listener.take().is_some() {
            // A bound socket that does not listen refuses connects and
            // keeps the port ours. If it cannot be bound, connects are
            // refused all the same; listening again will retry.
            *reserved = retry(|| bind_socket(addr)).await.ok();
        }
        return None;
    }
    if listener.is_some() {
        return None;
    }
    if let Some(socket) = reserved.take() {
        if let Ok(l) = socket.listen(1024) {
            *listener = Some(l);
            return None;
        }
    }
    match retry(|| bind_listener(addr)).await {
        Ok(l) => {
            *listener = Some(l);
            None
        }
        Err(e) => Some(format!("cannot listen on {addr} again: {e}")),
    }
}

async fn accept_from(listener: Option<&TcpListener>) -> io::Result<TcpStream> {
    match listener {
        Some(l) => l.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// Accepts connections and applies listening changes until the
/// `FaultProxy` is dropped (its sender closes).
async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut settings: watch::Receiver<Setting>,
    shared: Arc<Shared>,
) {
    let mut listener = Some(listener);
    let mut reserved: Option<TcpSocket> = None;
    loop {
        let setting = settings.borrow_and_update().clone();
        let error = apply_listening(&setting.fault, addr, &mut listener, &mut reserved).await;
        shared.acknowledge(setting.generation, error);
        loop {
            tokio::select! {
                biased;
                changed = settings.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                accepted = accept_from(listener.as_ref()) => match accepted {
                    Ok(client) => {
                        shared.accepted.fetch_add(1, Ordering::SeqCst);
                        let connection = Connection::new(
                            client,
                            upstream,
                            settings.clone(),
                            Arc::clone(&shared),
                        );
                        tokio::spawn(connection.run());
                    }
                    // Out of descriptors or an aborted handshake: wait a
                    // little instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
    }
}

/// Bytes on their way to the client, not to be written before `due`.
struct Chunk {
    due: Instant,
    data: Vec<u8>,
    sent: usize,
}

/// Counts a connection as open for as long as its task exists (also when
/// the runtime drops the task at shutdown).
struct OpenGuard(Arc<Shared>);

impl OpenGuard {
    fn new(shared: Arc<Shared>) -> OpenGuard {
        shared.open.fetch_add(1, Ordering::SeqCst);
        OpenGuard(shared)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a connection goes on or ends.
enum Next {
    Continue,
    Close,
}

/// What woke a connection's select loop.
enum Event {
    FaultChanged,
    ProxyStopped,
    ClientRead(io::Result<usize>),
    UpstreamRead(io::Result<usize>),
    ClientWritten(io::Result<usize>),
    UpstreamWritten(io::Result<usize>),
}

/// One client connection and, while the fault forwards, its upstream
/// connection.
struct Connection {
    client: TcpStream,
    upstream: Option<TcpStream>,
    upstream_addr: SocketAddr,
    settings: watch::Receiver<Setting>,
    fault: Fault,
    resets_seen: u64,
    refusals_seen: u64,
    to_client: VecDeque<Chunk>,
    to_client_len: usize,
    to_server: Vec<u8>,
    to_server_sent: usize,
    client_eof: bool,
    upstream_eof: bool,
    upstream_shut: bool,
    close_when_flushed: bool,
    cut_budget: usize,
    shared: Arc<Shared>,
    _open: OpenGuard,
}

impl Connection {
    fn new(
        client: TcpStream,
        upstream_addr: SocketAddr,
        mut settings: watch::Receiver<Setting>,
        shared: Arc<Shared>,
    ) -> Connection {
        let setting = settings.borrow_and_update().clone();
        let _ = client.set_nodelay(true);
        Connection {
            client,
            upstream: None,
            upstream_addr,
            settings,
            fault: Fault::None,
            resets_seen: setting.resets,
            refusals_seen: setting.refusals,
            to_client: VecDeque::new(),
            to_client_len: 0,
            to_server: Vec::new(),
            to_server_sent: 0,
            client_eof: false,
            upstream_eof: false,
            upstream_shut: false,
            close_when_flushed: false,
            cut_budget: 0,
            _open: OpenGuard::new(Arc::clone(&shared)),
            shared,
        }
    }

    async fn run(mut self) {
        let fault = self.settings.borrow().fault.clone();
        if let Next::Close = self.enter(fault) {
            return;
        }
        if self.fault.forwards() && self.connect_upstream().await.is_err() {
            return;
        }
        let mut client_buf = vec![0u8; CHUNK];
        let mut upstream_buf = vec![0u8; CHUNK];
        loop {
            if self.finished() {
                return;
            }
            let event = self.wait(&mut client_buf, &mut upstream_buf).await;
            let next = match event {
                Event::ProxyStopped => Next::Close,
                Event::FaultChanged => self.fault_changed(),
                Event::ClientRead(r) => self.client_read(r, &client_buf).await,
                Event::UpstreamRead(r) => self.upstream_read(r, &upstream_buf),
                Event::ClientWritten(r) => self.client_written(r),
                Event::UpstreamWritten(r) => self.upstream_written(r).await,
            };
            if let Next::Close = next {
                return;
            }
        }
    }

    /// Whether the connection has nothing left to do.
    fn finished(&self) -> bool {
        let flushed = self.to_client.is_empty();
        if self.close_when_flushed && flushed {
            return true;
        }
        if self.upstream_eof && flushed {
            // The server closed: so does the client connection.
            return true;
        }
        if self.client_eof && flushed && self.upstream.is_none() {
            return true;
        }
        if let Fault::CutReplyAfter(_) = self.fault {
            // A cut at zero bytes: close as soon as a reply shows up.
            if self.cut_budget == 0 && !flushed {
                return true;
            }
        }
        false
    }

    /// Waits for the next thing to happen on either side.
    async fn wait(&mut self, client_buf: &mut [u8], upstream_buf: &mut [u8]) -> Event {
        let read_client = !self.client_eof
            && !self.close_when_flushed
            && self.to_server.len() - self.to_server_sent < BACKLOG_LIMIT;
        let read_upstream = !self.upstream_eof && self.to_client_len < BACKLOG_LIMIT;
        let write_limit = match self.fault {
            Fault::CutReplyAfter(_) => self.cut_budget,
            _ => usize::MAX,
        };
        let (mut client_r, mut client_w) = self.client.split();
        let (mut upstream_r, mut upstream_w) = match self.upstream.as_mut() {
            Some(u) => {
                let (r, w) = u.split();
                (Some(r), Some(w))
            }
            None => (None, None),
        };
        let pending_to_server = &self.to_server[self.to_server_sent..];
        tokio::select! {
            biased;
            changed = self.settings.changed() => match changed {
                Ok(()) => Event::FaultChanged,
                Err(_) => Event::ProxyStopped,
            },
            r = client_r.read(client_buf), if read_client => Event::ClientRead(r),
            r = write_due(&mut client_w, self.to_client.front(), write_limit) => {
                Event::ClientWritten(r)
            }
            r = read_from(upstream_r.as_mut(), upstream_buf), if read_upstream => {
                Event::UpstreamRead(r)
            }
            r = write_to(upstream_w.as_mut(), pending_to_server) => Event::UpstreamWritten(r),
        }
    }

    fn fault_changed(&mut self) -> Next {
        let setting = self.settings.borrow_and_update().clone();
        if setting.resets > self.resets_seen {
            return self.reset();
        }
        if setting.refusals > self.refusals_seen {
            return Next::Close;
        }
        if setting.fault == self.fault {
            return Next::Continue;
        }
        self.enter(setting.fault)
    }

    /// Switches this connection to `fault`.
    fn enter(&mut self, fault: Fault) -> Next {
        match &fault {
            Fault::Reset => return self.reset(),
            Fault::Refuse => return Next::Close,
            Fault::CutReplyAfter(n) => self.cut_budget = *n,
            Fault::Blackhole | Fault::Garbage(_) | Fault::GarbageThenClose(_) => {
                // Forget the server side entirely, so that nothing stale
                // reaches the client if forwarding resumes later.
                self.upstream = None;
                self.upstream_eof = false;
                self.upstream_shut = false;
                self.to_server.clear();
                self.to_server_sent = 0;
                self.to_client.clear();
                self.to_client_len = 0;
            }
            Fault::None | Fault::Delay(_) => {}
        }
        self.fault = fault;
        Next::Continue
    }

    /// Closes the client connection with RST.
    fn reset(&mut self) -> Next {
        let _ = self.client.set_zero_linger();
        Next::Close
    }

    async fn connect_upstream(&mut self) -> io::Result<()> {
        let connect = TcpStream::connect(self.upstream_addr);
        let stream = match tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, connect).await {
            Ok(r) => r?,
            Err(_) => return Err(io::ErrorKind::TimedOut.into()),
        };
        let _ = stream.set_nodelay(true);
        self.upstream = Some(stream);
        self.upstream_eof = false;
        self.upstream_shut = false;
        Ok(())
    }

    fn queue_to_client(&mut self, data: Vec<u8>, due: Instant) {
        if data.is_empty() {
            return;
        }
        self.to_client_len += data.len();
        self.to_client.push_back(Chunk { due, data, sent: 0 });
    }

    async fn client_read(&mut self, result: io::Result<usize>, buf: &[u8]) -> Next {
        let n = match result {
            Ok(n) => n,
            Err(_) => return Next::Close,
        };
        let Some(data) = buf.get(..n) else {
            return Next::Close;
        };
        if n == 0 {
            self.client_eof = true;
            return self.shut_upstream_if_drained().await;
        }
        match self.fault.clone() {
            Fault::None | Fault::Delay(_) | Fault::CutReplyAfter(_) => {
                if self.upstream.is_none() && self.connect_upstream().await.is_err() {
                    return Next::Close;
                }
                if self.to_server_sent == self.to_server.len() {
                    self.to_server.clear();
                    self.to_server_sent = 0;
                }
                self.to_server.extend_from_slice(data);
            }
            Fault::Blackhole => {}
            Fault::Garbage(reply) => self.queue_to_client(reply, Instant::now()),
            Fault::GarbageThenClose(reply) => {
                self.queue_to_client(reply, Instant::now());
                self.close_when_flushed = true;
            }
            Fault::Reset | Fault::Refuse => return Next::Close,
        }
        Next::Continue
    }

    fn upstream_read(&mut self, result: io::Result<usize>, buf: &[u8]) -> Next {
        let n = match result {
            Ok(n) => n,
            Err(_) => return Next::Close,
        };
        let Some(data) = buf.get(..n) else {
            return Next::Close;
        };
        if n == 0 {
            self.upstream_eof = true;
            return Next::Continue;
        }
        let due = match self.fault {
            Fault::Delay(d) => Instant::now() + d,
            _ => Instant::now(),
        };
        if self.fault.forwards() {
            self.queue_to_client(data.to_vec(), due);
        }
        Next::Continue
    }

    fn client_written(&mut self, result: io::Result<usize>) -> Next {
        let n = match result {
            Ok(0) | Err(_) => return Next::Close,
            Ok(n) => n,
        };
        self.shared.to_client.fetch_add(n as u64, Ordering::SeqCst);
        self.to_client_len = self.to_client_len.saturating_sub(n);
        if let Some(front) = self.to_client.front_mut() {
            front.sent += n;
            if front.sent >= front.data.len() {
                self.to_client.pop_front();
            }
        }
        if let Fault::CutReplyAfter(_) = self.fault {
            self.cut_budget = self.cut_budget.saturating_sub(n);
            if self.cut_budget == 0 {
                return Next::Close;
            }
        }
        Next::Continue
    }

    async fn upstream_written(&mut self, result: io::Result<usize>) -> Next {
        let n = match result {
            Ok(0) | Err(_) => return Next::Close,
            Ok(n) => n,
        };
        self.shared.to_server.fetch_add(n as u64, Ordering::SeqCst);
        self.to_server_sent = (self.to_server_sent + n).min(self.to_server.len());
        self.shut_upstream_if_drained().await
    }

    /// Passes a client's half-close on to the server once every request
    /// byte has been forwarded.
    async fn shut_upstream_if_drained(&mut self) -> Next {
        if !self.client_eof || self.upstream_shut || self.to_server_sent < self.to_server.len() {
            return Next::Continue;
        }
        if let Some(upstream) = self.upstream.as_mut() {
            if upstream.shutdown().await.is_err() {
                return Next::Close;
            }
            self.upstream_shut = true;
        }
        Next::Continue
    }
}

/// Reads from the upstream server, or never finishes if there is none.
async fn read_from(stream: Option<&mut ReadHalf<'_>>, buf: &mut [u8]) -> io::Result<usize> {
    match stream {
        Some(s) => s.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Writes pending request bytes upstream, or never finishes if there are
/// none (or no upstream).
async fn write_to(stream: Option<&mut WriteHalf<'_>>, data: &[u8]) -> io::Result<usize> {
    match stream {
        Some(s) if !data.is_empty() => s.write(data).await,
        _ => std::future::pending().await,
    }
}

/// Writes at most `limit` bytes of the first queued chunk once it is due,
/// or never finishes if nothing is queued or the limit is spent.
async fn write_due(
    stream: &mut WriteHalf<'_>,
    chunk: Option<&Chunk>,
    limit: usize,
) -> io::Result<usize> {
    let Some(chunk) = chunk else {
        return std::future::pending().await;
    };
    let rest = chunk.data.get(chunk.sent..).unwrap_or(&[]);
    let rest = rest.get(..limit.min(rest.len())).unwrap_or(rest);
    if rest.is_empty() {
        return std::future::pending().await;
    }
    tokio::time::sleep_until(chunk.due).await;
    stream.write(rest).await
}
