//! Large payloads without holding them: a case's [`Payload`] is generated piece
//! by piece where it is needed — masked into the frames the probe writes
//! ([`OutgoingFrames`]), or digested to compare with what the server echoed
//! ([`Payload::message_data`]). The 16 MiB cases of group 9 cost 64 KiB each.

use pulsecheck_ws::{FrameHeader, Opcode, Role, Rsv, copy_unmask};

use super::fuzzer::Payload;
use crate::ws::connection::{MessageBuilder, MessageData, mask_for};

/// Payloads longer than this are streamed rather than built whole.
pub const STREAM_ABOVE: usize = 64 * 1024;

impl Payload {
    /// Writes the payload's bytes from `offset` into `out` (as many as fit and
    /// exist); returns how many.
    pub fn fill(&self, offset: usize, out: &mut [u8]) -> usize {
        match self {
            Payload::Bytes(b) => {
                let src = b.get(offset..).unwrap_or_default();
                let n = src.len().min(out.len());
                out[..n].copy_from_slice(&src[..n]);
                n
            }
            Payload::Repeat { pattern, len } => {
                let n = len.saturating_sub(offset).min(out.len());
                if pattern.is_empty() {
                    return 0;
                }
                for (i, byte) in out[..n].iter_mut().enumerate() {
                    *byte = pattern[(offset + i) % pattern.len()];
                }
                n
            }
        }
    }

    /// The payload as the probe keeps a message it receives (length, digest, first
    /// bytes), generated in pieces.
    pub fn message_data(&self) -> MessageData {
        if let Payload::Bytes(b) = self {
            return MessageData::of(b);
        }
        let mut builder = MessageBuilder::default();
        let mut piece = vec![0u8; STREAM_ABOVE.min(self.len())];
        let mut offset = 0;
        while offset < self.len() {
            let n = self.fill(offset, &mut piece);
            if n == 0 {
                break;
            }
            builder.feed(&piece[..n]);
            offset += n;
        }
        builder.finish()
    }
}

/// The bytes of a message's frames as a client writes them — each frame's header
/// with a fresh masking key, then its payload masked — generated on demand.
/// Frames are cut as [`message_frames`](super::fuzzer::message_frames) cuts them
/// (one frame, or frames of `fragment_size` with Autobahn's empty FIN frame after
/// a whole multiple), or given as one frame with its own FIN and RSV bits.
pub struct OutgoingFrames<'p> {
    payload: &'p Payload,
    /// Who sends the frames: a client masks them.
    sender: Role,
    opcode: Opcode,
    rsv: Rsv,
    /// The FIN bit of a single frame (fragmented messages set it on the last).
    fin: bool,
    fragment_size: Option<usize>,
    /// Start of the current frame's payload in the message.
    frame_start: usize,
    /// The current frame's header, and how much of it is written.
    header: Vec<u8>,
    header_done: usize,
    /// The current frame's payload length, key, and bytes written.
    frame_len: usize,
    key: Option<[u8; 4]>,
    payload_done: usize,
    finished: bool,
}

impl<'p> OutgoingFrames<'p> {
    /// The frames of a message of `payload`, fragmented as Autobahn's
    /// `sendMessage` does when `fragment_size` is given.
    pub fn message(
        sender: Role,
        opcode: Opcode,
        payload: &'p Payload,
        fragment_size: Option<usize>,
    ) -> Self {
        let fragment_size = fragment_size.filter(|&s| s > 0 && payload.len() > s);
        let mut frames = Self::new(sender, payload, opcode, Rsv::NONE, true, fragment_size);
        frames.start_frame();
        frames
    }

    /// One frame of `payload` with these bits, as Autobahn's `sendFrame` writes it.
    pub fn frame(sender: Role, opcode: Opcode, fin: bool, rsv: Rsv, payload: &'p Payload) -> Self {
        let mut frames = Self::new(sender, payload, opcode, rsv, fin, None);
        frames.start_frame();
        frames
    }

    fn new(
        sender: Role,
        payload: &'p Payload,
        opcode: Opcode,
        rsv: Rsv,
        fin: bool,
        fragment_size: Option<usize>,
    ) -> Self {
        OutgoingFrames {
            payload,
            sender,
            opcode,
            rsv,
            fin,
            fragment_size,
            frame_start: 0,
            header: Vec::new(),
            header_done: 0,
            frame_len: 0,
            key: None,
            payload_done: 0,
            finished: false,
        }
    }

    /// Prepares the frame that begins at `frame_start`.
    fn start_frame(&mut self) {
        let total = self.payload.len();
        let (len, fin, opcode) = match self.fragment_size {
            None => (total, self.fin, self.opcode),
            Some(size) => {
                let len = size.min(total - self.frame_start);
                let fin = self.frame_start + size > total;
                let opcode = if self.frame_start == 0 {
                    self.opcode
                } else {
                    Opcode::CONTINUATION
                };
                (len, fin, opcode)
            }
        };
        let mut header = FrameHeader::new(opcode, len as u64);
        header.fin = fin;
        header.rsv = self.rsv;
        self.key = mask_for(self.sender);
        header.mask = self.key;
        self.header.clear();
        // A header with the minimal length encoding always fits.
        let _ = header.write(&mut self.header);
        self.header_done = 0;
        self.frame_len = len;
        self.payload_done = 0;
    }

