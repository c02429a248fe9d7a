//! One WebSocket connection, in either role: pulsecheck as the client (the probe
//! of a server) or as the server (the host of a client under test). It sends
//! exactly the bytes a check asks for (valid or not), masked as its role says
//! (RFC 6455 §5.1: a client masks every frame, a server none), and reads what the
//! peer sends back through the framing crate configured for the peer's role,
//! noticing every rule the peer breaks.
//!
//! Reading takes constant memory whatever the server sends: frames are decoded
//! with [`FrameStream`], which hands out data frames in pieces as they arrive, and
//! a data message is kept as its length, a digest and its first
//! [`MessageData::HEAD`] bytes ([`MessageData`]). A 16 MiB echo is compared with
//! what was sent by length and digest while it streams, never by holding both
//! copies; a flood of messages costs a few counters.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use pulsecheck_ws::handshake::{ClientRequest, validate_server_response};
use pulsecheck_ws::streaming::{FrameStream, Piece};
use pulsecheck_ws::{
    Assembled, EncodeError, FrameConfig, FrameHeader, LengthEncoding, MessageKind, Opcode, Role,
    Rsv, Status, Violation, encode_frame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use url::Url;

use crate::check::{Direction, Transcript};
use crate::http::{Client, RawIo};

/// The most bytes of a handshake response read before giving up on it.
const MAX_HEAD: usize = 16 * 1024;

/// The least room [`WsConnection::receive`] reads into.
pub const RECEIVE_CHUNK: usize = 64 * 1024;

/// The most bytes of one read or write a transcript shows: a megabyte frame is
/// its header and first bytes, and the room is left for what follows.
const SHOWN_PER_ENTRY: usize = 512;

/// Records bytes in a transcript, at most [`SHOWN_PER_ENTRY`] of them (the rest
/// are counted as omitted).
fn record(transcript: &mut Transcript, at: Duration, direction: Direction, bytes: &[u8]) {
    let shown = bytes.get(..SHOWN_PER_ENTRY).unwrap_or(bytes);
    transcript.bytes(at, direction, shown);
    transcript.omitted_bytes += (bytes.len() - shown.len()) as u64;
}

/// Unpredictable bytes for keys and masks (RFC 6455 §5.3 asks masking keys to be
/// unpredictable; a probe needs no cryptographic strength).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x9E37_79B9_7F4A_7C15);
        let word = h.finish().to_le_bytes();
        for (o, w) in chunk.iter_mut().zip(word) {
            *o = w;
        }
    }
    out
}

/// The masking key of a frame sent by `sender`: a fresh, unpredictable one from a
/// client, none from a server (RFC 6455 §5.1, §5.3).
pub fn mask_for(sender: Role) -> Option<[u8; 4]> {
    (sender == Role::Client).then(random_bytes::<4>)
}

/// One frame as `sender` sends it (masked by a client, not by a server), valid or
/// not: any opcode and RSV bits, the minimal length encoding.
pub fn frame_from(sender: Role, fin: bool, opcode: Opcode, rsv: Rsv, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    append_frame(&mut out, sender, fin, opcode, rsv, payload);
    out
}

/// Appends to `out` the frame [`frame_from`] gives, without a buffer of its own
/// (what sends many large messages writes them into one reused buffer).
pub fn append_frame(
    out: &mut Vec<u8>,
    sender: Role,
    fin: bool,
    opcode: Opcode,
    rsv: Rsv,
    payload: &[u8],
) {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    header.rsv = rsv;
    header.mask = mask_for(sender);
    // Only a forced length encoding can fail; the minimal one always fits.
    let _ = encode_frame(out, &header, payload);
}

/// Empties a buffer that is reused from one message to the next, keeping its
/// room for the next message, but at most `keep` bytes of it: a one-off huge
/// message does not hold its memory for the rest of the connection.
pub fn clear_keeping(buf: &mut Vec<u8>, keep: usize) {
    buf.clear();
    if buf.capacity() > keep {
        buf.shrink_to(keep);
    }
}

/// What pulsecheck is called in transcripts and notes when it plays `role`.
pub fn own_name(role: Role) -> &'static str {
    match role {
        Role::Client => "the probe",
        Role::Server => "the host",
    }
}

/// What the peer is called when pulsecheck plays `role`.
pub fn peer_name(role: Role) -> &'static str {
    match role {
        Role::Client => "the server",
        Role::Server => "the client",
    }
}

/// One client frame, valid or not: any 4-bit opcode, RSV bits as a 3-bit number
/// (RSV1 = 4, RSV2 = 2, RSV3 = 1, as Autobahn counts them), masked with a fresh
/// key unless `masked` is false, the minimal length encoding unless `encoding`
/// forces one.
///
/// # Errors
///
/// A forced `encoding` too small for the payload.
pub fn client_frame(
    fin: bool,
    opcode: u8,
    rsv: u8,
    payload: &[u8],
    masked: bool,
    encoding: Option<LengthEncoding>,
) -> Result<Vec<u8>, EncodeError> {
    let mut header = FrameHeader::new(Opcode::from_bits(opcode & 0x0F), payload.len() as u64);
    header.fin = fin;
    header.rsv = Rsv::from_bits(rsv & 0b111);
    header.mask = masked.then(random_bytes::<4>);
    if let Some(encoding) = encoding {
        header.length_encoding = encoding;
    }
    let mut out = Vec::with_capacity(payload.len() + 14);
    encode_frame(&mut out, &header, payload)?;
    Ok(out)
}

