//! One connection from the client under test, handed to the case that plays it.
//!
//! The host reads the client's request head (bounded) and routes it; for a case
//! it builds a [`ClientSession`] holding the still-unanswered [`Upgrade`]: the
//! case decides what the response is (a correct 101, or the broken one a
//! client-duty check sends on purpose).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::http::RawIo;

/// The most request keys remembered per agent (to tell whether keys repeat).
pub const REMEMBERED_KEYS: usize = 1024;

/// The client's opening request, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, as sent.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The minor HTTP version (1 for HTTP/1.1).
    pub version: u8,
    /// Header fields in order, names lowercase, values as sent.
    pub headers: Vec<(String, String)>,
    /// The head as sent, for transcripts.
    pub raw: Vec<u8>,
}

impl RequestHead {
    /// The first value of a header (lowercase name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (lowercase name), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A client connection whose request head has been read and not yet answered.
pub struct Upgrade {
    /// The connection (plain TCP or TLS).
    pub io: Box<dyn RawIo>,
    /// The request head.
    pub request: RequestHead,
    /// Bytes the client sent after its head (frames sent before the answer).
    pub leftover: Vec<u8>,
    /// When the head was complete.
    pub received_at: Instant,
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgrade")
            .field("request", &self.request)
            .field("leftover", &self.leftover.len())
            .finish_non_exhaustive()
    }
}

/// What the host remembers of one agent across its connections.
#[derive(Debug, Default)]
pub struct AgentHistory {
    keys: Mutex<std::collections::VecDeque<String>>,
}

impl AgentHistory {
    /// Remembers the `Sec-WebSocket-Key` of a connection (the last
    /// [`REMEMBERED_KEYS`] are kept).
    pub fn remember_key(&self, key: &str) {
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() == REMEMBERED_KEYS {
                keys.pop_front();
            }
            keys.push_back(key.to_owned());
        }
    }

    /// The keys remembered, oldest first.
    pub fn keys(&self) -> Vec<String> {
        self.keys
            .lock()
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The context a client case runs in: one connection of one agent.
#[derive(Debug)]
pub struct ClientSession {
    /// The agent name the client gave (`agent=`).
    pub agent: String,
    /// What the host remembers of this agent (its earlier keys).
    pub history: Arc<AgentHistory>,
    upgrade: Mutex<Option<Upgrade>>,
}

impl ClientSession {
    /// A session for `upgrade`, from `agent`.
    pub fn new(agent: impl Into<String>, history: Arc<AgentHistory>, upgrade: Upgrade) -> Self {
        ClientSession {
            agent: agent.into(),
            history,
            upgrade: Mutex::new(Some(upgrade)),
        }
    }

    /// Takes the connection; `None` when a case already took it (a case plays
    /// its connection once).
    pub fn take(&self) -> Option<Upgrade> {
        self.upgrade.lock().ok().and_then(|mut u| u.take())
    }
}

/// Why a client's opening request could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The request is not a valid WebSocket opening handshake (answered with
    /// the HTTP error the framing crate chooses).
    #[error("the opening request is not a valid WebSocket handshake: {0}")]
    Invalid(pulsecheck_ws::handshake::HandshakeError),
    /// The request head was not complete.
    #[error("the opening request head is incomplete")]
    Incomplete,
    /// Writing the answer failed.
    #[error("cannot answer the opening request: {0}")]
    Io(#[from] std::io::Error),
}

impl Upgrade {
    /// Answers a valid opening request with a correct `101 Switching Protocols`
    /// (no subprotocol, no extension: groups 1–10 need neither) and returns the
    /// connection, pulsecheck in the server role; frames the client sent with
    /// its request belong to it. An invalid request gets its HTTP error.
    ///
    /// # Errors
    ///
    /// An invalid or incomplete request, or a failed write.
    pub async fn accept(self) -> Result<crate::ws::connection::WsConnection, Refused> {
        self.accept_with(None).await
    }

    /// As [`Upgrade::accept`], the response carrying `Sec-WebSocket-Extensions:
    /// extensions` when given (an extension the host agreed to).
    ///
    /// # Errors
    ///
    /// As [`Upgrade::accept`].
    pub async fn accept_with(
        self,
        extensions: Option<&str>,
    ) -> Result<crate::ws::connection::WsConnection, Refused> {
        use pulsecheck_ws::handshake::{ServerResponse, validate_client_request, write_rejection};
        use tokio::io::AsyncWriteExt as _;

        let mut response = Vec::new();
        let refused = match validate_client_request(&self.request.raw) {
            Ok(pulsecheck_ws::Status::Complete((request, _))) => {
                let mut answer = ServerResponse::accept(&request, &[]);
                answer.extensions = extensions;
                answer.write(&mut response);
                None
            }
            Ok(pulsecheck_ws::Status::Partial) => Some(Refused::Incomplete),
            Err(e) => {
                write_rejection(e, &mut response);
                Some(Refused::Invalid(e))
            }
        };
        let Upgrade {
            mut io,
            request,
            leftover,
            ..
        } = self;
        if let Some(refused) = refused {
            let _ = io.write_all(&response).await;
            let _ = io.shutdown().await;
            return Err(refused);
        }
        let mut conn =
            crate::ws::connection::WsConnection::over(io, pulsecheck_ws::Role::Server, Vec::new());
        conn.record_received(&request.raw);
        conn.send_raw(&response).await?;
        conn.receive_early(&leftover);
        Ok(conn)
    }
}
