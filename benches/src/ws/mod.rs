//! WebSocket framing benchmarks: pulsecheck-ws beside the peer crates and the floor.
//!
//! The scenario is a server reading what a client sent: masked frames, from one in-memory
//! buffer holding the whole [`workloads::Workload`]. Every implementation does the same
//! work: parse every frame, unmask it, validate the UTF-8 of every text message (across
//! fragments), reassemble fragmented messages, and hand out every complete message, which
//! the adapter passes through [`std::hint::black_box`] and counts in a [`Summary`]. What
//! differs, and is written down at each adapter, is where the bytes are when parsing
//! starts:
//!
//! - **In place** (`pulsecheck`, `sockudo-ws`): the parser unmasks the caller's buffer,
//!   so every iteration needs a fresh masked copy. The benchmark makes it in criterion's
//!   untimed setup (`iter_batched_ref`), so these numbers exclude any copy.
//! - **Copying** (`tungstenite`, `fastwebsockets`, `pulsecheck (copy)`,
//!   `sockudo-ws (copy)`): the bytes are copied into the implementation's own buffer inside
//!   the timed loop, as a server's socket reads would: the peers read them through
//!   `std::io::Read` / tokio's `AsyncRead` (which is how they are built); ours and
//!   sockudo-ws run in the same read loop: it appends 128 KiB at a time
//!   ([`ours::READ_SIZE`], tungstenite's default read size) to a `BytesMut` reused across
//!   iterations, parses every complete frame in place, and keeps the incomplete tail for
//!   the next read (ours drops what its reader already copied of an incomplete text frame,
//!   `StreamReader::release`). Each loop reads from its own copy of the input, a
//!   [`ReadSource`] placed like its buffer (see there why).
//!
//! Compare like with like: `pulsecheck` with `sockudo-ws`, and `pulsecheck (copy)` with
//! the copying peers. The floor (`floor`) copies and unmasks every payload and validates
//! every text message, with the frame boundaries known in advance (no header parsing): the
//! least a copying implementation can do. `floor (in place)` does the same where the bytes
//! lie, without the copy: the bound of the in-place readers. On binary workloads it is the
//! in-place XOR of every payload byte and nothing else, so an in-place reader level with
//! it is at the machine's limit there, and so is a tie between two such readers.

pub mod ours;
pub mod peers;
pub mod workloads;

use std::hint::black_box;

use workloads::Workload;

/// What a run handed out: complete data messages and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Summary {
    /// Complete data messages (text and binary).
    pub messages: usize,
    /// Sum of the messages' payload lengths.
    pub message_bytes: usize,
    /// Sum of the text messages' payload lengths (handed out as validated text).
    pub text_bytes: usize,
}

impl Summary {
    /// What a correct server reports for `workload`.
    pub fn expected(workload: &Workload) -> Summary {
        Summary {
            messages: workload.messages,
            message_bytes: workload.message_bytes,
            text_bytes: workload.text_bytes,
        }
    }

    /// Hands out a text message: `text` is what the implementation validated, whatever its
    /// type (`&str`, or bytes it guarantees to be UTF-8).
    pub(crate) fn text<T: AsRef<[u8]> + ?Sized>(&mut self, text: &T) {
        self.text_of_len(black_box(text).as_ref().len());
    }

    /// Counts a text message of `len` bytes that was validated but not handed out as one
    /// slice (the in-place floor's fragmented messages).
    pub(crate) fn text_of_len(&mut self, len: usize) {
        self.binary_of_len(len);
        self.text_bytes += len;
    }

    /// Hands out a binary message.
    pub(crate) fn binary(&mut self, data: &[u8]) {
        self.binary_of_len(black_box(data).len());
    }

    /// Counts a message of `len` bytes not handed out as one slice.
    pub(crate) fn binary_of_len(&mut self, len: usize) {
        self.messages += 1;
        self.message_bytes += len;
    }
}

/// The function names in every `ws/<workload>` group, in the order the benchmark runs them.
pub const FUNCTIONS: [&str; 9] = [
    "pulsecheck",
    "pulsecheck (copy)",
    "tungstenite",
    "fastwebsockets",
    "sockudo-ws",
    "sockudo-ws (copy)",
    "sockudo-ws Protocol (copy)",
    "floor",
    "floor (in place)",
];

