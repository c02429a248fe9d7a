//! A byte-at-a-time transcription of RFC 6455 §5.2 (framing), §5.3 (masking), §5.4
//! (fragmentation), §5.5 (control frames), §5.6 and §8.1 (UTF-8), the reference the fast
//! [`StreamReader`](crate::StreamReader) is tested against.
//!
//! Deliberately simple and slow: a state machine that consumes one byte at a time, reads
//! each header field bit by bit as the RFC's figure lays them out, unmasks with
//! `key[i % 4]`, validates UTF-8 with the table of RFC 3629 §4 one byte at a time, and
//! checks each rule at the byte that decides it. It shares only plain data types with the
//! rest of the crate (headers, opcodes, errors), none of its logic. Compiled for tests and
//! with the `oracle` feature.

use crate::close::CloseCode;
use crate::error::{ProtocolError, Violation};
use crate::header::{FrameConfig, FrameHeader, LengthEncoding, Role};
use crate::message::MessageKind;
use crate::opcode::{Opcode, Rsv};

/// What one complete frame meant, owned.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OracleEvent {
    /// A fragment of a message still in progress.
    Fragment,
    /// A complete data message.
    Message {
        /// Text or binary.
        kind: MessageKind,
        /// The RSV bits of the first frame.
        rsv: Rsv,
        /// The concatenated payload.
        data: Vec<u8>,
        /// Whether the data was validated as text (a text message without RSV bits).
        text: bool,
        /// How many frames carried it.
        frames: u64,
    },
    /// A ping and its payload.
    Ping(Vec<u8>),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// A valid Close.
    Close {
        /// The code, if the body was not empty.
        code: Option<CloseCode>,
        /// The reason.
        reason: String,
    },
}

/// One complete frame, owned.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OracleItem {
    /// Stream offset of the frame's first byte.
    pub offset: u64,
    /// Its header.
    pub header: FrameHeader,
    /// Its unmasked payload.
    pub payload: Vec<u8>,
    /// What it meant.
    pub event: OracleEvent,
}

/// Everything a stream produced.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OracleOutcome {
    /// The complete frames, in order.
    pub items: Vec<OracleItem>,
    /// The first violation, if any.
    pub violation: Option<Violation>,
    /// Stream offset after the last complete frame.
    pub consumed: u64,
    /// A fragmented message started by a complete frame and not finished.
    pub message_in_progress: Option<MessageKind>,
    /// Whether a valid Close was received.
    pub close_received: bool,
}

/// Runs the oracle over a whole stream.
#[must_use]
pub fn run(config: &FrameConfig, data: &[u8]) -> OracleOutcome {
    let mut oracle = Oracle::new(*config);
    for &byte in data {
        if oracle.violation.is_some() {
            break;
        }
        oracle.push(byte);
    }
    OracleOutcome {
        items: oracle.items,
        violation: oracle.violation,
        consumed: oracle.consumed,
        message_in_progress: oracle.in_progress,
        close_received: oracle.closed,
    }
}

/// Where the machine is inside a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// FIN, RSV1, RSV2, RSV3, opcode.
    First,
    /// MASK, payload len (7 bits).
    Second,
    /// Extended payload length: `have` of `of` bytes read.
    ExtLen { have: u8, of: u8 },
    /// Masking key: `have` of 4 bytes read.
    Key { have: u8 },
    /// Payload data: bytes still to read.
    Payload { left: u64 },
}

/// RFC 3629 §4, one byte at a time: `need` continuation bytes are still expected, the
/// next one in `lo..=hi`.
#[derive(Clone, Copy, Debug)]
struct Utf8Dfa {
    need: u8,
    lo: u8,
    hi: u8,
    start: u64,
}

impl Utf8Dfa {
    const fn new() -> Self {
        Self {
            need: 0,
            lo: 0x80,
            hi: 0xBF,
            start: 0,
        }
    }

