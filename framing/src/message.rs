//! Message assembly (RFC 6455 §5.4 fragmentation, §5.6 text, §5.5 control frames).

use simdutf8::compat;

use crate::close::{CloseFrame, parse_close_body};
use crate::error::ProtocolError;
use crate::fast_utf8::MessageBuf;
use crate::header::FrameHeader;
use crate::opcode::{Opcode, Rsv};
use crate::utf8::{Utf8Error, invalid_at};

/// The type of a data message, set by its first frame.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum MessageKind {
    /// Opcode `%x1`: "The "Payload data" is text data encoded as UTF-8."
    Text,
    /// Opcode `%x2`: "arbitrary binary data whose interpretation is solely up to the
    /// application layer."
    Binary,
}

impl core::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Binary => "binary",
        })
    }
}

/// A complete data message.
///
/// Borrows the frame's payload when the message was a single frame, the assembler's buffer
/// when it was fragmented (or, through a [`StreamReader`](crate::StreamReader), when it was
/// a text frame whose payload arrived over several reads).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Message<'a> {
    kind: MessageKind,
    rsv: Rsv,
    data: &'a [u8],
    text: Option<&'a str>,
    frames: u64,
}

impl<'a> Message<'a> {
    /// Text or binary.
    #[must_use]
    pub const fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The RSV bits of the first frame: non-empty only when a negotiated extension (e.g.
    /// permessage-deflate) transformed the payload, which then is the extension's encoding.
    #[must_use]
    pub const fn rsv(&self) -> Rsv {
        self.rsv
    }

    /// The payload: the concatenation of the fragments' payloads.
    #[must_use]
    pub const fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The text of a text message, validated as UTF-8. `None` for binary messages and for
    /// text messages whose first frame had RSV bits set (an extension's encoding, which
    /// must be decoded before it can be validated).
    #[must_use]
    pub const fn text(&self) -> Option<&'a str> {
        self.text
    }

    /// How many frames carried the message (1 when unfragmented).
    #[must_use]
    pub const fn frames(&self) -> u64 {
        self.frames
    }
}

