//! Frame headers: the raw decoder, the validator, and the borrowed [`Frame`].
//!
//! Two layers, like a packet capture tool over a protocol stack:
//!
//! - [`decode_header`] reports everything that is structurally decodable from a header,
//!   valid or not: reserved opcodes, RSV bits, a non-minimal length encoding, a 64-bit
//!   length with its top bit set, the mask bit whatever the sender. It never fails: any
//!   two bytes start a header.
//! - [`FrameConfig`] knows who sent the bytes ([`Role`]), which RSV bits a negotiated
//!   extension allows, and the size limits; [`FrameConfig::validate`] and [`parse_header`]
//!   turn each broken rule into a [`ProtocolError`].

use core::fmt;

use crate::Status;
use crate::encode::EncodeError;
use crate::error::ProtocolError;
use crate::mask::unmask;
use crate::message::MessageAssembler;
use crate::opcode::{Opcode, Rsv};

/// Which side of the connection sent the bytes being parsed.
///
/// RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server" and "A server
/// MUST NOT mask any frames that it sends to the client." A server parsing what a client
/// sent configures `Role::Client`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Role {
    /// The bytes come from a client: every frame must be masked.
    Client,
    /// The bytes come from a server: no frame may be masked.
    Server,
}

impl Role {
    /// The other side.
    #[must_use]
    pub const fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Client => "client",
            Self::Server => "server",
        })
    }
}

/// How the payload length is encoded on the wire (RFC 6455 §5.2 "Payload length: 7 bits,
/// 7+16 bits, or 7+64 bits").
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum LengthEncoding {
    /// The 7-bit field holds the length, `0..=125`.
    Short,
    /// The 7-bit field is 126 and a 16-bit length follows.
    Extended16,
    /// The 7-bit field is 127 and a 64-bit length follows.
    Extended64,
}

impl LengthEncoding {
    /// The encoding RFC 6455 §5.2 requires for `len`: "the minimal number of bytes MUST be
    /// used to encode the length".
    #[must_use]
    pub const fn minimal_for(len: u64) -> Self {
        if len <= 125 {
            Self::Short
        } else if len <= 0xFFFF {
            Self::Extended16
        } else {
            Self::Extended64
        }
    }

    /// The number of extended length bytes after the second header byte: 0, 2 or 8.
    #[must_use]
    pub const fn extra_bytes(self) -> usize {
        match self {
            Self::Short => 0,
            Self::Extended16 => 2,
            Self::Extended64 => 8,
        }
    }

    /// Whether `len` can be written in this encoding at all.
    #[must_use]
    pub const fn can_hold(self, len: u64) -> bool {
        match self {
            Self::Short => len <= 125,
            Self::Extended16 => len <= 0xFFFF,
            Self::Extended64 => true,
        }
    }
}

impl fmt::Display for LengthEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Short => "7-bit",
            Self::Extended16 => "16-bit",
            Self::Extended64 => "64-bit",
        })
    }
}

/// A frame header, exactly as sent.
///
/// Produced by [`decode_header`] (anything goes) and by [`parse_header`] (validated), and
/// consumed by [`encode_frame`](crate::encode_frame), which writes whatever it holds, so
/// `decode_header(encode(h)) == h` for every encodable header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FrameHeader {
    /// FIN: "Indicates that this is the final fragment in a message."
    pub fin: bool,
    /// RSV1, RSV2, RSV3.
    pub rsv: Rsv,
    /// The 4-bit opcode, reserved values included.
    pub opcode: Opcode,
    /// The masking key when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The payload length as announced (for a 64-bit length with the top bit set, the full
    /// 64-bit value).
    pub payload_len: u64,
    /// How the length was (or is to be) encoded.
    pub length_encoding: LengthEncoding,
}

impl FrameHeader {
    /// A final, unmasked frame without RSV bits, whose length uses the minimal encoding.
    #[must_use]
    pub const fn new(opcode: Opcode, payload_len: u64) -> Self {
        Self {
            fin: true,
            rsv: Rsv::NONE,
            opcode,
            mask: None,
            payload_len,
            length_encoding: LengthEncoding::minimal_for(payload_len),
        }
    }

