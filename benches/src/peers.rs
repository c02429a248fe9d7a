//! Adapters that drive each peer SSE crate through the same work.
//!
//! Every peer gets its input from [`Peer::prepare`], called outside the timed
//! region, and parses it in [`Peer::run`], which is what a benchmark times.
//! `run` feeds the prepared chunks in order, and for every dispatched event
//! touches its type, data and id as `&str` through [`std::hint::black_box`],
//! as a user reading the event would, then drops it. An error ends the run, as
//! `while let Some(Ok(event)) = stream.next().await` would.
//!
//! # Input
//!
//! [`Prepared`] holds the chunks as [`Bytes`] that point into one leaked,
//! `'static` copy of the stream (interned, so a stream is leaked once however
//! often it is prepared). Cloning such a `Bytes` copies a pointer and a length,
//! with no reference count, so no peer pays for a copy or an atomic operation
//! its caller would not otherwise make: peers that take `AsRef<[u8]>` or `Buf`
//! get `&[u8]` items; only `sseer` (which wants `Into<Bytes>`) gets `Bytes`.
//!
//! # Driving the async peers
//!
//! The `Stream`-based peers run under `futures::executor::block_on`, one
//! `while let Some(item) = stream.next().await` loop over a
//! `futures::stream::iter` of the chunks. That source is never `Pending`, so
//! the whole run is a single poll of one future and each item costs the peer's
//! own `poll_next` plus one slice-iterator step. A hand-written loop polling
//! with `Waker::noop()` does the same per item; measured on `sse-stream` with
//! identical loop bodies (`tiny`, 1 MiB) it was about 3% *slower* than
//! `block_on`, so `block_on` it is.

use std::convert::Infallible;
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::pin::pin;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::workloads::{LineEnding, Workload};

/// What a run saw: events dispatched and their decoded data bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Summary {
    /// Events handed to the user (WHATWG: blocks with a non-empty data buffer).
    pub events: usize,
    /// Sum of the events' `data` lengths in bytes.
    pub data_bytes: usize,
}

impl Summary {
    /// What a correct WHATWG parser reports for `workload`.
    pub fn expected(workload: &Workload) -> Summary {
        Summary {
            events: workload.events,
            data_bytes: workload.data_bytes,
        }
    }

    fn add(&mut self, data: &str) {
        self.events += 1;
        self.data_bytes += data.len();
    }
}

/// A peer's input, built outside the timed region.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The chunks in order, each a view into one `'static` buffer: cloning one
    /// is a plain copy of a pointer and a length.
    pub chunks: Vec<Bytes>,
}

/// A known, documented way a peer's result differs from WHATWG on a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    /// The summary the peer is known to report instead of the correct one.
    pub summary: Summary,
    /// Why.
    pub reason: &'static str,
}

/// One peer crate, driven uniformly.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The crate's name and version, e.g. `sse-core 0.2.3`.
    pub name: &'static str,
    /// Builds the peer's input from the chunk list (not timed).
    pub prepare: fn(&[&[u8]]) -> Prepared,
    /// Parses the prepared chunks in order and touches every event (timed).
    pub run: fn(&Prepared) -> Summary,
    /// `Some` where the peer is known to report something other than
    /// [`Summary::expected`] for the workload, whatever the chunking.
    pub known_deviation: fn(&Workload) -> Option<Known>,
    /// `Some(why)` where a run is known to be far too slow for a benchmark
    /// (super-linear in the input): the harness should skip that combination
    /// or use a smaller input, and say so.
    pub pathological: fn(&Workload, Option<usize>) -> Option<&'static str>,
}

/// Every peer, in a fixed order.
pub fn all() -> Vec<Peer> {
    vec![EVENTSOURCE_STREAM, SSE_STREAM, SSE_CORE, SSEER]
}

