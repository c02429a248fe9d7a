//! What a peer can do wrong, and what to answer.
//!
//! [`ProtocolError`] has one variant per rule of RFC 6455 that the bytes of a peer can
//! break; [`ProtocolError::close_code`] is the one table that maps each rule to the close
//! code an endpoint should send back. Errors of the caller (asking the encoder for a length
//! its encoding cannot hold) have their own type, [`EncodeError`](crate::EncodeError).

use core::fmt;

use crate::close::CloseCode;
use crate::header::LengthEncoding;
use crate::opcode::{Opcode, Rsv};

/// A rule of RFC 6455 that the peer's bytes broke.
///
/// Every variant says which rule, what usually causes it, and the section it comes from;
/// [`close_code`](Self::close_code) gives the status code to send before closing and
/// [`section`](Self::section) / [`requirement`](Self::requirement) the citation, so a report
/// can print "Requirement / Expected / Actual".
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
pub enum ProtocolError {
    /// RSV bits were set that no negotiated extension defines (RFC 6455 §5.2).
    ///
    /// Likely cause: the peer compresses (permessage-deflate sets RSV1) although the
    /// handshake did not negotiate it, or the validator was not told about the extension.
    #[error("reserved bits {rsv} set without a negotiated extension that defines them")]
    ReservedBitsSet {
        /// The RSV bits that were set but not allowed.
        rsv: Rsv,
    },
    /// The opcode is one of the reserved values `%x3-7` or `%xB-F` (RFC 6455 §5.2).
    ///
    /// Likely cause: a desynchronised stream (the parser is reading payload bytes as a
    /// header), or an extension the validator does not know.
    #[error("reserved opcode {opcode}")]
    ReservedOpcode {
        /// The opcode received.
        opcode: Opcode,
    },
    /// A control frame (close, ping, pong) had FIN clear (RFC 6455 §5.5).
    ///
    /// Likely cause: a sender that fragments every frame above a size without checking the
    /// opcode.
    #[error("fragmented control frame ({opcode} with FIN clear)")]
    FragmentedControlFrame {
        /// The control opcode received.
        opcode: Opcode,
    },
    /// A client sent a frame without the MASK bit (RFC 6455 §5.1).
    ///
    /// Likely cause: a client library that skips masking, or a server-side frame sent to a
    /// server by mistake.
    #[error("client frame is not masked")]
    UnmaskedClientFrame,
    /// A server sent a frame with the MASK bit set (RFC 6455 §5.1).
    ///
    /// Likely cause: a server reusing client-side framing code.
    #[error("server frame is masked")]
    MaskedServerFrame,
    /// The 64-bit extended payload length had its most significant bit set (RFC 6455
    /// §5.2).
    ///
    /// Likely cause: a signed length gone negative, or garbage read as a header.
    #[error("64-bit payload length has its most significant bit set")]
    LengthTopBitSet,
    /// The payload length was not encoded in the minimal number of bytes (RFC 6455 §5.2):
    /// a 16-bit length below 126 or a 64-bit length below 65536.
    ///
    /// Likely cause: an encoder that always uses the 16- or 64-bit form.
    #[error("payload length {len} encoded in the {encoding} form, not the minimal one")]
    NonMinimalLength {
        /// The decoded length.
        len: u64,
        /// The encoding that was used.
        encoding: LengthEncoding,
    },
    /// A control frame's payload was longer than 125 bytes (RFC 6455 §5.5).
    ///
    /// Likely cause: a ping carrying a large application payload, or a close reason longer
    /// than 123 bytes.
    #[error("control frame payload of {len} bytes exceeds 125")]
    ControlFrameTooLong {
        /// The payload length.
        len: u64,
    },
    /// A frame's payload was longer than the configured maximum (a local limit, answered
    /// with 1009 per RFC 6455 §7.4.1).
    ///
    /// Likely cause: the limit is lower than what the application sends, or a length field
    /// read from garbage.
    #[error("frame payload of {len} bytes exceeds the limit of {max}")]
    FrameTooBig {
        /// The payload length announced.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// A message (the sum of its fragments) grew past the configured maximum (RFC 6455
    /// §7.4.1, 1009).
    ///
    /// Likely cause: the limit is lower than what the application sends.
    #[error("message of at least {len} bytes exceeds the limit of {max}")]
    MessageTooBig {
        /// The message length including the frame that broke the limit.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// A continuation frame arrived with no fragmented message in progress (RFC 6455 §5.4).
    ///
    /// Likely cause: the sender's first fragment had FIN set, or it sends continuations
    /// after a complete message.
    #[error("continuation frame with no fragmented message in progress")]
    UnexpectedContinuation,
    /// A text or binary frame arrived while a fragmented message was still in progress
    /// (RFC 6455 §5.4: messages never interleave).
    ///
    /// Likely cause: a sender that starts a new message before finishing the previous one,
    /// e.g. two tasks writing to one socket.
    #[error("new {opcode} frame while a fragmented message is in progress")]
    ExpectedContinuation {
        /// The data opcode received.
        opcode: Opcode,
    },
    /// A data frame arrived after the peer had sent a Close frame (RFC 6455 §5.5.1).
    ///
    /// Likely cause: a sender that keeps writing after starting the closing handshake.
    #[error("{opcode} frame after a Close frame")]
    DataFrameAfterClose {
        /// The data opcode received.
        opcode: Opcode,
    },
    /// A text message was not valid UTF-8 (RFC 6455 §5.6, §8.1).
    ///
    /// Positions count from the start of the message, like `std::str::Utf8Error`.
    /// Likely cause: binary data sent as text, or a text encoder that splits a code point
    /// and drops part of it.
    #[error("{}", Utf8Display { what: "text message", valid_up_to: *valid_up_to, error_len: *error_len })]
    InvalidUtf8 {
        /// The message is valid UTF-8 up to this byte.
        valid_up_to: u64,
        /// The length of the invalid sequence at `valid_up_to`, or `None` if the message
        /// ended inside a code point.
        error_len: Option<u8>,
    },
    /// A Close frame body of exactly one byte (RFC 6455 §5.5.1: the body starts with a
    /// 2-byte code).
    ///
    /// Likely cause: a sender writing a 1-byte code or truncating the body.
    #[error("close frame body of 1 byte (a body starts with a 2-byte status code)")]
    CloseBodyTooShort,
    /// A Close frame carried a code that must not be sent: 0–999, 1004–1006, 1015,
    /// 1016–2999 or 5000 and above (RFC 6455 §7.4).
    ///
    /// Likely cause: a sender echoing 1005/1006 from its own API, or inventing codes
    /// outside 3000–4999.
    #[error("close code {code} is not valid on the wire")]
    InvalidCloseCode {
        /// The code received.
        code: CloseCode,
    },
    /// A Close frame reason was not valid UTF-8 (RFC 6455 §5.5.1, §8.1).
    ///
    /// Positions count from the start of the reason. Likely cause: a reason truncated to
    /// 123 bytes in the middle of a code point.
    #[error("{}", Utf8Display { what: "close reason", valid_up_to: *valid_up_to, error_len: *error_len })]
    InvalidCloseReason {
        /// The reason is valid UTF-8 up to this byte.
        valid_up_to: u64,
        /// The length of the invalid sequence, or `None` if the reason ended inside a code
        /// point.
        error_len: Option<u8>,
    },
}

struct Utf8Display {
    what: &'static str,
    valid_up_to: u64,
    error_len: Option<u8>,
}

impl fmt::Display for Utf8Display {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error_len {
            Some(n) => write!(
                f,
                "{} is not UTF-8: invalid {n}-byte sequence at byte {}",
                self.what, self.valid_up_to
            ),
            None => write!(
                f,
                "{} is not UTF-8: it ends inside a code point starting at byte {}",
                self.what, self.valid_up_to
            ),
        }
    }
}

impl ProtocolError {
    /// The close code a peer should send after this error: the one table of the crate.
    ///
    /// - 1007 (invalid payload data) for invalid UTF-8, in a text message or a close
    ///   reason. RFC 6455 §7.4.1: 1007 "indicates that an endpoint is terminating the
    ///   connection because it has received data within a message that was not consistent
    ///   with the type of the message (e.g., non-UTF-8 \[RFC3629\] data within a text
    ///   message)."
    /// - 1009 (message too big) for a frame or message over the configured limits. RFC
    ///   6455 §7.4.1: 1009 "indicates that an endpoint is terminating the connection
    ///   because it has received a message that is too big for it to process."
    /// - 1002 (protocol error) for everything else. RFC 6455 §7.4.1: 1002 "indicates that
    ///   an endpoint is terminating the connection due to a protocol error."
    #[must_use]
    pub const fn close_code(self) -> CloseCode {
        match self {
            Self::InvalidUtf8 { .. } | Self::InvalidCloseReason { .. } => {
                CloseCode::INVALID_PAYLOAD
            }
            Self::FrameTooBig { .. } | Self::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::ReservedBitsSet { .. }
            | Self::ReservedOpcode { .. }
            | Self::FragmentedControlFrame { .. }
            | Self::UnmaskedClientFrame
            | Self::MaskedServerFrame
            | Self::LengthTopBitSet
            | Self::NonMinimalLength { .. }
            | Self::ControlFrameTooLong { .. }
            | Self::UnexpectedContinuation
            | Self::ExpectedContinuation { .. }
            | Self::DataFrameAfterClose { .. }
            | Self::CloseBodyTooShort
            | Self::InvalidCloseCode { .. } => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The section of RFC 6455 that states the rule, e.g. `"RFC 6455 §5.2"`.
    #[must_use]
    pub const fn section(self) -> &'static str {
        match self {
            Self::ReservedBitsSet { .. }
            | Self::ReservedOpcode { .. }
            | Self::LengthTopBitSet
            | Self::NonMinimalLength { .. } => "RFC 6455 §5.2",
            Self::UnmaskedClientFrame | Self::MaskedServerFrame => "RFC 6455 §5.1",
            Self::FragmentedControlFrame { .. } | Self::ControlFrameTooLong { .. } => {
                "RFC 6455 §5.5"
            }
            Self::FrameTooBig { .. } | Self::MessageTooBig { .. } => "RFC 6455 §7.4.1",
            Self::UnexpectedContinuation | Self::ExpectedContinuation { .. } => "RFC 6455 §5.4",
            Self::DataFrameAfterClose { .. } | Self::CloseBodyTooShort => "RFC 6455 §5.5.1",
            Self::InvalidUtf8 { .. } => "RFC 6455 §5.6, §8.1",
            Self::InvalidCloseCode { code } => match code.get() {
                5000.. => "RFC 6455 §11.7",
                1005 | 1006 | 1015 | 1004 => "RFC 6455 §7.4.1",
                _ => "RFC 6455 §7.4.2",
            },
            Self::InvalidCloseReason { .. } => "RFC 6455 §5.5.1, §8.1",
        }
    }

    /// The sentence of RFC 6455 that the peer broke, quoted.
    #[must_use]
    pub const fn requirement(self) -> &'static str {
        match self {
            Self::ReservedBitsSet { .. } => {
                "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values."
            }
            Self::ReservedOpcode { .. } => {
                "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
            }
            Self::FragmentedControlFrame { .. } => {
                "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."
            }
            Self::UnmaskedClientFrame => {
                "The server MUST close the connection upon receiving a frame that is not masked."
            }
            Self::MaskedServerFrame => {
                "A client MUST close a connection if it detects a masked frame."
            }
            Self::LengthTopBitSet => {
                "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length."
            }
            Self::NonMinimalLength { .. } => {
                "Note that in all cases, the minimal number of bytes MUST be used to encode the length"
            }
            Self::ControlFrameTooLong { .. } => {
                "All control frames MUST have a payload length of 125 bytes or less"
            }
            Self::FrameTooBig { .. } | Self::MessageTooBig { .. } => {
                "1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process."
            }
            Self::UnexpectedContinuation => {
                "A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0"
            }
            Self::ExpectedContinuation { .. } => {
                "The fragments of one message MUST NOT be interleaved between the fragments of another message unless an extension has been negotiated that can interpret the interleaving."
            }
            Self::DataFrameAfterClose { .. } => {
                "The application MUST NOT send any more data frames after sending a Close frame."
            }
            Self::InvalidUtf8 { .. } => {
                "Note that a particular text frame might include a partial UTF-8 sequence; however, the whole message MUST contain valid UTF-8."
            }
            Self::CloseBodyTooShort => {
                "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code"
            }
            Self::InvalidCloseCode { code } => match code.get() {
                0..=999 => "Status codes in the range 0-999 are not used.",
                1004 => "Reserved. The specific meaning might be defined in the future.",
                1005 => {
                    "1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."
                }
                1006 => {
                    "1006 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."
                }
                1015 => {
                    "1015 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."
                }
                1016..=2999 => {
                    "Status codes in the range 1000-2999 are reserved for definition by this protocol, its future revisions, and extensions specified in a permanent and readily available public specification."
                }
                _ => "The status code is an integer number between 1000 and 4999 (inclusive).",
            },
            Self::InvalidCloseReason { .. } => {
                "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_."
            }
        }
    }
}

/// A [`ProtocolError`] located in a byte stream, as reported by
/// [`StreamReader`](crate::StreamReader).
///
/// `offset` is the byte at which the stream became invalid under the checking schedule
/// documented on [`StreamReader`](crate::StreamReader): the same byte at which the
/// byte-at-a-time reference oracle stops.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("byte {offset} (frame at byte {frame_offset}): {error}")]
pub struct Violation {
    /// Stream offset of the byte that broke the rule.
    pub offset: u64,
    /// Stream offset of the first byte of the frame that broke the rule.
    pub frame_offset: u64,
    /// The rule.
    pub error: ProtocolError,
}

impl Violation {
    /// The close code to send: [`ProtocolError::close_code`].
    #[must_use]
    pub const fn close_code(&self) -> CloseCode {
        self.error.close_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_errors() -> Vec<ProtocolError> {
        vec![
            ProtocolError::ReservedBitsSet { rsv: Rsv::RSV2 },
            ProtocolError::ReservedOpcode {
                opcode: Opcode::from_bits(3),
            },
            ProtocolError::FragmentedControlFrame {
                opcode: Opcode::PING,
            },
            ProtocolError::UnmaskedClientFrame,
            ProtocolError::MaskedServerFrame,
            ProtocolError::LengthTopBitSet,
            ProtocolError::NonMinimalLength {
                len: 5,
                encoding: LengthEncoding::Extended16,
            },
            ProtocolError::ControlFrameTooLong { len: 126 },
            ProtocolError::FrameTooBig { len: 2, max: 1 },
            ProtocolError::MessageTooBig { len: 2, max: 1 },
            ProtocolError::UnexpectedContinuation,
            ProtocolError::ExpectedContinuation {
                opcode: Opcode::TEXT,
            },
            ProtocolError::DataFrameAfterClose {
                opcode: Opcode::BINARY,
            },
            ProtocolError::InvalidUtf8 {
                valid_up_to: 3,
                error_len: Some(1),
            },
            ProtocolError::CloseBodyTooShort,
            ProtocolError::InvalidCloseCode {
                code: CloseCode(1005),
            },
            ProtocolError::InvalidCloseReason {
                valid_up_to: 0,
                error_len: None,
            },
        ]
    }

    #[test]
    fn rfc6455_7_4_1_close_code_table() {
        for e in all_errors() {
            let expected = match e {
                ProtocolError::InvalidUtf8 { .. } | ProtocolError::InvalidCloseReason { .. } => {
                    1007
                }
                ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => 1009,
                _ => 1002,
            };
            assert_eq!(e.close_code().get(), expected, "{e:?}");
            // Every code we tell a peer to send must itself be valid on the wire.
            assert!(e.close_code().is_valid_on_wire());
        }
    }

    #[test]
    fn every_error_cites_a_section_and_quotes_a_requirement() {
        for e in all_errors() {
            assert!(e.section().starts_with("RFC 6455 §"), "{e:?}");
            let req = e.requirement();
            // Every quoted requirement is a MUST, except the definitions that the
            // fragmentation and size rules rest on.
            let definitional = matches!(
                e,
                ProtocolError::UnexpectedContinuation
                    | ProtocolError::FrameTooBig { .. }
                    | ProtocolError::MessageTooBig { .. }
            );
            let definitional = definitional
                || matches!(e, ProtocolError::InvalidCloseCode { code } if !code.is_local_only());
            assert_eq!(req.contains("MUST"), !definitional, "{e:?}: {req}");
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn rfc6455_7_4_invalid_close_codes_quote_the_range_they_fall_in() {
        let quote = |code| {
            ProtocolError::InvalidCloseCode {
                code: CloseCode(code),
            }
            .requirement()
        };
        assert!(quote(999).contains("0-999 are not used"));
        assert!(quote(1004).starts_with("Reserved."));
        assert!(quote(1006).starts_with("1006 is a reserved value and MUST NOT"));
        assert!(quote(2000).contains("1000-2999 are reserved"));
        assert!(quote(5000).contains("between 1000 and 4999"));
        let section = |code| {
            ProtocolError::InvalidCloseCode {
                code: CloseCode(code),
            }
            .section()
        };
        assert_eq!(section(1015), "RFC 6455 §7.4.1");
        assert_eq!(section(2999), "RFC 6455 §7.4.2");
        assert_eq!(section(u16::MAX), "RFC 6455 §11.7");
    }

    #[test]
    fn utf8_errors_say_where() {
        let e = ProtocolError::InvalidUtf8 {
            valid_up_to: 7,
            error_len: None,
        };
        assert_eq!(
            e.to_string(),
            "text message is not UTF-8: it ends inside a code point starting at byte 7"
        );
    }
}