    /// The header's size in bytes: 2, plus 2 or 8 for an extended length, plus 4 for a
    /// masking key (so 2 to 14).
    #[must_use]
    pub const fn header_len(&self) -> usize {
        2 + self.length_encoding.extra_bytes() + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Whether the length uses the minimal encoding RFC 6455 §5.2 requires.
    #[must_use]
    pub const fn is_minimal_length(&self) -> bool {
        matches!(
            (
                self.length_encoding,
                LengthEncoding::minimal_for(self.payload_len)
            ),
            (LengthEncoding::Short, LengthEncoding::Short)
                | (LengthEncoding::Extended16, LengthEncoding::Extended16)
                | (LengthEncoding::Extended64, LengthEncoding::Extended64)
        )
    }

    /// Whether the length is a 64-bit length with its most significant bit set.
    #[must_use]
    pub const fn has_length_top_bit(&self) -> bool {
        matches!(self.length_encoding, LengthEncoding::Extended64) && self.payload_len >> 63 != 0
    }

    /// Appends the header bytes to `out`, exactly as described: invalid headers included.
    ///
    /// # Errors
    ///
    /// [`EncodeError::LengthDoesNotFit`] when `payload_len` cannot be written in
    /// `length_encoding` (over 125 in the 7-bit form, over 65535 in the 16-bit form).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let enc = self.length_encoding;
        if !enc.can_hold(self.payload_len) {
            return Err(EncodeError::LengthDoesNotFit {
                len: self.payload_len,
                encoding: enc,
            });
        }
        let b0 = (u8::from(self.fin) << 7) | (self.rsv.bits() << 4) | self.opcode.get();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        match enc {
            LengthEncoding::Short => {
                // can_hold checked len <= 125.
                let len7 = u8::try_from(self.payload_len).unwrap_or(0);
                out.extend_from_slice(&[b0, mask_bit | len7]);
            }
            LengthEncoding::Extended16 => {
                let len16 = u16::try_from(self.payload_len).unwrap_or(0);
                out.extend_from_slice(&[b0, mask_bit | 126]);
                out.extend_from_slice(&len16.to_be_bytes());
            }
            LengthEncoding::Extended64 => {
                out.extend_from_slice(&[b0, mask_bit | 127]);
                out.extend_from_slice(&self.payload_len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
        Ok(())
    }
}

impl fmt::Display for FrameHeader {
    /// One line, e.g. `fin=1 rsv=none text mask=37fa213d len=5 (7-bit)`, with
    /// `non-minimal` or `top-bit-set` appended when they apply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fin={} rsv={} {}",
            u8::from(self.fin),
            self.rsv,
            self.opcode
        )?;
        match self.mask {
            Some([a, b, c, d]) => write!(f, " mask={a:02x}{b:02x}{c:02x}{d:02x}")?,
            None => f.write_str(" unmasked")?,
        }
        write!(f, " len={} ({})", self.payload_len, self.length_encoding)?;
        if self.has_length_top_bit() {
            f.write_str(" top-bit-set")?;
        }
        if !self.is_minimal_length() {
            f.write_str(" non-minimal")?;
        }
        Ok(())
    }
}

/// Decodes a frame header without judging it.
///
/// Returns [`Status::Partial`] until the whole header (2 to 14 bytes) is in `buf`, then
/// `Complete((header, header_len))`. Any bytes decode: this is what a probe uses to say
/// exactly what a peer sent.
///
/// ```
/// use pulsecheck_ws::{decode_header, LengthEncoding, Opcode, Status};
///
/// // A ping whose 5-byte length is (wrongly) written in the 16-bit form.
/// let bytes = [0x89, 0x7E, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o'];
/// let Status::Complete((header, len)) = decode_header(&bytes) else { panic!() };
/// assert_eq!(len, 4);
/// assert_eq!(header.opcode, Opcode::PING);
/// assert_eq!(header.length_encoding, LengthEncoding::Extended16);
/// assert!(!header.is_minimal_length());
/// assert!(decode_header(&bytes[..3]).is_partial());
/// ```
#[must_use]
pub fn decode_header(buf: &[u8]) -> Status<(FrameHeader, usize)> {
    // RFC 6455 §5.2: the figure and ABNF `ws-frame`.
    let &[b0, b1, ref rest @ ..] = buf else {
        return Status::Partial;
    };
    let (payload_len, length_encoding, rest) = match b1 & 0x7F {
        // "If 126, the following 2 bytes interpreted as a 16-bit unsigned integer are the
        // payload length."
        126 => {
            let Some((ext, rest)) = rest.split_first_chunk::<2>() else {
                return Status::Partial;
            };
            (
                u64::from(u16::from_be_bytes(*ext)),
                LengthEncoding::Extended16,
                rest,
            )
        }
        // "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer ... are
        // the payload length."
        127 => {
            let Some((ext, rest)) = rest.split_first_chunk::<8>() else {
                return Status::Partial;
            };
            (u64::from_be_bytes(*ext), LengthEncoding::Extended64, rest)
        }
        // "if 0-125, that is the payload length."
        n => (u64::from(n), LengthEncoding::Short, rest),
    };
    // "Masking-key: 0 or 4 bytes ... present if the mask bit is set to 1".
    let mask = if b1 & 0x80 != 0 {
        let Some((key, _)) = rest.split_first_chunk::<4>() else {
            return Status::Partial;
        };
        Some(*key)
    } else {
        None
    };
    let header = FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv: Rsv::from_bits(b0 >> 4),
        opcode: Opcode::from_bits(b0),
        mask,
        payload_len,
        length_encoding,
    };
    Status::Complete((header, header.header_len()))
}

