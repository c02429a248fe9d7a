//! The server's end of one client connection, as the duty checks play it: write
//! exactly the bytes a check chooses (a correct 101, a broken one, a masked
//! frame), read what the client sends back without judging it, and keep a
//! bounded transcript of both.
//!
//! The reader is deliberately lenient: a check must see an unmasked frame to
//! report it, so frames are decoded with [`decode_header`] and never rejected
//! here; the check decides what the bytes mean. Memory stays bounded whatever
//! the client sends: one frame of at most [`MAX_PAYLOAD`] bytes, one message of
//! at most [`MAX_PAYLOAD`] bytes, one read of [`READ_CHUNK`] bytes, the first
//! [`MAX_HEADERS_KEPT`] frame headers. Every wait has a deadline.

use std::time::{Duration, Instant};

use pulsecheck_ws::handshake::{ServerResponse, accept_key};
use pulsecheck_ws::{FrameHeader, Opcode, Rsv, Status, decode_header, encode_message, unmask};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::check::{Direction, Evidence, Transcript};
use crate::http::RawIo;

use super::super::session::{RequestHead, Upgrade};

/// How long a check waits for the client's answer to what it sent: a
/// well-behaved client on the same machine answers in milliseconds, so a
/// client silent this long is not going to answer.
pub(super) const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// The largest frame payload, and the largest message, the reader holds. The
/// checks send messages of a few dozen bytes; an echo is the same size.
pub(super) const MAX_PAYLOAD: usize = 64 * 1024;

/// The most bytes one read takes from the connection.
const READ_CHUNK: usize = 16 * 1024;

/// The frame headers kept for the masking checks; more are counted.
pub(super) const MAX_HEADERS_KEPT: usize = 256;

/// What the client sent next, or why nothing came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClientEvent {
    /// A complete text or binary message (fragments joined).
    Message {
        /// Text or binary.
        opcode: Opcode,
        /// The payload, unmasked.
        data: Vec<u8>,
    },
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// A Close frame.
    Close(CloseBody),
    /// The client closed its side of TCP (end of stream).
    Closed,
    /// The connection failed (a reset): how.
    Reset(String),
    /// Nothing arrived before the deadline.
    Silent,
    /// Bytes the reader will not hold or cannot make sense of as frames: what.
    Unreadable(String),
}

impl std::fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientEvent::Message { opcode, data } => {
                write!(f, "a {opcode} message of {} bytes", data.len())?;
                if *opcode == Opcode::TEXT && data.len() <= 64 {
                    write!(f, " ({:?})", String::from_utf8_lossy(data))?;
                }
                Ok(())
            }
            ClientEvent::Ping(p) => write!(f, "a ping of {} bytes", p.len()),
            ClientEvent::Pong(p) => write!(f, "a pong of {} bytes", p.len()),
            ClientEvent::Close(body) => write!(f, "{body}"),
            ClientEvent::Closed => f.write_str("the client closed TCP"),
            ClientEvent::Reset(e) => write!(f, "the connection failed ({e})"),
            ClientEvent::Silent => f.write_str("nothing"),
            ClientEvent::Unreadable(what) => f.write_str(what),
        }
    }
}

/// The body of a Close frame, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CloseBody {
    /// The status code, when the body has at least two bytes.
    pub(super) code: Option<u16>,
    /// The reason bytes after the code.
    pub(super) reason: Vec<u8>,
    /// The body's length (1 is malformed: a code needs two bytes).
    pub(super) len: usize,
}

impl CloseBody {
    /// Reads a Close payload.
    pub(super) fn parse(payload: &[u8]) -> Self {
        let code = match payload {
            [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        };
        CloseBody {
            code,
            reason: payload.get(2..).unwrap_or_default().to_vec(),
            len: payload.len(),
        }
    }
}

/// "a Close 1002 \"bad\"", "a Close with an empty body", "a Close with a 1-byte body".
impl std::fmt::Display for CloseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) if self.reason.is_empty() => write!(f, "a Close {code}"),
            Some(code) => write!(
                f,
                "a Close {code} {:?}",
                String::from_utf8_lossy(&self.reason)
            ),
            None if self.len == 0 => f.write_str("a Close with an empty body"),
            None => write!(f, "a Close with a {}-byte body", self.len),
        }
    }
}