/// A digest of a byte stream that does not depend on how the stream was cut:
/// 64-bit words mixed by multiply and rotate, the length last. Not cryptographic:
/// it tells an echo from a different message of the same length (a server would
/// have to aim for a collision), at several GB/s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    state: u64,
    len: u64,
    pending: [u8; 8],
    pending_len: usize,
}

impl Digest {
    /// Adds the next bytes.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u64);
        if self.pending_len > 0 {
            let take = (8 - self.pending_len).min(bytes.len());
            let (now, rest) = bytes.split_at(take);
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(now);
            self.pending_len += take;
            bytes = rest;
            if self.pending_len < 8 {
                return;
            }
            self.mix(u64::from_le_bytes(self.pending));
            self.pending_len = 0;
        }
        let words = bytes.chunks_exact(8);
        let tail = words.remainder();
        for word in words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.mix(u64::from_le_bytes(w));
        }
        self.pending[..tail.len()].copy_from_slice(tail);
        self.pending_len = tail.len();
    }

    fn mix(&mut self, word: u64) {
        self.state = (self.state ^ word)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }

    /// The digest of everything fed.
    pub fn value(&self) -> u64 {
        let mut done = *self;
        if done.pending_len > 0 {
            let mut last = [0u8; 8];
            last[..done.pending_len].copy_from_slice(&done.pending[..done.pending_len]);
            done.mix(u64::from_le_bytes(last));
        }
        done.mix(done.len);
        done.state
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut d = Digest::default();
        d.feed(bytes);
        d.value()
    }
}

/// A data message's payload as the probe keeps it, whatever its size: its length,
/// its [`Digest`] and its first [`MessageData::HEAD`] bytes (all of it when it is
/// that short). Compared with bytes, it is equal when the length and the digest
/// are (and the first bytes, which are kept).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct MessageData {
    len: u64,
    digest: u64,
    head: Vec<u8>,
}

impl MessageData {
    /// The first bytes kept of every message.
    pub const HEAD: usize = 64;

