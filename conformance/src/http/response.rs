//! A response as a probe sees it: head, redirects, where it came from, when each part
//! arrived, and a body read one chunk at a time.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::time::Instant;
use url::Url;

use std::sync::Arc;

use super::connect::{ConnectionTask, Sender};
use super::wire::WireLog;
use super::{ClientError, HttpStage, http_error};

/// One redirect that was followed: the server answered `from` with `status` and a
/// `Location` that resolved to `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// 301, 302, 303, 307 or 308.
    pub status: StatusCode,
    /// The URL that was requested.
    pub from: Url,
    /// The `Location` header resolved against `from` (relative references allowed).
    pub location: Url,
}

/// When the parts of the final exchange happened, each measured from the moment
/// [`Client::request`](super::Client::request) was called (so redirects followed before
/// are included; `hop_started_at` says where the final hop began).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// When the final request (after any redirects) started resolving its host. Zero when
    /// there was no redirect.
    pub hop_started_at: Duration,
    /// When the TCP connection was established.
    pub connected_at: Duration,
    /// When the TLS handshake finished (`None` over plain TCP).
    pub tls_at: Option<Duration>,
    /// When the status line and headers had arrived.
    pub head_at: Duration,
}

/// A piece of the response body as it came off the connection, with its arrival time.
///
/// Chunk boundaries are whatever the transport delivered (an HTTP/1.1 chunk, an HTTP/2
/// DATA frame, or part of one); they are not events. `at` is what a buffering probe
/// measures: events produced a second apart by the server should arrive about a second
/// apart, not together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedChunk {
    /// When the chunk was received, measured from the start of the request.
    pub at: Duration,
    /// The bytes, never empty.
    pub bytes: Bytes,
}

/// The result of [`Response::next_chunk_within`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A chunk arrived in time.
    Chunk(TimedChunk),
    /// The body ended cleanly (the server finished the response).
    End,
    /// Nothing arrived within the timeout; the connection is still open and reading can
    /// go on.
    Idle,
}

/// A response whose head has arrived and whose body is read on demand.
///
/// The metadata is in public fields; the body is read with [`next_chunk`](Self::next_chunk)
/// or [`next_chunk_within`](Self::next_chunk_within), one chunk at a time, so memory
/// stays bounded by what the caller keeps.
///
/// Each response owns its own connection. **Dropping it closes that connection at once**
/// (the task that drives it is aborted and the socket closed), whether or not the body
/// was read to the end: this is how a probe simulates a client that goes away.
#[derive(Debug)]
pub struct Response {
    /// The final URL (after redirects).
    pub url: Url,
    /// The status of the final response.
    pub status: StatusCode,
    /// The HTTP version it was received over (`HTTP_11`, `HTTP_2`, or `HTTP_10` from an
    /// old server).
    pub version: Version,
    /// The response headers, exactly as received (repeated headers kept).
    pub headers: HeaderMap,
    /// The redirects followed to get here, in order; empty when there were none.
    pub redirects: Vec<Redirect>,
    /// The address the final connection went to.
    pub remote_addr: SocketAddr,
    /// The protocol the server chose by TLS ALPN (`"h2"` or `"http/1.1"`); `None` over
    /// plain TCP or when the server did not choose one.
    pub alpn: Option<String>,
    /// When each part of the exchange happened.
    pub timing: Timing,
    body: Incoming,
    trailers: Option<HeaderMap>,
    ended: bool,
    started: Instant,
    // Kept so the connection is not closed by hyper once the request is answered; the
    // connection lives exactly as long as this response.
    _sender: Sender,
    _connection: ConnectionTask,
    // What the connection's tap saw, to locate a framing error in the body.
    wire: Arc<WireLog>,
}

/// The parts [`Client`](super::Client) assembles a [`Response`] from.
pub(crate) struct Parts {
    pub(crate) url: Url,
    pub(crate) head: http::response::Parts,
    pub(crate) body: Incoming,
    pub(crate) redirects: Vec<Redirect>,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) alpn: Option<String>,
    pub(crate) timing: Timing,
    pub(crate) started: Instant,
    pub(crate) sender: Sender,
    pub(crate) connection: ConnectionTask,
    pub(crate) wire: Arc<WireLog>,
}

impl Response {
    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            url: parts.url,
            status: parts.head.status,
            version: parts.head.version,
            headers: parts.head.headers,
            redirects: parts.redirects,
            remote_addr: parts.remote_addr,
            alpn: parts.alpn,
            timing: parts.timing,
            body: parts.body,
            trailers: None,
            ended: false,
            started: parts.started,
            _sender: parts.sender,
            _connection: parts.connection,
            wire: parts.wire,
        }
    }

    /// Waits for the next piece of the body. `Ok(None)` means the body ended cleanly;
    /// every later call returns `Ok(None)` again.
    ///
    /// An error means the connection broke or the server violated the protocol mid-body:
    /// [`ClientError::Malformed`] when the body's framing is broken (it closed the
    /// connection before the announced length, or sent a malformed chunk; the error
    /// says where and quotes the bytes), [`ClientError::Http`] with [`HttpStage::Body`]
    /// otherwise (a reset, an HTTP/2 stream error).
    ///
    /// Cancel safe: if the future is dropped before it completes (as
    /// [`next_chunk_within`](Self::next_chunk_within) does on a timeout), no data is
    /// lost; the next call returns it.
    pub async fn next_chunk(&mut self) -> Result<Option<TimedChunk>, ClientError> {
        while !self.ended {
            match self.body.frame().await {
                None => self.ended = true,
                Some(Err(source)) => {
                    self.ended = true;
                    return Err(http_error(&self.wire, HttpStage::Body, &self.url, source));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(bytes) if bytes.is_empty() => {}
                    Ok(bytes) => {
                        return Ok(Some(TimedChunk {
                            at: self.started.elapsed(),
                            bytes,
                        }));
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers
                                .get_or_insert_with(HeaderMap::new)
                                .extend(trailers);
                        }
                    }
                },
            }
        }
        Ok(None)
    }

    /// Like [`next_chunk`](Self::next_chunk), but gives up waiting after `timeout` and
    /// says so with [`Next::Idle`], leaving the connection open. A probe measuring
    /// silence (heartbeats) calls this in a loop; a chunk that arrives after an `Idle`
    /// is returned by the next call.
    pub async fn next_chunk_within(&mut self, timeout: Duration) -> Result<Next, ClientError> {
        match tokio::time::timeout(timeout, self.next_chunk()).await {
            Err(_elapsed) => Ok(Next::Idle),
            Ok(Ok(Some(chunk))) => Ok(Next::Chunk(chunk)),
            Ok(Ok(None)) => Ok(Next::End),
            Ok(Err(err)) => Err(err),
        }
    }

    /// Trailers received after the body (HTTP/2 trailers, or HTTP/1.1 chunked trailers);
    /// `None` until the body has been read past them, or when there were none.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// Time since the request started, on the same clock as [`TimedChunk::at`] and
    /// [`Timing`]: lets a probe place its own actions (a drop, a reconnect) on the
    /// transcript's time line.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
