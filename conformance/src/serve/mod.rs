//! Reference servers: what `pulsecheck serve` runs, and what `pulsecheck probe`
//! starts in-process when it is given no URL.
//!
//! Each server is conformant by default and can commit one named fault on request,
//! so that every check of the suite can be shown to pass against the clean server
//! and to fail (or warn) against the fault it exists to catch.

pub(crate) mod listener;
pub mod sse;
pub mod ws;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

/// How long a server's `shutdown` waits for its tasks to end.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Held by every task of a server; a server's `shutdown` waits until none is
/// left.
#[derive(Debug, Clone)]
pub(crate) struct TaskToken {
    _alive: mpsc::Sender<()>,
}

impl TaskToken {
    /// A first token, and what [`stop_and_wait`] waits on until every clone of it
    /// has been dropped.
    pub(crate) fn new() -> (TaskToken, mpsc::Receiver<()>) {
        let (alive, done) = mpsc::channel(1);
        (TaskToken { _alive: alive }, done)
    }
}

/// The TCP connections a reference server admits at once when it serves at most
/// `max_connections` streams: twice as many and 16 more, so that a connection
/// over the stream limit is still answered (a 503, a refused handshake) rather
/// than dropped unread, while a peer opening connections without end is bounded.
pub(crate) fn tcp_limit(max_connections: usize) -> usize {
    max_connections.saturating_mul(2).saturating_add(16)
}

/// Resolves when the server stops (or can no longer say that it runs).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here: it must not be held across an
    // await of a task that moves between threads.
    let _stopping = stop.wait_for(|stopping| *stopping).await.is_ok();
}

/// Tells every task to stop and waits, up to [`SHUTDOWN_GRACE`], until all have
/// ended; a straggler past that ends on its own.
pub(crate) async fn stop_and_wait(stop: &watch::Sender<bool>, done: &mut mpsc::Receiver<()>) {
    stop.send_replace(true);
    // `None` once every task has dropped its token.
    let _finished = tokio::time::timeout(SHUTDOWN_GRACE, done.recv()).await;
}

/// A fault name a reference server does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault {
    /// The name that was given.
    pub name: String,
    /// The names the server knows.
    pub known: Vec<&'static str>,
}

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown fault `{}`; known faults: {}",
            self.name,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownFault {}

/// The fault among `all` whose `name` is `given` (exact match): what both
/// servers' `Fault::from_str` do.
pub(crate) fn parse_fault<F: Copy>(
    given: &str,
    all: &[F],
    name: impl Fn(F) -> &'static str,
) -> Result<F, UnknownFault> {
    all.iter()
        .copied()
        .find(|&f| name(f) == given)
        .ok_or_else(|| UnknownFault {
            name: given.to_owned(),
            known: all.iter().map(|&f| name(f)).collect(),
        })
}

/// The address clients should use: an unspecified listening address (`0.0.0.0`,
/// `::`) becomes loopback.
pub(crate) fn client_address(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    addr
}