    /// The message of these bytes.
    pub fn of(bytes: &[u8]) -> Self {
        let mut b = MessageBuilder::default();
        b.feed(bytes);
        b.finish()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its digest (see [`Digest`]).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Its first bytes: the whole message when [`MessageData::is_whole`].
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Whether [`MessageData::head`] is the whole message.
    pub fn is_whole(&self) -> bool {
        self.head.len() as u64 == self.len
    }

    /// Whether it equals a message of `len` bytes with this digest and these first
    /// bytes.
    pub fn matches(&self, len: u64, digest: u64, head: &[u8]) -> bool {
        self.len == len && self.digest == digest && self.head.as_slice() == head
    }
}

impl PartialEq<[u8]> for MessageData {
    fn eq(&self, other: &[u8]) -> bool {
        self.len == other.len() as u64
            && other.starts_with(&self.head)
            && self.digest == Digest::of(other)
    }
}

impl PartialEq<&[u8]> for MessageData {
    fn eq(&self, other: &&[u8]) -> bool {
        *self == **other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for MessageData {
    fn eq(&self, other: &[u8; N]) -> bool {
        *self == other[..]
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for MessageData {
    fn eq(&self, other: &&[u8; N]) -> bool {
        *self == other[..]
    }
}

impl PartialEq<Vec<u8>> for MessageData {
    fn eq(&self, other: &Vec<u8>) -> bool {
        *self == other[..]
    }
}

impl std::fmt::Debug for MessageData {
    /// Bounded whatever the size: the length and the first bytes, escaped.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes {:?}",
            self.len,
            String::from_utf8_lossy(&self.head)
        )?;
        if !self.is_whole() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Builds a [`MessageData`] from the pieces of a message as they arrive.
#[derive(Debug, Clone, Default)]
pub struct MessageBuilder {
    digest: Digest,
    head: Vec<u8>,
}

impl MessageBuilder {
    /// Adds the next bytes of the message.
    pub fn feed(&mut self, bytes: &[u8]) {
        let room = MessageData::HEAD.saturating_sub(self.head.len());
        self.head
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
        self.digest.feed(bytes);
    }

    /// The message.
    pub fn finish(self) -> MessageData {
        MessageData {
            len: self.digest.len,
            digest: self.digest.value(),
            head: self.head,
        }
    }
}

/// What the server answered to an opening handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeReply {
    /// The status code.
    pub status: u16,
    /// Header fields, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The response head as text, for transcripts.
    pub head: String,
}

impl HandshakeReply {
    /// The first value of a header (lowercase name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a connection could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// Connecting failed (the message says how).
    #[error("{0}")]
    Connect(#[from] crate::http::ClientError),
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// No complete response head in time.
    #[error("no handshake response within {0:?}")]
    Timeout(Duration),
    /// The response is not an HTTP response head.
    #[error("the handshake response is not HTTP: {0}")]
    BadResponse(String),
    /// The server refused or botched the upgrade.
    #[error("the opening handshake failed: {0}")]
    Handshake(String),
    /// The server closed the connection without answering the handshake (what
    /// was sent is in the transcript).
    #[error("the server closed the connection without an HTTP response")]
    NoResponse(Transcript),
}

/// What arrived from the server. Its `Debug` form is bounded (a message shows
/// its length and first bytes); its [`Display`](std::fmt::Display), in
/// `ws/describe.rs`, names it for people as a noun phrase ("a binary message of
/// 16777216 bytes \"aaaa…\"", "a Close with code 1002").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A complete data message.
    Message {
        /// Text or binary: the opcode of its first frame.
        kind: MessageKind,
        /// The payload, as the probe keeps it.
        data: MessageData,
    },
    /// A ping with its payload.
    Ping(Vec<u8>),
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// A close frame.
    Close {
        /// The code, if the body had one.
        code: Option<u16>,
        /// The reason.
        reason: String,
    },
    /// The server broke a rule of RFC 6455 in what it sent.
    Violation(Violation),
    /// The peer's compressed data broke a rule of RFC 7692 (or does not
    /// decompress): only on a connection where permessage-deflate was agreed.
    Compression(crate::ws::deflate::CompressionError),
    /// The server closed the TCP connection.
    Eof,
    /// Nothing arrived before the deadline.
    Timeout,
}

/// An open WebSocket connection (after a successful handshake), or a raw one.
pub struct WsConnection {
    io: Box<dyn RawIo>,
    /// The role pulsecheck plays on it.
    role: Role,
    reader: FrameStream,
    /// The data message being received.
    incoming: Option<(u8, MessageBuilder)>,
    buf: Vec<u8>,
    start: usize,
    started: Instant,
    eof: bool,
    /// What was sent and received, with timings.
    pub transcript: Transcript,
    /// Where the reader half of a [`DuplexConnection`] records, shared with the
    /// writer so that the transcript is in the order things happened.
    shared: Option<SharedTranscript>,
    /// Decompresses the peer's messages once permessage-deflate is agreed.
    inflater: Option<crate::ws::deflate::Inflater>,
}

/// A transcript both halves of a [`DuplexConnection`] record into.
type SharedTranscript = std::sync::Arc<std::sync::Mutex<Transcript>>;

/// Sends `request` on a new connection to `url` and reads the response head.
pub async fn raw_handshake(
    client: &Client,
    url: &Url,
    request: &[u8],
    limit: Duration,
) -> Result<(WsConnection, HandshakeReply), WsError> {
    let stream = client.connect_raw(url).await?;
    let mut conn = WsConnection::over(stream.io, Role::Client, Vec::new());
    conn.send_raw(request).await?;
    let deadline = Instant::now() + limit;
    loop {
        let mut storage = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut storage);
        match response.parse(&conn.buf) {
            Ok(httparse::Status::Complete(used)) => {
                let reply = HandshakeReply {
                    status: response.code.unwrap_or(0),
                    headers: crate::http::lowercase_headers(response.headers),
                    head: String::from_utf8_lossy(conn.buf.get(..used).unwrap_or_default())
                        .into_owned(),
                };
                conn.start = used;
                return Ok((conn, reply));
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(WsError::BadResponse(e.to_string())),
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(WsError::BadResponse(format!(
                "no end of the head in {MAX_HEAD} bytes"
            )));
        }
        match conn.fill(deadline).await? {
            Fill::Data => {}
            Fill::Eof if conn.buf.is_empty() => return Err(WsError::NoResponse(conn.transcript)),
            Fill::Eof => {
                return Err(WsError::BadResponse(
                    "the server closed the connection in the middle of its response head".into(),
                ));
            }
            Fill::Timeout => return Err(WsError::Timeout(limit)),
        }
    }
}

/// A standard client handshake to `url`, offering `protocols`.
pub fn request_for<'a>(url: &'a Url, protocols: &[&'a str]) -> (ClientRequest<'a>, Vec<u8>) {
    // RFC 6455 §4.1: the host, and the port unless it is the scheme's default
    // (which `Url` already leaves out).
    let host = match &url[url::Position::BeforeHost..url::Position::AfterPort] {
        "" => "localhost",
        host => host,
    };
    let resource = match url.query() {
        Some(_) => &url[url::Position::BeforePath..url::Position::AfterQuery],
        None => url.path(),
    };
    let mut request = ClientRequest::new(host, resource, random_bytes());
    request.protocols = protocols.to_vec();
    let mut bytes = Vec::new();
    request.write(&mut bytes);
    (request, bytes)
}

/// Opens a WebSocket connection with a standard handshake and checks the answer.
pub async fn open(client: &Client, url: &Url, limit: Duration) -> Result<WsConnection, WsError> {
    let (request, bytes) = request_for(url, &[]);
    let (conn, reply) = raw_handshake(client, url, &bytes, limit).await?;
    match validate_server_response(reply.head.as_bytes(), &request) {
        Ok(Status::Complete(_)) => Ok(conn),
        Ok(Status::Partial) => Err(WsError::Handshake("incomplete response head".into())),
        Err(e) => Err(WsError::Handshake(format!("{e} (status {})", reply.status))),
    }
}

enum Fill {
    Data,
    Eof,
    Timeout,
}

impl WsConnection {
    /// A connection on `io` where pulsecheck plays `role`, the opening handshake
    /// done (or not wanted); `received` are bytes already read from the peer
    /// that belong to the connection (frames that came with the handshake).
    pub fn over(io: Box<dyn RawIo>, role: Role, received: Vec<u8>) -> WsConnection {
        WsConnection {
            io,
            role,
            // The reader judges what the peer sends, by the peer's rules.
            reader: FrameStream::new(FrameConfig::new(role.peer())),
            incoming: None,
            buf: received,
            start: 0,
            started: Instant::now(),
            eof: false,
            transcript: Transcript::default(),
            shared: None,
            inflater: None,
        }
    }

    /// From now on (right after the opening handshake, before any frame was
    /// read), the peer's frames may carry RSV1 and its compressed messages are
    /// inflated with `inflater` (permessage-deflate was agreed).
    pub fn inflate_with(&mut self, inflater: crate::ws::deflate::Inflater) {
        self.reader =
            FrameStream::new(crate::ws::deflate::Inflater::frame_config(self.role.peer()));
        self.inflater = Some(inflater);
    }

    /// The role pulsecheck plays on this connection.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Records bytes the peer sent before this connection took over (a request
    /// head read by the host), for the transcript.
    pub fn record_received(&mut self, bytes: &[u8]) {
        self.log_bytes(Direction::Received, bytes);
    }

    /// Takes bytes the peer sent early (frames that came with its handshake) as
    /// the first bytes of the connection, and records them.
    pub fn receive_early(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.log_bytes(Direction::Received, bytes);
            self.buf.extend_from_slice(bytes);
        }
    }

    fn at(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records bytes (in the shared transcript of a split connection, if any).
    fn log_bytes(&mut self, direction: Direction, bytes: &[u8]) {
        let at = self.at();
        match &self.shared {
            Some(shared) => {
                if let Ok(mut t) = shared.lock() {
                    record(&mut t, at, direction, bytes);
                }
            }
            None => record(&mut self.transcript, at, direction, bytes),
        }
    }

    /// Records a note (in the shared transcript of a split connection, if any).
    fn log_note(&mut self, note: impl Into<String>) {
        let at = self.at();
        match &self.shared {
            Some(shared) => {
                if let Ok(mut t) = shared.lock() {
                    t.note(at, note);
                }
            }
            None => self.transcript.note(at, note),
        }
    }

    async fn fill(&mut self, deadline: Instant) -> Result<Fill, std::io::Error> {
        if self.eof {
            return Ok(Fill::Eof);
        }
        let mut chunk = [0u8; 16 * 1024];
        match timeout_at(deadline, self.io.read(&mut chunk)).await {
            Err(_) => Ok(Fill::Timeout),
            Ok(Ok(0)) => {
                self.eof = true;
                self.log_note(format!("{} closed TCP", peer_name(self.role)));
                Ok(Fill::Eof)
            }
            Ok(Ok(n)) => {
                let read = chunk.get(..n).unwrap_or_default();
                self.log_bytes(Direction::Received, read);
                if self.start > 0 && self.start >= self.buf.len() / 2 {
                    self.buf.drain(..self.start);
                    self.start = 0;
                }
                self.buf.extend_from_slice(read);
                Ok(Fill::Data)
            }
            // A reset is the server dropping the connection; so is TLS ending
            // without close_notify (rustls reports it as an unexpected EOF).
            Ok(Err(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                ) =>
            {
                self.eof = true;
                self.log_note(format!("the connection was reset: {e}"));
                Ok(Fill::Eof)
            }
            Ok(Err(e)) => Err(e),
        }
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.log_bytes(Direction::Sent, bytes);
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }

    /// Sends one frame, masked with a fresh key unless `masked` is false, with the
    /// minimal length encoding unless `encoding` forces one.
    pub async fn send_frame(
        &mut self,
        fin: bool,
        opcode: u8,
        payload: &[u8],
        masked: bool,
        encoding: Option<LengthEncoding>,
    ) -> std::io::Result<()> {
        let out = client_frame(fin, opcode, 0, payload, masked, encoding)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        self.send_raw(&out).await
    }

    /// Sends a complete masked message in one frame.
    pub async fn send_message(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        self.send_frame(true, opcode, payload, true, None).await
    }

    /// Reads until the next event (fragments are assembled: a message is its
    /// [`MessageData`]), or `deadline`.
    pub async fn next_event(&mut self, deadline: Instant) -> WsEvent {
        loop {
            let unconsumed = self.buf.get_mut(self.start..).unwrap_or_default();
            match self.reader.read(unconsumed) {
                Ok(Status::Complete((piece, used))) => {
                    self.start += used;
                    let event = match piece {
                        Piece::Header { header, .. } => {
                            if header.opcode != Opcode::CONTINUATION {
                                let opcode = header.opcode.get();
                                self.incoming = Some((opcode, MessageBuilder::default()));
                            }
                            match &mut self.inflater {
                                Some(inflater) => {
                                    inflater.on_header(&header).err().map(WsEvent::Compression)
                                }
                                None => None,
                            }
                        }
                        Piece::Payload(bytes) => match (&mut self.incoming, &mut self.inflater) {
                            (Some((_, message)), Some(inflater)) => inflater
                                .feed(bytes, message)
                                .err()
                                .map(WsEvent::Compression),
                            (Some((_, message)), None) => {
                                message.feed(bytes);
                                None
                            }
                            _ => None,
                        },
                        Piece::End(end) if end.message.is_some() && self.inflater.is_some() => {
                            let failed = match (&mut self.incoming, &mut self.inflater) {
                                (Some((_, message)), Some(inflater)) => {
                                    inflater.finish(message).err()
                                }
                                _ => None,
                            };
                            match failed {
                                Some(e) => Some(WsEvent::Compression(e)),
                                None => end.message.and_then(|m| self.finished_message(m.kind)),
                            }
                        }
                        Piece::End(end) => end.message.and_then(|m| self.finished_message(m.kind)),
                        Piece::Control { header, .. }
                            if self
                                .inflater
                                .as_ref()
                                .is_some_and(|i| i.on_control(&header).is_err()) =>
                        {
                            self.inflater
                                .as_ref()
                                .and_then(|i| i.on_control(&header).err())
                                .map(WsEvent::Compression)
                        }
                        Piece::Control { event, .. } => match event {
                            Assembled::Ping(p) => Some(WsEvent::Ping(p.to_vec())),
                            Assembled::Pong(p) => Some(WsEvent::Pong(p.to_vec())),
                            Assembled::Close(c) => Some(WsEvent::Close {
                                code: c.code.map(|c| c.get()),
                                reason: c.reason.to_owned(),
                            }),
                            _ => None,
                        },
                    };
                    if let Some(event) = event {
                        return event;
                    }
                    continue;
                }
                Ok(Status::Partial) => {}
                Err(v) => return WsEvent::Violation(v),
            }
            match self.fill(deadline).await {
                Ok(Fill::Data) => {}
                Ok(Fill::Eof) => return WsEvent::Eof,
                Ok(Fill::Timeout) => return WsEvent::Timeout,
                Err(e) => {
                    self.log_note(format!("read error: {e}"));
                    return WsEvent::Eof;
                }
            }
        }
    }

    /// The message in progress, ended: a [`WsEvent::Message`] of `kind`.
    fn finished_message(&mut self, kind: MessageKind) -> Option<WsEvent> {
        let (_, message) = self.incoming.take()?;
        Some(WsEvent::Message {
            kind,
            data: message.finish(),
        })
    }

    /// Waits until the server closes TCP (or `deadline`); returns whether it did.
    pub async fn wait_for_eof(&mut self, deadline: Instant) -> bool {
        loop {
            match self.fill(deadline).await {
                Ok(Fill::Eof) | Err(_) => return true,
                Ok(Fill::Timeout) => return false,
                Ok(Fill::Data) => {}
            }
        }
    }
}

/// Reading piece by piece, for a peer that handles payloads itself instead of
/// judging them (the reference server echoes them): [`WsConnection::next_piece`]
/// hands out what the framing crate's [`FrameStream`] decodes from the bytes
/// already received, [`WsConnection::receive`] reads more. Use these or
/// [`WsConnection::next_event`] on a connection, not both: they share the reader.
impl WsConnection {
    /// The same connection with its reader refusing any frame or message of more
    /// than `max` bytes from the peer (`FrameTooBig` / `MessageTooBig`, close code
    /// 1009), decided at the length field, before the payload arrives. For a new
    /// connection, before anything was read: the reader starts over.
    #[must_use]
    pub fn limit_messages(mut self, max: u64) -> Self {
        let config = self
            .reader
            .config()
            .with_max_frame_payload(max)
            .with_max_message_size(max);
        self.reader = FrameStream::new(config);
        self
    }

    /// The same connection with its reader also accepting `rsv` on the peer's
    /// frames, for a peer that reads pieces itself
    /// ([`WsConnection::next_piece`]) and gives the bits their meaning: the
    /// reference server once permessage-deflate is agreed (RSV1). For a new
    /// connection, before anything was read: the reader starts over, its limits
    /// kept.
    #[must_use]
    pub fn allow_rsv(mut self, rsv: Rsv) -> Self {
        let config = self.reader.config().with_allowed_rsv(rsv);
        self.reader = FrameStream::new(config);
        self
    }

    /// The next piece of what the peer sent, decoded from the bytes already
    /// received (no I/O): a data frame's header, its payload in pieces as they
    /// arrived (unmasked, text validated up to their end), its end (which says
    /// whether it completed a message), or a whole control frame. `Partial` when
    /// more bytes are needed ([`WsConnection::receive`]).
    ///
    /// # Errors
    ///
    /// The first rule of RFC 6455 the peer broke (its close code is
    /// [`Violation::close_code`]); then the same violation on every call.
    pub fn next_piece(&mut self) -> Result<Status<Piece<'_>>, Violation> {
        let WsConnection {
            reader, buf, start, ..
        } = self;
        let unconsumed = buf.get_mut(*start..).unwrap_or_default();
        match reader.read(unconsumed)? {
            Status::Complete((piece, used)) => {
                *start += used;
                Ok(Status::Complete(piece))
            }
            Status::Partial => Ok(Status::Partial),
        }
    }

    /// Reads more of what the peer sent, straight into the connection's buffer
    /// with room for at least [`RECEIVE_CHUNK`] bytes (a peer that forwards what it
    /// reads wants big reads and no copy): `true` when bytes arrived, `false` when
    /// the peer closed TCP or reading failed (noted in the transcript), and from
    /// then on. No deadline of its own: the caller waits on its timers beside it.
    /// Cancel-safe: dropped before it finishes, it has read nothing.
    pub async fn receive(&mut self) -> bool {
        if self.eof {
            return false;
        }
        // The consumed front goes once it is most of the buffer: what stays is
        // what the reader could not decode yet (part of a header or of a
        // control frame, when pieces are taken as they come).
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(RECEIVE_CHUNK);
        let before = self.buf.len();
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) => {
                self.eof = true;
                self.log_note(format!("{} closed TCP", peer_name(self.role)));
                false
            }
            Ok(_) => {
                let end = self.buf.len();
                let read = std::mem::take(&mut self.buf);
                self.log_bytes(
                    Direction::Received,
                    read.get(before..end).unwrap_or_default(),
                );
                self.buf = read;
                true
            }
            Err(e) => {
                self.eof = true;
                // A reset is the peer dropping the connection, as `fill` says it.
                let reset = matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                );
                self.log_note(if reset {
                    format!("the connection was reset: {e}")
                } else {
                    format!("read error: {e}")
                });
                false
            }
        }
    }

