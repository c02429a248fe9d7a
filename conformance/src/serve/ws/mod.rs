//! The reference WebSocket server: a conformant echo server on the framing crate
//! (`pulsecheck-ws`), and a [`Fault`] for each violation the WebSocket suite
//! detects.
//!
//! ```no_run
//! use pulsecheck::serve::ws::{self, WsServerConfig};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let server = ws::start(WsServerConfig {
//!     subprotocols: vec!["chat".to_owned()],
//!     ..WsServerConfig::default()
//! })
//! .await?;
//! println!("echoing at {}", server.url()); // ws://127.0.0.1:PORT/
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What the clean server does (PROTOCOL.md §3, RFC 6455)
//!
//! It runs in-process on the caller's tokio runtime, on raw TCP: the request head
//! goes through the framing crate's handshake validator; after the 101, the
//! connection is the wire layer the probe and the host use
//! ([`WsConnection`](crate::ws::connection::WsConnection), pulsecheck in the
//! server role): what the client sends is decoded by the framing crate's
//! [`FrameStream`](pulsecheck_ws::streaming::FrameStream) set for client frames,
//! and every frame the server sends is written by its encoder, unmasked as a
//! server's must be ([`mask_for`](crate::ws::connection::mask_for)). Any request
//! target is accepted.
//!
//! * **Opening handshake** (§4.2): the request is validated with
//!   [`validate_client_request`](pulsecheck_ws::handshake::validate_client_request).
//!   A missing or other `Sec-WebSocket-Version` than 13 gets `426 Upgrade Required`
//!   with `Sec-WebSocket-Version: 13`; any other problem (not GET, HTTP/1.0, no
//!   `Host`, no `Upgrade: websocket` or `Connection: Upgrade`, a key that is not
//!   base64 of 16 bytes, a malformed subprotocol or extension list) gets `400 Bad
//!   Request`; a head over 16 KiB gets 431. A valid request gets `101 Switching
//!   Protocols` with `Sec-WebSocket-Accept`, the first offered subprotocol that is
//!   in [`WsServerConfig::subprotocols`] (none by default), and no extension
//!   unless [`WsServerConfig::deflate`] is set (below).
//! * **permessage-deflate** (RFC 7692, with [`WsServerConfig::deflate`]; `serve ws
//!   --deflate`): the client's offers are read in its order of preference and the
//!   first one the [`ServerPolicy`] can accept is answered, by the framing crate's
//!   [`negotiate_server`](pulsecheck_ws::deflate::negotiate_server): an offer with
//!   an unknown or repeated parameter or an invalid value is declined, never a
//!   reason to fail the handshake (§7); the answer echoes
//!   `server_no_context_takeover`, keeps `server_max_window_bits` no larger than
//!   offered and has `client_max_window_bits` only when it was offered (§7.1). A
//!   window of 8 bits is answered 8 and compressed with zlib's 9, which never
//!   refers back more than 250 bytes ([`WindowBits::for_zlib`]). On an agreed
//!   connection a message whose first frame has RSV1 is inflated (at most
//!   [`WsServerConfig::max_message_size`] bytes: a bomb gets 1009 having cost no
//!   more; data that does not inflate, or text that is not UTF-8 once inflated,
//!   gets 1007), a message without RSV1 is taken as it is (§6.2), every echo is
//!   compressed (one frame, RSV1 set) with the agreed window and context
//!   takeover, and RSV1 on a control or continuation frame fails the connection
//!   with 1002 (§6.1). Without an agreement RSV1 stays a protocol error.
//! * **Echo**: every complete data message comes back as one unmasked frame with
//!   the same opcode, fragmented messages included. Text is validated as UTF-8
//!   incrementally, across fragments and inside frames still arriving, so an
//!   invalid byte fails the connection as soon as it is read.
//! * **Control frames**: a ping is answered with a pong carrying the same payload
//!   as soon as the frames read with it are handled, between the fragments of a
//!   message too; unsolicited pongs are ignored.
//! * **Violations**: the first broken rule fails the connection: a Close with the
//!   code [`ProtocolError::close_code`](pulsecheck_ws::ProtocolError::close_code)
//!   gives (1007 for invalid UTF-8 in a text message or a close reason, 1009 for a
//!   frame or message above [`WsServerConfig::max_message_size`], 1002 for every
//!   other rule: unmasked frame, reserved opcode or RSV bit, fragmented or long
//!   control frame, bad continuation, 1-byte close body, invalid close code,
//!   non-minimal length, ...), then the server closes TCP and reads nothing more.
//! * **Closing handshake** (§5.5.1, §7.1.1): a valid Close is answered with a Close
//!   echoing its code (1000 when it had none), then the server closes TCP first
//!   (FIN), reading and discarding until the client's FIN for up to 2 s.
//! * **Idle pings**: with [`WsServerConfig::ping_interval`] set, a client that has
//!   sent nothing for that long gets a ping (payload `pulsecheck idle ping`). A
//!   missing pong is not held against it.
//! * **Idle timeout**: with [`WsServerConfig::idle_timeout`] set, a client that has
//!   sent nothing at all (no frame of any kind, pongs included) for that long gets
//!   a Close 1001 (going away), then the server closes TCP. With a `ping_interval`
//!   below it, this is dead-peer detection: a client that answers the pings stays,
//!   one that does not is closed.
//! * **Stopping**: [`RunningServer::shutdown`] sends every open connection a
//!   Close 1001 (going away) and closes it.
//!
//! Memory is bounded whatever clients do: a connection holds the message being
//! received (at most `max_message_size`: the reader refuses a larger frame or
//! message from its length field, before its payload arrives), which an echo of
//! 64 KiB or more is sent from in place (a smaller one, or one a fault reshapes,
//! is copied into the queue of frames to send; with permessage-deflate, the
//! message inflated, at most `max_message_size` again, and its compressed echo,
//! plus the two zlib contexts of about 300 KiB), a read buffer of about 64 KiB
//! that frames are taken from in pieces as they arrive, a request head of at
//! most 16 KiB and at most 32 late pongs ([`Fault::PongsLate`]); above
//! [`WsServerConfig::max_connections`] open WebSocket connections a handshake
//! gets 503, and TCP connections beyond twice that (plus a margin) are closed as
//! soon as they are accepted. A client that does not read its echoes slows only
//! itself: the server stops reading from it until its echoes are written.