/// What a validator knows about the connection: who sends, which extensions were
/// negotiated, and the local size limits.
///
/// The fields are public so a probe can set anything; the constructors give sane defaults.
///
/// ```
/// use pulsecheck_ws::{FrameConfig, Role, Rsv};
///
/// // A server reading client frames, with permessage-deflate negotiated.
/// let config = FrameConfig::new(Role::Client)
///     .with_allowed_rsv(Rsv::RSV1)
///     .with_max_message_size(1 << 20);
/// assert_eq!(config.max_frame_payload, FrameConfig::DEFAULT_MAX_FRAME_PAYLOAD);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FrameConfig {
    /// The side that sent the bytes: client frames must be masked, server frames must not.
    pub sender: Role,
    /// RSV bits a negotiated extension gives a meaning to (permessage-deflate: RSV1).
    /// Other bits set are a [`ProtocolError::ReservedBitsSet`]. Only the bits are checked:
    /// an extension's own rules (RFC 7692 §6.1: RSV1 only on the first frame of a data
    /// message, never on a control frame) are for the caller to check on top.
    pub allowed_rsv: Rsv,
    /// The largest frame payload accepted ([`ProtocolError::FrameTooBig`] above it).
    pub max_frame_payload: u64,
    /// The largest message (sum of fragments) accepted ([`ProtocolError::MessageTooBig`]
    /// above it).
    pub max_message_size: u64,
}

impl FrameConfig {
    /// Default frame limit: 16 MiB.
    pub const DEFAULT_MAX_FRAME_PAYLOAD: u64 = 16 << 20;
    /// Default message limit: 64 MiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 64 << 20;

