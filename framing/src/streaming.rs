//! A frame reader that never holds a payload: data frames come out in pieces as their
//! bytes arrive, so memory stays constant whatever the peer announces or sends.
//!
//! [`StreamReader`](crate::StreamReader) hands out whole frames and whole messages, which
//! is what most callers want and what a peer can abuse: a 16 MiB frame needs 16 MiB of
//! buffer, a message in fragments needs its whole length again. [`FrameStream`] applies
//! exactly the same rules, at exactly the same bytes (it is tested against the
//! byte-at-a-time oracle like the stream reader), but delivers a data frame as
//! [`Piece::Header`], then [`Piece::Payload`] pieces (unmasked in place, text validated
//! as it goes), then [`Piece::End`], which says whether the frame completed a message.
//! Control frames (at most 125 bytes of payload) still come whole, as
//! [`Piece::Control`]. What to keep of a payload — nothing, a digest, the first bytes —
//! is the caller's choice.
//!
//! ```
//! use pulsecheck_ws::streaming::{FrameStream, Piece};
//! use pulsecheck_ws::{FrameConfig, Role, Status};
//!
//! // RFC 6455 §5.7: "Hel" and "lo" in two fragments, fed one byte at a time.
//! let stream = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
//! let mut reader = FrameStream::new(FrameConfig::new(Role::Server));
//! let mut buf = Vec::new();
//! let (mut text, mut messages) = (Vec::new(), 0);
//! for &byte in &stream {
//!     buf.push(byte);
//!     let mut start = 0;
//!     while let Status::Complete((piece, used)) = reader.read(&mut buf[start..])? {
//!         match piece {
//!             Piece::Payload(bytes) => text.extend_from_slice(bytes),
//!             Piece::End(end) => messages += usize::from(end.message.is_some()),
//!             _ => {}
//!         }
//!         start += used;
//!     }
//!     buf.drain(..start);
//! }
//! assert_eq!((text.as_slice(), messages), (&b"Hello"[..], 1));
//! # Ok::<(), pulsecheck_ws::Violation>(())
//! ```

use crate::Status;
use crate::close::parse_close_body;
use crate::error::{ProtocolError, Violation};
use crate::header::{FrameConfig, FrameHeader, parse_header_inner};
use crate::mask::unmask;
use crate::message::{Assembled, MessageKind};
use crate::opcode::{Opcode, Rsv};
use crate::reader::EndOfStream;
use crate::utf8::{Utf8Error, Utf8Validator};

/// What [`FrameStream::read`] found at the front of the buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Piece<'a> {
    /// The header of a data frame (text, binary or continuation): its payload follows
    /// in [`Piece::Payload`] pieces, then [`Piece::End`].
    Header {
        /// Stream offset of the frame's first byte.
        offset: u64,
        /// The validated header.
        header: FrameHeader,
    },
    /// The next bytes of the current data frame's payload, unmasked in place (never
    /// empty). Text has been validated up to their end.
    Payload(&'a [u8]),
    /// The current data frame's payload is complete.
    End(FrameEnd),
    /// A complete control frame: ping, pong or a valid Close.
    Control {
        /// Stream offset of the frame's first byte.
        offset: u64,
        /// Its header.
        header: FrameHeader,
        /// Its payload, unmasked (for a Close, the body).
        payload: &'a [u8],
        /// [`Assembled::Ping`], [`Assembled::Pong`] or [`Assembled::Close`].
        event: Assembled<'a>,
    },
}

/// The end of a data frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FrameEnd {
    /// Stream offset just after the frame.
    pub offset: u64,
    /// Set when the frame completed a data message.
    pub message: Option<MessageEnd>,
}

/// A data message that a frame completed (its bytes were the pieces before).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MessageEnd {
    /// Text or binary.
    pub kind: MessageKind,
    /// The RSV bits of its first frame (an extension's encoding when not empty).
    pub rsv: Rsv,
    /// Its length: the sum of its frames' payloads.
    pub len: u64,
    /// How many frames carried it.
    pub frames: u64,
    /// Whether it was validated as UTF-8 (a text message without RSV bits).
    pub text: bool,
}

