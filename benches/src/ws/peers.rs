//! Adapters that drive each peer WebSocket crate through the same work as ours.
//!
//! Every adapter reads the whole workload as a server (client frames, masked), hands out
//! every complete data message through [`std::hint::black_box`] as the peer delivers it,
//! and stops at the first error, which is how each of them reports the end of the input
//! (none of the workloads holds a Close frame). Limits are raised to
//! [`MAX_SIZE`] (64 MiB) wherever a peer has one, so no limit decides anything. No workload
//! holds a control frame, and the in-memory streams refuse writes, so a peer that tried to
//! answer something (a pong, a close) would fail the run and the agreement tests.
//!
//! | adapter | input | copies | unmasks | UTF-8 (text) |
//! |---|---|---|---|---|
//! | `tungstenite` | `std::io::Read` over the buffer | into its read buffer | in its buffer | std, per message; per fragment when fragmented |
//! | `fastwebsockets` | tokio `AsyncRead` over the buffer | into its read buffer | in its buffer | simdutf8 per single frame; `utf-8` crate per fragment |
//! | `sockudo-ws` | `BytesMut` copy made untimed | no | in place | simdutf8 per message, by the adapter |
//! | `sockudo-ws (copy)` | 128 KiB reads into a reused `BytesMut` | into that buffer | in place | simdutf8 per message, by the adapter |
//! | `sockudo-ws Protocol (copy)` | as `sockudo-ws (copy)` | into that buffer | in place | simdutf8 per fragment, and on the arrived part of an incomplete frame, by sockudo-ws |
//!
//! Fragmented messages are reassembled by the peer where it offers that (tungstenite's
//! `WebSocket`, fastwebsockets' `FragmentCollector`, sockudo-ws's `Protocol`) and by the
//! adapter for sockudo-ws's `FrameParser`, which works on frames only.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Summary;
use super::ours::READ_SIZE;
use super::workloads::{MAX_SIZE, Workload};

/// Why `implementation` cannot run `workload`, if it cannot (a size limit, a missing
/// feature). None of the current peers needs a skip: every limit is configurable and
/// raised to [`MAX_SIZE`]. The benchmark prints the reason and leaves the function out of
/// that group, as the SSE harness does for pathological peers.
pub fn skip(implementation: &str, workload: &Workload) -> Option<&'static str> {
    let _ = (implementation, workload);
    None
}

/// The bytes of a workload seen as a socket: reads hand them out in order, as many as the
/// reader asks for; writes fail, so an adapter that tried to answer would stop.
#[derive(Debug)]
struct MemStream<'a> {
    rest: &'a [u8],
}

fn no_writes() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "the benchmark stream is read-only",
    )
}

impl Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rest.read(buf)
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(no_writes())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for MemStream<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.rest).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemStream<'_> {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(no_writes()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// `tungstenite` 0.30 (no default features: no handshake, which `from_raw_socket` does not
/// need): `WebSocket::from_raw_socket(stream, Role::Server, config)` over the buffer, then
/// `read()` until it fails (at the end of the input: "connection reset without closing
/// handshake").
///
/// Per `read()` it reads up to `read_buffer_size` (default 128 KiB, left as is) from the
/// stream into its `BytesMut` (the copy), splits each frame's payload off as `Bytes`
/// (reference counted), unmasks it there, and returns `Message::Text(Utf8Bytes)` (validated
/// with `std::str::from_utf8`) or `Message::Binary(Bytes)`; fragments are appended to an
/// incomplete message, text validated fragment by fragment with a carried partial
/// character. UTF-8 validation cannot be switched off. The adapter touches the text as
/// `&str`. Config: `max_message_size` and `max_frame_size` [`MAX_SIZE`] (defaults 64 MiB
/// and 16 MiB); auto-pong and close replies would be written, and fail the run.
pub fn run_tungstenite(bytes: &[u8]) -> Summary {
    use tungstenite::Message;
    use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};

    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_SIZE))
        .max_frame_size(Some(MAX_SIZE));
    let mut ws = WebSocket::from_raw_socket(MemStream { rest: bytes }, Role::Server, Some(config));
    let mut summary = Summary::default();
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => summary.text(text.as_str()),
            Ok(Message::Binary(data)) => summary.binary(&data),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    summary
}