    /// The received bytes the reader has not consumed yet, from the front of what
    /// it reads next, to change before they are judged: for a peer that breaks
    /// the rules on purpose by reading something other than what was sent (the
    /// reference server's input faults). Edit, insert or cut as needed; between
    /// frames, the front is the next frame's first byte.
    pub fn unread_mut(&mut self) -> &mut Vec<u8> {
        self.buf.drain(..self.start.min(self.buf.len()));
        self.start = 0;
        &mut self.buf
    }

    /// Closes pulsecheck's side of TCP (a FIN), noted in the transcript; what the
    /// peer still sends can be read.
    pub async fn shutdown_tcp(&mut self) {
        self.log_note(format!("{} closes TCP", own_name(self.role)));
        let _ = self.io.shutdown().await;
    }
}

/// The read side of a split connection, in a [`WsConnection`] that cannot write.
struct ReadOnly(tokio::io::ReadHalf<Box<dyn RawIo>>);

impl tokio::io::AsyncRead for ReadOnly {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ReadOnly {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Err(std::io::Error::other(
            "the read half of a split connection cannot write",
        )))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A connection whose reading goes on in a task of its own while the owner writes:
/// what Autobahn's fuzzer does, and what keeps a large echo from deadlocking a
/// probe that is still sending (both sides' socket buffers full).
///
/// Events arrive in order through [`DuplexConnection::next_event`]; after a
/// [`WsEvent::Violation`] the stream cannot be decoded any more, so the reader only
/// waits for the server to close TCP (discarding what comes) and then reports
/// [`WsEvent::Eof`], the last event.
pub struct DuplexConnection {
    role: Role,
    writer: tokio::io::WriteHalf<Box<dyn RawIo>>,
    events: tokio::sync::mpsc::Receiver<WsEvent>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    reader: tokio::task::JoinHandle<()>,
    transcript: SharedTranscript,
    started: Instant,
    closed: bool,
}

impl WsConnection {
    /// Splits the connection: a task reads and decodes the server's frames.
    pub fn into_duplex(self) -> DuplexConnection {
        let (read, writer) = tokio::io::split(self.io);
        let started = self.started;
        let shared = SharedTranscript::new(std::sync::Mutex::new(self.transcript));
        let role = self.role;
        let mut reader = WsConnection {
            io: Box::new(ReadOnly(read)),
            role,
            reader: self.reader,
            incoming: self.incoming,
            buf: self.buf,
            start: self.start,
            started,
            eof: self.eof,
            transcript: Transcript::default(),
            shared: Some(std::sync::Arc::clone(&shared)),
            inflater: self.inflater,
        };
        let (events_tx, events) = tokio::sync::mpsc::channel(16);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Far enough never to matter: the owner ends the connection.
            let far = Instant::now() + Duration::from_secs(86_400);
            let mut broken = false;
            loop {
                let event = if broken {
                    tokio::select! {
                        _ = reader.discard_until_eof(far) => WsEvent::Eof,
                        _ = &mut stopped => break,
                    }
                } else {
                    tokio::select! {
                        event = reader.next_event(far) => event,
                        _ = &mut stopped => break,
                    }
                };
                broken |= matches!(event, WsEvent::Violation(_) | WsEvent::Compression(_));
                let last = matches!(event, WsEvent::Eof);
                if events_tx.send(event).await.is_err() || last {
                    break;
                }
            }
        });
        DuplexConnection {
            role,
            writer,
            events,
            stop: Some(stop),
            reader: task,
            transcript: shared,
            started,
            closed: false,
        }
    }

