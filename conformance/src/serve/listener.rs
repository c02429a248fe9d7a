//! The one accept loop every server and host of pulsecheck runs: a TCP listener
//! that keeps at most a fixed number of connections open.
//!
//! A peer that opens connections without end must not make the process grow
//! with it, so a connection accepted while the limit is reached is closed at
//! once, before a byte of it is read. Each admitted connection carries an
//! [`Admitted`] token; the connection counts as open until the token is dropped,
//! which the task serving it does when it ends (also when it panics or is
//! aborted).
//!
//! Accepting can fail without the listener being broken: out of file
//! descriptors, or a connection reset before it was accepted. Then the loop
//! waits [`ACCEPT_RETRY`] and goes on, rather than spinning or giving up.

#[cfg(test)]
use std::io;
#[cfg(test)]
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// How long accepting pauses after an error that leaves the listener usable.
pub(crate) const ACCEPT_RETRY: Duration = Duration::from_millis(20);

/// A TCP listener that admits at most `max_open` connections at once.
#[derive(Debug)]
pub(crate) struct BoundedListener {
    listener: TcpListener,
    open: Arc<AtomicUsize>,
    max_open: usize,
}

/// An admitted connection's place among the open ones; dropping it frees the
/// place.
#[derive(Debug)]
pub(crate) struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl BoundedListener {
    /// Admits at most `max_open` connections of `listener` at once (at least one).
    pub(crate) fn new(listener: TcpListener, max_open: usize) -> Self {
        BoundedListener {
            listener,
            open: Arc::new(AtomicUsize::new(0)),
            max_open: max_open.max(1),
        }
    }

    /// The address it listens on.
    #[cfg(test)]
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many admitted connections are open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// The next connection there is room for. Connections beyond the limit are
    /// closed as they arrive; errors that leave the listener usable are waited
    /// out. Cancel-safe: dropping the future loses no admitted connection.
    pub(crate) async fn accept(&self) -> (TcpStream, Admitted) {
        loop {
            let tcp = match self.listener.accept().await {
                Ok((tcp, _peer)) => tcp,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            };
            if self.open.fetch_add(1, Ordering::SeqCst) >= self.max_open {
                self.open.fetch_sub(1, Ordering::SeqCst);
                drop(tcp);
                continue;
            }
            return (tcp, Admitted(Arc::clone(&self.open)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    async fn listener(max_open: usize) -> BoundedListener {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        BoundedListener::new(tcp, max_open)
    }

    #[tokio::test]
    async fn a_connection_beyond_the_limit_is_closed_unread() {
        let bounded = listener(1).await;
        let addr = bounded.local_addr().expect("addr");
        let _first = TcpStream::connect(addr).await.expect("connect");
        let (_held, admitted) = bounded.accept().await;
        assert_eq!(bounded.open(), 1);

        let mut second = TcpStream::connect(addr).await.expect("connect");
        // The second is accepted and closed while the first holds the only
        // place; accept() goes on waiting.
        let waiting = tokio::time::timeout(Duration::from_millis(200), bounded.accept()).await;
        assert!(waiting.is_err(), "no second connection is admitted");
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), second.read(&mut byte))
            .await
            .expect("the refused connection is closed, not left hanging");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

        drop(admitted);
        assert_eq!(bounded.open(), 0);
        let _third = TcpStream::connect(addr).await.expect("connect");
        let (_tcp, _admitted) = tokio::time::timeout(Duration::from_secs(5), bounded.accept())
            .await
            .expect("a freed place admits the next connection");
        assert_eq!(bounded.open(), 1);
    }

    #[tokio::test]
    async fn a_limit_of_zero_still_admits_one() {
        let bounded = listener(0).await;
        let addr = bounded.local_addr().expect("addr");
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (_tcp, _admitted) = tokio::time::timeout(Duration::from_secs(5), bounded.accept())
            .await
            .expect("admitted");
    }
}
