//! A tap on the bytes a server sends, so that an error hyper or rustls reports can
//! be told to a person: which rule, at which byte, and what the server sent there.
//!
//! hyper says "Invalid chunk size line: missing size digit"; a conformance report
//! must say *where* and *what*: "the chunk size line at byte 57 does not begin with a
//! hexadecimal digit: "zz\r\ndata: b\n\n"". The [`Tap`] sits under hyper (or under
//! rustls) and passes every byte through unchanged while a [`WireLog`] keeps:
//!
//! - the first bytes of the connection ([`FIRST_BYTES`]), to say what a server that
//!   does not speak HTTP or TLS answered instead;
//! - a shadow reader of HTTP/1.1 message framing (RFC 9112 §4–§7): the response
//!   head, then the body as its framing says (chunked, `Content-Length`, or until
//!   the connection closes). It stops at the first rule the bytes break and keeps a
//!   [`Malformation`] describing it; it never holds more than a line (bounded) or
//!   the head (bounded by [`MAX_HEAD`]).
//!
//! The log is consulted only when hyper reports an error; a response hyper accepts
//! is never judged here. When the shadow reader has nothing to add (a rule it does
//! not model, HTTP/2), the caller falls back to hyper's own words.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many of the connection's first bytes are kept.
pub(crate) const FIRST_BYTES: usize = 64;

/// The largest response head the shadow reader follows; past it, it stops
/// following (hyper has its own, larger limit and its own error for it).
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// The longest chunk-size or trailer line the shadow reader keeps.
const MAX_LINE: usize = 4096;

/// How many bytes a quotation shows.
const QUOTED: usize = 48;

/// Bytes as printable text, as transcripts show them (`\r`, `\n`, `\t`, `\\`,
/// `\xNN`, and `"` as `\"`), cut after `max` bytes with `…` when there were more.
pub fn quote(bytes: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max) + 2);
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7E => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

/// What was wrong with the bytes a server sent, located and quoted: the payload of
/// [`ClientError::Malformed`](super::ClientError::Malformed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformation {
    /// Which kind of problem.
    pub kind: MalformationKind,
    /// The offset, in the bytes the server sent on this connection, where the
    /// problem begins (the first byte of the response is byte 0).
    pub offset: u64,
    /// The rule, as a citation (`RFC 9112 §7.1`).
    pub rule: &'static str,
    /// What is wrong, as a phrase (`the chunk size line does not begin with a
    /// hexadecimal digit`).
    pub problem: String,
    /// The bytes the server sent there, escaped and cut (see [`quote`]); empty when
    /// the problem is that nothing more came.
    pub seen: String,
}

/// The kinds of [`Malformation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformationKind {
    /// The server answered with something that is not HTTP/1.x at all.
    NotHttp,
    /// The server closed (or reset) the connection without sending a byte.
    NoAnswer,
    /// The response head is not valid HTTP/1.1, or was cut short.
    Head,
    /// The body's framing is broken: invalid chunked coding, or fewer bytes than
    /// the framing announced before the connection closed.
    Body,
}

impl Malformation {
    /// Whether the server failed to speak HTTP at all (not HTTP, no answer, or a
    /// head that cannot be read): nothing about such a target can be tested.
    pub fn before_the_head(&self) -> bool {
        !matches!(self.kind, MalformationKind::Body)
    }
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MalformationKind::NotHttp => write!(
                f,
                "the server does not speak HTTP: it answered with \"{}\" where a status line such as \"HTTP/1.1 200 OK\" belongs ({})",
                self.seen, self.rule
            ),
            MalformationKind::NoAnswer => write!(f, "{}", self.problem),
            MalformationKind::Head | MalformationKind::Body if self.seen.is_empty() => {
                write!(f, "{} ({})", self.problem, self.rule)
            }
            MalformationKind::Head | MalformationKind::Body => write!(
                f,
                "{} ({}); the server sent \"{}\"",
                self.problem, self.rule, self.seen
            ),
        }
    }
}

/// What the tap has seen of one connection. Shared (behind an [`Arc`]) between the
/// tap, which writes it, and the client and response, which read it on an error.
#[derive(Debug, Default)]
pub(crate) struct WireLog {
    inner: Mutex<Wire>,
}

#[derive(Debug, Default)]
struct Wire {
    received: u64,
    first: Vec<u8>,
    framing: Framing,
    found: Option<Malformation>,
}