/// What filling the read buffer gave.
enum Fill {
    Data,
    Eof,
    Timeout,
    Failed(String),
}

/// One client connection, taken from its [`Upgrade`].
pub(super) struct ClientWire {
    io: Box<dyn RawIo>,
    /// The client's request head.
    pub(super) request: RequestHead,
    /// Unconsumed bytes from the client.
    buf: Vec<u8>,
    started: Instant,
    /// What went over the wire.
    pub(super) transcript: Transcript,
    /// The headers of the client's frames, in order (the first
    /// [`MAX_HEADERS_KEPT`]).
    pub(super) frames: Vec<FrameHeader>,
    /// Frames the client sent beyond [`MAX_HEADERS_KEPT`].
    pub(super) frames_not_kept: u64,
    /// A fragmented message in progress: its opcode, the RSV bits of its
    /// first frame and its payload so far.
    message: Option<(Opcode, Rsv, Vec<u8>)>,
    /// The RSV bits of the first frame of the last message
    /// [`next_event`](Self::next_event) gave (RSV1: compressed, RFC 7692 §6).
    pub(super) message_rsv: Rsv,
    /// Whether the client's side of TCP has ended.
    eof: bool,
    /// Whether this side has sent a Close frame.
    close_sent: bool,
    /// Set when the client's bytes stopped making sense as frames (a frame
    /// too large to hold, TCP closed mid-frame): every later read gives it.
    unreadable: Option<String>,
}

impl ClientWire {
    /// Takes the connection: the request head goes first in the transcript,
    /// and the bytes the client sent after it are the first bytes read.
    pub(super) fn new(upgrade: Upgrade) -> Self {
        let Upgrade {
            io,
            request,
            leftover,
            received_at,
        } = upgrade;
        let mut wire = ClientWire {
            io,
            request,
            buf: Vec::new(),
            started: received_at,
            transcript: Transcript::default(),
            frames: Vec::new(),
            frames_not_kept: 0,
            message: None,
            message_rsv: Rsv::NONE,
            eof: false,
            close_sent: false,
            unreadable: None,
        };
        let raw = wire.request.raw.clone();
        wire.transcript
            .bytes(Duration::ZERO, Direction::Received, &raw);
        if !leftover.is_empty() {
            wire.note(format!(
                "the client sent {} bytes after its request head, before any answer",
                leftover.len()
            ));
            wire.transcript
                .bytes(wire.at(), Direction::Received, &leftover);
            // The host reads a bounded head, so this is small; a client that
            // sent more before the answer is held to the bound of one frame.
            let bound = MAX_PAYLOAD + 14 + READ_CHUNK;
            if leftover.len() > bound {
                wire.note(format!("only the first {bound} of them are read"));
            }
            wire.buf = leftover;
            wire.buf.truncate(bound);
        }
        wire
    }

    /// Time since the request head was read.
    pub(super) fn at(&self) -> Duration {
        self.started.elapsed()
    }

    /// Adds a remark of the check's own to the transcript.
    pub(super) fn note(&mut self, note: impl Into<String>) {
        let at = self.at();
        self.transcript.note(at, note);
    }

