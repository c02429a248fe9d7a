//! Raw connections for protocols that take over the byte stream after an HTTP/1.1
//! handshake, WebSocket first: TCP for `ws://`/`http://`, TLS with ALPN `http/1.1`
//! only for `wss://`/`https://` (RFC 6455 §4.1 runs the handshake over HTTP/1.1).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout_at};
use url::Url;

use super::error::{ClientError, Phase};
use super::{Client, connect, tls};

/// A byte stream to a server: plain TCP or TLS.
pub trait RawIo: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> RawIo for T {}

/// An open raw connection.
pub struct RawStream {
    /// The stream.
    pub io: Box<dyn RawIo>,
    /// The server's address.
    pub remote_addr: SocketAddr,
    /// Whether TLS is in use.
    pub tls: bool,
}

impl std::fmt::Debug for RawStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawStream")
            .field("remote_addr", &self.remote_addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens a raw connection to `url`'s host and port (schemes `ws`, `wss`,
    /// `http`, `https`), within the configured connect timeout, with the
    /// configured TLS trust (`--cacert`, `--insecure`).
    pub async fn connect_raw(&self, url: &Url) -> Result<RawStream, ClientError> {
        let secure = match url.scheme() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => {
                return Err(ClientError::UnsupportedScheme {
                    url: url.to_string(),
                    scheme: other.to_string(),
                });
            }
        };
        let no_host = || ClientError::InvalidUrl {
            url: url.to_string(),
            reason: "it has no host".into(),
        };
        let host = url.host().ok_or_else(no_host)?;
        let host_text = url.host_str().ok_or_else(no_host)?.to_string();
        let port = url.port().unwrap_or(if secure { 443 } else { 80 });
        let limit = self.config.connect_timeout;
        let deadline = Instant::now() + limit;
        let addrs = connect::resolve(&host, port, deadline, limit).await?;
        let (stream, remote_addr) = connect::tcp(&host_text, &addrs, deadline, limit).await?;
        if !secure {
            return Ok(RawStream {
                io: Box::new(stream),
                remote_addr,
                tls: false,
            });
        }
        let server_name = tls::server_name(&host).map_err(|reason| ClientError::InvalidUrl {
            url: url.to_string(),
            reason,
        })?;
        let mut config = (*self.tls).clone();
        config.alpn_protocols = vec![tls::ALPN_HTTP11.to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        match timeout_at(deadline, connector.connect(server_name, stream)).await {
            Err(_elapsed) => Err(ClientError::Timeout {
                phase: Phase::TlsHandshake,
                target: host_text,
                after: limit,
            }),
            Ok(Err(err)) => Err(tls::handshake_error(&host_text, err)),
            Ok(Ok(tls)) => Ok(RawStream {
                io: Box::new(tls),
                remote_addr,
                tls: true,
            }),
        }
    }
}
