//! Opening one connection: resolve, TCP, optional TLS, then HTTP/1.1 or HTTP/2 on it,
//! with the task that drives the connection owned by a guard that aborts it on drop.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

use super::{ClientError, Phase};

/// The request body type: probes only send bodiless requests (GET, HEAD, OPTIONS).
pub(crate) type RequestBody = Empty<Bytes>;

/// The sending half of a connection, HTTP/1.1 or HTTP/2.
#[derive(Debug)]
pub(crate) enum Sender {
    Http1(http1::SendRequest<RequestBody>),
    Http2(http2::SendRequest<RequestBody>),
}

impl Sender {
    pub(crate) fn is_http2(&self) -> bool {
        matches!(self, Self::Http2(_))
    }

    pub(crate) async fn send(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<Incoming>, hyper::Error> {
        match self {
            Self::Http1(sender) => {
                sender.ready().await?;
                sender.send_request(request).await
            }
            Self::Http2(sender) => {
                sender.ready().await?;
                sender.send_request(request).await
            }
        }
    }
}

/// The spawned task that drives a connection (reads and writes the socket). Dropping
/// the guard aborts the task, which drops the socket: the connection closes at once
/// instead of lingering until the server gives up.
#[derive(Debug)]
pub(crate) struct ConnectionTask(JoinHandle<()>);

impl Drop for ConnectionTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves `host` (a literal address needs no lookup), before `deadline`.
pub(crate) async fn resolve(
    host: &url::Host<&str>,
    port: u16,
    deadline: Instant,
    limit: std::time::Duration,
) -> Result<Vec<SocketAddr>, ClientError> {
    let name = match host {
        url::Host::Ipv4(ip) => return Ok(vec![SocketAddr::from((*ip, port))]),
        url::Host::Ipv6(ip) => return Ok(vec![SocketAddr::from((*ip, port))]),
        url::Host::Domain(name) => *name,
    };
    let lookup = timeout_at(deadline, tokio::net::lookup_host((name, port)));
    let addrs: Vec<SocketAddr> = match lookup.await {
        Err(_elapsed) => {
            return Err(ClientError::Timeout {
                phase: Phase::Resolve,
                target: name.to_string(),
                after: limit,
            });
        }
        Ok(Err(source)) => {
            return Err(ClientError::Resolve {
                host: name.to_string(),
                source,
            });
        }
        Ok(Ok(addrs)) => addrs.collect(),
    };
    if addrs.is_empty() {
        return Err(ClientError::Resolve {
            host: name.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no addresses"),
        });
    }
    Ok(addrs)
}

/// Tries each address in turn until one accepts, all before `deadline`. Nagle is
/// turned off so requests leave at once (timings measure the server, not the client).
pub(crate) async fn tcp(
    host: &str,
    addrs: &[SocketAddr],
    deadline: Instant,
    limit: std::time::Duration,
) -> Result<(TcpStream, SocketAddr), ClientError> {
    let mut last_error = None;
    for &addr in addrs {
        match timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_elapsed) => {
                return Err(ClientError::Timeout {
                    phase: Phase::Connect,
                    target: format!("{host} ({addr})"),
                    after: limit,
                });
            }
            Ok(Ok(stream)) => {
                // Best effort: a socket that refuses TCP_NODELAY still works.
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Ok(Err(err)) => last_error = Some((addr, err)),
        }
    }
    match last_error {
        Some((addr, source)) => Err(ClientError::Connect {
            host: host.to_string(),
            addr,
            source,
        }),
        // `resolve` never returns an empty list; keep a clear error all the same.
        None => Err(ClientError::Resolve {
            host: host.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no addresses"),
        }),
    }
}

/// Starts HTTP/1.1 or HTTP/2 on an open stream and spawns the task that drives it.
pub(crate) async fn start_http<IO>(
    io: IO,
    http2: bool,
) -> Result<(Sender, ConnectionTask), hyper::Error>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    if http2 {
        let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await?;
        let task = tokio::spawn(async move {
            // The error, if any, reaches the response body; nothing to do with it here.
            let _ = connection.await;
        });
        Ok((Sender::Http2(sender), ConnectionTask(task)))
    } else {
        let (sender, connection) = http1::handshake(io).await?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok((Sender::Http1(sender), ConnectionTask(task)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_guard_aborts_the_task() {
        // The task holds a sender it never uses; once the task is dropped (aborted),
        // the receiver sees the sender go away.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let guard = ConnectionTask(tokio::spawn(async move {
            let _keep = tx;
            std::future::pending::<()>().await;
        }));
        tokio::task::yield_now().await;
        drop(guard);
        let outcome = tokio::time::timeout(std::time::Duration::from_secs(1), rx).await;
        assert!(
            matches!(outcome, Ok(Err(_))),
            "the task kept running: {outcome:?}"
        );
    }
}
