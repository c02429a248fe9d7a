//! The reference SSE server: a conformant event stream, and a [`Fault`] for each
//! violation the SSE suite detects.
//!
//! ```no_run
//! use std::time::Duration;
//! use pulsecheck::serve::sse::{self, SseServerConfig};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let server = sse::start(SseServerConfig {
//!     event_interval: Duration::from_millis(100),
//!     ..SseServerConfig::default()
//! })
//! .await?;
//! println!("streaming at {}", server.url()); // http://127.0.0.1:PORT/events
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What the clean server does (PROTOCOL.md §2, WHATWG HTML §9.2)
//!
//! It runs in-process on the caller's tokio runtime and speaks HTTP/1.1 and
//! HTTP/2 (h2c with prior knowledge) on one port.
//!
//! * `GET /events` answers 200 with `Content-Type: text/event-stream;
//!   charset=utf-8`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`, and, when
//!   the request has an `Origin`, `Access-Control-Allow-Origin` echoing it. On
//!   HTTP/2 it sends no connection-specific header.
//! * The first event of every response carries `retry: N` in its block
//!   (clients that apply fields only when they dispatch an event drop a block
//!   without data, and a `retry` in it). One generator, shared by every
//!   connection, makes an event every [`SseServerConfig::event_interval`]: ids are
//!   decimal, unique and strictly increasing across the whole server, starting at
//!   1; every third event has `event: tick`; every fourth has three data lines.
//!   Each event is its own body frame, written at once. A `: heartbeat` comment
//!   follows every [`SseServerConfig::heartbeat_interval`].
//! * `Last-Event-ID: X`, with X in the bounded log of recent events
//!   ([`SseServerConfig::replay_log`]): the events after X are replayed, in order,
//!   with no duplicate and no gap, before the live ones. An unknown or empty id
//!   gets a 200 and live events.
//! * `?limit=N`: after the replay, N live events, then the response ends cleanly
//!   after the blank line of the last one.
//! * `OPTIONS /events` answers a CORS preflight: 204, the origin, `GET, OPTIONS`,
//!   and allowed headers including `last-event-id` and `cache-control`.
//! * Any other path is 404; another method on `/events` is 405.
//! * Above [`SseServerConfig::max_connections`] open streams, 503 with
//!   `Retry-After`. A stream whose client goes away is released at once: its task
//!   ends and [`RunningServer::active_connections`] falls.
//!
//! Memory is bounded whatever clients do: the log holds at most `replay_log`
//! events, each stream queues at most a few body frames (a client that stops
//! reading slows only its own stream, which catches up from the log or ends when
//! what it missed has left the log), and TCP connections beyond twice
//! `max_connections` (plus a margin) are closed as soon as they are accepted.

mod events;
mod fault;
mod routes;
mod stream;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};

use super::listener::BoundedListener;
use super::{TaskToken, stopped, tcp_limit};
use tokio::time::{Instant, MissedTickBehavior};

pub use super::UnknownFault;
pub use fault::Fault;

use events::Events;
use fault::{DIE_AFTER_DROPS, REFUSE_FOR, STRING_IDS_FIRST};

/// How long a clean server may go between heartbeats: proxies drop streams idle
/// for 15–30 s (PROTOCOL.md §2).
const MAX_CLEAN_HEARTBEAT: Duration = Duration::from_secs(15);

/// How long an HTTP/1.1 client may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server sends and how much it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseServerConfig {
    /// Where to listen. Default `127.0.0.1:0` (any free port).
    pub addr: SocketAddr,
    /// The time between two events of the generator. Default 250 ms; must not be
    /// zero.
    pub event_interval: Duration,
    /// The time between two heartbeat comments on a stream. Default 10 s; must not
    /// be zero, and must be under 15 s unless a fault is set.
    pub heartbeat_interval: Duration,
    /// The `retry` value announced at the start of every stream, in milliseconds.
    /// Default 3000.
    pub retry_ms: u64,
    /// How many recent events are kept for Last-Event-ID replay. Default 1024.
    pub replay_log: usize,
    /// How many streams may be open at once; more get 503. Default 256.
    pub max_connections: usize,
    /// The violation to commit, or `None` for the conformant server.
    pub fault: Option<Fault>,
}

impl Default for SseServerConfig {
    fn default() -> Self {
        SseServerConfig {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            event_interval: Duration::from_millis(250),
            heartbeat_interval: Duration::from_secs(10),
            retry_ms: 3000,
            replay_log: 1024,
            max_connections: 256,
            fault: None,
        }
    }
}

impl SseServerConfig {
    fn validate(&self) -> io::Result<()> {
        let invalid = |msg: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        if self.event_interval.is_zero() {
            return invalid("event_interval must be above zero");
        }
        if self.heartbeat_interval.is_zero() {
            return invalid("heartbeat_interval must be above zero");
        }
        if self.fault.is_none() && self.heartbeat_interval >= MAX_CLEAN_HEARTBEAT {
            return invalid("a clean server's heartbeat_interval must be under 15 s");
        }
        Ok(())
    }
}

