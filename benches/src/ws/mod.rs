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
//!   sockudo-ws run in a read loop that appends 128 KiB at a time ([`ours::READ_SIZE`],
//!   tungstenite's default read size) to a buffer reused across iterations, parses every
//!   complete frame in place, and keeps the incomplete tail for the next read (ours drops
//!   what its reader already copied of an incomplete text frame, `StreamReader::release`).
//!
//! Compare like with like: `pulsecheck` with `sockudo-ws`, and `pulsecheck (copy)` with
//! the copying peers. The floor (`floor`) copies and unmasks every payload and validates
//! every text message, with the frame boundaries known in advance (no header parsing): the
//! least a copying implementation can do.

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
        let len = black_box(text).as_ref().len();
        self.messages += 1;
        self.message_bytes += len;
        self.text_bytes += len;
    }

    /// Hands out a binary message.
    pub(crate) fn binary(&mut self, data: &[u8]) {
        let len = black_box(data).len();
        self.messages += 1;
        self.message_bytes += len;
    }
}

/// The function names in every `ws/<workload>` group, in the order the benchmark runs them.
pub const FUNCTIONS: [&str; 7] = [
    "pulsecheck",
    "pulsecheck (copy)",
    "tungstenite",
    "fastwebsockets",
    "sockudo-ws",
    "sockudo-ws (copy)",
    "floor",
];

/// Runs the implementation named `name` (one of [`FUNCTIONS`]) once over `workload`,
/// doing any untimed preparation (the fresh masked copy of the in-place ones) itself.
/// For tests and sanity checks; the benchmark calls the same run functions directly.
pub fn run_by_name(name: &str, workload: &Workload) -> Option<Summary> {
    let bytes = &workload.bytes;
    Some(match name {
        "pulsecheck" => ours::run_pulsecheck(&mut bytes.clone()),
        "pulsecheck (copy)" => ours::run_pulsecheck_copy(bytes, &mut Vec::new()),
        "tungstenite" => peers::run_tungstenite(bytes),
        "fastwebsockets" => peers::run_fastwebsockets(bytes),
        "sockudo-ws" => peers::run_sockudo(&mut peers::sockudo_input(bytes)),
        "sockudo-ws (copy)" => peers::run_sockudo_copy(bytes, &mut bytes::BytesMut::new()),
        "floor" => ours::run_floor(workload, &mut Vec::new()),
        _ => return None,
    })
}
