//! Deterministic WebSocket workloads: what a server receives from a client.
//!
//! Every frame is a client frame, so every frame is masked (RFC 6455 §5.3), each with its
//! own key. Payloads, lengths, keys and fragment boundaries come from an inline splitmix64
//! with a fixed seed per generator: the same bytes on every run and every machine, no
//! `rand` dependency. Frames are written with [`pulsecheck_ws::encode_frame`] (minimal
//! length encoding, no RSV bits); every peer parses the same bytes, so a wrong encoding
//! would show up as a disagreement in `tests/ws_peers_agree.rs`.
//!
//! Text payloads are ASCII letters, digits, spaces and punctuation with about 7% of the
//! characters (about 17% of the bytes) non-ASCII: 2-, 3- and 4-byte UTF-8 sequences, so
//! UTF-8 validation cannot take an all-ASCII shortcut. Binary payloads are uniformly random
//! bytes (almost never valid UTF-8).
//!
//! The workloads, at the sizes [`all`] uses:
//!
//! | name | frames | payloads | input |
//! |---|---|---|---|
//! | `tiny` | ~33 000 text | 0–125 B, median ~20 B | ~1 MiB |
//! | `1kib-text` | 1024 text | 1024 B each | ~1 MiB |
//! | `1kib-binary` | 1024 binary | 1024 B each | ~1 MiB |
//! | `64kib-text` | 64 text | 65 536 B each | ~4 MiB |
//! | `64kib-binary` | 64 binary | 65 536 B each | ~4 MiB |
//! | `16mib-binary` | 1 binary | 16 777 216 B | 16 MiB |
//! | `fragmented-text` | ~1 600 | 48 text messages of 65 536 B, each in fragments of 1–4096 B | ~3 MiB |
//!
//! In `fragmented-text` each message is a text frame with FIN clear, continuation frames
//! with FIN clear, and a final continuation with FIN set; almost every fragment boundary
//! falls inside a multi-byte character, so a validator has to carry state across frames.

use crate::rng::Rng;
use std::ops::Range;

use pulsecheck_ws::{FrameHeader, Opcode, encode_frame};

/// Where one frame's payload is in [`Workload::bytes`], and what it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The payload's byte range in [`Workload::bytes`] (still masked there).
    pub payload: Range<usize>,
    /// The frame's masking key.
    pub mask: [u8; 4],
    /// Whether the frame belongs to a text message (a text frame, or a continuation of one).
    pub text: bool,
    /// FIN: whether the frame ends its message.
    pub fin: bool,
}

/// One benchmark input and what a correct server makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The workload's name, e.g. `tiny` or `64kib-text`; the criterion group is `ws/<name>`.
    pub name: &'static str,
    /// The masked client frames, back to back.
    pub bytes: Vec<u8>,
    /// Every frame, in order (the floor's input, and the tests' ground truth).
    pub frames: Vec<FrameInfo>,
    /// Complete data messages in the stream.
    pub messages: usize,
    /// Sum of the messages' payload lengths.
    pub message_bytes: usize,
    /// Sum of the text messages' payload lengths.
    pub text_bytes: usize,
}

impl Workload {
    fn new(name: &'static str) -> Self {
        Workload {
            name,
            bytes: Vec::new(),
            frames: Vec::new(),
            messages: 0,
            message_bytes: 0,
            text_bytes: 0,
        }
    }

    /// Appends one masked frame carrying `payload`, with a fresh key.
    fn frame(&mut self, rng: &mut Rng, opcode: Opcode, fin: bool, text: bool, payload: &[u8]) {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        let mask = rng.next_u64().to_le_bytes();
        let mask = [mask[0], mask[1], mask[2], mask[3]];
        header.mask = Some(mask);
        let start = self.bytes.len() + header.header_len();
        // A minimal length encoding holds every length, so this cannot fail.
        encode_frame(&mut self.bytes, &header, payload).expect("minimal encoding");
        self.frames.push(FrameInfo {
            payload: start..start + payload.len(),
            mask,
            text,
            fin,
        });
    }

    fn message_done(&mut self, len: usize, text: bool) {
        self.messages += 1;
        self.message_bytes += len;
        if text {
            self.text_bytes += len;
        }
    }

    /// A single-frame message.
    fn message(&mut self, rng: &mut Rng, text: bool, payload: &[u8]) {
        let opcode = if text { Opcode::TEXT } else { Opcode::BINARY };
        self.frame(rng, opcode, true, text, payload);
        self.message_done(payload.len(), text);
    }

    /// Total payload bytes of all frames.
    pub fn payload_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.payload.len()).sum()
    }
}

/// The names of the workloads, in the order [`all`] returns them.
pub const NAMES: [&str; 7] = [
    "tiny",
    "1kib-text",
    "1kib-binary",
    "64kib-text",
    "64kib-binary",
    "16mib-binary",
    "fragmented-text",
];

/// The largest frame and message every implementation is configured to accept: above the
/// 16 MiB frame, so no implementation's limit decides anything.
pub const MAX_SIZE: usize = 64 << 20;

/// ASCII characters of the text payloads (spaces weighted up, like prose).
const ASCII: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789      .,;:-'\"!?()";

/// Non-ASCII characters of the text payloads: 2-, 3- and 4-byte sequences.
const NON_ASCII: &[&str] = &[
    "é", "ü", "ñ", "ß", "ø", "λ", "Ж", "ש", "—", "€", "中", "文", "你", "好", "世", "界", "🙂",
    "🚀", "👍", "𝄞",
];

