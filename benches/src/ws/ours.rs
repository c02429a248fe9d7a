//! pulsecheck-ws, and the floor, driven through the same work as the peers.
//!
//! [`run_pulsecheck`] is what a library user writes: a [`StreamReader`] for client frames
//! (`Role::Client`: every frame must be masked) over the buffer, one `read` per frame,
//! every [`Assembled::Message`] handed out as `&str` (text, validated) or `&[u8]`
//! (binary). Per frame the reader checks the header against every RFC 6455 rule. An
//! unfragmented message is unmasked in place ([`pulsecheck_ws::unmask`]) and returned
//! borrowing the payload (no copy), a text one validated in one pass; a fragment is copied
//! into the assembler's buffer and unmasked in the same pass, and its text validated as it
//! lands there (so an invalid byte fails at its fragment), which is the only validation
//! the message gets. Because it unmasks in place, it needs a fresh masked copy every
//! iteration: the benchmark makes it untimed.
//!
//! [`run_pulsecheck_copy`] is the same reader in the read loop of a server, with the copy
//! timed: [`READ_SIZE`] bytes at a time are appended to a `BytesMut` (reused across
//! iterations, as a connection reuses its read buffer), every complete frame in it is
//! read in place, and the consumed front is dropped (`advance`). It is the same buffer,
//! driven by the same calls, as the sockudo-ws loop ([`super::peers::run_sockudo_copy`]),
//! so the two rows differ only in the parser: `BytesMut` moves the unconsumed tail (an
//! incomplete frame) to the front of its allocation only when the room behind it runs
//! out. A text frame that straddles a read is copied into the reader's message buffer as
//! its bytes arrive (unmasked and validated on the way, so an invalid byte fails before
//! the frame is complete, and text is only ever handed out from bytes validated where
//! they lie); the loop drops those bytes at once ([`StreamReader::release`]). With
//! 64 KiB frames that is about every other frame.
//!
//! [`run_floor`] is the least any copying server can do with the same bytes: copy and
//! unmask every payload once ([`copy_unmask`]) into a reused message buffer, where the
//! fragments of a message land next to each other, and validate every text message once
//! with the fastest validator we know ([`pulsecheck_ws::str_from_utf8`]: AVX-512 where the
//! CPU has it, else simdutf8). No header parsing: the frame boundaries, keys and
//! message kinds come from the generator ([`Workload::frames`]).

use bytes::{Buf, BytesMut};
use pulsecheck_ws::{
    Assembled, FrameConfig, MessageKind, Role, Status, StreamReader, Utf8Validator, copy_unmask,
    unmask,
};

use super::Summary;
use super::workloads::{MAX_SIZE, Workload};

/// The reader's configuration: frames sent by a client, limits at [`MAX_SIZE`].
pub fn config() -> FrameConfig {
    FrameConfig::new(Role::Client)
        .with_max_frame_payload(MAX_SIZE as u64)
        .with_max_message_size(MAX_SIZE as u64)
}

/// Parses the masked frames in `buf` with [`StreamReader`], unmasking them in place, and
/// hands out every message. Stops at the end of the buffer or at the first violation.
pub fn run_pulsecheck(buf: &mut [u8]) -> Summary {
    let mut reader = StreamReader::new(config());
    let mut summary = Summary::default();
    let mut start = 0;
    while let Some(rest) = buf.get_mut(start..) {
        let Ok(Status::Complete((frame, used))) = reader.read(rest) else {
            break;
        };
        if let Assembled::Message(message) = frame.event {
            match (message.kind(), message.text()) {
                (MessageKind::Text, Some(text)) => summary.text(text),
                (MessageKind::Text, None) => break, // never: no extension is negotiated
                (MessageKind::Binary, _) => summary.binary(message.data()),
            }
        }
        start += used;
    }
    summary
}

/// How much one "socket read" of the copying variants appends: tungstenite's default
/// `read_buffer_size`.
pub const READ_SIZE: usize = 128 << 10;