/// `fastwebsockets` 0.10 (default feature `simd`: simdutf8): `WebSocket::after_handshake(
/// stream, Role::Server)` with `set_auto_close(false)`, `set_auto_pong(false)` and
/// `set_max_message_size(`[`MAX_SIZE`]`)`, wrapped in a `FragmentCollector` (the crate's
/// way to receive whole messages), then `read_frame().await` until it fails (at the end of
/// the input: `UnexpectedEOF`). The future runs under `futures::executor::block_on`; the
/// in-memory stream is never `Pending`, so that is one poll.
///
/// Per frame it reads from the stream into its `BytesMut` (the copy; it reserves the
/// frame's length plus 14 first), splits the payload off and unmasks it there. A
/// single-frame text message is validated with simdutf8; a fragmented one is validated
/// fragment by fragment with the `utf-8` crate (std's validator, carrying a partial
/// character) and copied into a `Vec`. It does not check that a fragmented text message
/// ends on a character boundary (an incomplete final character is accepted); no workload
/// does that, and `tests/ws_peers_agree.rs` pins it down. Text frames are "guaranteed to be
/// valid UTF-8" and delivered as bytes, which the adapter hands out as such: turning them
/// into `&str` would mean validating again, or `unsafe`.
pub fn run_fastwebsockets(bytes: &[u8]) -> Summary {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};

    let mut ws = WebSocket::after_handshake(MemStream { rest: bytes }, Role::Server);
    ws.set_auto_close(false);
    ws.set_auto_pong(false);
    ws.set_max_message_size(MAX_SIZE);
    let mut ws = FragmentCollector::new(ws);
    let mut summary = Summary::default();
    futures::executor::block_on(async {
        while let Ok(frame) = ws.read_frame().await {
            match frame.opcode {
                OpCode::Text => summary.text(&*frame.payload),
                OpCode::Binary => summary.binary(&frame.payload),
                _ => {}
            }
        }
    });
    summary
}

/// The fresh masked input [`run_sockudo`] unmasks in place (made outside the timer).
pub fn sockudo_input(bytes: &[u8]) -> BytesMut {
    BytesMut::from(bytes)
}

/// `sockudo-ws` 3.1 (no default features: the I/O-free frame layer only):
/// `FrameParser::new(`[`MAX_SIZE`]`, true)` (server: frames must be masked), `parse(&mut
/// buf)` until it returns `None` (end of input) or an error.
///
/// Per frame the parser checks the header (RSV bits, opcode, control frame rules, mask bit,
/// minimal length, frame size), splits the payload off `buf` as `Bytes` (reference
/// counted, no copy) and unmasks it in place (AVX2, SSE2 or AVX-512, chosen at run time).
/// It neither reassembles fragments nor validates UTF-8: `FrameParser` is a frame layer,
/// and the crate's message layer (`Protocol`) is not what this benchmark drives. So the
/// adapter does what a user of `FrameParser` must: checks the fragmentation sequence,
/// copies fragments into a reused `Vec`, and validates every text message once, whole,
/// with `simdutf8::basic::from_utf8` (which is what sockudo-ws's own `validate_utf8` calls)
/// at its final frame, handing it out as `&str`. That is one validation pass per message,
/// in one call, without failing early at an invalid fragment; pulsecheck makes the same
/// single pass, one call per fragment, so that an invalid fragment fails where it is.
///
/// The parser unmasks `buf` in place, so every iteration needs a fresh masked copy: the
/// benchmark builds it untimed with [`sockudo_input`]; [`run_sockudo_copy`] is the same in
/// a read loop, with the copy timed.
pub fn run_sockudo(buf: &mut BytesMut) -> Summary {
    let mut reader = SockudoReader::new();
    reader.read(buf);
    reader.summary
}

/// The message layer the adapter adds to sockudo-ws's `FrameParser`.
struct SockudoReader {
    parser: sockudo_ws::frame::FrameParser,
    summary: Summary,
    /// The fragments of the message in progress.
    message: Vec<u8>,
    /// The type of the fragmented message in progress: `Some(true)` for text.
    in_progress: Option<bool>,
}