    /// Byte `b` at position `pos`; on error, `(valid_up_to, error_len)`.
    fn step(&mut self, b: u8, pos: u64) -> Result<(), (u64, Option<u8>)> {
        if self.need == 0 {
            // UTF8-1 / UTF8-2 / UTF8-3 / UTF8-4 of RFC 3629 §4.
            let (need, lo, hi) = match b {
                0x00..=0x7F => return Ok(()),
                0xC2..=0xDF => (1, 0x80, 0xBF),
                0xE0 => (2, 0xA0, 0xBF),
                0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
                0xED => (2, 0x80, 0x9F),
                0xF0 => (3, 0x90, 0xBF),
                0xF1..=0xF3 => (3, 0x80, 0xBF),
                0xF4 => (3, 0x80, 0x8F),
                _ => return Err((pos, Some(1))),
            };
            *self = Self {
                need,
                lo,
                hi,
                start: pos,
            };
            return Ok(());
        }
        if b < self.lo || b > self.hi {
            let len = u8::try_from(pos - self.start).unwrap_or(u8::MAX);
            return Err((self.start, Some(len)));
        }
        self.need -= 1;
        self.lo = 0x80;
        self.hi = 0xBF;
        Ok(())
    }

    fn end(&self) -> Result<(), (u64, Option<u8>)> {
        if self.need > 0 {
            Err((self.start, None))
        } else {
            Ok(())
        }
    }
}

struct Oracle {
    config: FrameConfig,
    /// Offset of the byte being consumed.
    pos: u64,
    state: State,
    // The frame being read.
    frame_start: u64,
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    len7: u8,
    len: u64,
    key: [u8; 4],
    payload: Vec<u8>,
    // The message being read (the current frame included).
    msg_kind: MessageKind,
    msg_rsv: u8,
    msg_text: bool,
    msg_data: Vec<u8>,
    msg_frames: u64,
    utf8: Utf8Dfa,
    // Across frames.
    in_progress: Option<MessageKind>,
    closed: bool,
    consumed: u64,
    items: Vec<OracleItem>,
    violation: Option<Violation>,
}

impl Oracle {
    fn new(config: FrameConfig) -> Self {
        Self {
            config,
            pos: 0,
            state: State::First,
            frame_start: 0,
            fin: false,
            rsv: 0,
            opcode: 0,
            masked: false,
            len7: 0,
            len: 0,
            key: [0; 4],
            payload: Vec::new(),
            msg_kind: MessageKind::Binary,
            msg_rsv: 0,
            msg_text: false,
            msg_data: Vec::new(),
            msg_frames: 0,
            utf8: Utf8Dfa::new(),
            in_progress: None,
            closed: false,
            consumed: 0,
            items: Vec::new(),
            violation: None,
        }
    }

    fn fail(&mut self, error: ProtocolError) {
        self.violation = Some(Violation {
            offset: self.pos,
            frame_offset: self.frame_start,
            error,
        });
    }

    fn push(&mut self, byte: u8) {
        match self.state {
            State::First => self.first(byte),
            State::Second => self.second(byte),
            State::ExtLen { have, of } => {
                // "Multibyte length quantities are expressed in network byte order."
                if of == 8 && have == 0 && byte & 0x80 != 0 {
                    // "(the most significant bit MUST be 0)"
                    self.fail(ProtocolError::LengthTopBitSet);
                } else {
                    self.len = (self.len << 8) | u64::from(byte);
                    if have + 1 == of {
                        self.length_known();
                    } else {
                        self.state = State::ExtLen { have: have + 1, of };
                    }
                }
            }
            State::Key { have } => {
                self.key[usize::from(have)] = byte;
                if have == 3 {
                    self.header_done();
                } else {
                    self.state = State::Key { have: have + 1 };
                }
            }
            State::Payload { left } => self.payload_byte(byte, left),
        }
        self.pos += 1;
    }