/// [`run_pulsecheck`] in a read loop: `src` is copied [`READ_SIZE`] bytes at a time into
/// `buf` (reused across calls: after the first call no read allocates), every complete
/// frame is read in place, and what was consumed is dropped from the front of `buf`.
pub fn run_pulsecheck_copy(src: &[u8], buf: &mut BytesMut) -> Summary {
    let mut reader = StreamReader::new(config());
    let mut summary = Summary::default();
    buf.clear();
    for read in src.chunks(READ_SIZE) {
        buf.extend_from_slice(read);
        let mut start = 0;
        while let Some(rest) = buf.get_mut(start..) {
            match reader.read(rest) {
                Ok(Status::Complete((frame, used))) => {
                    if let Assembled::Message(message) = frame.event {
                        match (message.kind(), message.text()) {
                            (MessageKind::Text, Some(text)) => summary.text(text),
                            (MessageKind::Text, None) => return summary, // never: no extension
                            (MessageKind::Binary, _) => summary.binary(message.data()),
                        }
                    }
                    start += used;
                }
                Ok(Status::Partial) => {
                    // What the reader copied of an incomplete text frame need not be kept.
                    start += reader.release();
                    break;
                }
                Err(_) => return summary,
            }
        }
        buf.advance(start);
    }
    summary
}

/// Copies and unmasks every payload of `workload` into a message buffer, `scratch`, and
/// validates every text message (with [`pulsecheck_ws::str_from_utf8`]) once its last
/// fragment is in. `scratch` is reused across calls, so it stays in cache; it is sized
/// once, on the first call, to the largest message.
pub fn run_floor(workload: &Workload, scratch: &mut Vec<u8>) -> Summary {
    let mut summary = Summary::default();
    let mut at = 0;
    for frame in &workload.frames {
        let Some(src) = workload.bytes.get(frame.payload.clone()) else {
            break;
        };
        if scratch.len() < at + src.len() {
            scratch.resize(at + src.len(), 0); // only while the first run sizes it
        }
        let Some(dst) = scratch.get_mut(at..at + src.len()) else {
            break;
        };
        at += copy_unmask(dst, src, frame.mask, 0);
        if frame.fin {
            let message = &scratch[..at];
            if frame.text {
                if !is_utf8(message) {
                    break;
                }
                summary.text(message);
            } else {
                summary.binary(message);
            }
            at = 0;
        }
    }
    summary
}

/// The in-place floor: unmasks every payload of `workload` where it lies in `buf` (a fresh
/// masked copy of `workload.bytes`) and validates every text message once: a message in
/// one frame with [`pulsecheck_ws::str_from_utf8`], a fragmented one fragment by fragment
/// with a [`Utf8Validator`]. A fragmented message is not assembled (its fragments stay
/// where they are, apart), only counted. No header parsing: the frame boundaries, keys and message
/// kinds come from the generator. For a binary workload this is the XOR of every payload
/// byte in place and nothing else, the least an in-place reader can do; for text it is two
/// passes (unmask, then validate), where our reader makes one.
pub fn run_floor_in_place(workload: &Workload, buf: &mut [u8]) -> Summary {
    let mut summary = Summary::default();
    // The open fragmented message: its validator (text only) and its length so far.
    let mut open: Option<(Option<Utf8Validator>, usize)> = None;
    for frame in &workload.frames {
        let Some(payload) = buf.get_mut(frame.payload.clone()) else {
            break;
        };
        unmask(payload, frame.mask, 0);
        let payload: &[u8] = payload;
        if open.is_none() && frame.fin {
            if !frame.text {
                summary.binary(payload);
            } else if is_utf8(payload) {
                summary.text(payload);
            } else {
                break;
            }
            continue;
        }
        let (validator, len) = open.get_or_insert_with(|| (frame.text.then(Utf8Validator::new), 0));
        *len += payload.len();
        if let Some(v) = validator
            && v.feed(payload).is_err()
        {
            break;
        }
        if frame.fin {
            match open.take() {
                Some((Some(v), len)) if v.finish().is_ok() => summary.text_of_len(len),
                Some((None, len)) => summary.binary_of_len(len),
                _ => break,
            }
        }
    }
    summary
}

/// UTF-8 validity with the fastest check we know: pulsecheck-ws's own (AVX-512 where
/// the CPU has it, else simdutf8), which is also what our reader validates with.
fn is_utf8(bytes: &[u8]) -> bool {
    pulsecheck_ws::str_from_utf8(bytes).is_some()
}