    /// Writes the next bytes into `out`; returns how many (0 once every frame is
    /// written).
    pub fn fill(&mut self, out: &mut [u8]) -> usize {
        let mut written = 0;
        while written < out.len() && !self.finished {
            if self.header_done < self.header.len() {
                let src = &self.header[self.header_done..];
                let n = src.len().min(out.len() - written);
                out[written..written + n].copy_from_slice(&src[..n]);
                self.header_done += n;
                written += n;
                continue;
            }
            if self.payload_done < self.frame_len {
                let want = (self.frame_len - self.payload_done).min(out.len() - written);
                let mut plain = [0u8; 4096];
                let want = want.min(plain.len());
                let n = self
                    .payload
                    .fill(self.frame_start + self.payload_done, &mut plain[..want]);
                let dest = &mut out[written..written + n];
                match self.key {
                    // Masking is the same XOR as unmasking (RFC 6455 §5.3).
                    Some(key) => {
                        copy_unmask(dest, &plain[..n], key, self.payload_done);
                    }
                    None => dest.copy_from_slice(&plain[..n]),
                }
                self.payload_done += n;
                written += n;
                if n == 0 {
                    self.finished = true;
                }
                continue;
            }
            // The frame is written: the next one, if any.
            match self.fragment_size {
                Some(size) if self.frame_start + size <= self.payload.len() => {
                    self.frame_start += size;
                    self.start_frame();
                }
                _ => self.finished = true,
            }
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::autobahn::fuzzer::message_frames;
    use pulsecheck_ws::{FrameConfig, Role, Status, StreamReader};

    /// Decodes frames from `sender` with the framing crate: (FIN, opcode,
    /// payload) each.
    fn decode_from(sender: Role, bytes: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
        let mut reader = StreamReader::new(
            FrameConfig::new(sender)
                .with_max_frame_payload(u64::MAX >> 1)
                .with_max_message_size(u64::MAX >> 1),
        );
        let mut buf = bytes.to_vec();
        let mut start = 0;
        let mut frames = Vec::new();
        loop {
            match reader.read(&mut buf[start..]) {
                Ok(Status::Complete((d, n))) => {
                    frames.push((d.header.fin, d.header.opcode.get(), d.payload.to_vec()));
                    start += n;
                }
                Ok(Status::Partial) => break,
                Err(v) => panic!("{v}"),
            }
        }
        assert_eq!(start, bytes.len(), "every byte is part of a frame");
        frames
    }

    fn decode(bytes: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
        decode_from(Role::Client, bytes)
    }

    fn all(mut frames: OutgoingFrames<'_>, piece: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; piece];
        loop {
            let n = frames.fill(&mut buf);
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn streamed_frames_carry_the_same_payloads_as_built_ones() {
        let payload = Payload::Repeat {
            pattern: b"BAsd7&jh23",
            len: 65_536 + 77,
        };
        let whole = payload.to_bytes();
        for fragment_size in [None, Some(1300), Some(65_613), Some(64)] {
            for sender in [Role::Client, Role::Server] {
                let built = message_frames(sender, Opcode::TEXT, &whole, fragment_size).concat();
                let built = decode_from(sender, &built);
                for piece in [1, 7, 4096, 1 << 20] {
                    let streamed = decode_from(
                        sender,
                        &all(
                            OutgoingFrames::message(sender, Opcode::TEXT, &payload, fragment_size),
                            piece,
                        ),
                    );
                    assert_eq!(
                        streamed, built,
                        "{sender} frames of {fragment_size:?}, pieces of {piece}"
                    );
                }
            }
        }
        // A single frame keeps its own bits, FIN clear included.
        let frame = OutgoingFrames::frame(Role::Client, Opcode::BINARY, false, Rsv::NONE, &payload);
        let frame = decode(&all(frame, 999));
        assert_eq!(frame, [(false, 2, whole.clone())]);
        // A length that is a multiple of the fragment size ends with an empty FIN frame.
        let exact = Payload::Bytes(vec![b'a'; 128]);
        let frames = OutgoingFrames::message(Role::Client, Opcode::TEXT, &exact, Some(64));
        let frames = decode(&all(frames, 10));
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2], (true, 0, Vec::new()));
    }

    #[test]
    fn a_payload_digested_in_pieces_equals_the_message_of_its_bytes() {
        let payload = Payload::Repeat {
            pattern: b"*",
            len: 3 * STREAM_ABOVE + 5,
        };
        let bytes = payload.to_bytes();
        assert_eq!(payload.message_data(), MessageData::of(&bytes));
        assert!(payload.message_data() == bytes);
        let mut other = bytes.clone();
        other[100_000] = b'+';
        assert!(payload.message_data() != other);
    }
}
