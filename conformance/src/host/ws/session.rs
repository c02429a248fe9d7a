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
