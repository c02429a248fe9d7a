//! One memory budget per run: what pulsecheck keeps of what a peer sends, and
//! why no peer can make it keep more.
//!
//! A conformance tool is pointed at servers that are broken by definition, so
//! every byte it keeps is bounded by construction, not by the peer's good
//! manners. The target is **64 MiB of peak resident memory for any single run**
//! (`probe` of an SSE or WebSocket endpoint, clean or hostile, and `decode`), and
//! **16 MiB for the report of any hostile run** measured: `conformance/tests/hostile.rs` runs the binary
//! against flooding, stalling and lying servers and holds it to both numbers. By
//! construction, a report of the largest run (every probe suite, 586 checks, each
//! failing with its evidence at its largest, every byte a control character) stays
//! under 32 MiB.
//!
//! # What is kept, and where it is bounded
//!
//! | what | bound | where |
//! |---|---|---|
//! | an SSE observation's body bytes, for transcripts | [`Capture::MAX_KEPT_BYTES`](crate::sse::capture::Capture::MAX_KEPT_BYTES), taken from [`PEER_BYTES`] | `sse::capture` |
//! | the items a client saw (events, comments, ignored lines) | [`Capture::MAX_KEPT_ITEMS`](crate::sse::capture::Capture::MAX_KEPT_ITEMS) items, taken from [`PEER_BYTES`]; the rest counted | `sse::capture` |
//! | event ids, for `sse/ids/unique` | [`IdStats::WINDOW`](crate::sse::capture::IdStats::WINDOW) ids twice over (see there for what is judged) | `sse::capture` |
//! | a line or an event being parsed | 1 MiB and 4 MiB (beyond them the check fails) | `sse::capture` |
//! | the events replayed after a reconnection | 1 MiB of their text (more than the missed events a capture keeps) | `sse::checks` |
//! | a WebSocket connection's read buffer | one read (16 KiB) and a partial header or control frame: data frames are streamed | `ws::connection` |
//! | a WebSocket data message | its length, a digest and its first [`MessageData::HEAD`](crate::ws::connection::MessageData::HEAD) bytes, however large: echoes are compared by length and digest as they stream | `ws::connection` |
//! | what a probe sends | generated and masked in pieces of 64 KiB, never held whole; large messages take their size from [`MESSAGES_IN_FLIGHT`] (16 MiB across all cases) | `ws::autobahn` |
//! | compressed messages reused across compression cases | one ring of [`reuse::CAPACITY`](crate::ws::autobahn::reuse::CAPACITY) (4 MiB) and the digests of [`reuse::SENT_KEPT`](crate::ws::autobahn::reuse::SENT_KEPT) sent messages, for the whole run | `ws::autobahn::reuse` |
//! | the events an Autobahn case records | [`MAX_RECORDED_EVENTS`]; a server that sends more fails the case, and the rest is counted | `ws::autobahn::fuzzer` |
//! | a transcript | [`Transcript::MAX_BYTES`](crate::check::Transcript::MAX_BYTES) of text in [`Transcript::MAX_ENTRIES`](crate::check::Transcript::MAX_ENTRIES) entries; the rest counted ("… 6.7M more entries not shown") | `check` |
//! | one check's result | [`MAX_MESSAGE_BYTES`], [`MAX_EXPECTED_BYTES`], [`MAX_ACTUAL_BYTES`] and one transcript, whatever the check produced | `runner` |
//! | a report | the checks' results: with at most [`MAX_RESULT_BYTES`] each (escaping included), the 586 checks of a run without a URL stay under 32 MiB, with room for a fifth more | `report` |
//! | `decode sse` / `decode ws` input | read in 64 KiB pieces, files like pipes; the parser holds one line and one event, the frame reader one message | `decode` |
//!
//! # Limits counted across checks
//!
//! Checks run concurrently (`--jobs`, 32 by default), so a bound per connection
//! is multiplied by the connections open at once. What a check may keep of the
//! peer's bytes for evidence is therefore taken from one budget shared by the
//! whole run, [`PEER_BYTES`]: a check that finds it spent keeps a summary
//! (counts, lengths, digests) instead, which is all any verdict depends on. The
//! rest is a small constant per connection (a read buffer, a frame header, a
//! parser state), so the total does not grow with what peers send, only with
//! `--jobs`.
//!
//! Large messages the probe sends are counted across cases too
//! ([`MESSAGES_IN_FLIGHT`]): the peer must hold each to echo it.
//!
//! # Measured
//!
//! Peak RSS of the release build (GNU time), on loopback: a clean `probe` of
//! `pulsecheck serve ws` 11 MiB (it was 88–97 MiB); `probe` without a URL, which
//! runs the reference servers in the same process, 50 MiB (165 MiB) — the
//! reference WebSocket server holds each message it echoes, so its share is the
//! 16 MiB in flight, buffered; a server flooding tiny events 12 MiB (1 GiB), tiny
//! frames and pings 13 MiB with a 718 KB report (929 MiB, 257 MB); `decode ws`
//! of a 1 GiB file whose first byte is wrong 6 MiB, at once (2 GiB, after reading
//! it all). `conformance/tests/hostile.rs` has the rest.

use tokio::sync::{Semaphore, SemaphorePermit};

/// The peer bytes all checks of a run together may keep for evidence and
/// transcripts (see the module docs).
pub static PEER_BYTES: Budget = Budget::new(8 << 20);