/// What one frame meant, once added to the stream.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Assembled<'a> {
    /// A fragment of a message still in progress (FIN clear, or a continuation that is not
    /// the last).
    Fragment,
    /// The last (or only) frame of a data message.
    Message(Message<'a>),
    /// A ping with its application data; RFC 6455 §5.5.2: "Upon receipt of a Ping frame,
    /// an endpoint MUST send a Pong frame in response".
    Ping(&'a [u8]),
    /// A pong with its application data.
    Pong(&'a [u8]),
    /// A Close frame with a valid body.
    Close(CloseFrame<'a>),
}

/// Where in the current frame a failure was decided: used by the stream reader to give a
/// byte offset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FailAt {
    /// At this index of the frame's payload.
    Payload(u64),
    /// At the frame's last byte (the frame had to be complete to decide).
    FrameEnd,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Failure {
    pub(crate) error: ProtocolError,
    pub(crate) at: FailAt,
}

impl Failure {
    const fn at_end(error: ProtocolError) -> Self {
        Self {
            error,
            at: FailAt::FrameEnd,
        }
    }
}

fn utf8_failure(e: Utf8Error, frame_start: u64) -> Failure {
    let error = ProtocolError::InvalidUtf8 {
        valid_up_to: e.valid_up_to,
        error_len: e.error_len,
    };
    match e.error_len {
        Some(_) => Failure {
            error,
            at: FailAt::Payload(e.rejected_at.saturating_sub(frame_start)),
        },
        None => Failure::at_end(error),
    }
}

#[derive(Clone, Copy, Debug)]
struct InProgress {
    kind: MessageKind,
    rsv: Rsv,
    len: u64,
    frames: u64,
}

/// Reassembles messages from frames, applying RFC 6455 §5.4 (fragmentation), §5.6 and §8.1
/// (UTF-8, failing at the first fragment holding an invalid byte), §5.5 (control frames,
/// allowed between fragments) and a maximum message size.
///
/// Frames come in already parsed and unmasked (from [`parse_frame`](crate::parse_frame));
/// the assembler copies fragments into its own buffer, validating text as it copies,
/// while a single-frame message is returned without copying.
///
/// ```
/// use pulsecheck_ws::{Assembled, FrameHeader, MessageAssembler, Opcode, ProtocolError};
///
/// let mut assembler = MessageAssembler::new(1 << 20);
/// let mut first = FrameHeader::new(Opcode::TEXT, 3);
/// first.fin = false;
/// assert_eq!(assembler.push(&first, b"Hel")?, Assembled::Fragment);
/// // A ping between fragments is fine.
/// let ping = FrameHeader::new(Opcode::PING, 0);
/// assert_eq!(assembler.push(&ping, b"")?, Assembled::Ping(b""));
/// let last = FrameHeader::new(Opcode::CONTINUATION, 2);
/// let Assembled::Message(message) = assembler.push(&last, b"lo")? else { panic!() };
/// assert_eq!(message.text(), Some("Hello"));
/// assert_eq!(message.frames(), 2);
/// // A continuation now has no message to continue.
/// assert_eq!(assembler.push(&last, b"!"), Err(ProtocolError::UnexpectedContinuation));
/// # Ok::<(), ProtocolError>(())
/// ```
#[derive(Clone, Debug)]
pub struct MessageAssembler {
    max_message_size: u64,
    current: Option<InProgress>,
    /// The fragments of the message in progress (or of the last one assembled), with
    /// their UTF-8 state when it is text.
    buf: MessageBuf,
    close_received: bool,
}

impl MessageAssembler {
    /// An assembler accepting messages of at most `max_message_size` bytes.
    #[must_use]
    pub const fn new(max_message_size: u64) -> Self {
        Self {
            max_message_size,
            current: None,
            buf: MessageBuf::new(),
            close_received: false,
        }
    }

    /// The type of the fragmented message in progress, if any.
    #[must_use]
    pub fn in_progress(&self) -> Option<MessageKind> {
        self.current.map(|c| c.kind)
    }

    /// The bytes received so far of the message in progress (0 when none).
    #[must_use]
    pub fn message_len(&self) -> u64 {
        self.current.map_or(0, |c| c.len)
    }

    /// Whether a Close frame has been received.
    #[must_use]
    pub const fn close_received(&self) -> bool {
        self.close_received
    }

    /// Forgets any message in progress and any Close received.
    pub fn reset(&mut self) {
        self.current = None;
        self.buf.clear();
        self.close_received = false;
    }

    /// Adds one frame (header and unmasked payload; the payload's length is what counts).
    ///
    /// # Errors
    ///
    /// The [`ProtocolError`] the frame commits, in the context of the frames before it. The
    /// connection must then be failed; the assembler's state is left as before the frame.
    pub fn push<'a>(
        &'a mut self,
        header: &FrameHeader,
        payload: &'a [u8],
    ) -> Result<Assembled<'a>, ProtocolError> {
        self.check_pushed(header, payload.len() as u64)?;
        let accepted = if Self::copies(header, false) {
            self.accept_copied(header, payload.len() as u64, payload, None, None)
                .map(|(event, _)| event)
        } else {
            self.accept_in_place(header, payload, None)
        };
        accepted.map_err(|f| f.error)
    }

    /// The rules the stream reader checks while it parses the header, checked here for
    /// callers of [`push`](Self::push).
    fn check_pushed(&self, header: &FrameHeader, len: u64) -> Result<(), ProtocolError> {
        let opcode = header.opcode;
        if opcode.is_reserved() {
            return Err(ProtocolError::ReservedOpcode { opcode });
        }
        if opcode.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or
            // less and MUST NOT be fragmented."
            if !header.fin {
                return Err(ProtocolError::FragmentedControlFrame { opcode });
            }
            if len > 125 {
                return Err(ProtocolError::ControlFrameTooLong { len });
            }
            return Ok(());
        }
        self.check_frame_start(opcode)?;
        self.check_frame_len(opcode, len)
    }

    /// RFC 6455 §5.4 and §5.5.1: the sequencing rules, decidable from the opcode alone.
    pub(crate) fn check_frame_start(&self, opcode: Opcode) -> Result<(), ProtocolError> {
        if opcode.is_control() || opcode.is_reserved() {
            return Ok(());
        }
        // RFC 6455 §5.5.1: "The application MUST NOT send any more data frames after
        // sending a Close frame."
        if self.close_received {
            return Err(ProtocolError::DataFrameAfterClose { opcode });
        }
        match (opcode == Opcode::CONTINUATION, self.current.is_some()) {
            // RFC 6455 §5.4: "A fragmented message consists of a single frame with the FIN
            // bit clear and an opcode other than 0, followed by zero or more frames with the
            // FIN bit clear and the opcode set to 0": a continuation continues something.
            (true, false) => Err(ProtocolError::UnexpectedContinuation),
            // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between
            // the fragments of another message unless an extension has been negotiated
            // that can interpret the interleaving."
            (false, true) => Err(ProtocolError::ExpectedContinuation { opcode }),
            _ => Ok(()),
        }
    }

    /// The message size limit, decidable once a data frame's length is known.
    pub(crate) fn check_frame_len(&self, opcode: Opcode, len: u64) -> Result<(), ProtocolError> {
        if opcode.is_control() {
            return Ok(());
        }
        let before = if opcode == Opcode::CONTINUATION {
            self.message_len()
        } else {
            0
        };
        let total = before.saturating_add(len);
        // RFC 6455 §7.4.1: 1009, "a message that is too big for it to process".
        if total > self.max_message_size {
            return Err(ProtocolError::MessageTooBig {
                len: total,
                max: self.max_message_size,
            });
        }
        Ok(())
    }

    /// Whether the frame's text is validated as it arrives: a text frame without RSV
    /// bits, or a continuation of such a message. Assumes `check_frame_start` passed.
    fn is_validated_text(&self, header: &FrameHeader) -> bool {
        match header.opcode {
            Opcode::TEXT => header.rsv.is_empty(),
            Opcode::CONTINUATION => self.current.is_some() && self.buf.is_text(),
            _ => false,
        }
    }

    /// Called by the stream reader when a frame's payload has only partly arrived: when its
    /// text is to be validated, starts copying it into the message buffer (where it is
    /// validated as it arrives) and returns true. Assumes `check_frame_start` passed.
    pub(crate) fn begin_partial(&mut self, header: &FrameHeader) -> bool {
        if !self.is_validated_text(header) {
            return false;
        }
        if header.opcode == Opcode::TEXT {
            self.buf.start(true);
        }
        true
    }

    /// Copies the next bytes of a frame that [`begin_partial`](Self::begin_partial)
    /// accepted, unmasking them with `key` (`bytes[0]` being byte `phase` of the frame's
    /// payload) and validating them.
    pub(crate) fn push_partial(
        &mut self,
        bytes: &[u8],
        key: Option<[u8; 4]>,
        phase: usize,
    ) -> Result<(), Failure> {
        let frame_start = self.message_len();
        self.buf
            .push(bytes, key, phase, false)
            .map_err(|e| utf8_failure(e, frame_start))
    }

    /// Whether a complete frame's payload goes into the message buffer rather than being
    /// handed out where it lies: a fragment of a data message, or a frame whose first
    /// bytes were copied while it was incomplete (`partial`).
    #[inline]
    pub(crate) fn copies(header: &FrameHeader, partial: bool) -> bool {
        let opcode = header.opcode;
        !opcode.is_control() && (partial || !header.fin || opcode == Opcode::CONTINUATION)
    }

    /// Adds a complete frame whose header passed every check ([`parse_header_inner`]
    /// with this assembler, or [`push`](Self::push)'s) and whose payload is handed out
    /// where it lies, unmasked: a control frame, or an unfragmented data message that
    /// [`copies`](Self::copies) does not copy. Returns what it meant (the payload is the
    /// caller's: returning it too made the result a tuple that the stream reader copied
    /// field by field, and a 16-byte load of two 8-byte stores stalled store forwarding
    /// on every tiny frame).
    ///
    /// `checked` is the payload as text when the caller has already validated it (the
    /// stream reader does, for short text frames, as it unmasks them); otherwise a text
    /// payload is validated here.
    ///
    /// [`parse_header_inner`]: crate::header::parse_header_inner
    #[inline]
    pub(crate) fn accept_in_place<'a>(
        &'a mut self,
        header: &FrameHeader,
        payload: &'a [u8],
        checked: Option<&'a str>,
    ) -> Result<Assembled<'a>, Failure> {
        let opcode = header.opcode;
        let event = match opcode {
            // RFC 6455 §5.4: "An unfragmented message consists of a single frame with the
            // FIN bit set (Section 5.2) and an opcode other than 0." Text is validated in
            // one pass.
            Opcode::TEXT => Assembled::Message(Message {
                kind: MessageKind::Text,
                rsv: header.rsv,
                data: payload,
                text: if header.rsv.is_empty() {
                    Some(match checked {
                        Some(text) => text,
                        None => validate_whole(payload)?,
                    })
                } else {
                    None
                },
                frames: 1,
            }),
            Opcode::BINARY => Assembled::Message(Message {
                kind: MessageKind::Binary,
                rsv: header.rsv,
                data: payload,
                text: None,
                frames: 1,
            }),
            Opcode::CLOSE => {
                // RFC 6455 §5.5.1: the body is a 2-byte code and a UTF-8 reason.
                let close = parse_close_body(payload).map_err(Failure::at_end)?;
                self.close_received = true;
                Assembled::Close(close)
            }
            Opcode::PING => Assembled::Ping(payload),
            _ => Assembled::Pong(payload),
        };
        Ok(event)
    }

    /// Adds a complete data frame that [`copies`](Self::copies) says is copied (its
    /// header passed every check, as for [`accept_in_place`](Self::accept_in_place)).
    /// `frame_len` is the frame's payload length; `rest` is its payload from byte
    /// `partial` on (all of it when `partial` is `None`): the bytes before were copied by
    /// [`push_partial`](Self::push_partial), if [`begin_partial`](Self::begin_partial)
    /// accepted the frame. `key` is the mask still on `rest`, removed as it is copied.
    /// Inlined: its result went back through memory, and the reader's wide copy of it
    /// stalled on the narrow stores (store forwarding), once per fragment.
    #[inline]
    pub(crate) fn accept_copied<'a>(
        &'a mut self,
        header: &FrameHeader,
        frame_len: u64,
        rest: &[u8],
        key: Option<[u8; 4]>,
        partial: Option<usize>,
    ) -> Result<(Assembled<'a>, &'a [u8]), Failure> {
        let kind = match (header.opcode, self.current) {
            (Opcode::CONTINUATION, Some(current)) => current.kind,
            (Opcode::TEXT, _) => MessageKind::Text,
            _ => MessageKind::Binary,
        };
        let continuation = header.opcode == Opcode::CONTINUATION;
        let mut current = match self.current {
            Some(current) if continuation => current,
            _ => InProgress {
                kind,
                rsv: header.rsv,
                len: 0,
                frames: 0,
            },
        };
        // RSV bits on the first frame mean an extension encoded the payload: its text can
        // only be validated once decoded (RFC 6455 §5.4: "in the presence of extensions,
        // this may not hold true as the extension defines the interpretation").
        if !continuation && partial.is_none() {
            self.buf
                .start(kind == MessageKind::Text && header.rsv.is_empty());
        }
        let frame_start = current.len;
        // RFC 6455 §5.6: "the whole message MUST contain valid UTF-8": with FIN set it may
        // not end inside a code point.
        self.buf
            .push(rest, key, partial.unwrap_or(0), header.fin)
            .map_err(|e| utf8_failure(e, frame_start))?;
        let text = if header.fin { self.buf.text() } else { None };
        current.len = current.len.saturating_add(frame_len);
        current.frames = current.frames.saturating_add(1);
        let data = self.buf.bytes();
        let frame_payload = usize::try_from(frame_start)
            .ok()
            .and_then(|start| data.get(start..))
            .unwrap_or_default();
        if !header.fin {
            self.current = Some(current);
            return Ok((Assembled::Fragment, frame_payload));
        }
        // RFC 6455 §5.4: "terminated by a single frame with the FIN bit set and an opcode
        // of 0."
        self.current = None;
        let message = Message {
            kind: current.kind,
            rsv: current.rsv,
            data,
            text,
            frames: current.frames,
        };
        Ok((Assembled::Message(message), frame_payload))
    }
}