/// Leaks one copy of the concatenated chunks, once per distinct content.
fn intern(chunks: &[&[u8]]) -> &'static [u8] {
    static CACHE: Mutex<Vec<&'static [u8]>> = Mutex::new(Vec::new());
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    let same = |cached: &[u8]| {
        cached.len() == total && {
            let mut rest = cached;
            chunks.iter().all(|c| {
                let (head, tail) = rest.split_at(c.len());
                rest = tail;
                head == *c
            })
        }
    };
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(hit) = cache.iter().find(|cached| same(cached)) {
        return hit;
    }
    let leaked: &'static [u8] = Box::leak(chunks.concat().into_boxed_slice());
    cache.push(leaked);
    leaked
}

/// The common [`Peer::prepare`]: `'static` [`Bytes`] views with the same boundaries.
pub fn prepare_static_bytes(chunks: &[&[u8]]) -> Prepared {
    let all = Bytes::from_static(intern(chunks));
    let mut at = 0;
    let chunks = chunks
        .iter()
        .map(|c| {
            let piece = all.slice(at..at + c.len());
            at += c.len();
            piece
        })
        .collect();
    Prepared { chunks }
}

/// The chunks as a never-pending stream of `Ok(&[u8])`.
fn slices(prepared: &Prepared) -> impl Stream<Item = Result<&[u8], Infallible>> + '_ {
    futures::stream::iter(prepared.chunks.iter().map(|c| Ok(&c[..])))
}

/// Runs `stream` to the end under `block_on`, handing each item to `each`;
/// stops early when `each` returns `false`.
fn drain<S: Stream>(stream: S, mut each: impl FnMut(S::Item) -> bool) {
    futures::executor::block_on(async move {
        let mut stream = pin!(stream);
        while let Some(item) = stream.next().await {
            if !each(item) {
                break;
            }
        }
    });
}

fn never(_: &Workload) -> Option<Known> {
    None
}

fn never_slow(_: &Workload, _: Option<usize>) -> Option<&'static str> {
    None
}

/// `eventsource-stream` 0.2.3: `stream.eventsource()` / `EventStream::new` over
/// `Stream<Item = Result<impl AsRef<[u8]>, E>>`; fed `&[u8]` items.
///
/// Per event it returns `Event { event: String, data: String, id: String,
/// retry: Option<Duration> }`: type defaulted to `message`, `id` carried over
/// from earlier events (WHATWG's last event ID), only events with data.
///
/// Known deviations:
/// - Lone CR endings (`*/cr`): a CR at the end of its buffer is held back
///   (it might start a CRLF) and is never resolved at end of stream, so the
///   blank line ending the final event is never seen and the final event is
///   lost: one event and [`Workload::last_data_bytes`] fewer.
///
/// Costs worth knowing when reading its numbers: every chunk is copied into a
/// fresh `String` (UTF-8 check) and appended to a `String` buffer; the parser
/// is `nom` over `char`s; every parsed line removes itself from the front of
/// the buffer with `String::split_off`, which copies the rest of the buffer,
/// so a buffer holding *n* bytes and *k* lines costs O(n·k) (quadratic with
/// one big chunk); and an incomplete line is re-scanned from its start on every
/// new chunk, so a long line in small chunks is also quadratic.
pub const EVENTSOURCE_STREAM: Peer = Peer {
    name: "eventsource-stream 0.2.3",
    prepare: prepare_static_bytes,
    run: run_eventsource_stream,
    known_deviation: eventsource_stream_deviation,
    pathological: eventsource_stream_pathological,
};

fn run_eventsource_stream(prepared: &Prepared) -> Summary {
    let mut summary = Summary::default();
    let stream = eventsource_stream::EventStream::new(slices(prepared));
    drain(stream, |item| match item {
        Ok(event) => {
            black_box(event.event.as_str());
            black_box(event.data.as_str());
            black_box(event.id.as_str());
            summary.add(&event.data);
            true
        }
        Err(_) => false,
    });
    summary
}