impl SockudoReader {
    fn new() -> Self {
        SockudoReader {
            parser: sockudo_ws::frame::FrameParser::new(MAX_SIZE, true),
            summary: Summary::default(),
            message: Vec::new(),
            in_progress: None,
        }
    }

    /// Reads every complete frame in `buf`; `false` after an error (a protocol error or
    /// invalid UTF-8), `true` when it needs more bytes.
    fn read(&mut self, buf: &mut BytesMut) -> bool {
        use sockudo_ws::frame::OpCode;

        loop {
            let frame = match self.parser.parse(buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => return true,
                Err(_) => return false,
            };
            let fin = frame.header.fin;
            let done = match (frame.header.opcode, self.in_progress) {
                (OpCode::Text | OpCode::Binary, Some(_)) => return false, // expected a continuation
                (OpCode::Text | OpCode::Binary, None) => {
                    let text = frame.header.opcode == OpCode::Text;
                    if fin {
                        Some((text, &frame.payload[..]))
                    } else {
                        self.message.clear();
                        self.message.extend_from_slice(&frame.payload);
                        self.in_progress = Some(text);
                        None
                    }
                }
                (OpCode::Continuation, None) => return false, // nothing to continue
                (OpCode::Continuation, Some(text)) => {
                    self.message.extend_from_slice(&frame.payload);
                    if fin {
                        self.in_progress = None;
                        Some((text, &self.message[..]))
                    } else {
                        None
                    }
                }
                _ => None, // control frames: none in the workloads
            };
            match done {
                Some((true, text)) => match simdutf8::basic::from_utf8(text) {
                    Ok(text) => self.summary.text(text),
                    Err(_) => return false,
                },
                Some((false, data)) => self.summary.binary(data),
                None => {}
            }
        }
    }
}

/// [`run_sockudo`] in a read loop: `src` is appended [`READ_SIZE`] bytes at a time to
/// `buf` (reused across calls), and the parser is called until it needs more; it keeps the
/// state of an incomplete frame itself (a partial header in its own buffer, the payload
/// bytes that arrived unmasked ahead in `buf`). `BytesMut` reclaims the consumed front of
/// its allocation when the frames split off it have been dropped, so after the first
/// call no read allocates. This is how sockudo-ws's own streams drive `FrameParser`.
pub fn run_sockudo_copy(src: &[u8], buf: &mut BytesMut) -> Summary {
    let mut reader = SockudoReader::new();
    buf.clear();
    for read in src.chunks(READ_SIZE) {
        buf.extend_from_slice(read);
        if !reader.read(buf) {
            break;
        }
    }
    reader.summary
}

/// sockudo-ws's own message layer, `protocol::Protocol` (`Role::Server`: frames must be
/// masked), in the read loop of [`run_sockudo_copy`]: `process_into(&mut buf, &mut
/// messages)` after every read, the messages handed out as they come.
///
/// This is what a sockudo-ws server runs under its streams, and it keeps the guarantees
/// pulsecheck keeps: it reassembles fragments itself, validates each text fragment as it
/// arrives, and validates the part of an incomplete text frame that has arrived before
/// asking for more bytes, so invalid UTF-8 fails as soon as it is read (its
/// `prevalidate_partial_text`). A text message comes out as `Message::Text(Bytes)` of
/// validated bytes, handed out as such (its `as_text` would validate them again).
pub fn run_sockudo_protocol_copy(src: &[u8], buf: &mut BytesMut) -> Summary {
    use sockudo_ws::Message;

    let mut protocol =
        sockudo_ws::protocol::Protocol::new(sockudo_ws::Role::Server, MAX_SIZE, MAX_SIZE);
    let mut messages = Vec::new();
    let mut summary = Summary::default();
    buf.clear();
    for read in src.chunks(READ_SIZE) {
        buf.extend_from_slice(read);
        let result = protocol.process_into(buf, &mut messages);
        for message in messages.drain(..) {
            match message {
                Message::Text(text) => summary.text(&text[..]),
                Message::Binary(data) => summary.binary(&data),
                _ => {} // control frames: none in the workloads
            }
        }
        if result.is_err() {
            break;
        }
    }
    summary
}