/// Where the shadow reader is in the server's bytes.
#[derive(Debug, Default)]
enum Framing {
    /// Not following framing (TLS records, HTTP/2, the WebSocket stream, or given up).
    #[default]
    Off,
    /// Reading a response head: its bytes so far, from offset `start`.
    Head {
        start: u64,
        bytes: Vec<u8>,
        /// The request was HEAD: the response has no body whatever it says.
        no_body: bool,
    },
    /// Reading a chunked body.
    Chunked(Chunk),
    /// Reading a body of known length.
    Length { left: u64, total: u64 },
    /// The body runs until the connection closes, or the message is complete.
    Done,
}

/// The chunked-body reader's place (RFC 9112 §7.1).
#[derive(Debug)]
enum Chunk {
    /// Reading a chunk-size line that began at `start`; `line` holds it so far.
    Size {
        start: u64,
        line: Vec<u8>,
        value: u64,
        state: SizeState,
    },
    /// Inside chunk data: `left` of `size` bytes to come.
    Data { left: u64, size: u64, start: u64 },
    /// After the data: the CRLF that ends the chunk (`cr_seen` once the CR came).
    DataEnd { cr_seen: bool, start: u64 },
    /// A trailer line (or the final empty line) that began at `start`.
    Trailer { start: u64, line: Vec<u8> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeState {
    FirstDigit,
    Digits,
    /// Whitespace after the digits.
    Space,
    /// A chunk extension (`;name=value`), ignored up to the CR.
    Extension,
    /// The CR came; the LF must follow.
    Lf,
}

impl WireLog {
    /// A log for a connection whose framing is not followed (below TLS, or a
    /// raw connection): it keeps only the first bytes.
    pub(crate) fn raw() -> Arc<Self> {
        Arc::new(WireLog::default())
    }

    /// A log that follows HTTP/1.1 framing from the first byte (the response to a
    /// request that was just sent; `no_body` for HEAD).
    pub(crate) fn http1(no_body: bool) -> Arc<Self> {
        Arc::new(WireLog {
            inner: Mutex::new(Wire {
                framing: Framing::Head {
                    start: 0,
                    bytes: Vec::new(),
                    no_body,
                },
                ..Wire::default()
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Wire> {
        // A poisoned lock only means a panic elsewhere; the data is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first bytes the server sent, and how many it sent in all.
    pub(crate) fn first_bytes(&self) -> (Vec<u8>, u64) {
        let wire = self.lock();
        (wire.first.clone(), wire.received)
    }

    /// The first framing rule the server's bytes broke, if the shadow reader saw one.
    pub(crate) fn malformation(&self) -> Option<Malformation> {
        self.lock().found.clone()
    }

    fn saw(&self, bytes: &[u8]) {
        let mut wire = self.lock();
        if wire.first.len() < FIRST_BYTES {
            let take = (FIRST_BYTES - wire.first.len()).min(bytes.len());
            wire.first.extend_from_slice(&bytes[..take]);
        }
        let offset = wire.received;
        wire.received += bytes.len() as u64;
        if wire.found.is_none() {
            let found = follow(&mut wire.framing, offset, bytes);
            if found.is_some() {
                wire.framing = Framing::Off;
                wire.found = found;
            }
        }
    }

    fn closed(&self, reset: bool) {
        let mut wire = self.lock();
        if wire.found.is_some() {
            return;
        }
        let received = wire.received;
        let found = match &wire.framing {
            Framing::Head { .. } if received == 0 => Some(no_answer(reset)),
            Framing::Head { start, bytes, .. } if bytes.is_empty() => Some(no_answer_after(*start)),
            Framing::Head { start, bytes, .. } => Some(Malformation {
                kind: MalformationKind::Head,
                offset: *start,
                rule: "RFC 9112 §2.1",
                problem: format!(
                    "the connection closed in the middle of the response head, after {} bytes of it",
                    bytes.len()
                ),
                seen: quote(tail(bytes), QUOTED),
            }),
            Framing::Length { left, total } if *left > 0 => Some(Malformation {
                kind: MalformationKind::Body,
                offset: received,
                rule: "RFC 9112 §6.3",
                problem: format!(
                    "the connection closed after {} of the {total} bytes the Content-Length announced",
                    total - left
                ),
                seen: String::new(),
            }),
            Framing::Chunked(chunk) => Some(Malformation {
                kind: MalformationKind::Body,
                offset: received,
                rule: "RFC 9112 §7.1",
                problem: match chunk {
                    Chunk::Data { left, size, start } => format!(
                        "the connection closed inside the chunk of {size} bytes that began at byte {start}, {left} bytes short"
                    ),
                    _ => "the connection closed before the last chunk (size 0) ended the chunked body"
                        .to_owned(),
                },
                seen: String::new(),
            }),
            _ => None,
        };
        wire.found = found;
    }
}

fn no_answer(reset: bool) -> Malformation {
    Malformation {
        kind: MalformationKind::NoAnswer,
        offset: 0,
        rule: "RFC 9112 §2.1",
        problem: if reset {
            "the server reset the connection without answering the request".to_owned()
        } else {
            "the server closed the connection without answering the request".to_owned()
        },
        seen: String::new(),
    }
}

fn no_answer_after(start: u64) -> Malformation {
    Malformation {
        kind: MalformationKind::NoAnswer,
        offset: start,
        rule: "RFC 9112 §2.1",
        problem: format!(
            "the server closed the connection after {start} bytes of interim responses, without its final response"
        ),
        seen: String::new(),
    }
}

/// The last [`QUOTED`] bytes of `bytes`.
fn tail(bytes: &[u8]) -> &[u8] {
    &bytes[bytes.len().saturating_sub(QUOTED)..]
}

/// Feeds `bytes` (which begin at `offset`) to the shadow reader; returns the first
/// problem found.
fn follow(framing: &mut Framing, offset: u64, bytes: &[u8]) -> Option<Malformation> {
    let mut at = 0usize;
    while at < bytes.len() {
        let pos = offset + at as u64;
        let rest = &bytes[at..];
        match framing {
            Framing::Off | Framing::Done => return None,
            Framing::Head {
                start,
                bytes: head,
                no_body,
            } => {
                let room = MAX_HEAD.saturating_sub(head.len());
                let take = room.min(rest.len());
                let before = head.len();
                head.extend_from_slice(&rest[..take]);
                match read_head(*start, head) {
                    HeadRead::Partial if take < rest.len() || head.len() >= MAX_HEAD => {
                        *framing = Framing::Off;
                        return None;
                    }
                    HeadRead::Partial => return None,
                    HeadRead::Bad(problem) => return Some(problem),
                    HeadRead::Unknown => {
                        *framing = Framing::Off;
                        return None;
                    }
                    HeadRead::Complete { used, status, body } => {
                        let consumed = used - before;
                        at += consumed;
                        let body_start = *start + used as u64;
                        *framing = if (100..200).contains(&status) && status != 101 {
                            Framing::Head {
                                start: body_start,
                                bytes: Vec::new(),
                                no_body: *no_body,
                            }
                        } else if status == 101 || *no_body || status == 204 || status == 304 {
                            Framing::Done
                        } else {
                            match body {
                                BodyFraming::Chunked => Framing::Chunked(Chunk::Size {
                                    start: body_start,
                                    line: Vec::new(),
                                    value: 0,
                                    state: SizeState::FirstDigit,
                                }),
                                BodyFraming::Length(0) => Framing::Done,
                                BodyFraming::Length(n) => Framing::Length { left: n, total: n },
                                BodyFraming::UntilClose => Framing::Done,
                                BodyFraming::Unknown => Framing::Off,
                            }
                        };
                    }
                }
            }
            Framing::Length { left, .. } => {
                let take = (*left).min(rest.len() as u64);
                *left -= take;
                at += take as usize;
                if *left == 0 {
                    *framing = Framing::Done;
                }
            }
            Framing::Chunked(chunk) => {
                let (used, next) = step_chunk(chunk, pos, rest);
                at += used;
                match next {
                    Step::Continue => {}
                    Step::Finished => *framing = Framing::Done,
                    Step::Broken(problem) => return Some(problem),
                }
            }
        }
    }
    None
}

enum HeadRead {
    Partial,
    Complete {
        used: usize,
        status: u16,
        body: BodyFraming,
    },
    Bad(Malformation),
    /// Something the shadow reader does not judge (too many headers for its table).
    Unknown,
}

enum BodyFraming {
    Chunked,
    Length(u64),
    UntilClose,
    Unknown,
}

/// Parses a response head that began at `start`.
fn read_head(start: u64, head: &[u8]) -> HeadRead {
    let mut storage = [httparse::EMPTY_HEADER; 128];
    let mut response = httparse::Response::new(&mut storage);
    match response.parse(head) {
        Ok(httparse::Status::Partial) => {
            // A first line that cannot become a status line is not HTTP at all;
            // say so at once rather than waiting for more.
            if start == 0 && !could_be_status_line(head) {
                HeadRead::Bad(not_http(head))
            } else {
                HeadRead::Partial
            }
        }
        Ok(httparse::Status::Complete(used)) => {
            let status = response.code.unwrap_or(0);
            HeadRead::Complete {
                used,
                status,
                body: body_framing(response.headers),
            }
        }
        Err(httparse::Error::TooManyHeaders) => HeadRead::Unknown,
        Err(httparse::Error::Version) if start == 0 => HeadRead::Bad(not_http(head)),
        Err(e) => {
            let line_start = bad_line_start(head);
            HeadRead::Bad(Malformation {
                kind: MalformationKind::Head,
                offset: start + line_start as u64,
                rule: "RFC 9112 §4, §5",
                problem: format!(
                    "the response head is malformed at byte {}: {}",
                    start + line_start as u64,
                    head_error(e)
                ),
                seen: quote(&head[line_start..], QUOTED),
            })
        }
    }
}

/// Whether `head` may still grow into `HTTP/1.x NNN …`.
fn could_be_status_line(head: &[u8]) -> bool {
    const PREFIX: &[u8] = b"HTTP/1.";
    let n = head.len().min(PREFIX.len());
    head[..n] == PREFIX[..n]
}

fn not_http(head: &[u8]) -> Malformation {
    Malformation {
        kind: MalformationKind::NotHttp,
        offset: 0,
        rule: "RFC 9112 §4",
        problem: "the server does not speak HTTP".to_owned(),
        seen: quote(head, QUOTED),
    }
}

/// Where the line that httparse stopped in begins: the last line of the head so far
/// that is not followed by a complete, valid header (a good approximation; the
/// quotation shows the line).
fn bad_line_start(head: &[u8]) -> usize {
    // Validate line by line with httparse's own header parser.
    let Some(first_end) = head.iter().position(|&b| b == b'\n') else {
        return 0;
    };
    let status_line = &head[..first_end];
    let status_ok = status_line.starts_with(b"HTTP/1.")
        && status_line.len() >= 12
        && status_line[9..12].iter().all(u8::is_ascii_digit);
    if !status_ok {
        return 0;
    }
    let mut start = first_end + 1;
    while start < head.len() {
        let end = match head[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start + i + 1,
            None => return start,
        };
        let mut one = [httparse::EMPTY_HEADER; 1];
        let mut line = head[start..end].to_vec();
        line.extend_from_slice(b"\r\n");
        if !matches!(
            httparse::parse_headers(&line, &mut one),
            Ok(httparse::Status::Complete(_))
        ) {
            return start;
        }
        start = end;
    }
    start.min(head.len())
}

fn head_error(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "a header name holds a character a token may not hold",
        httparse::Error::HeaderValue => "a header value holds a control character",
        httparse::Error::NewLine => "a line does not end with CRLF",
        httparse::Error::Status => "the status code is not three digits",
        httparse::Error::Token => "the status line holds an invalid character",
        httparse::Error::Version => "the HTTP version is not HTTP/1.0 or HTTP/1.1",
        httparse::Error::TooManyHeaders => "too many header fields",
    }
}

/// How the body of a response with these headers is delimited (RFC 9112 §6.3).
fn body_framing(headers: &[httparse::Header<'_>]) -> BodyFraming {
    let mut chunked = None;
    let mut length: Option<u64> = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
            else {
                return BodyFraming::Unknown;
            };
            if length.is_some_and(|l| l != n) {
                return BodyFraming::Unknown;
            }
            length = Some(n);
        }
    }
    match (chunked, length) {
        (Some(true), _) => BodyFraming::Chunked,
        (Some(false), _) => BodyFraming::UntilClose,
        (None, Some(n)) => BodyFraming::Length(n),
        (None, None) => BodyFraming::UntilClose,
    }
}

enum Step {
    Continue,
    Finished,
    Broken(Malformation),
}

/// Advances the chunked reader over `rest` (which begins at `pos`); returns how
/// many bytes it used and what happened.
fn step_chunk(chunk: &mut Chunk, pos: u64, rest: &[u8]) -> (usize, Step) {
    let broken = |offset: u64, problem: String, seen: Vec<u8>| {
        Step::Broken(Malformation {
            kind: MalformationKind::Body,
            offset,
            rule: "RFC 9112 §7.1",
            problem,
            seen: quote(&seen, QUOTED),
        })
    };
    match chunk {
        Chunk::Data { left, start, .. } => {
            let take = (*left).min(rest.len() as u64);
            *left -= take;
            if *left == 0 {
                *chunk = Chunk::DataEnd {
                    cr_seen: false,
                    start: *start,
                };
            }
            (take as usize, Step::Continue)
        }
        Chunk::DataEnd { cr_seen, start } => {
            let b = rest[0];
            let expected = if *cr_seen { b'\n' } else { b'\r' };
            if b != expected {
                let size_start = *start;
                return (
                    1,
                    broken(
                        pos,
                        format!(
                            "the chunked body is malformed at byte {pos}: the data of the chunk whose size line began at byte {size_start} is not followed by CRLF (the chunk is longer than its size says)"
                        ),
                        rest.to_vec(),
                    ),
                );
            }
            if *cr_seen {
                *chunk = Chunk::Size {
                    start: pos + 1,
                    line: Vec::new(),
                    value: 0,
                    state: SizeState::FirstDigit,
                };
            } else {
                *cr_seen = true;
            }
            (1, Step::Continue)
        }
        Chunk::Size {
            start,
            line,
            value,
            state,
        } => {
            let (used, outcome) = step_size(*start, line, value, state, rest);
            match outcome {
                SizeStep::Continue => (used, Step::Continue),
                SizeStep::Broken(problem) => (used, Step::Broken(problem)),
                SizeStep::Done {
                    size,
                    start: size_start,
                } => {
                    *chunk = if size == 0 {
                        Chunk::Trailer {
                            start: pos + used as u64,
                            line: Vec::new(),
                        }
                    } else {
                        Chunk::Data {
                            left: size,
                            size,
                            start: size_start,
                        }
                    };
                    (used, Step::Continue)
                }
            }
        }
        Chunk::Trailer { start, line } => {
            for (i, &b) in rest.iter().enumerate() {
                if line.len() < MAX_LINE {
                    line.push(b);
                }
                if b != b'\n' {
                    continue;
                }
                let start_at = *start;
                if !line.ends_with(b"\r\n") {
                    let seen = line.clone();
                    return (
                        i + 1,
                        broken(
                            start_at,
                            format!(
                                "the chunked body is malformed at byte {start_at}: a trailer line does not end with CRLF"
                            ),
                            seen,
                        ),
                    );
                }
                if line.len() == 2 {
                    return (i + 1, Step::Finished);
                }
                *start = pos + i as u64 + 1;
                line.clear();
            }
            (rest.len(), Step::Continue)
        }
    }
}

enum SizeStep {
    Continue,
    /// The size line ended; the chunk that begins after it has `size` bytes.
    Done {
        size: u64,
        start: u64,
    },
    Broken(Malformation),
}

/// Reads a chunk-size line (`1*HEXDIG [ BWS ";" chunk-ext ] CRLF`, as hyper accepts
/// it) that began at `start`, over `rest`.
fn step_size(
    start: u64,
    line: &mut Vec<u8>,
    value: &mut u64,
    state: &mut SizeState,
    rest: &[u8],
) -> (usize, SizeStep) {
    for (i, &b) in rest.iter().enumerate() {
        if line.len() < MAX_LINE {
            line.push(b);
        }
        let problem = match (*state, b) {
            (SizeState::FirstDigit | SizeState::Digits, _) if b.is_ascii_hexdigit() => {
                let digit = u64::from(hex_value(b));
                match value.checked_mul(16).and_then(|v| v.checked_add(digit)) {
                    Some(v) => {
                        *value = v;
                        *state = SizeState::Digits;
                        continue;
                    }
                    None => "the chunk size does not fit in 64 bits".to_owned(),
                }
            }
            (SizeState::FirstDigit, _) => {
                "the chunk size line does not begin with a hexadecimal digit".to_owned()
            }
            (SizeState::Digits | SizeState::Space, b' ' | b'\t') => {
                *state = SizeState::Space;
                continue;
            }
            (SizeState::Digits | SizeState::Space, b';') => {
                *state = SizeState::Extension;
                continue;
            }
            (SizeState::Digits | SizeState::Space | SizeState::Extension, b'\r') => {
                *state = SizeState::Lf;
                continue;
            }
            (SizeState::Extension, b'\n') => {
                "the chunk extension ends with a bare LF, not CRLF".to_owned()
            }
            (SizeState::Extension, _) => continue,
            (SizeState::Digits | SizeState::Space, _) => format!(
                "the chunk size line holds \"{}\" after its hexadecimal digits",
                quote(&[b], 1)
            ),
            (SizeState::Lf, b'\n') => {
                return (
                    i + 1,
                    SizeStep::Done {
                        size: *value,
                        start,
                    },
                );
            }
            (SizeState::Lf, _) => "the chunk size line does not end with CRLF".to_owned(),
        };
        let mut seen = line.clone();
        seen.extend_from_slice(&rest[i + 1..rest.len().min(i + 1 + QUOTED)]);
        return (
            i + 1,
            SizeStep::Broken(Malformation {
                kind: MalformationKind::Body,
                offset: start,
                rule: "RFC 9112 §7.1",
                problem: format!("the chunked body is malformed at byte {start}: {problem}"),
                seen: quote(&seen, QUOTED),
            }),
        );
    }
    (rest.len(), SizeStep::Continue)
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// A stream whose incoming bytes are also shown to a [`WireLog`]. Everything else
/// passes through unchanged.
#[derive(Debug)]
pub(crate) struct Tap<IO> {
    io: IO,
    log: Arc<WireLog>,
}

impl<IO> Tap<IO> {
    /// Taps `io` into `log`.
    pub(crate) fn new(io: IO, log: Arc<WireLog>) -> Self {
        Tap { io, log }
    }

    /// The tapped stream, without the tap.
    pub(crate) fn into_inner(self) -> IO {
        self.io
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tap<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if new.is_empty() {
                    // A read of nothing on a non-empty buffer is the end of the stream.
                    if buf.remaining() > 0 {
                        this.log.closed(false);
                    }
                } else {
                    this.log.saw(new);
                }
            }
            Poll::Ready(Err(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::UnexpectedEof
                ) =>
            {
                this.log.closed(true);
            }
            _ => {}
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tap<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `parts` (each one read) to an HTTP/1.1 log, then closes it if asked.
    fn feed(parts: &[&[u8]], close: bool) -> Option<Malformation> {
        let log = WireLog::http1(false);
        for part in parts {
            log.saw(part);
        }
        if close {
            log.closed(false);
        }
        log.malformation()
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn chunked(body: &[u8]) -> Vec<u8> {
        let mut all = CHUNKED.to_vec();
        all.extend_from_slice(body);
        all
    }

    #[test]
    fn valid_messages_are_not_judged_in_any_split() {
        let messages: [Vec<u8>; 4] = [
            chunked(b"8\r\ndata: a\n\r\nA; ext=1\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"),
            chunked(b"5 \t\r\nhello\r\n0\r\n\r\n"),
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                .to_vec(),
            b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n".to_vec(),
        ];
        for message in &messages {
            for split in 0..message.len() {
                let (a, b) = message.split_at(split);
                assert_eq!(feed(&[a, b], false), None, "{}", quote(message, 200));
                // Byte by byte too.
                let bytes: Vec<&[u8]> = message.chunks(1).collect();
                assert_eq!(feed(&bytes, false), None);
            }
        }
        // A complete chunked body, a complete Content-Length body, and a body
        // delimited by the close all end cleanly.
        for message in &messages {
            assert_eq!(feed(&[message], true), None, "{}", quote(message, 200));
        }
    }

    #[test]
    fn invalid_chunk_sizes_are_located_and_quoted() {
        let body_start = CHUNKED.len() as u64;
        let zz = feed(
            &[&chunked(b"8\r\ndata: a\n\r\nzz\r\ndata: b\n\n\r\n")],
            false,
        )
        .unwrap();
        assert_eq!(zz.kind, MalformationKind::Body);
        assert_eq!(zz.offset, body_start + 13);
        assert_eq!(zz.rule, "RFC 9112 §7.1");
        assert!(
            zz.problem
                .contains("does not begin with a hexadecimal digit"),
            "{zz}"
        );
        assert!(zz.seen.starts_with("zz\\r\\ndata: b\\n"), "{zz}");
        assert_eq!(
            zz.to_string(),
            format!(
                "the chunked body is malformed at byte {}: the chunk size line does not begin with a hexadecimal digit (RFC 9112 §7.1); the server sent \"zz\\r\\ndata: b\\n\\n\\r\\n\"",
                body_start + 13
            )
        );

        let negative = feed(&[&chunked(b"-5\r\nhello\r\n")], false).unwrap();
        assert!(
            negative
                .problem
                .contains("does not begin with a hexadecimal digit")
        );
        assert!(negative.seen.starts_with("-5\\r\\n"));

        let overflow = feed(&[&chunked(b"1ffffffffffffffff\r\nx")], false).unwrap();
        assert!(
            overflow.problem.contains("does not fit in 64 bits"),
            "{overflow}"
        );

        let junk = feed(&[&chunked(b"5x\r\nhello\r\n")], false).unwrap();
        assert!(
            junk.problem
                .contains("holds \"x\" after its hexadecimal digits"),
            "{junk}"
        );

        let bare_lf = feed(&[&chunked(b"5\nhello\r\n")], false).unwrap();
        assert!(bare_lf.problem.contains("holds \"\\n\""), "{bare_lf}");

        let no_lf = feed(&[&chunked(b"5\rhello")], false).unwrap();
        assert!(no_lf.problem.contains("does not end with CRLF"), "{no_lf}");

        let long = feed(&[&chunked(b"3\r\nhello\r\n")], false).unwrap();
        assert!(long.problem.contains("not followed by CRLF"), "{long}");
        assert_eq!(long.offset, body_start + 6);
    }

    #[test]
    fn closing_early_is_named() {
        let cut = feed(&[&chunked(b"a\r\nabc")], true).unwrap();
        assert!(cut.problem.contains("7 bytes short"), "{cut}");
        let no_last = feed(&[&chunked(b"3\r\nabc\r\n")], true).unwrap();
        assert!(
            no_last.problem.contains("before the last chunk"),
            "{no_last}"
        );
        let short = feed(
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"],
            true,
        )
        .unwrap();
        assert_eq!(short.rule, "RFC 9112 §6.3");
        assert!(
            short.problem.contains("after 10 of the 100 bytes"),
            "{short}"
        );
        let nothing = feed(&[], true).unwrap();
        assert_eq!(nothing.kind, MalformationKind::NoAnswer);
        assert_eq!(
            nothing.to_string(),
            "the server closed the connection without answering the request"
        );
        let half_head = feed(&[b"HTTP/1.1 200 OK\r\nContent-"], true).unwrap();
        assert_eq!(half_head.kind, MalformationKind::Head);
        assert!(half_head.problem.contains("middle of the response head"));
    }

    #[test]
    fn a_server_that_does_not_speak_http_is_quoted() {
        let ssh = feed(&[b"SSH-2.0-OpenSSH_9.6\r\n"], false).unwrap();
        assert_eq!(ssh.kind, MalformationKind::NotHttp);
        assert!(ssh.before_the_head());
        assert_eq!(
            ssh.to_string(),
            "the server does not speak HTTP: it answered with \"SSH-2.0-OpenSSH_9.6\\r\\n\" where a status line such as \"HTTP/1.1 200 OK\" belongs (RFC 9112 §4)"
        );
        // Known at the first byte that cannot start "HTTP/1.".
        assert!(feed(&[b"X"], false).is_some());
        assert!(feed(&[b"HTT"], false).is_none());
        let binary = feed(&[&[0u8, 0, 0x12, 4, 0, 0, 0, 0, 0][..]], false).unwrap();
        assert!(binary.seen.starts_with("\\x00\\x00\\x12"), "{binary}");
    }

    #[test]
    fn a_malformed_head_names_its_line() {
        let bad = feed(
            &[b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nBad Header: x\r\n\r\n"],
            false,
        )
        .unwrap();
        assert_eq!(bad.kind, MalformationKind::Head);
        assert_eq!(bad.offset, 50);
        assert!(bad.seen.starts_with("Bad Header: x"), "{bad}");
        assert!(bad.problem.contains("header name"), "{bad}");
    }

    #[test]
    fn quotes_are_escaped_and_cut() {
        assert_eq!(
            quote(b"a\"b\\\r\n\x01\xff", 100),
            "a\\\"b\\\\\\r\\n\\x01\\xff"
        );
        assert_eq!(quote(&[b'a'; 10], 4), "aaaa…");
    }
}