/// Validates the payload of a single-frame text message in one pass.
fn validate_whole(payload: &[u8]) -> Result<&str, Failure> {
    // The fast check first (AVX-512 or simdutf8's `basic` API, with a SIMD path for short
    // inputs too); only a payload that fails it pays for locating the error.
    if let Some(text) = crate::fast_utf8::to_str(payload) {
        return Ok(text);
    }
    compat::from_utf8(payload).map_err(|e| {
        let err = match e.error_len() {
            Some(n) => invalid_at(0, payload, e.valid_up_to(), n),
            None => Utf8Error {
                valid_up_to: e.valid_up_to() as u64,
                error_len: None,
                rejected_at: payload.len() as u64,
            },
        };
        utf8_failure(err, 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(opcode: Opcode, fin: bool, len: usize) -> FrameHeader {
        let mut h = FrameHeader::new(opcode, len as u64);
        h.fin = fin;
        h
    }

    #[test]
    fn rfc6455_5_4_unfragmented_message_borrows_the_payload() {
        let mut a = MessageAssembler::new(100);
        let payload = b"Hello".to_vec();
        let Ok(Assembled::Message(m)) = a.push(&frame(Opcode::TEXT, true, 5), &payload) else {
            panic!()
        };
        assert_eq!(m.text(), Some("Hello"));
        assert_eq!(m.data().as_ptr(), payload.as_ptr());
        assert_eq!(m.kind(), MessageKind::Text);
    }

    #[test]
    fn rfc6455_5_4_fragmented_binary_with_control_frames_between() {
        let mut a = MessageAssembler::new(100);
        assert_eq!(
            a.push(&frame(Opcode::BINARY, false, 2), b"\xff\x00"),
            Ok(Assembled::Fragment)
        );
        assert_eq!(a.in_progress(), Some(MessageKind::Binary));
        assert_eq!(
            a.push(&frame(Opcode::PONG, true, 1), b"p"),
            Ok(Assembled::Pong(b"p"))
        );
        assert_eq!(
            a.push(&frame(Opcode::CONTINUATION, false, 0), b""),
            Ok(Assembled::Fragment)
        );
        let Ok(Assembled::Message(m)) = a.push(&frame(Opcode::CONTINUATION, true, 1), b"\x80")
        else {
            panic!()
        };
        assert_eq!(m.data(), b"\xff\x00\x80");
        assert_eq!(m.text(), None);
        assert_eq!(m.frames(), 3);
        assert_eq!(a.in_progress(), None);
    }

    #[test]
    fn rfc6455_5_4_continuation_without_message_and_interleaving_fail() {
        let mut a = MessageAssembler::new(100);
        assert_eq!(
            a.push(&frame(Opcode::CONTINUATION, true, 1), b"x"),
            Err(ProtocolError::UnexpectedContinuation)
        );
        a.push(&frame(Opcode::TEXT, false, 1), b"x").unwrap();
        assert_eq!(
            a.push(&frame(Opcode::BINARY, true, 1), b"y"),
            Err(ProtocolError::ExpectedContinuation {
                opcode: Opcode::BINARY
            })
        );
        assert_eq!(
            a.push(&frame(Opcode::TEXT, false, 1), b"y"),
            Err(ProtocolError::ExpectedContinuation {
                opcode: Opcode::TEXT
            })
        );
        // The state was left as it was: the message can still be finished.
        assert!(matches!(
            a.push(&frame(Opcode::CONTINUATION, true, 1), b"z"),
            Ok(Assembled::Message(_))
        ));
    }

    #[test]
    fn rfc6455_5_5_control_frames_are_checked_by_push_too() {
        let mut a = MessageAssembler::new(100);
        assert_eq!(
            a.push(&frame(Opcode::PING, false, 0), b""),
            Err(ProtocolError::FragmentedControlFrame {
                opcode: Opcode::PING
            })
        );
        assert_eq!(
            a.push(&frame(Opcode::PING, true, 126), &[0; 126]),
            Err(ProtocolError::ControlFrameTooLong { len: 126 })
        );
        assert_eq!(
            a.push(&frame(Opcode::from_bits(0xC), true, 0), b""),
            Err(ProtocolError::ReservedOpcode {
                opcode: Opcode::from_bits(0xC)
            })
        );
    }

    #[test]
    fn rfc6455_5_6_utf8_fails_at_the_first_bad_fragment_not_at_the_end() {
        let mut a = MessageAssembler::new(100);
        a.push(&frame(Opcode::TEXT, false, 3), b"ab\xce").unwrap(); // CE needs a continuation
        assert_eq!(
            a.push(&frame(Opcode::CONTINUATION, false, 1), b"A"),
            Err(ProtocolError::InvalidUtf8 {
                valid_up_to: 2,
                error_len: Some(1)
            })
        );
        // Ending inside a code point is caught at the final fragment.
        let mut a = MessageAssembler::new(100);
        a.push(&frame(Opcode::TEXT, false, 3), b"ab\xce").unwrap();
        assert_eq!(
            a.push(&frame(Opcode::CONTINUATION, true, 0), b""),
            Err(ProtocolError::InvalidUtf8 {
                valid_up_to: 2,
                error_len: None
            })
        );
        // Split inside a code point is fine.
        let mut a = MessageAssembler::new(100);
        a.push(&frame(Opcode::TEXT, false, 3), b"ab\xce").unwrap();
        let Ok(Assembled::Message(m)) = a.push(&frame(Opcode::CONTINUATION, true, 1), b"\xbb")
        else {
            panic!()
        };
        assert_eq!(m.text(), Some("abλ"));
    }

    #[test]
    fn extension_encoded_text_is_not_validated() {
        let mut a = MessageAssembler::new(100);
        let mut h = frame(Opcode::TEXT, true, 2);
        h.rsv = Rsv::RSV1;
        let Ok(Assembled::Message(m)) = a.push(&h, b"\xff\xfe") else {
            panic!()
        };
        assert_eq!((m.text(), m.rsv()), (None, Rsv::RSV1));
    }

    #[test]
    fn rfc6455_7_4_1_message_too_big_counts_all_fragments() {
        let mut a = MessageAssembler::new(5);
        a.push(&frame(Opcode::BINARY, false, 3), b"abc").unwrap();
        assert_eq!(
            a.push(&frame(Opcode::CONTINUATION, true, 3), b"def"),
            Err(ProtocolError::MessageTooBig { len: 6, max: 5 })
        );
        assert_eq!(
            MessageAssembler::new(5).push(&frame(Opcode::TEXT, true, 6), b"abcdef"),
            Err(ProtocolError::MessageTooBig { len: 6, max: 5 })
        );
    }

    #[test]
    fn rfc6455_5_5_1_data_after_close_fails_and_close_body_is_checked() {
        let mut a = MessageAssembler::new(100);
        assert_eq!(
            a.push(&frame(Opcode::CLOSE, true, 1), b"\x03"),
            Err(ProtocolError::CloseBodyTooShort)
        );
        assert!(!a.close_received());
        assert!(matches!(
            a.push(&frame(Opcode::CLOSE, true, 2), b"\x03\xe8"),
            Ok(Assembled::Close(_))
        ));
        assert!(a.close_received());
        assert!(matches!(
            a.push(&frame(Opcode::PING, true, 0), b""),
            Ok(Assembled::Ping(_))
        ));
        assert_eq!(
            a.push(&frame(Opcode::TEXT, true, 0), b""),
            Err(ProtocolError::DataFrameAfterClose {
                opcode: Opcode::TEXT
            })
        );
    }

    #[test]
    fn single_frame_utf8_error_positions_match_the_validator() {
        for (bytes, at) in [
            (&b"ab\x80"[..], FailAt::Payload(2)),
            (b"ab\xE0\x80", FailAt::Payload(3)),
            (b"ab\xE0", FailAt::FrameEnd),
        ] {
            let err = validate_whole(bytes).unwrap_err();
            assert_eq!(err.at, at, "{bytes:02x?}");
        }
    }
}