    /// Reads and drops whatever arrives until the peer closes TCP (true) or
    /// `deadline` (false): memory stays bounded whatever the peer sends.
    pub async fn discard_until_eof(&mut self, deadline: Instant) -> bool {
        loop {
            self.buf.clear();
            self.start = 0;
            match self.fill(deadline).await {
                Ok(Fill::Eof) | Err(_) => return true,
                Ok(Fill::Timeout) => return false,
                Ok(Fill::Data) => {}
            }
        }
    }
}

/// What [`DuplexConnection::write_watching`] does after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhileWriting {
    /// Keep writing and watching.
    Continue,
    /// Keep writing; leave further events queued.
    StopListening,
    /// Stop writing.
    Stop,
}

impl DuplexConnection {
    /// The role pulsecheck plays on this connection.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Time since the connection was opened.
    pub fn at(&self) -> Duration {
        self.started.elapsed()
    }

    /// Notes a remark of the probe's in the transcript.
    pub fn note(&mut self, note: impl Into<String>) {
        let at = self.at();
        if let Ok(mut t) = self.transcript.lock() {
            t.note(at, note);
        }
    }

    /// The next event from the server; [`WsEvent::Eof`] once TCP is closed (and
    /// from then on).
    pub async fn next_event(&mut self) -> WsEvent {
        self.events.recv().await.unwrap_or(WsEvent::Eof)
    }