/// One in this many characters is non-ASCII (about 7%).
const NON_ASCII_ONE_IN: usize = 14;

/// Exactly `len` bytes of valid UTF-8 text, appended to `out`.
fn text(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let end = out.len() + len;
    while out.len() < end {
        if rng.below(NON_ASCII_ONE_IN) == 0 {
            let c = NON_ASCII[rng.below(NON_ASCII.len())].as_bytes();
            if out.len() + c.len() <= end {
                out.extend_from_slice(c);
                continue;
            }
        }
        out.push(ASCII[rng.below(ASCII.len())]);
    }
}

/// Exactly `len` uniformly random bytes, appended to `out`.
fn binary(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let end = out.len() + len;
    while out.len() < end {
        let word = rng.next_u64().to_le_bytes();
        let take = (end - out.len()).min(8);
        out.extend_from_slice(&word[..take]);
    }
}

/// Single-frame text messages of 0–125 bytes (median about 20) until the stream holds
/// `target` bytes: 85% are 0–32 bytes, 15% are 33–125 bytes.
pub fn tiny(target: usize) -> Workload {
    let mut rng = Rng(0x5EED_0005_0000_71A7);
    let mut w = Workload::new("tiny");
    w.bytes.reserve(target + 131);
    let mut payload = Vec::with_capacity(125);
    while w.bytes.len() < target {
        let len = if rng.below(100) < 85 {
            rng.between(0, 32)
        } else {
            rng.between(33, 125)
        };
        payload.clear();
        text(&mut rng, len, &mut payload);
        w.message(&mut rng, true, &payload);
    }
    w
}

/// `count` single-frame messages of exactly `len` bytes each, text or binary.
pub fn fixed(name: &'static str, text_payload: bool, len: usize, count: usize) -> Workload {
    let seed = 0x5EED_0006_0000_0000 ^ ((len as u64) << 1) ^ u64::from(text_payload);
    let mut rng = Rng(seed);
    let mut w = Workload::new(name);
    w.bytes.reserve(count * (len + 14));
    let mut payload = Vec::with_capacity(len);
    for _ in 0..count {
        payload.clear();
        if text_payload {
            text(&mut rng, len, &mut payload);
        } else {
            binary(&mut rng, len, &mut payload);
        }
        w.message(&mut rng, text_payload, &payload);
    }
    w
}

/// One binary frame of `len` random bytes.
pub fn one_binary_frame(len: usize) -> Workload {
    let mut rng = Rng(0x5EED_0007_0016_0B1B);
    let mut w = Workload::new("16mib-binary");
    let mut payload = Vec::with_capacity(len);
    binary(&mut rng, len, &mut payload);
    w.bytes.reserve(len + 14);
    w.message(&mut rng, false, &payload);
    w
}

/// `count` text messages of `message_len` bytes, each sent in fragments of 1–4096 bytes:
/// a text frame with FIN clear, continuations, the last continuation with FIN set.
///
/// Fragment boundaries are drawn at random (1–4000 bytes after the previous one), then
/// moved to just after the lead byte, or after the second or third byte, of the first
/// multi-byte character within the next 64 bytes, when there is one (almost always): the
/// boundary cuts that character, and the next fragment starts with continuation bytes.
pub fn fragmented(message_len: usize, count: usize) -> Workload {
    let mut rng = Rng(0x5EED_0008_F4A6_0000);
    let mut w = Workload::new("fragmented-text");
    w.bytes.reserve(count * (message_len + message_len / 8));
    let mut message = Vec::with_capacity(message_len);
    for _ in 0..count {
        message.clear();
        text(&mut rng, message_len, &mut message);
        let mut at = 0;
        let mut first = true;
        loop {
            let mut end = at + rng.between(1, 4000);
            if end >= message.len() {
                end = message.len();
            } else if let Some(lead) = message[end..message.len().min(end + 64)]
                .iter()
                .position(|&b| b >= 0xC0)
            {
                let lead = end + lead;
                let width = match message[lead] {
                    0xC0..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    _ => 4,
                };
                end = lead + rng.between(1, width - 1);
            }
            let fin = end == message.len();
            let opcode = if first {
                Opcode::TEXT
            } else {
                Opcode::CONTINUATION
            };
            w.frame(&mut rng, opcode, fin, true, &message[at..end]);
            first = false;
            at = end;
            if fin {
                break;
            }
        }
        w.message_done(message.len(), true);
    }
    w
}

/// The size of `tiny` at benchmark size: 1 MiB of frames.
pub const TINY_TARGET: usize = 1 << 20;

/// Every workload at benchmark size, in the order of [`NAMES`].
pub fn all() -> Vec<Workload> {
    vec![
        tiny(TINY_TARGET),
        fixed("1kib-text", true, 1024, 1024),
        fixed("1kib-binary", false, 1024, 1024),
        fixed("64kib-text", true, 64 << 10, 64),
        fixed("64kib-binary", false, 64 << 10, 64),
        one_binary_frame(16 << 20),
        fragmented(64 << 10, 48),
    ]
}

/// Every workload, small enough for debug-build tests: same names, same frame shapes,
/// fewer frames (and a 256 KiB frame for `16mib-binary`).
pub fn small() -> Vec<Workload> {
    vec![
        tiny(16 << 10),
        fixed("1kib-text", true, 1024, 16),
        fixed("1kib-binary", false, 1024, 16),
        fixed("64kib-text", true, 64 << 10, 2),
        fixed("64kib-binary", false, 64 << 10, 2),
        one_binary_frame(256 << 10),
        fragmented(64 << 10, 2),
    ]
}