/// The data frame being delivered.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    offset: u64,
    header: FrameHeader,
    header_len: u64,
    /// Payload bytes delivered so far.
    done: u64,
    /// Message position of the frame's first payload byte.
    message_start: u64,
}

/// The data message in progress.
#[derive(Clone, Copy, Debug)]
struct InMessage {
    kind: MessageKind,
    rsv: Rsv,
    validator: Option<Utf8Validator>,
    len: u64,
    /// Frames of it completed.
    frames: u64,
}

/// Reads a frame stream in constant memory (see the [module docs](self)): the same rules
/// and violation offsets as [`StreamReader`](crate::StreamReader), payloads in pieces.
#[derive(Clone, Debug)]
pub struct FrameStream {
    config: FrameConfig,
    /// Stream offset of the next unconsumed byte.
    offset: u64,
    /// Stream offset just after the last complete frame.
    complete: u64,
    frame: Option<InFrame>,
    message: Option<InMessage>,
    close_received: bool,
    violation: Option<Violation>,
}

impl FrameStream {
    /// A reader at offset 0 of a stream of frames described by `config`.
    #[must_use]
    pub const fn new(config: FrameConfig) -> Self {
        Self {
            config,
            offset: 0,
            complete: 0,
            frame: None,
            message: None,
            close_received: false,
            violation: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &FrameConfig {
        &self.config
    }

    /// Stream offset of the next unconsumed byte (the sum of the `n` returned so far).
    #[must_use]
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// The violation that stopped the reader, if any.
    #[must_use]
    pub const fn violation(&self) -> Option<Violation> {
        self.violation
    }

    /// The bytes received so far of the data message in progress (0 when none).
    #[must_use]
    pub fn message_len(&self) -> u64 {
        self.message.map_or(0, |m| m.len)
    }

    /// Reads the next piece from the front of `buf` (the unconsumed bytes): on
    /// `Complete((piece, n))` use the piece and drop `n` bytes from the front (`n` is 0
    /// for [`Piece::End`]); on `Partial` append more bytes and call again. The bytes a
    /// call does not consume are not modified.
    ///
    /// # Errors
    ///
    /// The first [`Violation`] of the stream, located at the byte that decided it; then
    /// the same violation on every call.
    pub fn read<'a>(&mut self, buf: &'a mut [u8]) -> Result<Status<(Piece<'a>, usize)>, Violation> {
        if let Some(v) = self.violation {
            return Err(v);
        }
        let result = match self.frame {
            Some(frame) => self.read_payload(frame, buf),
            None => self.read_header(buf),
        };
        match result {
            Ok(Status::Complete((piece, used))) => {
                self.offset = self.offset.saturating_add(used as u64);
                Ok(Status::Complete((piece, used)))
            }
            Ok(Status::Partial) => Ok(Status::Partial),
            Err(v) => {
                self.violation = Some(v);
                Err(v)
            }
        }
    }

    fn violation_at(&self, index: u64, error: ProtocolError) -> Violation {
        Violation {
            offset: self.offset.saturating_add(index),
            frame_offset: self.offset,
            error,
        }
    }

    /// RFC 6455 §5.4 and §5.5.1: what a data frame's opcode may be after the frames
    /// before it (the rules [`MessageAssembler`](crate::MessageAssembler) applies).
    fn check_sequence(&self, opcode: Opcode) -> Result<(), ProtocolError> {
        if opcode.is_control() || opcode.is_reserved() {
            return Ok(());
        }
        if self.close_received {
            return Err(ProtocolError::DataFrameAfterClose { opcode });
        }
        match (opcode == Opcode::CONTINUATION, self.message.is_some()) {
            (true, false) => Err(ProtocolError::UnexpectedContinuation),
            (false, true) => Err(ProtocolError::ExpectedContinuation { opcode }),
            _ => Ok(()),
        }
    }

    fn read_header<'a>(
        &mut self,
        buf: &'a mut [u8],
    ) -> Result<Status<(Piece<'a>, usize)>, Violation> {
        let Some(&b0) = buf.first() else {
            return Ok(Status::Partial);
        };
        // The rules decided by the first byte, in the order the stream reader checks
        // them: the frame's own (RSV, reserved opcode, fragmented control), then the
        // sequence.
        if let Err((error, at)) = parse_header_inner(&buf[..1], &self.config, None) {
            return Err(self.violation_at(at as u64, error));
        }
        let opcode = Opcode::from_bits(b0);
        self.check_sequence(opcode)
            .map_err(|e| self.violation_at(0, e))?;
        let parsed = parse_header_inner(buf, &self.config, None)
            .map_err(|(error, at)| self.violation_at(at as u64, error))?;
        // The message size is decided by the last length byte, whether or not the
        // masking key has arrived.
        if !opcode.is_control()
            && let Some((len, last_len_byte)) = length_field(buf)
        {
            let before = if opcode == Opcode::CONTINUATION {
                self.message_len()
            } else {
                0
            };
            let total = before.saturating_add(len);
            if total > self.config.max_message_size {
                return Err(self.violation_at(
                    last_len_byte,
                    ProtocolError::MessageTooBig {
                        len: total,
                        max: self.config.max_message_size,
                    },
                ));
            }
        }
        let Status::Complete((header, header_len)) = parsed else {
            return Ok(Status::Partial);
        };
        if opcode.is_control() {
            return self.read_control(header, header_len, buf);
        }
        let message_start = if opcode == Opcode::CONTINUATION {
            self.message_len()
        } else {
            let kind = if opcode == Opcode::TEXT {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            // RSV bits on the first frame mean an extension encoded the payload: its
            // text can only be validated once decoded.
            let validate = kind == MessageKind::Text && header.rsv.is_empty();
            self.message = Some(InMessage {
                kind,
                rsv: header.rsv,
                validator: validate.then(Utf8Validator::new),
                len: 0,
                frames: 0,
            });
            0
        };
        self.frame = Some(InFrame {
            offset: self.offset,
            header,
            header_len: header_len as u64,
            done: 0,
            message_start,
        });
        Ok(Status::Complete((
            Piece::Header {
                offset: self.offset,
                header,
            },
            header_len,
        )))
    }

    /// A control frame, once it is all in `buf`.
    fn read_control<'a>(
        &mut self,
        header: FrameHeader,
        header_len: usize,
        buf: &'a mut [u8],
    ) -> Result<Status<(Piece<'a>, usize)>, Violation> {
        // At most 125 bytes: the header rules checked it.
        let total = header_len + header.payload_len as usize;
        let Some(payload) = buf.get_mut(header_len..total) else {
            return Ok(Status::Partial);
        };
        if let Some(key) = header.mask {
            unmask(payload, key, 0);
        }
        let payload: &'a [u8] = payload;
        let event = match header.opcode {
            Opcode::CLOSE => match parse_close_body(payload) {
                Ok(close) => {
                    self.close_received = true;
                    Assembled::Close(close)
                }
                Err(error) => return Err(self.violation_at(total as u64 - 1, error)),
            },
            Opcode::PING => Assembled::Ping(payload),
            _ => Assembled::Pong(payload),
        };
        self.complete = self.offset.saturating_add(total as u64);
        Ok(Status::Complete((
            Piece::Control {
                offset: self.offset,
                header,
                payload,
                event,
            },
            total,
        )))
    }

