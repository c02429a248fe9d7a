//! WebSocket framing for a conformance suite: a zero-copy parser that reports exactly what a
//! peer sent, a validator that names every rule of RFC 6455 it broke, and an encoder that can
//! write anything, including what the RFC forbids.
//!
//! # Example
//!
//! A server reads what a client sent (RFC 6455 §5.7, "A single-frame masked text message"),
//! and answers an invalid stream with the close code RFC 6455 §7.4.1 prescribes:
//!
//! ```
//! use pulsecheck_ws::{Assembled, FrameConfig, ProtocolError, Role, Status, StreamReader};
//!
//! let mut bytes = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let mut reader = StreamReader::new(FrameConfig::new(Role::Client));
//! let Status::Complete((frame, used)) = reader.read(&mut bytes)? else { unreachable!() };
//! let Assembled::Message(message) = frame.event else { unreachable!() };
//! assert_eq!(message.text(), Some("Hello"));
//! assert_eq!(used, 11);
//!
//! // The same frame without the mask bit breaks RFC 6455 §5.1, decided by its second byte.
//! let mut unmasked = vec![0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
//! let violation = StreamReader::new(FrameConfig::new(Role::Client))
//!     .read(&mut unmasked)
//!     .unwrap_err();
//! assert_eq!(violation.error, ProtocolError::UnmaskedClientFrame);
//! assert_eq!(violation.offset, 1);
//! assert_eq!(violation.close_code().get(), 1002);
//! # Ok::<(), pulsecheck_ws::Violation>(())
//! ```
//!
//! # What it does
//!
//! The crate works in layers, each usable on its own:
//!
//! - **Headers.** [`decode_header`] decodes any bytes into a [`FrameHeader`]: FIN, the RSV
//!   bits as a 3-bit number, any of the sixteen opcodes, the mask key, the payload length and
//!   how it was encoded (so a non-minimal encoding or a 64-bit length with its top bit set is
//!   visible, not just rejected). [`FrameConfig`] knows the sender's [`Role`], the RSV bits a
//!   negotiated extension allows, and size limits; [`parse_header`] checks every rule as soon
//!   as the byte that decides it arrives and returns a [`ProtocolError`], one variant per
//!   rule. Incomplete input is [`Status::Partial`], never an error, in the style of httparse.
//! - **Frames.** [`parse_frame`] borrows the read buffer and unmasks the payload in place.
//!   [`unmask`] XORs eight bytes at a time on aligned words (32 with AVX2, when the CPU
//!   has it); [`copy_unmask`] fuses the XOR with a copy; [`unmask_naive`] is the
//!   reference byte loop.
//! - **Messages.** [`MessageAssembler`] applies the fragmentation rules of RFC 6455 §5.4,
//!   accepts control frames between fragments, enforces a message size limit, and validates
//!   text incrementally with [`Utf8Validator`], failing at the first fragment that holds an
//!   invalid byte rather than at the end of the message.
//! - **Streams.** [`StreamReader`] puts the three together over a buffer the caller fills:
//!   each call returns one frame with its offset and meaning, or the first [`Violation`]
//!   with the byte offset that decided it and, through [`ProtocolError::close_code`], the
//!   code to close with; [`StreamReader::finish`] says whether the stream ended cleanly;
//!   [`StreamReader::release`] lets a read loop drop the bytes of an incomplete text frame
//!   the reader has already copied (and validated).
//!   [`streaming::FrameStream`] applies the same rules in constant memory, handing out
//!   data frames in pieces as their bytes arrive, for callers that must not hold what a
//!   peer sends (a 16 MiB frame, a message that never ends).
//! - **Close.** [`CloseCode`] classifies any code per RFC 6455 §7.4 and the IANA registry;
//!   [`parse_close_body`] checks a Close body.
//! - **Encoding.** [`encode_frame`] writes any [`FrameHeader`] as given: reserved opcodes,
//!   RSV bits, forced 16- or 64-bit lengths, lengths that lie, masked or not. A conformance
//!   probe needs to send exactly the frames a correct peer never would.
//! - **Handshake.** The [`handshake`] module builds and validates the opening handshake of
//!   RFC 6455 §4 on both sides, parsing HTTP with httparse.
//! - **Compression.** The [`deflate`] module is permessage-deflate (RFC 7692): it parses
//!   and checks offers and responses, negotiates on either side (a server *declines* an
//!   offer it cannot accept, a client *fails* on a response it cannot accept, each with
//!   the rule named), compresses and decompresses messages with context takeover and
//!   window bits on flate2's zlib-rs backend, stops a decompression bomb at a size limit
//!   in bounded memory (close code 1009), and says where RSV1 may be set.
//!
//! ```
//! use pulsecheck_ws::deflate::{CodecConfig, Compressor, Decompressor, ServerPolicy, negotiate_server};
//!
//! // A client offers a small server window first, then anything; the server takes the first.
//! let offers = ["permessage-deflate; server_max_window_bits=10, permessage-deflate"];
//! let outcome = negotiate_server(&ServerPolicy::default(), offers)?;
//! let (_, response, agreement) = outcome.accepted.expect("an offer is acceptable");
//! assert_eq!(response.to_string(), "permessage-deflate; server_max_window_bits=10");
//!
//! // The server compresses with the agreed window; a reader decompresses with a limit.
//! let config = CodecConfig::new().with_window_bits(agreement.server_max_window_bits);
//! let mut payload = Vec::new();
//! Compressor::new(config).compress(b"Hello", &mut payload)?;
//! let mut message = Vec::new();
//! Decompressor::new(config.with_max_message_size(1 << 20)).decompress(&payload, &mut message)?;
//! assert_eq!(message, b"Hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it does not do
//!
//! No I/O: the caller reads sockets and owns the buffers, which makes every parser usable
//! from blocking code, async code, a fuzzer or a file. The readers do not decompress:
//! permessage-deflate's RSV1 can be allowed, and text messages whose first frame sets an RSV
//! bit are then left unvalidated (they are compressed); the caller hands their payloads to
//! a [`deflate::Decompressor`] and checks RSV1 with [`deflate::check_rsv1`]. No
//! connection state machine beyond what the rules need: answering pings or closing is the
//! caller's decision, informed by [`Assembled`] and [`Violation`].
//!
//! # Never panics, never trusts
//!
//! Every parser accepts any bytes: lengths are checked before slicing, arithmetic on values
//! from the wire saturates, and property tests compare the fast paths with deliberately
//! naive references: [`unmask_naive`], [`std::str::from_utf8`], and (with the `oracle`
//! feature) a byte-at-a-time transcription of RFC 6455 §5.2 and §5.4 in `oracle`.
//!
//! # Crate features
//!
//! - `oracle`: compiles the reference oracle used by the property tests and fuzz targets.
//!   Slow; not for production use.

