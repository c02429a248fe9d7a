//! `pulsecheck decode ws`: a WebSocket frame stream as JSON Lines.
//!
//! The input is the byte stream one side sent after the opening handshake. The
//! named side decides the masking rule (RFC 6455 §5.1: a client masks every
//! frame, a server none). Every rule of RFC 6455 §5 is checked; the first
//! violation ends the output.
//!
//! The input is read in pieces, a file like a pipe, and frames are decoded as
//! their bytes arrive ([`FrameStream`]): an error at byte 0 of a gigabyte file
//! is reported at once, and memory is the message in progress (at most
//! `--max-message-bytes`, 16 MiB by default), whatever the input's size.
//!
//! # Output format
//!
//! One JSON object per line, in stream order. Keys may be added in later
//! versions; none will be removed or change meaning.
//!
//! | `kind` | keys | when |
//! |---|---|---|
//! | `frame` | `fin`, `rsv` (the three bits as 0–7), `opcode`, `masked`, `payload_len`, `payload_hex` (unmasked), `offset` | every complete frame |
//! | `message` | `opcode` (1 or 2), `payload_hex`, `text` (text messages), `frames` | after the frame that completes a data message |
//! | `close` | `code` (or `null` for an empty body), `reason` | after a Close frame |
//! | `error` | `close_code`, `offset` (of the frame that broke the rule), `byte_offset` (of the byte that decided it), `error`, `section`, `requirement` | at the first violation; nothing follows |
//! | `end` | `complete`, `bytes`, `trailing_bytes`, `close_received` | last, when no error: `complete` is true when the input ended at a frame boundary with no fragmented message in progress |

use std::io::{self, Read, Write};

use pulsecheck_ws::streaming::{FrameEnd, FrameStream, Piece};
use pulsecheck_ws::{Assembled, FrameConfig, FrameHeader, MessageKind, Role, Status, Violation};
use serde_json::json;

/// The default of `--max-message-bytes`: the decoder holds the message in
/// progress (to print it whole), and nothing else of the input.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = FrameConfig::DEFAULT_MAX_FRAME_PAYLOAD;

/// Which side sent the bytes, and the reader's limits.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// The reader's configuration (sender role and size limits).
    pub config: FrameConfig,
}

impl DecodeOptions {
    /// Frames sent by `sender`, with the default limits.
    pub fn from(sender: Role) -> Self {
        DecodeOptions {
            config: FrameConfig::new(sender).with_max_message_size(DEFAULT_MAX_MESSAGE_BYTES),
        }
    }
}

/// Writes `bytes` as lowercase hex, a piece at a time (no string of it is built).
fn write_hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut piece = [0u8; 8192];
    for chunk in bytes.chunks(piece.len() / 2) {
        for (i, b) in chunk.iter().enumerate() {
            piece[2 * i] = DIGITS[usize::from(b >> 4)];
            piece[2 * i + 1] = DIGITS[usize::from(b & 0x0F)];
        }
        out.write_all(&piece[..2 * chunk.len()])?;
    }
    Ok(())
}

/// Writes a `frame` line.
fn write_frame(
    out: &mut impl Write,
    offset: u64,
    header: &FrameHeader,
    payload: &[u8],
) -> io::Result<()> {
    write!(
        out,
        "{{\"kind\":\"frame\",\"fin\":{},\"rsv\":{},\"opcode\":{},\"masked\":{},\"payload_len\":{},\"payload_hex\":\"",
        header.fin,
        header.rsv.bits(),
        header.opcode.get(),
        header.mask.is_some(),
        header.payload_len
    )?;
    write_hex(out, payload)?;
    writeln!(out, "\",\"offset\":{offset}}}")
}

/// Writes a `message` line: `data` is the whole message.
fn write_message(
    out: &mut impl Write,
    kind: MessageKind,
    text: bool,
    frames: u64,
    data: &[u8],
) -> io::Result<()> {
    let opcode = match kind {
        MessageKind::Text => 1,
        MessageKind::Binary => 2,
    };
    write!(
        out,
        "{{\"kind\":\"message\",\"opcode\":{opcode},\"payload_hex\":\""
    )?;
    write_hex(out, data)?;
    out.write_all(b"\"")?;
    // Validated as UTF-8 by the reader when `text`.
    if let Some(text) = text.then(|| std::str::from_utf8(data).ok()).flatten() {
        out.write_all(b",\"text\":")?;
        serde_json::to_writer(&mut *out, text).map_err(io::Error::other)?;
    }
    writeln!(out, ",\"frames\":{frames}}}")
}