fn eventsource_stream_deviation(workload: &Workload) -> Option<Known> {
    (workload.ending == LineEnding::Cr && workload.events > 0).then(|| Known {
        summary: Summary {
            events: workload.events - 1,
            data_bytes: workload.data_bytes - workload.last_data_bytes,
        },
        reason: "a CR at the end of the input is held back as a possible CRLF and never \
                 resolved at end of stream, so the final event's blank line is lost",
    })
}

/// Line count and longest line (without terminator) of `bytes`; CRLF is one terminator.
fn line_stats(bytes: &[u8]) -> (usize, usize) {
    let (mut lines, mut longest, mut start, mut i) = (0, 0, 0, 0);
    while let Some(at) = memchr::memchr2(b'\n', b'\r', &bytes[i..]) {
        let end = i + at;
        lines += 1;
        longest = longest.max(end - start);
        i = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
        start = i;
    }
    (lines, longest.max(bytes.len() - start))
}

/// Bytes `eventsource-stream` may move with `String::split_off` in one run
/// before it is flagged: measured at about 38 GB/s, so about 1 s.
const SPLIT_OFF_BUDGET: u128 = 32_000_000_000;
/// Characters `eventsource-stream` may re-scan (an incomplete line, from its
/// start, on every chunk) in one run before it is flagged: measured at about
/// 1 ns each, so about 1 s.
const RESCAN_BUDGET: u128 = 1_000_000_000;

/// Estimates `eventsource-stream`'s two super-linear costs for this input.
/// Measured in release on the 1 MiB workloads (this machine, 2 cores): whole
/// buffer `llm` and `multiline` ~0.16 s per run (400× the chunked cost, but
/// measurable), `tiny` ~2 s; `line1mib` in 1460-byte chunks ~0.37 s, in 64-byte
/// chunks ~8.3 s. Flags what exceeds about 1 s per run.
fn eventsource_stream_pathological(
    workload: &Workload,
    chunk: Option<usize>,
) -> Option<&'static str> {
    let (lines, longest) = line_stats(&workload.bytes);
    let len = workload.bytes.len();
    match chunk {
        // Each parsed line copies the rest of the buffer: about lines × len / 2.
        None if lines as u128 * len as u128 / 2 > SPLIT_OFF_BUDGET => Some(
            "whole buffer in one chunk: every parsed line copies the rest of the buffer \
             (String::split_off), O(bytes × lines); ~2 s per run on tiny at 1 MiB",
        ),
        // An incomplete line is re-parsed from its start on every chunk: about longest² / 2c.
        Some(c) if (longest as u128).pow(2) / (2 * c.max(1) as u128) > RESCAN_BUDGET => Some(
            "a long line in small chunks is re-parsed from its start on every chunk, \
             O(line² / chunk); ~8 s per run on line1mib in 64-byte chunks",
        ),
        _ => None,
    }
}

/// `sse-stream` 0.3.0 (default features `memchr`, `simdutf8`):
/// `SseByteStream::new` over a `TryStream` whose items are `Buf`; fed `&[u8]`
/// items (a `Buf` with no copy).
///
/// Per block it returns `Sse { event, data, id: Option<String>, retry:
/// Option<u64> }` — raw blocks, including metadata-only ones (`data: None`),
/// with no default type and no id carried between blocks. The adapter does what
/// a user after WHATWG semantics would: it counts only blocks with
/// `data: Some(_)`, uses `message` when `event` is `None`, and keeps the last
/// id itself (moving the `String`, no copy).
///
/// Known deviations on these workloads: none.
pub const SSE_STREAM: Peer = Peer {
    name: "sse-stream 0.3.0",
    prepare: prepare_static_bytes,
    run: run_sse_stream,
    known_deviation: never,
    pathological: never_slow,
};