    /// Evidence: what was expected, what was seen, and the transcript.
    pub(super) fn evidence(
        &self,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Evidence {
        Evidence {
            expected: expected.into(),
            actual: actual.into(),
            transcript: self.transcript.clone(),
        }
    }

    /// The client's `Sec-WebSocket-Key`, trimmed ("" when absent).
    pub(super) fn key(&self) -> String {
        self.request
            .header("sec-websocket-key")
            .unwrap_or("")
            .trim()
            .to_owned()
    }

    /// The correct `Sec-WebSocket-Accept` for the client's key.
    pub(super) fn expected_accept(&self) -> String {
        accept_key(&self.key())
    }

    /// The correct 101 answer to the client's request: no subprotocol, no
    /// extension.
    pub(super) fn correct_101(&self) -> Vec<u8> {
        self.answer_101(None)
    }

    /// A 101 answer to the client's request, correct in its WebSocket headers,
    /// with `Sec-WebSocket-Extensions: extensions` when given (written as it
    /// is: a check may make it wrong on purpose).
    pub(super) fn answer_101(&self, extensions: Option<&str>) -> Vec<u8> {
        let response = ServerResponse {
            accept: self.expected_accept(),
            protocol: None,
            extensions,
            headers: Vec::new(),
        };
        let mut out = Vec::new();
        response.write(&mut out);
        out
    }

    /// Writes `bytes` in one write, within [`ANSWER_WAIT`] (a client that
    /// stops reading cannot block the check).
    pub(super) async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let at = self.at();
        self.transcript.bytes(at, Direction::Sent, bytes);
        let write = async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        };
        match tokio::time::timeout(ANSWER_WAIT, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                let e = format!("could not write to the client: {e}");
                self.note(e.clone());
                Err(e)
            }
            Err(_) => {
                let e = format!(
                    "could not write to the client within {} s",
                    ANSWER_WAIT.as_secs()
                );
                self.note(e.clone());
                Err(e)
            }
        }
    }

    /// Sends one unmasked single-frame message (what a server sends).
    pub(super) async fn send_frame(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
    ) -> Result<(), String> {
        let mut out = Vec::new();
        encode_message(&mut out, opcode, None, payload);
        if opcode == Opcode::CLOSE {
            self.close_sent = true;
        }
        self.send(&out).await
    }

    /// Sends a Close with `code` and `reason` (any bytes, valid or not).
    pub(super) async fn send_close(&mut self, code: u16, reason: &[u8]) -> Result<(), String> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(reason);
        self.send_frame(Opcode::CLOSE, &body).await
    }

    /// Reads until more bytes arrive, the client ends its side, or `deadline`.
    async fn fill(&mut self, deadline: tokio::time::Instant) -> Fill {
        if self.eof {
            return Fill::Eof;
        }
        let mut chunk = vec![0; READ_CHUNK];
        match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
            Err(_) => Fill::Timeout,
            Ok(Ok(0)) => {
                self.eof = true;
                self.note("the client closed TCP");
                Fill::Eof
            }
            Ok(Ok(n)) => {
                let bytes = chunk.get(..n).unwrap_or_default();
                let at = self.at();
                self.transcript.bytes(at, Direction::Received, bytes);
                self.buf.extend_from_slice(bytes);
                Fill::Data
            }
            Ok(Err(e)) => {
                self.eof = true;
                let e = e.to_string();
                self.note(format!("the connection failed: {e}"));
                Fill::Failed(e)
            }
        }
    }

    fn keep_header(&mut self, header: FrameHeader) {
        if self.frames.len() < MAX_HEADERS_KEPT {
            self.frames.push(header);
        } else {
            self.frames_not_kept += 1;
        }
    }

    /// The next whole frame the client sent (header, unmasked payload), or
    /// the event that ended the reading.
    async fn next_frame(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<(FrameHeader, Vec<u8>), ClientEvent> {
        if let Some(what) = &self.unreadable {
            return Err(ClientEvent::Unreadable(what.clone()));
        }
        loop {
            if let Status::Complete((header, header_len)) = decode_header(&self.buf) {
                if header.payload_len > MAX_PAYLOAD as u64 {
                    self.keep_header(header);
                    let what = format!(
                        "a frame announcing {} bytes ({header}), more than the {} a check reads",
                        header.payload_len, MAX_PAYLOAD
                    );
                    self.note(what.clone());
                    self.buf.clear();
                    self.unreadable = Some(what.clone());
                    return Err(ClientEvent::Unreadable(what));
                }
                // At most MAX_PAYLOAD: the conversion and the sum cannot overflow.
                let total = header_len + header.payload_len as usize;
                if let Some(bytes) = self.buf.get(header_len..total) {
                    let mut payload = bytes.to_vec();
                    if let Some(key) = header.mask {
                        unmask(&mut payload, key, 0);
                    }
                    self.buf.drain(..total);
                    self.keep_header(header);
                    return Ok((header, payload));
                }
            }
            match self.fill(deadline).await {
                Fill::Data => {}
                Fill::Eof if self.buf.is_empty() => return Err(ClientEvent::Closed),
                Fill::Eof => {
                    let what = format!(
                        "the client closed TCP in the middle of a frame ({} bytes of it sent)",
                        self.buf.len()
                    );
                    self.buf.clear();
                    self.unreadable = Some(what.clone());
                    return Err(ClientEvent::Unreadable(what));
                }
                Fill::Timeout => return Err(ClientEvent::Silent),
                Fill::Failed(e) => return Err(ClientEvent::Reset(e)),
            }
        }
    }

    /// The next thing the client sent: a message (fragments joined), a
    /// control frame, or why reading stopped. Nothing is judged here:
    /// unmasked frames are read like masked ones (their headers are in
    /// [`frames`](Self::frames)).
    pub(super) async fn next_event(&mut self, deadline: tokio::time::Instant) -> ClientEvent {
        loop {
            let (header, payload) = match self.next_frame(deadline).await {
                Ok(frame) => frame,
                Err(end) => return end,
            };
            match header.opcode {
                Opcode::PING => return ClientEvent::Ping(payload),
                Opcode::PONG => return ClientEvent::Pong(payload),
                Opcode::CLOSE => return ClientEvent::Close(CloseBody::parse(&payload)),
                Opcode::TEXT | Opcode::BINARY if self.message.is_some() => {
                    return self.unreadable(format!(
                        "a new {} frame inside a fragmented message",
                        header.opcode
                    ));
                }
                Opcode::TEXT | Opcode::BINARY if header.fin => {
                    self.message_rsv = header.rsv;
                    return ClientEvent::Message {
                        opcode: header.opcode,
                        data: payload,
                    };
                }
                Opcode::TEXT | Opcode::BINARY => {
                    self.message = Some((header.opcode, header.rsv, payload));
                }
                Opcode::CONTINUATION => {
                    let Some((opcode, rsv, mut data)) = self.message.take() else {
                        return self.unreadable("a continuation frame with no message started");
                    };
                    if data.len() + payload.len() > MAX_PAYLOAD {
                        return self.unreadable(format!(
                            "a fragmented message of more than {MAX_PAYLOAD} bytes"
                        ));
                    }
                    data.extend_from_slice(&payload);
                    if header.fin {
                        self.message_rsv = rsv;
                        return ClientEvent::Message { opcode, data };
                    }
                    self.message = Some((opcode, rsv, data));
                }
                other => {
                    return self.unreadable(format!("a frame with the reserved opcode {other}"));
                }
            }
        }
    }

    fn unreadable(&mut self, what: impl Into<String>) -> ClientEvent {
        let what = what.into();
        self.note(what.clone());
        ClientEvent::Unreadable(what)
    }

    /// The next event that is not a pong, ping or message: what a check that
    /// waits for the client to close sees (a Close, the end of TCP, silence).
    /// Pings are answered on the way; what was skipped is in the transcript.
    pub(super) async fn next_close_event(&mut self, deadline: tokio::time::Instant) -> ClientEvent {
        loop {
            match self.next_event(deadline).await {
                ClientEvent::Ping(payload) => {
                    let _ = self.send_frame(Opcode::PONG, &payload).await;
                }
                ClientEvent::Pong(_) | ClientEvent::Message { .. } => {}
                other => return other,
            }
        }
    }

    /// Whether the client closes TCP before `deadline` (bytes it sends in the
    /// meantime are read and dropped); how long after the check began.
    pub(super) async fn client_closes_tcp(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Option<Duration> {
        loop {
            self.buf.clear();
            match self.fill(deadline).await {
                Fill::Data => {}
                Fill::Eof | Fill::Failed(_) => return Some(self.at()),
                Fill::Timeout => return None,
            }
        }
    }

    /// Ends the connection from the server's side: closes TCP (a TLS
    /// close_notify first), bounded.
    pub(super) async fn shutdown(&mut self) {
        self.note("the server closes TCP");
        let _ = tokio::time::timeout(Duration::from_millis(500), self.io.shutdown()).await;
    }

    /// Ends the server's side of TCP and goes on reading (what an HTTP server
    /// does after a response with `Connection: close`), bounded.
    pub(super) async fn half_close(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(500), self.io.shutdown()).await;
    }

    /// Ends a connection the client started to close with `body`: answers
    /// with a Close carrying the same code (RFC 6455 §5.5.1), then closes TCP.
    pub(super) async fn answer_close(&mut self, body: &CloseBody) {
        if !self.close_sent {
            let payload = body.code.map(|c| c.to_be_bytes().to_vec());
            let _ = self
                .send_frame(Opcode::CLOSE, &payload.unwrap_or_default())
                .await;
        }
        self.shutdown().await;
    }

    /// Ends an open connection normally: a Close 1000 (unless one was sent),
    /// the client's Close or end of TCP awaited (at most [`ANSWER_WAIT`]), then
    /// TCP closed by the server. What the client does here does not change the
    /// check's verdict; it is in the transcript.
    pub(super) async fn close_normally(&mut self) {
        if !self.eof {
            if !self.close_sent && self.send_close(1000, b"").await.is_err() {
                return;
            }
            let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
            match self.next_close_event(deadline).await {
                ClientEvent::Close(_) | ClientEvent::Closed | ClientEvent::Reset(_) => {}
                other => self.note(format!("closing: the client sent {other}")),
            }
        }
        self.shutdown().await;
    }
}