    fn read_payload<'a>(
        &mut self,
        mut frame: InFrame,
        buf: &'a mut [u8],
    ) -> Result<Status<(Piece<'a>, usize)>, Violation> {
        let remaining = frame.header.payload_len - frame.done;
        if remaining == 0 {
            return self.end_frame(frame);
        }
        let take = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let Some(piece) = buf.get_mut(..take).filter(|p| !p.is_empty()) else {
            return Ok(Status::Partial);
        };
        if let Some(key) = frame.header.mask {
            // The key's phase continues from the bytes already delivered.
            unmask(piece, key, (frame.done % 4) as usize);
        }
        if let Some(message) = &mut self.message
            && let Some(validator) = &mut message.validator
            && let Err(e) = validator.feed(piece)
        {
            // `rejected_at` is a position in the message: the frame's payload began at
            // `message_start`.
            let index = e.rejected_at.saturating_sub(frame.message_start);
            return Err(Violation {
                offset: frame
                    .offset
                    .saturating_add(frame.header_len)
                    .saturating_add(index),
                frame_offset: frame.offset,
                error: utf8_error(e),
            });
        }
        frame.done += take as u64;
        if let Some(message) = &mut self.message {
            message.len = message.len.saturating_add(take as u64);
        }
        self.frame = Some(frame);
        let piece: &'a [u8] = piece;
        Ok(Status::Complete((Piece::Payload(piece), take)))
    }

    fn end_frame<'a>(&mut self, frame: InFrame) -> Result<Status<(Piece<'a>, usize)>, Violation> {
        let end = frame
            .offset
            .saturating_add(frame.header_len)
            .saturating_add(frame.header.payload_len);
        self.frame = None;
        let Some(mut message) = self.message else {
            return Ok(Status::Partial); // unreachable: a data frame always has a message
        };
        message.frames = message.frames.saturating_add(1);
        if !frame.header.fin {
            self.message = Some(message);
            self.complete = end;
            return Ok(Status::Complete((
                Piece::End(FrameEnd {
                    offset: end,
                    message: None,
                }),
                0,
            )));
        }
        // RFC 6455 §5.6: "the whole message MUST contain valid UTF-8": it may not end
        // inside a code point. Decided by the frame's last byte.
        if let Some(validator) = &message.validator
            && let Err(e) = validator.finish()
        {
            return Err(Violation {
                offset: end.saturating_sub(1),
                frame_offset: frame.offset,
                error: utf8_error(e),
            });
        }
        self.message = None;
        self.complete = end;
        Ok(Status::Complete((
            Piece::End(FrameEnd {
                offset: end,
                message: Some(MessageEnd {
                    kind: message.kind,
                    rsv: message.rsv,
                    len: message.len,
                    frames: message.frames,
                    text: message.validator.is_some(),
                }),
            }),
            0,
        )))
    }

    /// Describes the end of the stream, given the bytes that were never consumed.
    #[must_use]
    pub fn finish(&self, unconsumed: &[u8]) -> EndOfStream {
        let in_progress = self.message.filter(|m| m.frames > 0).map(|m| m.kind);
        EndOfStream {
            offset: self.complete,
            trailing_bytes: usize::try_from(self.offset - self.complete)
                .unwrap_or(usize::MAX)
                .saturating_add(unconsumed.len()),
            message_in_progress: in_progress,
            close_received: self.close_received,
            violation: self.violation,
        }
    }
}

/// The payload length and the index of the last length byte, once the whole length
/// field is in `buf`.
fn length_field(buf: &[u8]) -> Option<(u64, u64)> {
    let b1 = *buf.get(1)?;
    match b1 & 0x7F {
        126 => {
            let b = buf.get(2..4)?;
            Some((u64::from(u16::from_be_bytes([b[0], b[1]])), 3))
        }
        127 => {
            let b: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            Some((u64::from_be_bytes(b), 9))
        }
        n => Some((u64::from(n), 1)),
    }
}

fn utf8_error(e: Utf8Error) -> ProtocolError {
    ProtocolError::InvalidUtf8 {
        valid_up_to: e.valid_up_to,
        error_len: e.error_len,
    }
}
