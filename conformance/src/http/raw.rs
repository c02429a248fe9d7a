//! Raw connections for protocols that take over the byte stream after an HTTP/1.1
//! handshake, WebSocket first: TCP for `ws://`/`http://`, TLS with ALPN `http/1.1`
//! only for `wss://`/`https://` (RFC 6455 §4.1 runs the handshake over HTTP/1.1).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use url::Url;

use super::error::{ClientError, Phase};
use super::wire::{MAX_HEAD, Malformation, MalformationKind, Tap, WireLog, quote};
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
        let started = Instant::now();
        self.open_raw(url)
            .await
            .map_err(|e| self.blame_deadline(e, started))
    }

    async fn open_raw(&self, url: &Url) -> Result<RawStream, ClientError> {
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
        let deadline = self.phase_deadline(limit);
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
        let below = WireLog::raw();
        let tapped = Tap::new(stream, Arc::clone(&below));
        match timeout_at(deadline, connector.connect(server_name, tapped)).await {
            Err(_elapsed) => Err(ClientError::Timeout {
                phase: Phase::TlsHandshake,
                target: host_text,
                after: limit,
            }),
            Ok(Err(err)) => Err(tls::handshake_error(&host_text, err, &below)),
            Ok(Ok(tls)) => Ok(RawStream {
                io: Box::new(tls),
                remote_addr,
                tls: true,
            }),
        }
    }
}

/// The answer [`Client::request_head_raw`] read: the response head, and the open
/// connection after it.
pub struct RawReply {
    /// The connection, positioned after the head (bytes that came with the head and
    /// belong after it are in `after_head`).
    pub stream: RawStream,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Header fields in order, names lowercase, values decoded lossily.
    pub headers: Vec<(String, String)>,
    /// Bytes that arrived after the head in the same reads.
    pub after_head: Vec<u8>,
}

impl std::fmt::Debug for RawReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawReply")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Sends `request` exactly as given on a new raw connection ([`connect_raw`]) and
    /// reads the response head (at most 64 KiB), within the configured response
    /// timeout. For requests the HTTP client cannot send, a WebSocket opening
    /// handshake first: a probe's first contact with a `ws://` or `wss://` endpoint.
    ///
    /// A server that answers with something that is not an HTTP response, closes
    /// without answering, or sends a head that cannot be read gives
    /// [`ClientError::Malformed`], which names the rule and quotes the bytes.
    ///
    /// [`connect_raw`]: Client::connect_raw
    pub async fn request_head_raw(
        &self,
        url: &Url,
        request: &[u8],
    ) -> Result<RawReply, ClientError> {
        let started = Instant::now();
        self.exchange_head_raw(url, request)
            .await
            .map_err(|e| self.blame_deadline(e, started))
    }

    async fn exchange_head_raw(&self, url: &Url, request: &[u8]) -> Result<RawReply, ClientError> {
        let raw = self.open_raw(url).await?;
        let limit = self.config.response_timeout;
        let deadline = self.phase_deadline(limit);
        let timeout = || ClientError::Timeout {
            phase: Phase::ResponseHead,
            target: url.to_string(),
            after: limit,
        };
        let wire = WireLog::http1(false);
        let mut io = Tap::new(raw.io, Arc::clone(&wire));
        let transport = |source: std::io::Error| ClientError::Connect {
            host: url.host_str().unwrap_or_default().to_owned(),
            addr: raw.remote_addr,
            source,
        };
        match timeout_at(deadline, io.write_all(request)).await {
            Err(_elapsed) => return Err(timeout()),
            Ok(Err(e)) => return Err(transport(e)),
            Ok(Ok(())) => {}
        }
        let malformed = |problem| ClientError::Malformed {
            url: url.to_string(),
            problem,
            source: None,
        };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let mut storage = [httparse::EMPTY_HEADER; 128];
            let mut response = httparse::Response::new(&mut storage);
            match response.parse(&buf) {
                Ok(httparse::Status::Complete(used)) => {
                    let reply = RawReply {
                        status: response.code.unwrap_or(0),
                        reason: response.reason.unwrap_or_default().to_owned(),
                        headers: crate::http::lowercase_headers(response.headers),
                        after_head: buf[used..].to_vec(),
                        stream: RawStream {
                            io: Box::new(io.into_inner()),
                            remote_addr: raw.remote_addr,
                            tls: raw.tls,
                        },
                    };
                    return Ok(reply);
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
                result => {
                    // The tap's reader says which rule and where; should it have
                    // nothing to add, httparse's word with the bytes is the answer.
                    let problem = wire.malformation().unwrap_or_else(|| Malformation {
                        kind: MalformationKind::Head,
                        offset: 0,
                        rule: "RFC 9112 §4, §5",
                        problem: match result {
                            Err(e) => format!("the response head cannot be read: {e}"),
                            Ok(_) => format!("the response head is longer than {MAX_HEAD} bytes"),
                        },
                        seen: quote(&buf, 48),
                    });
                    return Err(malformed(problem));
                }
            }
            if let Some(problem) = wire.malformation() {
                return Err(malformed(problem));
            }
            match timeout_at(deadline, io.read(&mut chunk)).await {
                Err(_elapsed) => return Err(timeout()),
                Ok(Ok(0)) => {
                    return Err(malformed(wire.malformation().unwrap_or_else(|| {
                        Malformation {
                            kind: MalformationKind::NoAnswer,
                            offset: buf.len() as u64,
                            rule: "RFC 9112 §2.1",
                            problem:
                                "the server closed the connection without answering the request"
                                    .to_owned(),
                            seen: String::new(),
                        }
                    })));
                }
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(e)) => match wire.malformation() {
                    Some(problem) => return Err(malformed(problem)),
                    None => return Err(transport(e)),
                },
            }
        }
    }
}

/// A parsed head's header fields as (lower-case name, value) pairs, values
/// decoded lossily: how every raw reader of a response head keeps them.
pub(crate) fn lowercase_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}