/// A wire over an in-memory pipe, for unit tests: the request has `headers`,
/// the client sent `leftover` after it; the other end is the client's.
#[cfg(test)]
pub(super) fn for_test(
    headers: &[(&str, &str)],
    leftover: &[u8],
) -> (ClientWire, tokio::io::DuplexStream) {
    use std::sync::Arc;

    use crate::host::ws::session::{AgentHistory, ClientSession};

    let (server, client) = tokio::io::duplex(1 << 20);
    let request = RequestHead {
        method: "GET".into(),
        target: "/".into(),
        version: 1,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        raw: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    };
    let upgrade = Upgrade {
        io: Box::new(server),
        request,
        leftover: leftover.to_vec(),
        received_at: Instant::now(),
    };
    // Through a session, as the host hands it over.
    let session = ClientSession::new("a", Arc::new(AgentHistory::default()), upgrade);
    let wire = session.take().map(ClientWire::new);
    (wire.expect("a fresh session has its upgrade"), client)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncWriteExt, DuplexStream};

    use super::*;

    fn wire(leftover: &[u8]) -> (ClientWire, DuplexStream) {
        for_test(
            &[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")],
            leftover,
        )
    }

    fn soon() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_millis(300)
    }

    fn masked(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        header.mask = Some([1, 2, 3, 4]);
        let mut out = Vec::new();
        pulsecheck_ws::encode_frame(&mut out, &header, payload).expect("encodable");
        out
    }

    #[test]
    fn the_101_carries_the_accept_of_the_clients_key() {
        let (wire, _client) = wire(b"");
        let head = String::from_utf8(wire.correct_101()).expect("ASCII");
        assert!(head.starts_with("HTTP/1.1 101"));
        // RFC 6455 §1.3's example.
        assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }

    #[tokio::test]
    async fn fragments_are_joined_masked_or_not_and_headers_are_kept() {
        let mut bytes = masked(Opcode::TEXT, false, b"Hel");
        bytes.extend(masked(Opcode::PING, true, b"p"));
        let mut unmasked = Vec::new();
        let mut last = FrameHeader::new(Opcode::CONTINUATION, 2);
        last.fin = true;
        pulsecheck_ws::encode_frame(&mut unmasked, &last, b"lo").expect("encodable");
        bytes.extend(unmasked);
        // The first frame arrives with the request head; the rest later.
        let (mut wire, mut client) = wire(&bytes[..4]);
        client.write_all(&bytes[4..]).await.expect("write");
        assert_eq!(
            wire.next_event(soon()).await,
            ClientEvent::Ping(b"p".to_vec())
        );
        assert_eq!(
            wire.next_event(soon()).await,
            ClientEvent::Message {
                opcode: Opcode::TEXT,
                data: b"Hello".to_vec()
            }
        );
        let masks: Vec<bool> = wire.frames.iter().map(|h| h.mask.is_some()).collect();
        assert_eq!(masks, [true, true, false]);
        assert_eq!(wire.next_event(soon()).await, ClientEvent::Silent);
        drop(client);
        assert_eq!(wire.next_event(soon()).await, ClientEvent::Closed);
    }

    #[tokio::test]
    async fn the_rsv_bits_of_a_messages_first_frame_are_kept() {
        // A fragmented message whose first frame has RSV1 (compressed), then
        // a single-frame message without.
        let mut first = FrameHeader::new(Opcode::BINARY, 2);
        first.fin = false;
        first.rsv = Rsv::RSV1;
        first.mask = Some([9, 8, 7, 6]);
        let mut bytes = Vec::new();
        pulsecheck_ws::encode_frame(&mut bytes, &first, b"ab").expect("encodable");
        bytes.extend(masked(Opcode::CONTINUATION, true, b"cd"));
        bytes.extend(masked(Opcode::TEXT, true, b"plain"));
        let (mut wire, mut client) = wire(b"");
        client.write_all(&bytes).await.expect("write");
        let event = wire.next_event(soon()).await;
        assert!(
            matches!(&event, ClientEvent::Message { data, .. } if data == b"abcd"),
            "{event:?}"
        );
        assert_eq!(wire.message_rsv, Rsv::RSV1);
        let event = wire.next_event(soon()).await;
        assert!(
            matches!(&event, ClientEvent::Message { data, .. } if data == b"plain"),
            "{event:?}"
        );
        assert_eq!(wire.message_rsv, Rsv::NONE);
    }

    #[tokio::test]
    async fn a_huge_frame_is_refused_from_its_header_without_being_held() {
        let (mut wire, mut client) = wire(b"");
        // A 2^62-byte binary frame's header, then a few bytes of it.
        let mut header = FrameHeader::new(Opcode::BINARY, 1 << 62);
        header.mask = Some([0; 4]);
        let mut out = Vec::new();
        header.write(&mut out).expect("encodable");
        out.extend_from_slice(&[0; 100]);
        client.write_all(&out).await.expect("write");
        let event = wire.next_event(soon()).await;
        assert!(
            matches!(&event, ClientEvent::Unreadable(w) if w.contains("4611686018427387904")),
            "{event:?}"
        );
        assert!(wire.buf.len() <= READ_CHUNK);
        // Later reads give the same answer at once, and keep nothing more.
        assert_eq!(wire.next_event(soon()).await, event);
        assert_eq!(wire.frames.len(), 1);
        assert!(wire.buf.is_empty());
    }

    #[tokio::test]
    async fn a_fragmented_message_is_bounded_too() {
        let (mut wire, mut client) = wire(b"");
        let piece = vec![b'a'; 60 * 1024];
        let mut bytes = masked(Opcode::BINARY, false, &piece);
        bytes.extend(masked(Opcode::CONTINUATION, true, &piece));
        client.write_all(&bytes).await.expect("write");
        let event = wire.next_event(soon()).await;
        assert!(
            matches!(&event, ClientEvent::Unreadable(w) if w.contains("fragmented")),
            "{event:?}"
        );
    }

    #[tokio::test]
    async fn close_bodies_are_read_as_sent() {
        let (mut wire, mut client) = wire(b"");
        let mut bytes = masked(Opcode::CLOSE, true, &[0x03, 0xea, b'x']);
        bytes.extend(masked(Opcode::CLOSE, true, &[0x03]));
        client.write_all(&bytes).await.expect("write");
        let ClientEvent::Close(first) = wire.next_event(soon()).await else {
            panic!("a close")
        };
        assert_eq!(first.to_string(), "a Close 1002 \"x\"");
        let ClientEvent::Close(second) = wire.next_event(soon()).await else {
            panic!("a close")
        };
        assert_eq!(second.to_string(), "a Close with a 1-byte body");
    }
}