/// Why decoding stopped early.
#[derive(Debug)]
pub enum DecodeError {
    /// The stream broke a rule; the `error` line has been written.
    Violation(Violation),
    /// Writing the output failed.
    Io(io::Error),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Violation(v) => write!(
                f,
                "frame at byte {} broke {}: {} (close code {})",
                v.frame_offset,
                v.error.section(),
                v.error,
                v.close_code().get()
            ),
            DecodeError::Io(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Feeds chunks to a [`FrameStream`] and writes JSON Lines to `out`.
///
/// Memory is the data message in progress (to print its `message` line and the
/// `frame` lines of its fragments, which are pieces of it) and the few bytes of
/// a header or control frame still incomplete: the reader's message limit
/// (`--max-message-bytes`) bounds it, whatever the input's size.
pub struct JsonLinesDecoder<W: Write> {
    reader: FrameStream,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    /// The data message in progress, and where its current frame's payload begins.
    message: Vec<u8>,
    frame: Option<(u64, FrameHeader, usize)>,
    out: W,
}

impl<W: Write> JsonLinesDecoder<W> {
    /// A decoder writing to `out`.
    pub fn new(out: W, options: DecodeOptions) -> Self {
        JsonLinesDecoder {
            reader: FrameStream::new(options.config),
            buf: Vec::new(),
            start: 0,
            message: Vec::new(),
            frame: None,
            out,
        }
    }

    /// Feeds one chunk, writing lines for every frame it completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        // Drop consumed bytes once they are most of the buffer (amortised O(1)).
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
        loop {
            let unconsumed = self.buf.get_mut(self.start..).unwrap_or_default();
            match self.reader.read(unconsumed) {
                Ok(Status::Complete((piece, used))) => {
                    self.start += used;
                    match piece {
                        Piece::Header { offset, header } => {
                            if header.opcode.get() != 0 {
                                self.message.clear();
                            }
                            // The payload's exact size (up to 16 MiB, whatever a
                            // lifted limit lets a header claim): no doubling.
                            let len = usize::try_from(header.payload_len).unwrap_or(0);
                            self.message.reserve_exact(len.min(16 << 20));
                            self.frame = Some((offset, header, self.message.len()));
                        }
                        Piece::Payload(bytes) => self.message.extend_from_slice(bytes),
                        Piece::End(end) => self.end_frame(end).map_err(DecodeError::Io)?,
                        Piece::Control {
                            offset,
                            header,
                            payload,
                            event,
                        } => {
                            write_frame(&mut self.out, offset, &header, payload)
                                .map_err(DecodeError::Io)?;
                            if let Assembled::Close(close) = event {
                                let line = json!({
                                    "kind": "close",
                                    "code": close.code.map(|c| c.get()),
                                    "reason": close.reason,
                                });
                                writeln!(self.out, "{line}").map_err(DecodeError::Io)?;
                            }
                        }
                    }
                }
                Ok(Status::Partial) => return Ok(()),
                Err(violation) => {
                    let line = json!({
                        "kind": "error",
                        "close_code": violation.close_code().get(),
                        "offset": violation.frame_offset,
                        "byte_offset": violation.offset,
                        "error": violation.error.to_string(),
                        "section": violation.error.section(),
                        "requirement": violation.error.requirement(),
                    });
                    writeln!(self.out, "{line}").map_err(DecodeError::Io)?;
                    return Err(DecodeError::Violation(violation));
                }
            }
        }
    }

    /// Writes the lines of a data frame that just ended: the frame, and the
    /// message it completed, if it did.
    fn end_frame(&mut self, end: FrameEnd) -> io::Result<()> {
        let Some((offset, header, start)) = self.frame.take() else {
            return Ok(());
        };
        let payload = self.message.get(start..).unwrap_or_default();
        write_frame(&mut self.out, offset, &header, payload)?;
        if let Some(m) = end.message {
            write_message(&mut self.out, m.kind, m.text, m.frames, &self.message)?;
            self.message = Vec::new();
        }
        Ok(())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Writes the closing `end` line and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let end = self
            .reader
            .finish(self.buf.get(self.start..).unwrap_or_default());
        let line = json!({
            "kind": "end",
            "complete": end.is_clean(),
            "bytes": end.offset + end.trailing_bytes as u64,
            "trailing_bytes": end.trailing_bytes,
            "close_received": end.close_received,
        });
        writeln!(self.out, "{line}")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Decodes `input` fed `chunk_size` bytes at a time (whole when `None`) into a
/// string of JSON Lines; a violation ends the output with its `error` line.
pub fn decode_chunked_to_string(
    input: &[u8],
    chunk_size: Option<usize>,
    options: DecodeOptions,
) -> String {
    let mut decoder = JsonLinesDecoder::new(Vec::new(), options);
    let size = chunk_size.unwrap_or(input.len()).max(1);
    for chunk in input.chunks(size) {
        if decoder.feed(chunk).is_err() {
            return String::from_utf8(decoder.out).unwrap_or_default();
        }
    }
    let out = decoder.finish().unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// Turns hex text (pairs of hex digits, any ASCII whitespace between them) into
/// bytes as it arrives, remembering a digit cut from its pair.
#[derive(Debug, Default)]
pub struct HexDecoder {
    /// A first digit waiting for its pair, and where it was.
    high: Option<(u8, u64)>,
    /// Input bytes seen so far.
    seen: u64,
}

impl HexDecoder {
    /// Decodes the next piece of text, appending the bytes to `out`.
    ///
    /// # Errors
    ///
    /// A character that is neither a hex digit nor whitespace, with its offset.
    pub fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        for &c in text {
            let at = self.seen;
            self.seen += 1;
            if c.is_ascii_whitespace() {
                continue;
            }
            let digit = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => {
                    return Err(format!(
                        "invalid hex input: unexpected {:?} at byte {at}",
                        char::from(c)
                    ));
                }
            };
            self.high = match self.high {
                None => Some((digit, at)),
                Some((h, _)) => {
                    out.push(h << 4 | digit);
                    None
                }
            };
        }
        Ok(())
    }

    /// Declares the end of the text.
    ///
    /// # Errors
    ///
    /// An odd number of digits.
    pub fn finish(&self) -> Result<(), String> {
        match self.high {
            Some((_, at)) => Err(format!(
                "invalid hex input: odd number of hex digits (the last starts at byte {at})"
            )),
            None => Ok(()),
        }
    }
}

/// Parses hex text: pairs of hex digits, with any ASCII whitespace between them.
pub fn parse_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut decoder = HexDecoder::default();
    let mut out = Vec::with_capacity(text.len() / 2);
    decoder.push(text, &mut out)?;
    decoder.finish()?;
    Ok(out)
}

/// A reader of hex text that yields the bytes it spells, read and decoded in
/// pieces (a hex file of any size is never held whole). Invalid text is an
/// [`io::ErrorKind::InvalidData`] error saying where.
pub struct HexReader<R: Read> {
    inner: R,
    decoder: HexDecoder,
    text: Vec<u8>,
    bytes: Vec<u8>,
    /// Decoded bytes not yet handed out.
    next: usize,
    done: bool,
}

impl<R: Read> HexReader<R> {
    /// Reads hex text from `inner`.
    pub fn new(inner: R) -> Self {
        HexReader {
            inner,
            decoder: HexDecoder::default(),
            text: vec![0; 64 * 1024],
            bytes: Vec::new(),
            next: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for HexReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.next == self.bytes.len() {
            if self.done {
                return Ok(0);
            }
            self.bytes.clear();
            self.next = 0;
            let n = self.inner.read(&mut self.text)?;
            let result = if n == 0 {
                self.done = true;
                self.decoder.finish()
            } else {
                let text = self.text.get(..n).unwrap_or_default();
                self.decoder.push(text, &mut self.bytes)
            };
            result.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
        let ready = self.bytes.get(self.next..).unwrap_or_default();
        let n = ready.len().min(buf.len());
        buf[..n].copy_from_slice(&ready[..n]);
        self.next += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_input_allows_whitespace_and_rejects_the_rest() {
        assert_eq!(parse_hex(b"81 05\n48656c6c6f").unwrap(), b"\x81\x05Hello");
        assert!(parse_hex(b"8").unwrap_err().contains("odd"));
        assert!(parse_hex(b"0x81").unwrap_err().contains("'x' at byte 1"));
    }

    #[test]
    fn rfc_example_frames_decode_the_same_in_every_chunking() {
        // RFC 6455 §5.7: unmasked "Hello" in two fragments, then an unmasked ping.
        let stream = b"\x01\x03Hel\x80\x02lo\x89\x05Hello";
        let whole = decode_chunked_to_string(stream, None, DecodeOptions::from(Role::Server));
        assert!(
            whole.contains(
                r#""kind":"message","opcode":1,"payload_hex":"48656c6c6f","text":"Hello""#
            )
        );
        assert!(whole.ends_with("{\"kind\":\"end\",\"complete\":true,\"bytes\":16,\"trailing_bytes\":0,\"close_received\":false}\n"));
        for size in 1..stream.len() {
            let chunked =
                decode_chunked_to_string(stream, Some(size), DecodeOptions::from(Role::Server));
            assert_eq!(chunked, whole, "chunk size {size}");
        }
    }

    #[test]
    fn first_violation_stops_with_the_frame_offset_and_close_code() {
        // A valid unmasked text frame, then a masked one: servers must not mask.
        let stream = b"\x81\x01a\x81\x81\x00\x00\x00\x00b";
        let out = decode_chunked_to_string(stream, None, DecodeOptions::from(Role::Server));
        let last = out.lines().last().unwrap();
        assert!(
            last.contains(r#""kind":"error","close_code":1002,"offset":3,"byte_offset":4"#),
            "{last}"
        );
    }
    #[test]
    fn hex_is_read_in_pieces_with_the_same_bytes_and_errors_as_whole() {
        let text = b"81 05\n48656c6c6f 8".repeat(3);
        let whole = parse_hex(&text[..text.len() - 1]).unwrap();
        // A reader that hands out one byte at a time: digits cut from their pair.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let mut read = Vec::new();
        HexReader::new(Trickle(&text[..text.len() - 1]))
            .read_to_end(&mut read)
            .unwrap();
        assert_eq!(read, whole);
        let odd = HexReader::new(Trickle(&text)).read_to_end(&mut Vec::new());
        let e = odd.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(e.to_string(), parse_hex(&text).unwrap_err());
    }

    #[test]
    fn a_large_frame_in_pieces_prints_the_same_lines_as_whole() {
        // A 300 000-byte binary frame, then a ping: frame and message lines hold the
        // whole payload whatever the pieces it came in.
        let mut stream = vec![0x82, 0x7F];
        stream.extend_from_slice(&300_000u64.to_be_bytes());
        stream.extend((0..300_000u32).map(|i| (i % 251) as u8));
        stream.extend_from_slice(b"\x89\x02hi");
        let whole = decode_chunked_to_string(&stream, None, DecodeOptions::from(Role::Server));
        assert_eq!(whole.lines().count(), 4, "frame, message, ping frame, end");
        assert!(whole.contains("\"payload_len\":300000,\"payload_hex\":\"00010203"));
        for size in [1000, 4096, 65_537] {
            let pieces =
                decode_chunked_to_string(&stream, Some(size), DecodeOptions::from(Role::Server));
            assert_eq!(pieces, whole, "pieces of {size}");
        }
    }

    #[test]
    fn an_error_at_the_first_byte_is_reported_before_the_rest_arrives() {
        let mut decoder = JsonLinesDecoder::new(Vec::new(), DecodeOptions::from(Role::Server));
        let Err(DecodeError::Violation(v)) = decoder.feed(b"\x83") else {
            panic!("a reserved opcode is a violation at once");
        };
        assert_eq!(v.offset, 0);
    }
}