mod connection;
mod deflate;
mod fault;
mod handshake;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pulsecheck_ws::deflate::ServerPolicy;
#[cfg(doc)]
use pulsecheck_ws::deflate::WindowBits;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::listener::BoundedListener;
use super::{TaskToken, stopped, tcp_limit};

pub use super::UnknownFault;
pub use fault::{ECHOES_BEFORE_STOPPING, Fault, SLOW_ECHO};

use connection::{Connection, linger_close};
use handshake::Handshake;

/// How long a client may take to send its request head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server accepts and how much it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsServerConfig {
    /// Where to listen. Default `127.0.0.1:0` (any free port).
    pub addr: SocketAddr,
    /// The subprotocols the server speaks. The first one the client offers (in
    /// the client's order) that is in this list is selected. Default none.
    pub subprotocols: Vec<String>,
    /// The largest message (and frame) accepted, in bytes; a larger one fails the
    /// connection with 1009. Default 16 MiB; must not be zero.
    pub max_message_size: u64,
    /// Ping a client that has sent nothing for this long. Default `None` (never);
    /// must not be zero.
    pub ping_interval: Option<Duration>,
    /// Close a client that has sent nothing at all for this long: no frame of any
    /// kind, so a pong answering one of the server's pings counts as hearing
    /// from it. The server sends a Close 1001 (going away) and closes TCP.
    /// Default `None` (idle connections stay open); must not be zero.
    pub idle_timeout: Option<Duration>,
    /// How many WebSocket connections may be open at once; more handshakes get
    /// 503. Default 256; must not be zero.
    pub max_connections: usize,
    /// Negotiate permessage-deflate (RFC 7692) within this policy, or `None`
    /// (the default) to decline every offer. `Some(ServerPolicy::default())`
    /// accepts any valid offer as asked.
    pub deflate: Option<ServerPolicy>,
    /// The violation to commit, or `None` for the conformant server. The
    /// compression faults ([`Fault::needs_deflate`]) need
    /// [`deflate`](Self::deflate).
    pub fault: Option<Fault>,
}

impl WsServerConfig {
    /// The default [`max_message_size`](Self::max_message_size): 16 MiB, the
    /// largest message of Autobahn's limits cases (9.1.6, 9.2.6).
    pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 16 << 20;

    fn validate(&self) -> io::Result<()> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        if self.max_message_size == 0 {
            return invalid("max_message_size must be above zero");
        }
        if self.ping_interval.is_some_and(|every| every.is_zero()) {
            return invalid("ping_interval must be above zero");
        }
        if self.idle_timeout.is_some_and(|after| after.is_zero()) {
            return invalid("idle_timeout must be above zero");
        }
        if self.max_connections == 0 {
            return invalid("max_connections must be above zero");
        }
        match self.fault {
            Some(fault) if fault.needs_deflate() && self.deflate.is_none() => {
                return invalid("a permessage-deflate fault needs deflate (--deflate)");
            }
            Some(Fault::EnablesDeflate) if self.deflate.is_some() => {
                return invalid("enables-deflate is a fault of a server without deflate");
            }
            _ => {}
        }
        Ok(())
    }
}