/// The bytes of large messages the probe sends at once, across all concurrent
/// cases: a server holds a message to echo it, so sixteen 16 MiB cases at once
/// would ask it for 256 MiB (and a reference server run in the same process would
/// count against this run's budget). A case that moves a megabyte or more takes
/// what it sends before it starts ([`Budget::take`]).
pub static MESSAGES_IN_FLIGHT: Budget = Budget::new(16 << 20);

/// The most events one Autobahn case records; a case expects a handful.
pub const MAX_RECORDED_EVENTS: usize = 1_000;

/// The longest one-line message a check result keeps.
pub const MAX_MESSAGE_BYTES: usize = 512;

/// The longest `expected` text a check result keeps.
pub const MAX_EXPECTED_BYTES: usize = 1024;

/// The longest `actual` text a check result keeps.
pub const MAX_ACTUAL_BYTES: usize = 1024;

/// The most bytes one check result takes in any report format: its texts and
/// notes with every byte a control character (`\u0001` in JSON: 6 bytes each),
/// its transcript's escaped bytes with every backslash escaped again in JSON, 64
/// bytes of fields per transcript entry, and 4 KiB for the fixed parts (ID,
/// title, requirement, facts).
pub const MAX_RESULT_BYTES: usize = 6
    * (MAX_MESSAGE_BYTES
        + MAX_EXPECTED_BYTES
        + MAX_ACTUAL_BYTES
        + crate::check::Transcript::MAX_NOTES_BYTES)
    + 2 * crate::check::Transcript::MAX_BYTES
    + 64 * crate::check::Transcript::MAX_ENTRIES
    + 4 * 1024;

/// A number of bytes shared by concurrent users: each takes what it keeps and
/// gives it back when done (see [`Lease`]).
#[derive(Debug)]
pub struct Budget {
    bytes: Semaphore,
    total: usize,
}

/// Bytes taken from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Lease {
    permit: Option<SemaphorePermit<'static>>,
}

impl Budget {
    /// A budget of `bytes` (at most `u32::MAX`).
    pub const fn new(bytes: usize) -> Self {
        Budget {
            bytes: Semaphore::const_new(bytes),
            total: bytes,
        }
    }

    /// Takes `bytes` if that many are left, without waiting: a check that cannot
    /// have them keeps a summary instead.
    pub fn try_take(&'static self, bytes: usize) -> Option<Lease> {
        let n = u32::try_from(bytes).ok()?;
        self.bytes.try_acquire_many(n).ok().map(|permit| Lease {
            permit: Some(permit),
        })
    }

    /// Takes `bytes` (at most the whole budget), waiting until that many are
    /// free: for work that needs its share before it can start.
    pub async fn take(&'static self, bytes: usize) -> Lease {
        let n = u32::try_from(bytes).unwrap_or(u32::MAX);
        // The whole budget at most, so that any request can be met eventually.
        let n = n.min(u32::try_from(self.total).unwrap_or(u32::MAX));
        match self.bytes.acquire_many(n).await {
            Ok(permit) => Lease {
                permit: Some(permit),
            },
            // The semaphores here are never closed.
            Err(_) => Lease::empty(),
        }
    }

    /// The bytes left right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

impl Lease {
    /// A lease of nothing, to grow with [`Lease::merge`].
    pub fn empty() -> Self {
        Lease { permit: None }
    }

    /// How many bytes this lease holds.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits())
    }

    /// Adds `other`'s bytes to this lease (both must come from the same budget).
    pub fn merge(&mut self, other: Lease) {
        match (&mut self.permit, other.permit) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }
}

/// Cuts `text` to at most `max` bytes (on a character boundary), saying how much
/// was left out: what a bounded result keeps of a long text.
pub fn truncate(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let left_out = text.len() - cut;
    text.truncate(cut);
    text.push_str(&format!(" … ({left_out} more bytes not kept)"));
}

/// A count for people: `812`, `48.1K`, `6.7M`, `1.2G`.
pub fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}G", n as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SMALL: Budget = Budget::new(100);

    #[test]
    fn a_budget_is_shared_and_given_back() {
        let a = SMALL.try_take(60).expect("60 of 100");
        assert!(SMALL.try_take(60).is_none(), "only 40 left");
        let mut b = SMALL.try_take(40).expect("the other 40");
        assert_eq!(SMALL.available(), 0);
        drop(a);
        b.merge(SMALL.try_take(10).expect("10 of the 60 given back"));
        assert_eq!(b.bytes(), 50);
        drop(b);
        assert_eq!(SMALL.available(), 100);
        assert!(SMALL.try_take(usize::MAX).is_none());
    }

    #[test]
    fn truncation_keeps_characters_whole_and_says_what_it_left_out() {
        let mut s = "é".repeat(10);
        truncate(&mut s, 5);
        assert_eq!(s, "éé … (16 more bytes not kept)");
        let mut short = "ok".to_owned();
        truncate(&mut short, 5);
        assert_eq!(short, "ok");
    }

    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(count(812), "812");
        assert_eq!(count(48_123), "48.1K");
        assert_eq!(count(6_700_000), "6.7M");
        assert_eq!(count(1_200_000_000), "1.2G");
    }

    #[test]
    fn a_report_of_every_check_at_its_largest_fits_in_32_mib() {
        // The SSE and WebSocket suites together (the largest run), with room
        // for a fifth more checks.
        let checks = crate::sse::checks::CHECKS.len() + crate::ws::all_checks().len();
        assert!(
            checks * 6 / 5 * MAX_RESULT_BYTES < 32 << 20,
            "{checks} checks"
        );
    }
}