    /// Frames sent by `sender`, no extension, default limits.
    #[must_use]
    pub const fn new(sender: Role) -> Self {
        Self {
            sender,
            allowed_rsv: Rsv::NONE,
            max_frame_payload: Self::DEFAULT_MAX_FRAME_PAYLOAD,
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// The same configuration allowing the RSV bits of `rsv`.
    #[must_use]
    pub const fn with_allowed_rsv(mut self, rsv: Rsv) -> Self {
        self.allowed_rsv = rsv;
        self
    }

    /// The same configuration with another frame limit.
    #[must_use]
    pub const fn with_max_frame_payload(mut self, max: u64) -> Self {
        self.max_frame_payload = max;
        self
    }

    /// The same configuration with another message limit.
    #[must_use]
    pub const fn with_max_message_size(mut self, max: u64) -> Self {
        self.max_message_size = max;
        self
    }

    /// The same configuration with no size limit.
    #[must_use]
    pub const fn unlimited(mut self) -> Self {
        self.max_frame_payload = u64::MAX;
        self.max_message_size = u64::MAX;
        self
    }

    /// Checks a decoded header against every per-frame rule and returns the first one
    /// broken, in the order [`parse_header`] checks them: RSV bits, reserved opcode,
    /// fragmented control frame, mask, 64-bit top bit, minimal length, control frame
    /// length, frame size. Rules that need the connection's history (fragmentation,
    /// message size) belong to [`MessageAssembler`].
    ///
    /// # Errors
    ///
    /// The first [`ProtocolError`] found.
    pub fn validate(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        check_first_byte(header.fin, header.rsv, header.opcode, self)?;
        check_mask(header.mask.is_some(), self)?;
        if header.has_length_top_bit() {
            return Err(ProtocolError::LengthTopBitSet);
        }
        check_length(header, self)
    }
}

/// RFC 6455 §5.2 and §5.5: the rules decidable from the first header byte.
fn check_first_byte(
    fin: bool,
    rsv: Rsv,
    opcode: Opcode,
    config: &FrameConfig,
) -> Result<(), ProtocolError> {
    // RFC 6455 §5.2: "If a nonzero value is received and none of the negotiated extensions
    // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
    // WebSocket Connection_."
    let unexpected = rsv.difference(config.allowed_rsv);
    if !unexpected.is_empty() {
        return Err(ProtocolError::ReservedBitsSet { rsv: unexpected });
    }
    // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail
    // the WebSocket Connection_."
    if opcode.is_reserved() {
        return Err(ProtocolError::ReservedOpcode { opcode });
    }
    // RFC 6455 §5.5: "All control frames ... MUST NOT be fragmented."
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControlFrame { opcode });
    }
    Ok(())
}

/// RFC 6455 §5.1: the mask bit against the sender's role.
fn check_mask(masked: bool, config: &FrameConfig) -> Result<(), ProtocolError> {
    match (config.sender, masked) {
        // "The server MUST close the connection upon receiving a frame that is not masked."
        (Role::Client, false) => Err(ProtocolError::UnmaskedClientFrame),
        // "A client MUST close a connection if it detects a masked frame."
        (Role::Server, true) => Err(ProtocolError::MaskedServerFrame),
        _ => Ok(()),
    }
}

/// The rules decidable once the whole length field is known (the 64-bit top bit is checked
/// earlier, at its own byte).
fn check_length(header: &FrameHeader, config: &FrameConfig) -> Result<(), ProtocolError> {
    let len = header.payload_len;
    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    if !header.is_minimal_length() {
        return Err(ProtocolError::NonMinimalLength {
            len,
            encoding: header.length_encoding,
        });
    }
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if header.opcode.is_control() && len > 125 {
        return Err(ProtocolError::ControlFrameTooLong { len });
    }
    // RFC 6455 §7.4.1: 1009, "a message that is too big for it to process" (local limit).
    if len > config.max_frame_payload {
        return Err(ProtocolError::FrameTooBig {
            len,
            max: config.max_frame_payload,
        });
    }
    Ok(())
}

/// Parses and validates a frame header, failing as early as the bytes allow.
///
/// Like [`decode_header`], but each rule is checked as soon as the byte that decides it is
/// in `buf`, so a bad first byte is reported even when the second has not arrived yet:
/// byte 0 decides RSV bits, reserved opcodes and fragmented control frames; byte 1 the
/// mask; the first byte of a 64-bit length its top bit; the last length byte the minimal
/// encoding, the control frame length and the frame size.
///
/// ```
/// use pulsecheck_ws::{parse_header, FrameConfig, ProtocolError, Role, Status};
///
/// let server_frames = FrameConfig::new(Role::Server);
/// // RFC 6455 §5.7: "A single-frame unmasked text message".
/// let hello = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// assert!(matches!(parse_header(&hello, &server_frames), Ok(Status::Complete((_, 2)))));
/// // One byte is enough to reject a reserved opcode.
/// assert!(matches!(
///     parse_header(&[0x83], &server_frames),
///     Err(ProtocolError::ReservedOpcode { .. })
/// ));
/// ```
///
/// # Errors
///
/// The first [`ProtocolError`] broken by the bytes present.
pub fn parse_header(
    buf: &[u8],
    config: &FrameConfig,
) -> Result<Status<(FrameHeader, usize)>, ProtocolError> {
    parse_header_inner(buf, config, None).map_err(|(error, _)| error)
}