/// A read-loop function: reads `src` [`ours::READ_SIZE`] bytes at a time into the read
/// buffer (reused across calls), parsing every complete frame in place.
pub type ReadLoop = fn(src: &[u8], buf: &mut bytes::BytesMut) -> Summary;

/// The read loop of the implementation named `name`, if it is one of the three that share
/// the same loop and buffer (ours and the two sockudo-ws ones); each is benchmarked reading
/// from a [`ReadSource`] placed like its buffer.
pub fn read_loop(name: &str) -> Option<ReadLoop> {
    match name {
        "pulsecheck (copy)" => Some(ours::run_pulsecheck_copy),
        "sockudo-ws (copy)" => Some(peers::run_sockudo_copy),
        "sockudo-ws Protocol (copy)" => Some(peers::run_sockudo_protocol_copy),
        _ => None,
    }
}

/// Runs the implementation named `name` (one of [`FUNCTIONS`]) once over `workload`,
/// doing any untimed preparation (the fresh masked copy of the in-place ones) itself.
/// For tests and sanity checks; the benchmark calls the same run functions directly.
pub fn run_by_name(name: &str, workload: &Workload) -> Option<Summary> {
    let bytes = &workload.bytes;
    if let Some(run) = read_loop(name) {
        return Some(run(bytes, &mut bytes::BytesMut::new()));
    }
    Some(match name {
        "pulsecheck" => ours::run_pulsecheck(&mut bytes.clone()),
        "tungstenite" => peers::run_tungstenite(bytes),
        "fastwebsockets" => peers::run_fastwebsockets(bytes),
        "sockudo-ws" => peers::run_sockudo(&mut peers::sockudo_input(bytes)),
        "floor" => ours::run_floor(workload, &mut Vec::new()),
        "floor (in place)" => ours::run_floor_in_place(workload, &mut bytes.clone()),
        _ => return None,
    })
}

/// The input of a read loop, placed at the same address modulo 64 as the loop's read
/// buffer.
///
/// A read loop's copy (each "socket read" appends to the read buffer) is glibc's
/// `memmove`, whose speed depends on where the source and the destination lie relative
/// to each other within a cache line. Measured on `ws/16mib-binary` with the profile
/// driver: the same binary ran the `pulsecheck (copy)` loop in 430–440 µs when its read
/// buffer lay at the input's address modulo 64, and in 590–630 µs when it lay 32 bytes
/// off, which is what the heap chose when the binary's path was a few characters longer.
/// Left to the heap, the two read-loop rows compared heap layouts as much as parsers. So
/// every read loop reads from its own copy of the input, aligned like its buffer: both
/// loops then copy at the same relative alignment, at every size.
#[derive(Debug)]
pub struct ReadSource {
    storage: Vec<u8>,
    start: usize,
}

impl ReadSource {
    /// A copy of `input` at `buf`'s address modulo 64. `buf` is emptied and made to hold
    /// the whole input from the start of its allocation, where every run of a read loop
    /// starts writing (`BytesMut` moves back there when a run begins with its room used
    /// up, as each does after the first).
    pub fn aligned_to(input: &[u8], buf: &mut bytes::BytesMut) -> ReadSource {
        buf.clear();
        buf.reserve(input.len());
        let target = buf.as_ptr() as usize % 64;
        let mut storage = vec![0u8; input.len() + 64];
        let start = (target + 64 - storage.as_ptr() as usize % 64) % 64;
        storage[start..start + input.len()].copy_from_slice(input);
        storage.truncate(start + input.len());
        ReadSource { storage, start }
    }

    /// The input.
    pub fn bytes(&self) -> &[u8] {
        &self.storage[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_source_lies_like_its_buffer_and_holds_the_input() {
        let input: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for capacity in [0, 1, 100, 20_000] {
            let mut buf = bytes::BytesMut::with_capacity(capacity);
            buf.extend_from_slice(b"left over");
            let source = ReadSource::aligned_to(&input, &mut buf);
            assert_eq!(source.bytes(), &input[..]);
            assert!(buf.is_empty() && buf.capacity() >= input.len());
            assert_eq!(
                source.bytes().as_ptr() as usize % 64,
                buf.as_ptr() as usize % 64
            );
        }
    }
}