    fn first(&mut self, byte: u8) {
        self.frame_start = self.pos;
        self.fin = byte >> 7 == 1;
        self.rsv = (byte >> 4) & 0b111;
        self.opcode = byte & 0x0F;
        self.payload.clear();
        // §5.2 RSV1-3: "If a nonzero value is received and none of the negotiated
        // extensions defines the meaning of such a nonzero value, the receiving endpoint
        // MUST _Fail the WebSocket Connection_."
        let unexpected = self.rsv & !self.config.allowed_rsv.bits();
        if unexpected != 0 {
            return self.fail(ProtocolError::ReservedBitsSet {
                rsv: Rsv::from_bits(unexpected),
            });
        }
        // §5.2 Opcode: "%x3-7 are reserved for further non-control frames", "%xB-F are
        // reserved for further control frames"; "If an unknown opcode is received, the
        // receiving endpoint MUST _Fail the WebSocket Connection_."
        let opcode = Opcode::from_bits(self.opcode);
        if matches!(self.opcode, 3..=7 | 11..=15) {
            return self.fail(ProtocolError::ReservedOpcode { opcode });
        }
        // §5.5: "All control frames ... MUST NOT be fragmented."
        if self.opcode >= 8 && !self.fin {
            return self.fail(ProtocolError::FragmentedControlFrame { opcode });
        }
        if self.opcode < 8 {
            // §5.5.1: "The application MUST NOT send any more data frames after sending a
            // Close frame."
            if self.closed {
                return self.fail(ProtocolError::DataFrameAfterClose { opcode });
            }
            // §5.4: a continuation continues a message; a new message waits for the end of
            // the one in progress.
            match (self.opcode, self.in_progress) {
                (0, None) => return self.fail(ProtocolError::UnexpectedContinuation),
                (1 | 2, Some(_)) => {
                    return self.fail(ProtocolError::ExpectedContinuation { opcode });
                }
                (1 | 2, None) => {
                    self.msg_kind = if self.opcode == 1 {
                        MessageKind::Text
                    } else {
                        MessageKind::Binary
                    };
                    self.msg_rsv = self.rsv;
                    self.msg_text = self.opcode == 1 && self.rsv == 0;
                    self.msg_data.clear();
                    self.msg_frames = 0;
                    self.utf8 = Utf8Dfa::new();
                }
                _ => {}
            }
        }
        self.state = State::Second;
    }

    fn second(&mut self, byte: u8) {
        self.masked = byte >> 7 == 1;
        self.len7 = byte & 0x7F;
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked." "A client MUST close a connection if it detects a masked frame."
        match (self.config.sender, self.masked) {
            (Role::Client, false) => return self.fail(ProtocolError::UnmaskedClientFrame),
            (Role::Server, true) => return self.fail(ProtocolError::MaskedServerFrame),
            _ => {}
        }
        self.len = 0;
        match self.len7 {
            126 => self.state = State::ExtLen { have: 0, of: 2 },
            127 => self.state = State::ExtLen { have: 0, of: 8 },
            n => {
                self.len = u64::from(n);
                self.length_known();
            }
        }
    }

    fn encoding(&self) -> LengthEncoding {
        match self.len7 {
            126 => LengthEncoding::Extended16,
            127 => LengthEncoding::Extended64,
            _ => LengthEncoding::Short,
        }
    }

    fn length_known(&mut self) {
        let len = self.len;
        // §5.2: "the minimal number of bytes MUST be used to encode the length".
        let minimal = match self.len7 {
            126 => len >= 126,
            127 => len >= 65536,
            _ => true,
        };
        if !minimal {
            return self.fail(ProtocolError::NonMinimalLength {
                len,
                encoding: self.encoding(),
            });
        }
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less".
        if self.opcode >= 8 && len > 125 {
            return self.fail(ProtocolError::ControlFrameTooLong { len });
        }
        if len > self.config.max_frame_payload {
            return self.fail(ProtocolError::FrameTooBig {
                len,
                max: self.config.max_frame_payload,
            });
        }
        if self.opcode < 8 {
            let total = (self.msg_data.len() as u64).saturating_add(len);
            if total > self.config.max_message_size {
                return self.fail(ProtocolError::MessageTooBig {
                    len: total,
                    max: self.config.max_message_size,
                });
            }
        }
        if self.masked {
            self.state = State::Key { have: 0 };
        } else {
            self.header_done();
        }
    }

    /// The last header byte was consumed.
    fn header_done(&mut self) {
        if self.len == 0 {
            self.frame_done();
        } else {
            self.state = State::Payload { left: self.len };
        }
    }

    fn payload_byte(&mut self, byte: u8, left: u64) {
        let i = self.payload.len();
        // §5.3: "j = i MOD 4; transformed-octet-i = original-octet-i XOR masking-key-octet-j"
        let byte = if self.masked {
            byte ^ self.key[i % 4]
        } else {
            byte
        };
        self.payload.push(byte);
        if self.opcode < 8 {
            if self.msg_text {
                let at = self.msg_data.len() as u64;
                // §8.1: invalid UTF-8 fails the connection, here at the byte that shows it.
                if let Err((valid_up_to, error_len)) = self.utf8.step(byte, at) {
                    return self.fail(ProtocolError::InvalidUtf8 {
                        valid_up_to,
                        error_len,
                    });
                }
            }
            self.msg_data.push(byte);
        }
        if left == 1 {
            self.frame_done();
        } else {
            self.state = State::Payload { left: left - 1 };
        }
    }

