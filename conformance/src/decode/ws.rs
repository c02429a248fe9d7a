//! `pulsecheck decode ws`: a WebSocket frame stream as JSON Lines.
//!
//! The input is the byte stream one side sent after the opening handshake. The
//! named side decides the masking rule (RFC 6455 §5.1: a client masks every
//! frame, a server none). Every rule of RFC 6455 §5 is checked; the first
//! violation ends the output.
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

use std::fmt::Write as _;
use std::io::{self, Write};

use pulsecheck_ws::{Assembled, Decoded, FrameConfig, MessageKind, Role, Status, StreamReader};
use serde_json::{Value, json};

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
            config: FrameConfig::new(sender),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The JSON objects for one decoded frame: the frame, then what it completed.
pub fn frame_json(decoded: &Decoded<'_>) -> Vec<Value> {
    let header = &decoded.header;
    let mut lines = vec![json!({
        "kind": "frame",
        "fin": header.fin,
        "rsv": header.rsv.bits(),
        "opcode": header.opcode.get(),
        "masked": header.mask.is_some(),
        "payload_len": header.payload_len,
        "payload_hex": hex(decoded.payload),
        "offset": decoded.offset,
    })];
    match decoded.event {
        Assembled::Message(message) => {
            let mut line = json!({
                "kind": "message",
                "opcode": match message.kind() {
                    MessageKind::Text => 1,
                    MessageKind::Binary => 2,
                },
                "payload_hex": hex(message.data()),
            });
            if let Some(text) = message.text() {
                line["text"] = json!(text);
            }
            line["frames"] = json!(message.frames());
            lines.push(line);
        }
        Assembled::Close(close) => lines.push(json!({
            "kind": "close",
            "code": close.code.map(|c| c.get()),
            "reason": close.reason,
        })),
        _ => {}
    }
    lines
}

/// Why decoding stopped early.
#[derive(Debug)]
pub enum DecodeError {
    /// The stream broke a rule; the `error` line has been written.
    Violation(pulsecheck_ws::Violation),
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

/// Feeds chunks to a [`StreamReader`] and writes JSON Lines to `out`.
///
/// Bytes wait in an internal buffer until their frame is complete; the reader's
/// frame and message limits bound that buffer.
pub struct JsonLinesDecoder<W: Write> {
    reader: StreamReader,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    out: W,
}

impl<W: Write> JsonLinesDecoder<W> {
    /// A decoder writing to `out`.
    pub fn new(out: W, options: DecodeOptions) -> Self {
        JsonLinesDecoder {
            reader: StreamReader::new(options.config),
            buf: Vec::new(),
            start: 0,
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
                Ok(Status::Complete((decoded, used))) => {
                    for line in frame_json(&decoded) {
                        writeln!(self.out, "{line}").map_err(DecodeError::Io)?;
                    }
                    self.start += used;
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

/// Parses hex text: pairs of hex digits, with any ASCII whitespace between them.
pub fn parse_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<(u8, usize)> = None;
    for (i, &c) in text.iter().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => {
                return Err(format!(
                    "invalid hex input: unexpected {:?} at byte {i}",
                    char::from(c)
                ));
            }
        };
        high = match high {
            None => Some((digit, i)),
            Some((h, _)) => {
                out.push(h << 4 | digit);
                None
            }
        };
    }
    match high {
        Some((_, i)) => Err(format!(
            "invalid hex input: odd number of hex digits (the last starts at byte {i})"
        )),
        None => Ok(out),
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
}
