//! A server on loopback for the tests that write their own: binds 127.0.0.1 on a
//! free port and hands every accepted connection to `serve` on a task of its own.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

/// Listens on 127.0.0.1 (a free port) and serves each connection with `serve`;
/// returns the address. What `serve` returns is dropped. The listener lives as
/// long as the runtime.
pub(crate) async fn serve<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}