/// The fail-fast header parser behind [`parse_header`] and the stream reader. On error it
/// also returns the index, within `buf`, of the byte that decided the error. With an
/// assembler it adds the rules that depend on the stream so far (RFC 6455 §5.4, message
/// size), at the bytes that decide them.
pub(crate) fn parse_header_inner(
    buf: &[u8],
    config: &FrameConfig,
    stream: Option<&MessageAssembler>,
) -> Result<Status<(FrameHeader, usize)>, (ProtocolError, usize)> {
    let Some(&b0) = buf.first() else {
        return Ok(Status::Partial);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = Rsv::from_bits(b0 >> 4);
    let opcode = Opcode::from_bits(b0);
    check_first_byte(fin, rsv, opcode, config).map_err(|e| (e, 0))?;
    if let Some(assembler) = stream {
        assembler.check_frame_start(opcode).map_err(|e| (e, 0))?;
    }

    let Some(&b1) = buf.get(1) else {
        return Ok(Status::Partial);
    };
    let masked = b1 & 0x80 != 0;
    check_mask(masked, config).map_err(|e| (e, 1))?;

    let (payload_len, length_encoding) = match b1 & 0x7F {
        126 => {
            let Some(&[hi, lo]) = buf.get(2..4) else {
                return Ok(Status::Partial);
            };
            (
                u64::from(u16::from_be_bytes([hi, lo])),
                LengthEncoding::Extended16,
            )
        }
        127 => {
            let Some(&b2) = buf.get(2) else {
                return Ok(Status::Partial);
            };
            // RFC 6455 §5.2: "(the most significant bit MUST be 0)": decided by byte 2.
            if b2 & 0x80 != 0 {
                return Err((ProtocolError::LengthTopBitSet, 2));
            }
            let Some(ext) = buf.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) else {
                return Ok(Status::Partial);
            };
            (u64::from_be_bytes(ext), LengthEncoding::Extended64)
        }
        n => (u64::from(n), LengthEncoding::Short),
    };
    let last_len_byte = 1 + length_encoding.extra_bytes();
    let mut header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask: None,
        payload_len,
        length_encoding,
    };
    check_length(&header, config).map_err(|e| (e, last_len_byte))?;
    if let Some(assembler) = stream {
        assembler
            .check_frame_len(opcode, payload_len)
            .map_err(|e| (e, last_len_byte))?;
    }

    if masked {
        let start = last_len_byte + 1;
        let Some(key) = buf
            .get(start..start + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
        else {
            return Ok(Status::Partial);
        };
        header.mask = Some(key);
    }
    Ok(Status::Complete((header, header.header_len())))
}

/// A complete frame borrowed from the read buffer, its payload unmasked in place.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The validated header (its `mask` still says which key was used).
    pub header: FrameHeader,
    /// The payload, already unmasked.
    pub payload: &'a mut [u8],
}