    /// The frame's last byte was consumed.
    fn frame_done(&mut self) {
        let header = FrameHeader {
            fin: self.fin,
            rsv: Rsv::from_bits(self.rsv),
            opcode: Opcode::from_bits(self.opcode),
            mask: self.masked.then_some(self.key),
            payload_len: self.len,
            length_encoding: self.encoding(),
        };
        let payload = self.payload.clone();
        let event = match self.opcode {
            8 => match close_body(&payload) {
                Ok(event) => {
                    self.closed = true;
                    event
                }
                Err(e) => return self.fail(e),
            },
            9 => OracleEvent::Ping(payload.clone()),
            10 => OracleEvent::Pong(payload.clone()),
            _ => {
                self.msg_frames += 1;
                if self.fin {
                    // §5.6: "the whole message MUST contain valid UTF-8".
                    if let (true, Err((valid_up_to, error_len))) = (self.msg_text, self.utf8.end())
                    {
                        return self.fail(ProtocolError::InvalidUtf8 {
                            valid_up_to,
                            error_len,
                        });
                    }
                    self.in_progress = None;
                    OracleEvent::Message {
                        kind: self.msg_kind,
                        rsv: Rsv::from_bits(self.msg_rsv),
                        data: self.msg_data.clone(),
                        text: self.msg_text,
                        frames: self.msg_frames,
                    }
                } else {
                    self.in_progress = Some(self.msg_kind);
                    OracleEvent::Fragment
                }
            }
        };
        self.items.push(OracleItem {
            offset: self.frame_start,
            header,
            payload,
            event,
        });
        self.consumed = self.pos + 1;
        self.state = State::First;
    }
}

/// §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned
/// integer (in network byte order) representing a status code ... Following the 2-byte
/// integer, the body MAY contain UTF-8-encoded data".
fn close_body(body: &[u8]) -> Result<OracleEvent, ProtocolError> {
    if body.is_empty() {
        return Ok(OracleEvent::Close {
            code: None,
            reason: String::new(),
        });
    }
    if body.len() == 1 {
        return Err(ProtocolError::CloseBodyTooShort);
    }
    let code = u16::from(body[0]) << 8 | u16::from(body[1]);
    // §7.4 and IANA (PROTOCOL.md §3): valid on the wire are 1000-1003, 1007-1014, 3000-4999.
    if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
        return Err(ProtocolError::InvalidCloseCode {
            code: CloseCode(code),
        });
    }
    let reason = &body[2..];
    let mut dfa = Utf8Dfa::new();
    let checked = reason
        .iter()
        .enumerate()
        .try_for_each(|(i, &b)| dfa.step(b, i as u64))
        .and_then(|()| dfa.end());
    if let Err((valid_up_to, error_len)) = checked {
        return Err(ProtocolError::InvalidCloseReason {
            valid_up_to,
            error_len,
        });
    }
    Ok(OracleEvent::Close {
        code: Some(CloseCode(code)),
        // Validated above, byte by byte; std only builds the String.
        reason: String::from_utf8(reason.to_vec()).unwrap_or_default(),
    })
}

impl From<&crate::reader::Decoded<'_>> for OracleItem {
    /// The owned form of what the fast [`StreamReader`](crate::StreamReader) returned, to
    /// compare with the oracle's.
    fn from(d: &crate::reader::Decoded<'_>) -> Self {
        use crate::message::Assembled;
        let event = match d.event {
            Assembled::Fragment => OracleEvent::Fragment,
            Assembled::Message(m) => OracleEvent::Message {
                kind: m.kind(),
                rsv: m.rsv(),
                data: m.data().to_vec(),
                text: m.text().is_some(),
                frames: m.frames(),
            },
            Assembled::Ping(p) => OracleEvent::Ping(p.to_vec()),
            Assembled::Pong(p) => OracleEvent::Pong(p.to_vec()),
            Assembled::Close(c) => OracleEvent::Close {
                code: c.code,
                reason: c.reason.to_owned(),
            },
        };
        Self {
            offset: d.offset,
            header: d.header,
            payload: d.payload.to_vec(),
            event,
        }
    }
}