/// What the server's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    config: SseServerConfig,
    events: Events,
    /// Open event streams.
    active: AtomicUsize,
    /// Becomes true when the server stops (shutdown, or [`Fault::DiesAfterDrops`]).
    stop: watch::Sender<bool>,
    /// Until when [`Fault::ReconnectRefused`] answers 503.
    refuse_until: Mutex<Option<Instant>>,
    /// Streams dropped by their clients so far.
    dropped: AtomicUsize,
    /// Notified when a stream is admitted: [`Fault::IdsComparedAsStrings`]'s
    /// generator waits for the first one.
    stream_admitted: Notify,
}

/// One open stream, counted in [`Shared::active`] until dropped.
#[derive(Debug)]
pub(crate) struct ActiveGuard {
    shared: Arc<Shared>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    /// Counts a new stream in, unless `max_connections` are already open.
    fn admit(self: &Arc<Self>) -> Option<ActiveGuard> {
        let max = self.config.max_connections;
        self.active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| {
                self.stream_admitted.notify_one();
                ActiveGuard {
                    shared: Arc::clone(self),
                }
            })
    }

    /// Whether [`Fault::ReconnectRefused`] is refusing right now.
    fn refusing(&self) -> bool {
        let until = self
            .refuse_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        until.is_some_and(|until| Instant::now() < until)
    }

    /// A client went away in the middle of its stream.
    fn client_dropped(&self) {
        let dropped = self
            .dropped
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1);
        match self.config.fault {
            Some(Fault::ReconnectRefused) => {
                *self
                    .refuse_until
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + REFUSE_FOR);
            }
            Some(Fault::DiesAfterDrops) if dropped >= DIE_AFTER_DROPS => {
                self.stop.send_replace(true);
            }
            _ => {}
        }
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

    /// The URL of the event stream, e.g. `http://127.0.0.1:41234/events`. An
    /// unspecified listening address (`0.0.0.0`, `::`) is given as loopback.
    pub fn url(&self) -> String {
        let addr = super::client_address(self.local_addr);
        format!("http://{addr}{}", routes::EVENTS_PATH)
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &SseServerConfig {
        &self.shared.config
    }

    /// How many event streams are open now (an HTTP/2 connection can carry
    /// several). A stream counts from its request until its writer task has ended;
    /// when every client has gone, this returns to 0.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Stops accepting, closes every connection and waits (up to 5 s) until every
    /// task of the server has ended.
    pub async fn shutdown(mut self) {
        super::stop_and_wait(&self.shared.stop, &mut self.done).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shared.stop.send_replace(true);
    }
}

/// Starts the reference SSE server on the current tokio runtime.
///
/// Fails when the configuration is invalid (`InvalidInput`: a zero interval, or a
/// clean server's heartbeat of 15 s or more) or the address cannot be bound.
pub async fn start(config: SseServerConfig) -> io::Result<RunningServer> {
    config.validate()?;
    let listener = TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let (stop, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        events: Events::new(
            config.replay_log,
            match config.fault {
                Some(Fault::IdsComparedAsStrings) => STRING_IDS_FIRST,
                _ => 1,
            },
        ),
        config,
        active: AtomicUsize::new(0),
        stop,
        refuse_until: Mutex::new(None),
        dropped: AtomicUsize::new(0),
        stream_admitted: Notify::new(),
    });
    let (token, done) = TaskToken::new();
    tokio::spawn(generate(Arc::clone(&shared), token.clone()));
    let listener = BoundedListener::new(listener, tcp_limit(shared.config.max_connections));
    tokio::spawn(accept(listener, Arc::clone(&shared), token));
    Ok(RunningServer {
        local_addr,
        shared,
        done,
    })
}

/// The one event generator: an event every `event_interval`, until the server
/// stops. Under [`Fault::IdsComparedAsStrings`] it starts with the first stream,
/// so whoever probes the server sees its ids pass from 999 to 1000, however long
/// after the start.
async fn generate(shared: Arc<Shared>, _token: TaskToken) {
    let mut stop = shared.stop.subscribe();
    if shared.config.fault == Some(Fault::IdsComparedAsStrings) {
        tokio::select! {
            () = shared.stream_admitted.notified() => {}
            () = stopped(&mut stop) => return,
        }
    }
    let mut ticks = tokio::time::interval(shared.config.event_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => shared.events.publish_next(),
            () = stopped(&mut stop) => return,
        }
    }
}

/// Accepts connections and serves each on its own task, until the server stops.
async fn accept(listener: BoundedListener, shared: Arc<Shared>, token: TaskToken) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = Arc::new(builder);
    let mut stop = shared.stop.subscribe();
    loop {
        let (tcp, counted) = tokio::select! {
            admitted = listener.accept() => admitted,
            () = stopped(&mut stop) => return,
        };
        // Events are small and must leave at once.
        let _ = tcp.set_nodelay(true);
        let builder = Arc::clone(&builder);
        let shared = Arc::clone(&shared);
        let token = token.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _counted = counted;
            let service_token = token.clone();
            let service = service_fn(move |request| {
                routes::handle(Arc::clone(&shared), service_token.clone(), request)
            });
            let connection = builder.serve_connection(TokioIo::new(tcp), service);
            tokio::select! {
                _ = connection => {}
                () = stopped(&mut stop) => {}
            }
            drop(token);
        });
    }
}