impl Default for WsServerConfig {
    fn default() -> Self {
        WsServerConfig {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            subprotocols: Vec::new(),
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
            ping_interval: None,
            idle_timeout: None,
            max_connections: 256,
            deflate: None,
            fault: None,
        }
    }
}

/// What the server's tasks share.
#[derive(Debug)]
struct Shared {
    config: WsServerConfig,
    /// Open WebSocket connections (handshake done, TCP not yet closed).
    active: AtomicUsize,
    /// Becomes true when the server stops.
    stop: watch::Sender<bool>,
}

/// One open WebSocket connection, counted in [`Shared::active`] until dropped.
#[derive(Debug)]
struct ActiveGuard {
    shared: Arc<Shared>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    /// Counts a new connection in, unless `max_connections` are already open.
    fn admit(self: &Arc<Self>) -> Option<ActiveGuard> {
        let max = self.config.max_connections;
        self.active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ActiveGuard {
                shared: Arc::clone(self),
            })
    }
}

/// A server started by [`start`]. Dropping it stops the server too, without
/// waiting.
pub struct RunningServer {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    done: mpsc::Receiver<()>,
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .field("fault", &self.shared.config.fault)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The address the server listens on (with the port chosen when it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL to connect to, e.g. `ws://127.0.0.1:41234/`. An unspecified
    /// listening address (`0.0.0.0`, `::`) is given as loopback.
    pub fn url(&self) -> String {
        let addr = super::client_address(self.local_addr);
        format!("ws://{addr}/")
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &WsServerConfig {
        &self.shared.config
    }

    /// How many WebSocket connections are open now: counted from the 101 answer
    /// until the connection has ended (the server has closed TCP and the client
    /// has closed its side, or 2 s have passed). When every client has gone, this
    /// returns to 0; [`Fault::NeverClosesTcp`] and [`Fault::StopsEchoing`] keep
    /// their connections counted until their clients close them.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Stops accepting, sends every open connection a Close 1001 and closes it,
    /// and waits (up to 5 s) until every task of the server has ended.
    pub async fn shutdown(mut self) {
        super::stop_and_wait(&self.shared.stop, &mut self.done).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shared.stop.send_replace(true);
    }
}

/// Starts the reference WebSocket server on the current tokio runtime.
///
/// Fails when the configuration is invalid (`InvalidInput`: a zero message size,
/// ping interval, idle timeout or connection limit, a compression fault without
/// [`WsServerConfig::deflate`]) or the address cannot be bound.
pub async fn start(config: WsServerConfig) -> io::Result<RunningServer> {
    config.validate()?;
    let listener = TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        config,
        active: AtomicUsize::new(0),
        stop,
    });
    let (token, done) = TaskToken::new();
    let listener = BoundedListener::new(listener, tcp_limit(shared.config.max_connections));
    tokio::spawn(accept(listener, Arc::clone(&shared), token));
    Ok(RunningServer {
        local_addr,
        shared,
        done,
    })
}

/// Accepts connections and serves each on its own task, until the server stops.
async fn accept(listener: BoundedListener, shared: Arc<Shared>, token: TaskToken) {
    let mut stop = shared.stop.subscribe();
    loop {
        let (tcp, counted) = tokio::select! {
            admitted = listener.accept() => admitted,
            () = stopped(&mut stop) => return,
        };
        // Echoes and pongs are small and must leave at once.
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let token = token.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve(tcp, shared, stop).await;
            drop(counted);
            drop(token);
        });
    }
}

/// Serves one TCP connection: the opening handshake, then the WebSocket
/// connection.
async fn serve(mut tcp: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let read = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake::read(&mut tcp, &shared.config));
    let handshake = tokio::select! {
        read = read => read.unwrap_or(Handshake::Gone),
        () = stopped(&mut stop) => Handshake::Gone,
    };
    match handshake {
        Handshake::Gone => {}
        Handshake::Reject(answer) => {
            if tcp.write_all(&answer).await.is_ok() {
                linger_close(&mut tcp, &mut stop).await;
            }
        }
        Handshake::Accept {
            response,
            leftover,
            agreement,
        } => {
            let Some(active) = shared.admit() else {
                if tcp.write_all(&handshake::over_capacity()).await.is_ok() {
                    linger_close(&mut tcp, &mut stop).await;
                }
                return;
            };
            if tcp.write_all(&response).await.is_ok() {
                Connection::new(tcp, &shared.config, leftover, agreement)
                    .run(&mut stop)
                    .await;
            }
            drop(active);
        }
    }
}