#![deny(missing_docs)]
// Every type reachable from the public API can be named by users.
#![warn(unnameable_types)]

pub mod close;
pub mod deflate;
pub mod encode;
pub mod error;
mod fast_utf8;
pub mod handshake;
pub mod header;
pub mod mask;
pub mod message;
pub mod opcode;
pub mod reader;
pub mod streaming;
pub mod utf8;

#[cfg(any(test, feature = "oracle"))]
pub mod oracle;

#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod fuzzing_deflate;

#[cfg(test)]
mod tests;

pub use close::{CloseCode, CloseCodeClass, CloseFrame, parse_close_body, write_close_body};
pub use encode::{EncodeError, encode_frame, encode_message};
pub use error::{ProtocolError, Violation};
pub use header::{
    Frame, FrameConfig, FrameHeader, LengthEncoding, Role, decode_header, parse_frame, parse_header,
};
pub use mask::{copy_unmask, unmask, unmask_naive};
pub use message::{Assembled, Message, MessageAssembler, MessageKind};
pub use opcode::{Opcode, Rsv};
pub use reader::{Decoded, EndOfStream, StreamReader};
pub use utf8::{Utf8Error, Utf8Validator, str_from_utf8};

/// The result of parsing input that may be incomplete, as in httparse.
///
/// `Partial` is not an error: more bytes are needed. `Complete` carries the value and,
/// where a parser consumes input, the number of bytes it used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Status<T> {
    /// The value, complete.
    Complete(T),
    /// More input is needed.
    Partial,
}

impl<T> Status<T> {
    /// Whether this is `Complete`.
    #[must_use]
    pub const fn is_complete(&self) -> bool {
        matches!(self, Self::Complete(_))
    }

    /// Whether this is `Partial`.
    #[must_use]
    pub const fn is_partial(&self) -> bool {
        matches!(self, Self::Partial)
    }

    /// The complete value, or `None`.
    #[must_use]
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete(t) => Some(t),
            Self::Partial => None,
        }
    }

    /// Maps the complete value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Self::Complete(t) => Status::Complete(f(t)),
            Self::Partial => Status::Partial,
        }
    }
}