/// Parses one complete frame from the front of `buf`, unmasking its payload in place.
///
/// Returns `Complete((frame, frame_len))` once header and payload are both in `buf`;
/// `Partial` before. Only the frame's own payload bytes are modified, and only when
/// `Complete` is returned. Stateless: fragmentation and message rules need a
/// [`MessageAssembler`] or a [`StreamReader`](crate::StreamReader).
///
/// ```
/// use pulsecheck_ws::{parse_frame, FrameConfig, Role, Status};
///
/// // RFC 6455 §5.7: "A single-frame masked text message".
/// let mut bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let client_frames = FrameConfig::new(Role::Client);
/// let Status::Complete((frame, used)) = parse_frame(&mut bytes, &client_frames)? else {
///     panic!("complete")
/// };
/// assert_eq!(used, 11);
/// assert_eq!(frame.payload, b"Hello");
/// # Ok::<(), pulsecheck_ws::ProtocolError>(())
/// ```
///
/// # Errors
///
/// The first [`ProtocolError`] of the header, as [`parse_header`] finds it.
pub fn parse_frame<'b>(
    buf: &'b mut [u8],
    config: &FrameConfig,
) -> Result<Status<(Frame<'b>, usize)>, ProtocolError> {
    let (header, header_len) = match parse_header(buf, config)? {
        Status::Complete(done) => done,
        Status::Partial => return Ok(Status::Partial),
    };
    let Some(total) = usize::try_from(header.payload_len)
        .ok()
        .and_then(|len| len.checked_add(header_len))
    else {
        return Ok(Status::Partial);
    };
    let Some(frame) = buf.get_mut(header_len..total) else {
        return Ok(Status::Partial);
    };
    if let Some(key) = header.mask {
        // RFC 6455 §5.3: "Octet i of the transformed data ... is the XOR of octet i of the
        // original data ... with octet at index i modulo 4 of the masking key".
        unmask(frame, key, 0);
    }
    Ok(Status::Complete((
        Frame {
            header,
            payload: frame,
        },
        total,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (FrameHeader, usize) {
        match decode_header(buf) {
            Status::Complete(c) => c,
            Status::Partial => panic!("partial: {buf:02x?}"),
        }
    }

    #[test]
    fn rfc6455_5_7_examples_decode() {
        let (h, n) = complete(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(n, 2);
        assert!(h.fin);
        assert_eq!(h.opcode, Opcode::TEXT);
        assert_eq!(h.payload_len, 5);
        assert_eq!(h.mask, None);

        let (h, n) = complete(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
        assert_eq!(n, 6);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));

        let (h, n) = complete(&[0x01, 0x03, 0x48]);
        assert!(!h.fin);
        assert_eq!((h.opcode, h.payload_len, n), (Opcode::TEXT, 3, 2));

        // "256 bytes binary message in a single unmasked frame: 0x82 0x7E 0x0100"
        let (h, n) = complete(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!(
            (h.payload_len, h.length_encoding, n),
            (256, LengthEncoding::Extended16, 4)
        );
        // "64KiB binary message in a single unmasked frame: 0x82 0x7F 0x0000000000010000"
        let (h, n) = complete(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(
            (h.payload_len, h.length_encoding, n),
            (65536, LengthEncoding::Extended64, 10)
        );
        assert!(h.is_minimal_length());
    }

    #[test]
    fn every_truncated_header_is_partial() {
        let headers: [&[u8]; 4] = [
            &[0x81, 0x05],
            &[0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4],
            &[0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4],
            &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0],
        ];
        let config = FrameConfig::new(Role::Server).unlimited();
        for h in headers {
            for cut in 0..h.len() {
                assert!(decode_header(&h[..cut]).is_partial(), "{h:02x?} cut {cut}");
                let client = FrameConfig::new(Role::Client).unlimited();
                let cfg = if h[1] & 0x80 != 0 { client } else { config };
                assert_eq!(parse_header(&h[..cut], &cfg), Ok(Status::Partial));
            }
            assert_eq!(complete(h).1, h.len());
        }
    }

    #[test]
    fn rfc6455_5_2_raw_decoder_reports_what_validator_rejects() {
        // Top bit of the 64-bit length set.
        let (h, _) = complete(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert!(h.has_length_top_bit());
        assert_eq!(h.payload_len, (1 << 63) | 1);
        // 124 encoded as "126, 0, 124": the RFC's own example of a non-minimal length.
        let (h, _) = complete(&[0x82, 0x7E, 0, 124]);
        assert!(!h.is_minimal_length());
        // RSV bits and reserved opcode.
        let (h, _) = complete(&[0x7B, 0x00]);
        assert_eq!(h.rsv, Rsv::ALL);
        assert_eq!(h.opcode.get(), 0xB);
        assert!(!h.fin);
    }

    #[test]
    fn rfc6455_5_2_validator_rejects_each_rule() {
        let server = FrameConfig::new(Role::Server);
        let client = FrameConfig::new(Role::Client);
        let cases: &[(&[u8], FrameConfig, ProtocolError)] = &[
            (
                &[0xC1, 0x00],
                server,
                ProtocolError::ReservedBitsSet { rsv: Rsv::RSV1 },
            ),
            (
                &[0x83, 0x00],
                server,
                ProtocolError::ReservedOpcode {
                    opcode: Opcode::from_bits(3),
                },
            ),
            (
                &[0x09, 0x00],
                server,
                ProtocolError::FragmentedControlFrame {
                    opcode: Opcode::PING,
                },
            ),
            (&[0x81, 0x00], client, ProtocolError::UnmaskedClientFrame),
            (
                &[0x81, 0x80, 1, 2, 3, 4],
                server,
                ProtocolError::MaskedServerFrame,
            ),
            (
                &[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0],
                server,
                ProtocolError::LengthTopBitSet,
            ),
            (
                &[0x82, 0x7E, 0, 125],
                server,
                ProtocolError::NonMinimalLength {
                    len: 125,
                    encoding: LengthEncoding::Extended16,
                },
            ),
            (
                &[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
                server,
                ProtocolError::NonMinimalLength {
                    len: 65535,
                    encoding: LengthEncoding::Extended64,
                },
            ),
            (
                &[0x89, 0x7E, 0, 126],
                server,
                ProtocolError::ControlFrameTooLong { len: 126 },
            ),
            (
                &[0x82, 0x7F, 0, 0, 0, 0, 0x01, 0, 0, 1],
                server,
                ProtocolError::FrameTooBig {
                    len: (1 << 24) + 1,
                    max: FrameConfig::DEFAULT_MAX_FRAME_PAYLOAD,
                },
            ),
        ];
        for (bytes, cfg, expected) in cases {
            assert_eq!(parse_header(bytes, cfg), Err(*expected), "{bytes:02x?}");
            let (raw, _) = complete(bytes);
            assert_eq!(cfg.validate(&raw), Err(*expected), "{bytes:02x?}");
        }
        // Allowed once negotiated.
        let deflate = server.with_allowed_rsv(Rsv::RSV1);
        assert!(parse_header(&[0xC1, 0x00], &deflate).is_ok());
        assert_eq!(
            parse_header(&[0xE1, 0x00], &deflate),
            Err(ProtocolError::ReservedBitsSet { rsv: Rsv::RSV2 })
        );
    }

    #[test]
    fn fail_fast_rejects_on_the_deciding_byte() {
        let server = FrameConfig::new(Role::Server);
        let client = FrameConfig::new(Role::Client);
        assert_eq!(
            parse_header_inner(&[0x8B], &server, None),
            Err((
                ProtocolError::ReservedOpcode {
                    opcode: Opcode::from_bits(0xB)
                },
                0
            ))
        );
        assert_eq!(
            parse_header_inner(&[0x81, 0x05], &client, None),
            Err((ProtocolError::UnmaskedClientFrame, 1))
        );
        assert_eq!(
            parse_header_inner(&[0x82, 0xFF, 0x80], &client, None),
            Err((ProtocolError::LengthTopBitSet, 2))
        );
        assert_eq!(
            parse_header_inner(&[0x82, 0x7E, 0x00], &server, None),
            Ok(Status::Partial)
        );
        assert_eq!(
            parse_header_inner(&[0x82, 0x7E, 0x00, 0x10], &server, None),
            Err((
                ProtocolError::NonMinimalLength {
                    len: 16,
                    encoding: LengthEncoding::Extended16
                },
                3
            ))
        );
    }

    #[test]
    fn header_write_is_exact_and_refuses_impossible_lengths() {
        let mut h = FrameHeader::new(Opcode::BINARY, 124);
        h.length_encoding = LengthEncoding::Extended16;
        h.mask = Some([1, 2, 3, 4]);
        h.fin = false;
        h.rsv = Rsv::RSV3;
        let mut out = Vec::new();
        h.write(&mut out).unwrap();
        assert_eq!(out, [0x12, 0xFE, 0, 124, 1, 2, 3, 4]);
        assert_eq!(complete(&out), (h, 8));

        h.length_encoding = LengthEncoding::Short;
        h.payload_len = 126;
        assert_eq!(
            h.write(&mut out),
            Err(EncodeError::LengthDoesNotFit {
                len: 126,
                encoding: LengthEncoding::Short
            })
        );
        h.length_encoding = LengthEncoding::Extended16;
        h.payload_len = 65536;
        assert!(h.write(&mut out).is_err());
    }

    #[test]
    fn header_display_is_one_readable_line() {
        let mut h = FrameHeader::new(Opcode::TEXT, 5);
        h.mask = Some([0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(
            h.to_string(),
            "fin=1 rsv=none text mask=37fa213d len=5 (7-bit)"
        );
        h.length_encoding = LengthEncoding::Extended64;
        h.payload_len = 1 << 63;
        assert_eq!(
            h.to_string(),
            "fin=1 rsv=none text mask=37fa213d len=9223372036854775808 (64-bit) top-bit-set"
        );
    }
}