fn run_sse_stream(prepared: &Prepared) -> Summary {
    let mut summary = Summary::default();
    let mut last_id: Option<String> = None;
    let stream = sse_stream::SseByteStream::new(slices(prepared));
    drain(stream, |item| match item {
        Ok(block) => {
            if block.id.is_some() {
                last_id = block.id;
            }
            if let Some(data) = block.data {
                black_box(block.event.as_deref().unwrap_or("message"));
                black_box(data.as_str());
                black_box(last_id.as_deref().unwrap_or(""));
                summary.add(&data);
            }
            true
        }
        Err(_) => false,
    });
    summary
}

/// The payload limit the `sse-core` adapter sets (its default is 512 KiB).
pub const SSE_CORE_LIMIT: usize = 64 << 20;

/// `sse-core` 0.2.3: the synchronous `SseDecoder::next(&mut impl Buf)`, fed
/// each chunk as a `&[u8]` (a `Buf`), called until it returns `None`. The
/// crate's `SseStream` wraps this same decoder; the adapter skips that layer,
/// as a user who owns the read loop would.
///
/// Per event it returns `SseEvent::Message(MessageEvent { event:
/// Cow<'static, str>, data: String, last_event_id: Option<Arc<str>> })` (type
/// `message` borrowed, id carried over as a shared `Arc`), or
/// `SseEvent::Retry(u32)`, which the adapter skips.
///
/// The decoder rejects any event whose data exceeds a payload limit, 512 KiB
/// by default, which `line1mib/*` (1 MiB) would hit; the adapter builds it with
/// `SseDecoder::with_limit(`[`SSE_CORE_LIMIT`]`)`, as a user expecting big
/// events must. Known deviations on these workloads: none.
pub const SSE_CORE: Peer = Peer {
    name: "sse-core 0.2.3",
    prepare: prepare_static_bytes,
    run: run_sse_core,
    known_deviation: never,
    pathological: never_slow,
};

fn run_sse_core(prepared: &Prepared) -> Summary {
    let limit = NonZeroUsize::new(SSE_CORE_LIMIT).unwrap_or(NonZeroUsize::MIN);
    let mut decoder = sse_core::SseDecoder::with_limit(limit);
    let mut summary = Summary::default();
    for chunk in &prepared.chunks {
        let mut buf: &[u8] = chunk;
        while let Some(item) = decoder.next(&mut buf) {
            match item {
                Ok(sse_core::SseEvent::Message(message)) => {
                    black_box(&*message.event);
                    black_box(message.data.as_str());
                    black_box(message.last_event_id.as_deref().unwrap_or(""));
                    summary.add(&message.data);
                }
                Ok(sse_core::SseEvent::Retry(_)) => {}
                Err(_) => return summary,
            }
        }
    }
    summary
}

/// `sseer` 0.3.1 (no features; `memchr` and `bytes` get `std` from the rest of
/// the build anyway): `EventStream::new` over `Stream<Item = Result<impl
/// Into<Bytes>, E>>`; fed `Bytes` items (clones of the `'static` views: no
/// copy, no reference count).
///
/// Per event it returns `Event { event: Str, data: Str, id: Str, retry:
/// Option<Duration> }`, where `Str` is `bytes_utils::Str`, a UTF-8 checked
/// `Bytes`: a single-line `data` is a zero-copy slice of the input when the
/// line did not straddle chunks; type defaults to `message`, id carried over.
/// The adapter touches them as `&str` (a deref).
///
/// Known deviations on these workloads: none.
pub const SSEER: Peer = Peer {
    name: "sseer 0.3.1",
    prepare: prepare_static_bytes,
    run: run_sseer,
    known_deviation: never,
    pathological: never_slow,
};

fn run_sseer(prepared: &Prepared) -> Summary {
    let mut summary = Summary::default();
    let source = futures::stream::iter(
        prepared
            .chunks
            .iter()
            .map(|c| Ok::<_, Infallible>(c.clone())),
    );
    let stream = sseer::EventStream::new(source);
    drain(stream, |item| match item {
        Ok(event) => {
            black_box(&*event.event);
            black_box(&*event.data);
            black_box(&*event.id);
            summary.add(&event.data);
            true
        }
        Err(_) => false,
    });
    summary
}