    /// Writes `bytes`, handing each event that arrives meanwhile to `on_event`,
    /// which says whether to go on. Returns how many bytes were written: all of
    /// them, unless `on_event` stopped the write (or it failed). A server that
    /// stops reading cannot block the probe from seeing that it closed.
    pub async fn write_watching(
        &mut self,
        bytes: &[u8],
        mut on_event: impl FnMut(WsEvent) -> WhileWriting,
    ) -> std::io::Result<usize> {
        if self.closed {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "pulsecheck closed the connection",
            ));
        }
        let mut written = 0;
        let mut listening = true;
        while written < bytes.len() {
            let rest = bytes.get(written..).unwrap_or_default();
            tokio::select! {
                // `write` is cancel-safe: nothing is written when it does not finish.
                result = self.writer.write(rest) => match result {
                    Ok(0) => {
                        let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                        self.note(format!("write failed: {e}"));
                        return Err(e);
                    }
                    Ok(n) => {
                        let at = self.at();
                        if let Ok(mut t) = self.transcript.lock() {
                            record(&mut t, at, Direction::Sent, rest.get(..n).unwrap_or_default());
                        }
                        written += n;
                    }
                    Err(e) => {
                        self.note(format!("write failed: {e}"));
                        return Err(e);
                    }
                },
                event = self.events.recv(), if listening => {
                    match on_event(event.unwrap_or(WsEvent::Eof)) {
                        WhileWriting::Continue => {}
                        WhileWriting::StopListening => listening = false,
                        WhileWriting::Stop => return Ok(written),
                    }
                }
            }
        }
        self.writer.flush().await?;
        Ok(written)
    }

    /// Closes the probe's side of TCP (the reader goes on until the end).
    pub async fn drop_tcp(&mut self) {
        if !self.closed {
            self.closed = true;
            let who = own_name(self.role);
            self.note(format!("{who} closes TCP"));
            let _ = self.writer.shutdown().await;
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
        }
    }

    /// Ends the connection and returns the transcript of both directions, in the
    /// order things happened.
    pub async fn finish(mut self) -> Transcript {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.writer.shutdown().await;
        if tokio::time::timeout(Duration::from_secs(1), &mut self.reader)
            .await
            .is_err()
        {
            self.reader.abort();
        }
        // Both halves recorded into it in the order things happened.
        self.transcript
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_appended_is_the_frame_built_alone() {
        let payload = vec![b'x'; 70_000];
        let mut out = b"before".to_vec();
        append_frame(
            &mut out,
            Role::Server,
            false,
            Opcode::TEXT,
            Rsv::RSV1,
            &payload,
        );
        let alone = frame_from(Role::Server, false, Opcode::TEXT, Rsv::RSV1, &payload);
        assert_eq!(out.get(..6), Some(&b"before"[..]));
        assert_eq!(out.get(6..), Some(&alone[..]));
        // A client's frame is masked with its own key: same header length, and
        // unmasked with that key it is the payload.
        out.clear();
        append_frame(
            &mut out,
            Role::Client,
            true,
            Opcode::BINARY,
            Rsv::NONE,
            b"abc",
        );
        assert_eq!(out.len(), 2 + 4 + 3);
        let key = [out[2], out[3], out[4], out[5]];
        let mut plain = [0u8; 3];
        pulsecheck_ws::copy_unmask(&mut plain, &out[6..], key, 0);
        assert_eq!(&plain, b"abc");
    }

    #[test]
    fn a_reused_buffer_keeps_its_room_up_to_the_bound() {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(&[1; 3000]);
        clear_keeping(&mut buf, 64 * 1024);
        assert!(buf.is_empty() && buf.capacity() >= 4096, "the room is kept");
        // A one-off huge message: its room is given back down to the bound.
        buf.extend_from_slice(&vec![2; 8 << 20]);
        clear_keeping(&mut buf, 64 * 1024);
        assert!(buf.is_empty());
        assert!(buf.capacity() <= 64 * 1024, "{}", buf.capacity());
    }

    #[test]
    fn a_digest_does_not_depend_on_how_the_bytes_were_cut() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = Digest::of(&bytes);
        for piece in [1, 3, 7, 8, 9, 64, 4095] {
            let mut d = Digest::default();
            for chunk in bytes.chunks(piece) {
                d.feed(chunk);
            }
            assert_eq!(d.value(), whole, "pieces of {piece}");
        }
        // Length, order and content all count.
        assert_ne!(Digest::of(&bytes[..9_999]), whole);
        assert_ne!(Digest::of(b"ab"), Digest::of(b"ba"));
        assert_ne!(Digest::of(b""), Digest::of(b"\0"));
    }

    #[test]
    fn a_message_is_kept_as_length_digest_and_first_bytes_whatever_its_size() {
        let big = vec![b'a'; 16 << 20];
        let mut builder = MessageBuilder::default();
        for chunk in big.chunks(16 * 1024) {
            builder.feed(chunk);
        }
        let data = builder.finish();
        assert_eq!(data.len(), 16 << 20);
        assert_eq!(data.head().len(), MessageData::HEAD);
        assert!(!data.is_whole());
        assert!(data == big);
        let mut other = big.clone();
        other[12_345_678] = b'b';
        assert!(data != other);
        // Short messages are kept whole and compare byte for byte.
        let echo = MessageData::of(b"pulsecheck echo probe");
        assert!(echo.is_whole() && echo == b"pulsecheck echo probe");
        // Reports show a bounded form, never the bytes.
        let event = WsEvent::Message {
            kind: MessageKind::Binary,
            data,
        };
        assert_eq!(
            event.to_string(),
            format!("a binary message of 16777216 bytes \"{}…\"", "a".repeat(32))
        );
        assert!(format!("{event:?}").len() < 200);
        let close = WsEvent::Close {
            code: Some(1009),
            reason: "too big".into(),
        };
        assert_eq!(
            close.to_string(),
            "a Close with code 1009 and reason \"too big\""
        );
    }

    /// A connection where pulsecheck plays `role`, and the peer's end of it.
    fn pair(role: Role) -> (WsConnection, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        (WsConnection::over(Box::new(ours), role, Vec::new()), theirs)
    }

    /// Every piece decodable from what has arrived, payloads joined.
    fn drain_pieces(conn: &mut WsConnection) -> (Vec<String>, Vec<u8>) {
        let (mut seen, mut payload) = (Vec::new(), Vec::new());
        while let Ok(Status::Complete(piece)) = conn.next_piece() {
            seen.push(match piece {
                Piece::Header { header, .. } => format!("header {}", header.opcode.get()),
                Piece::Payload(bytes) => {
                    payload.extend_from_slice(bytes);
                    "payload".to_owned()
                }
                Piece::End(end) => format!("end {}", end.message.map_or(0, |m| m.len)),
                Piece::Control { header, .. } => format!("control {}", header.opcode.get()),
            });
        }
        (seen, payload)
    }

    #[tokio::test]
    async fn pieces_are_decoded_by_the_rules_of_the_peers_role() {
        for role in [Role::Server, Role::Client] {
            let (mut conn, mut peer) = pair(role);
            let mut sent = frame_from(role.peer(), false, Opcode::TEXT, Rsv::NONE, b"Hel");
            sent.extend(frame_from(role.peer(), true, Opcode::PING, Rsv::NONE, b"p"));
            sent.extend(frame_from(
                role.peer(),
                true,
                Opcode::CONTINUATION,
                Rsv::NONE,
                b"lo",
            ));
            peer.write_all(&sent).await.unwrap();
            let mut got = (Vec::new(), Vec::new());
            while got.1.len() < 5 || got.0.last().map(String::as_str) != Some("end 5") {
                assert!(conn.receive().await, "{role:?}");
                let (seen, payload) = drain_pieces(&mut conn);
                got.0.extend(seen);
                got.1.extend(payload);
            }
            assert_eq!(got.1, b"Hello", "{role:?}");
            let seen: Vec<&str> = got.0.iter().map(String::as_str).collect();
            assert_eq!(
                seen,
                [
                    "header 1",
                    "payload",
                    "end 0",
                    "control 9",
                    "header 0",
                    "payload",
                    "end 5"
                ],
                "{role:?}"
            );
            assert!(matches!(conn.next_piece(), Ok(Status::Partial)));
            // A frame masked the wrong way for the peer's role breaks a rule.
            let wrong = frame_from(role, true, Opcode::BINARY, Rsv::NONE, b"x");
            peer.write_all(&wrong).await.unwrap();
            assert!(conn.receive().await);
            let violation = conn.next_piece().unwrap_err();
            assert_eq!(violation.close_code().get(), 1002, "{role:?}");
            // The peer closing TCP ends receiving, for good.
            drop(peer);
            assert!(!conn.receive().await);
            assert!(!conn.receive().await);
        }
    }

    #[tokio::test]
    async fn a_message_limit_refuses_at_the_length_field() {
        let (conn, mut peer) = pair(Role::Server);
        let mut conn = conn.limit_messages(10);
        let sent = frame_from(Role::Client, true, Opcode::BINARY, Rsv::NONE, &[7; 11]);
        // The header alone decides it: the payload never needs to arrive.
        let header_len = 2 + 4;
        peer.write_all(&sent[..header_len]).await.unwrap();
        assert!(conn.receive().await);
        let violation = conn.next_piece().unwrap_err();
        assert_eq!(violation.close_code().get(), 1009);
        // Ten bytes pass.
        let (conn, mut peer) = pair(Role::Server);
        let mut conn = conn.limit_messages(10);
        let sent = frame_from(Role::Client, true, Opcode::BINARY, Rsv::NONE, &[7; 10]);
        peer.write_all(&sent).await.unwrap();
        assert!(conn.receive().await);
        assert_eq!(drain_pieces(&mut conn).1, [7; 10]);
    }

    #[tokio::test]
    async fn unread_bytes_can_be_rewritten_before_they_are_judged() {
        let (mut conn, mut peer) = pair(Role::Server);
        // An unmasked client frame, then half of the next frame.
        let mut sent = frame_from(Role::Server, true, Opcode::BINARY, Rsv::NONE, b"abc");
        sent.extend_from_slice(&[0x82]);
        peer.write_all(&sent).await.unwrap();
        assert!(conn.receive().await);
        let unread = conn.unread_mut();
        assert_eq!(unread.as_slice(), sent.as_slice());
        // Mask bit set, an all-zero key inserted: the payload reads as sent.
        unread[1] |= 0x80;
        unread.splice(2..2, [0; 4]);
        let (seen, payload) = drain_pieces(&mut conn);
        assert_eq!(seen, ["header 2", "payload", "end 3"]);
        assert_eq!(payload, b"abc");
        // Consumed bytes are gone from the front: the next frame's first byte.
        assert_eq!(conn.unread_mut().as_slice(), [0x82]);
    }

    #[tokio::test]
    async fn shutting_down_sends_a_fin_and_what_follows_is_discarded() {
        let (mut conn, mut peer) = pair(Role::Server);
        conn.shutdown_tcp().await;
        let mut byte = [0_u8; 1];
        assert_eq!(peer.read(&mut byte).await.unwrap(), 0);
        peer.write_all(&[0xAB; 4096]).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(
            !conn.discard_until_eof(soon).await,
            "the peer is still there"
        );
        drop(peer);
        let later = Instant::now() + Duration::from_secs(5);
        assert!(conn.discard_until_eof(later).await);
        assert!(conn.unread_mut().is_empty());
        assert!(
            conn.transcript
                .entries
                .iter()
                .any(|e| e.text == "the host closes TCP")
        );
    }
}
