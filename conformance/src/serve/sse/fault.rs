//! The violations the reference server can commit on request, one per check of the
//! SSE suite, so every check can be shown to fail (or warn) on the fault it exists
//! to catch.

use core::fmt;
use core::str::FromStr;
use std::time::Duration;

use crate::serve::UnknownFault;

/// How many events every content fault leaves alone between two it spoils: the
/// first event a connection sends and every fourth after it carry the fault, so a
/// probe reading a handful of events always meets one.
pub(crate) const AFFLICT_EVERY: u64 = 4;

/// How many live events [`Fault::NoHeartbeat`] and [`Fault::SlowHeartbeat`] send
/// on a connection before they go quiet, so that the silence a missing heartbeat
/// leaves is not filled by events.
pub(crate) const QUIET_AFTER: u64 = 3;

/// The heartbeat period of [`Fault::SlowHeartbeat`].
pub(crate) const SLOW_HEARTBEAT: Duration = Duration::from_secs(45);

/// How many bytes [`Fault::Buffered`] holds before it lets anything out.
pub(crate) const BUFFER_BYTES: usize = 8 * 1024;

/// How many live events [`Fault::CutsLastEvent`] and [`Fault::RetryInDroppedBlock`]
/// send before they end the response, when the request gave no `?limit`.
pub(crate) const DEFAULT_END_AFTER: u64 = 5;

/// The first id of [`Fault::IdsComparedAsStrings`]: ten events later the ids pass
/// from three digits to four.
pub(crate) const STRING_IDS_FIRST: u64 = 990;

/// How long [`Fault::ReconnectRefused`] answers 503 after a client dropped.
pub(crate) const REFUSE_FOR: Duration = Duration::from_secs(5);

/// How many streams must be dropped by their clients before
/// [`Fault::DiesAfterDrops`] stops serving.
pub(crate) const DIE_AFTER_DROPS: usize = 10;

/// The size of the data of [`Fault::HugeEvent`]'s event: more than the 32 MiB a
/// `pulsecheck_sse::Parser` accepts by default.
pub(crate) const HUGE_EVENT_BYTES: usize = 48 << 20;

/// One way for the reference server to break the rules of PROTOCOL.md §2 (WHATWG
/// HTML §9.2 and the ecosystem's practice), chosen with `--fault NAME`.
///
/// Each fault changes one thing; everything else stays as the clean server does
/// it. [`Fault::description`] says what the server does and which check of the
/// suite it should trip. "Afflicted events" are the first event a connection
/// sends and every fourth after it (events 0, 4, 8, … counted per connection).
///
/// Not every violation a check looks for can be produced: hyper refuses to send
/// connection-specific headers (`Connection`, `Keep-Alive`, …) on HTTP/2 and
/// strips them from any response, so there is no `h2-connection-header` fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Holds the response head and the stream until 8 KiB accumulate, like nginx
    /// in front of an SSE app with its default `proxy_buffering on`.
    Buffered,
    /// Compresses the stream when the client accepts gzip, without ever flushing
    /// the compressor.
    GzipBuffered,
    /// Holds each event until the next one is written and releases the two
    /// together, like nginx's `proxy_buffering` when an event fills about half of
    /// its 4 KiB buffer: events arrive in pairs, the first of each one interval late.
    HeldUntilNext,
    /// Sends no heartbeat comments, and goes quiet after three live events.
    NoHeartbeat,
    /// Sends a heartbeat only every 45 s, and goes quiet after three live events.
    SlowHeartbeat,
    /// Sends `retry` values that are not digits only.
    BadRetry,
    /// Sends its `retry` only as the last line of a response that then ends
    /// without the blank line that would close the block.
    RetryInDroppedBlock,
    /// Sends its `retry` in a block of its own, without data (`retry: 3000` and a
    /// blank line), instead of with the first event.
    RetryOnlyBlock,
    /// Never replays: a reconnect with `Last-Event-ID` gets only live events.
    IgnoresLastEventId,
    /// Replays, but skips the first event after the client's `Last-Event-ID`.
    ReplayGap,
    /// Replays, starting with the event the client already has.
    ReplayDuplicates,
    /// Numbers its events from 990 and finds where to resume by comparing ids as
    /// strings, so after 999 a client resuming from a shorter id loses events.
    IdsComparedAsStrings,
    /// Writes multi-line data with raw newlines instead of one `data:` line each.
    RawNewlineInData,
    /// Ends the lines of every other event with CRLF, the rest with LF.
    MixedLineEndings,
    /// Puts invalid UTF-8 bytes in the data of afflicted events.
    InvalidUtf8,
    /// Writes a byte-order mark in front of afflicted events, mid-stream.
    BomMidStream,
    /// Adds `Data:` and `foo:` fields to afflicted events.
    UnknownField,
    /// Gives afflicted events an id that contains NUL.
    IdWithNul,
    /// Gives the second event a connection sends, and every fourth after it, the
    /// same id as the event before.
    DuplicateIds,
    /// Ends the response in the middle of its last event.
    CutsLastEvent,
    /// Leaves afflicted events without their blank line, so they merge with the
    /// next one.
    UnterminatedEvents,
    /// Sends no `Cache-Control` header.
    NoCacheControl,
    /// Answers with `Content-Type: text/plain`.
    WrongContentType,
    /// Answers with `Content-Type: text/event-stream; charset=iso-8859-1`.
    CharsetLatin1,
    /// Answers 500 to a `Last-Event-ID` it does not know.
    ErrorOnUnknownId,
    /// Answers 500 to an empty `Last-Event-ID` header.
    ErrorOnEmptyId,
    /// Sends no CORS headers and refuses preflight requests.
    NoCors,
    /// Answers an `Origin` on the stream, but its preflight does not allow
    /// `Last-Event-ID`.
    PreflightWithoutLastEventId,
    /// Answers 503 for a while after any client dropped its stream.
    ReconnectRefused,
    /// Stops serving after a burst of streams dropped by their clients.
    DiesAfterDrops,
    /// Sends the response head, then nothing at all.
    Stalls,
    /// Starts a `data:` line and never ends it.
    NeverEndsLine,
    /// Sends an event whose data is larger than a client should accept.
    HugeEvent,
}

impl Fault {
    /// Every fault, in catalogue order.
    pub const ALL: [Fault; 33] = [
        Fault::Buffered,
        Fault::GzipBuffered,
        Fault::HeldUntilNext,
        Fault::NoHeartbeat,
        Fault::SlowHeartbeat,
        Fault::BadRetry,
        Fault::RetryInDroppedBlock,
        Fault::RetryOnlyBlock,
        Fault::IgnoresLastEventId,
        Fault::ReplayGap,
        Fault::ReplayDuplicates,
        Fault::IdsComparedAsStrings,
        Fault::RawNewlineInData,
        Fault::MixedLineEndings,
        Fault::InvalidUtf8,
        Fault::BomMidStream,
        Fault::UnknownField,
        Fault::IdWithNul,
        Fault::DuplicateIds,
        Fault::CutsLastEvent,
        Fault::UnterminatedEvents,
        Fault::NoCacheControl,
        Fault::WrongContentType,
        Fault::CharsetLatin1,
        Fault::ErrorOnUnknownId,
        Fault::ErrorOnEmptyId,
        Fault::NoCors,
        Fault::PreflightWithoutLastEventId,
        Fault::ReconnectRefused,
        Fault::DiesAfterDrops,
        Fault::Stalls,
        Fault::NeverEndsLine,
        Fault::HugeEvent,
    ];

    /// The fault's stable kebab-case name, as `--fault` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Buffered => "buffered",
            Fault::GzipBuffered => "gzip-buffered",
            Fault::HeldUntilNext => "held-until-next",
            Fault::NoHeartbeat => "no-heartbeat",
            Fault::SlowHeartbeat => "slow-heartbeat",
            Fault::BadRetry => "bad-retry",
            Fault::RetryInDroppedBlock => "retry-in-dropped-block",
            Fault::RetryOnlyBlock => "retry-only-block",
            Fault::IgnoresLastEventId => "ignores-last-event-id",
            Fault::ReplayGap => "replay-gap",
            Fault::ReplayDuplicates => "replay-duplicates",
            Fault::IdsComparedAsStrings => "ids-compared-as-strings",
            Fault::RawNewlineInData => "raw-newline-in-data",
            Fault::MixedLineEndings => "mixed-line-endings",
            Fault::InvalidUtf8 => "invalid-utf8",
            Fault::BomMidStream => "bom-mid-stream",
            Fault::UnknownField => "unknown-field",
            Fault::IdWithNul => "id-with-nul",
            Fault::DuplicateIds => "duplicate-ids",
            Fault::CutsLastEvent => "cuts-last-event",
            Fault::UnterminatedEvents => "unterminated-events",
            Fault::NoCacheControl => "no-cache-control",
            Fault::WrongContentType => "wrong-content-type",
            Fault::CharsetLatin1 => "charset-latin1",
            Fault::ErrorOnUnknownId => "error-on-unknown-id",
            Fault::ErrorOnEmptyId => "error-on-empty-id",
            Fault::NoCors => "no-cors",
            Fault::PreflightWithoutLastEventId => "preflight-without-last-event-id",
            Fault::ReconnectRefused => "reconnect-refused",
            Fault::DiesAfterDrops => "dies-after-drops",
            Fault::Stalls => "stalls",
            Fault::NeverEndsLine => "never-ends-line",
            Fault::HugeEvent => "huge-event",
        }
    }

    /// What the server does wrong, what a client sees, and which check of the
    /// suite it should trip.
    pub fn description(self) -> &'static str {
        match self {
            Fault::Buffered => {
                "Holds the response head and every event until 8 KiB have accumulated (or the \
                 response ends), then releases them in 8 KiB batches, as nginx's default \
                 `proxy_buffering on` does in front of an SSE app. A client sees no response at \
                 all for about a minute at the default rate. Trips the buffering check (first \
                 event must arrive promptly)."
            }
            Fault::GzipBuffered => {
                "When the request sends `Accept-Encoding: gzip`, answers `Content-Encoding: gzip` \
                 and writes the stream through a gzip compressor that is never flushed: the head \
                 arrives, then at most the 10-byte gzip header, and no event can be decoded until \
                 tens of KiB have been produced. Without gzip in the request it behaves cleanly. \
                 Trips the buffering check when it requests with `Accept-Encoding: gzip, br`."
            }
            Fault::HeldUntilNext => {
                "Sends the head at once, then holds each event it writes until the next one is \
                 written and releases both in one write: events arrive in pairs, the first of \
                 each pair one event interval late (comments written meanwhile wait behind the \
                 held event). This is what nginx's default `proxy_buffering on` does to an app \
                 whose events fill about half of its 4 KiB buffer page: it releases a page only \
                 when it is full; like nginx, it passes no `X-Accel-Buffering` header on. Trips \
                 the delivery checks (an event held while it existed, events produced apart \
                 released together) and the X-Accel-Buffering check; the first-bytes check \
                 passes."
            }
            Fault::NoHeartbeat => {
                "Never sends a comment line, and after three live events on a connection sends \
                 no more events, so the stream falls silent for good. Trips the heartbeat check \
                 (longest silence over the observation window beyond 15-30 s; no comment seen)."
            }
            Fault::SlowHeartbeat => {
                "Sends a `: heartbeat` comment only every 45 s (first one 45 s after the \
                 response starts), and after three live events sends no more events, so the \
                 longest silence is 45 s. Trips the heartbeat check (silence longer than 15-30 s) \
                 when the observation window exceeds 45 s; a shorter window sees no comment at \
                 all."
            }
            Fault::BadRetry => {
                "Sends `retry: 3000ms` and `retry: +3000` (the configured value with a unit and \
                 with a sign) with the first event instead of digits only; clients ignore both \
                 (WHATWG §9.2.6), so no reconnection time is set. Trips the retry check (digits \
                 only)."
            }
            Fault::RetryInDroppedBlock => {
                "Sends no `retry` at the start; instead ends every response (after `?limit` live \
                 events, five without it) with a `retry: N` line and no blank line after it. \
                 The retry sits in a block the stream never finishes, which clients that process \
                 whole blocks discard. A parser shows the `retry` line at an offset inside the \
                 discarded final block. Trips the retry check (sent in a block clients keep)."
            }
            Fault::RetryOnlyBlock => {
                "Opens every response with `retry: N` and a blank line, a block without data \
                 of its own (what many examples send: `retry: 3000\\n\\n`), instead of sending \
                 the retry in the block of the first event. Browsers apply it, but clients that \
                 apply fields only when they dispatch an event drop a block without data, and \
                 the retry with it: Rust's eventsource-stream and the clients built on it, \
                 LaunchDarkly's Rust client. Trips the retry check (sent in a block clients keep)."
            }
            Fault::IgnoresLastEventId => {
                "Never replays: a reconnect with `Last-Event-ID: X` gets only live events, so \
                 every event produced while the client was away is missing (the first event \
                 after reconnecting has an id above X+1 when the client stayed away longer than \
                 one event interval). Trips the Last-Event-ID replay check (gap)."
            }
            Fault::ReplayGap => {
                "Replays after `Last-Event-ID: X` but never sends event X+1 (replayed or live): \
                 the first event after reconnecting is X+2. Trips the Last-Event-ID replay check \
                 (gap)."
            }
            Fault::ReplayDuplicates => {
                "Replays after `Last-Event-ID: X` starting with event X itself, which the client \
                 already has, then X+1 onwards. Trips the Last-Event-ID replay check (duplicate)."
            }
            Fault::IdsComparedAsStrings => {
                "Numbers its events from 990, starting when the first stream opens, so their ids \
                 pass from three digits to four ten events later (2.5 s at the default \
                 interval), and finds where \
                 to resume after `Last-Event-ID: X` as a Node library did: from the newest \
                 logged event back to the first whose id is not greater than X, comparing ids \
                 as strings. Once `1000` is logged, `\"1000\" < \"995\"`, so a client resuming \
                 from 995 gets nothing replayed and silently loses every event from 996 on; \
                 resuming from an id as long as the newest works. Trips the Last-Event-ID replay \
                 check, which sees ids of both lengths on a server it is the first to reach and \
                 resumes from a shorter one."
            }
            Fault::RawNewlineInData => {
                "Writes multi-line data (every fourth event by id, and afflicted events) as \
                 `data: line 1` followed by the other lines raw, not each in its own `data:` \
                 line: the other lines become colon-less lines that clients ignore, and the \
                 event arrives with one line of data instead of three. Trips the stream-format \
                 check (orphan lines from an unescaped newline)."
            }
            Fault::MixedLineEndings => {
                "Ends every line of every other event (the second, fourth, … a connection sends) \
                 with CRLF and all other lines with LF. Trips the stream-format check (one \
                 line-ending style)."
            }
            Fault::InvalidUtf8 => {
                "Puts the bytes FF FE (never valid in UTF-8) in the data of afflicted events; \
                 clients decode them as U+FFFD. Trips the stream-format check (valid UTF-8)."
            }
            Fault::BomMidStream => {
                "Writes a byte-order mark (EF BB BF) in front of afflicted events, after the \
                 stream has started; clients strip a BOM only at the very start, so it becomes \
                 part of the event's first field name (`\\u{FEFF}id`, an unknown field) and the \
                 event loses its id. Trips the stream-format check (BOM only at the start)."
            }
            Fault::UnknownField => {
                "Adds a `Data: shadow` field (names are case-sensitive) and a `foo: bar` field \
                 to afflicted events; clients ignore both. Trips the stream-format check (only \
                 known field names)."
            }
            Fault::IdWithNul => {
                "Writes the id of afflicted events with a NUL after the digits (`id: 7\\0`); \
                 clients ignore such an `id` field, so the event carries the previous id. Trips \
                 the ids check (no NUL, CR or LF)."
            }
            Fault::DuplicateIds => {
                "Gives the second event a connection sends, and every fourth after it, the id of \
                 the event sent before it: two consecutive events share an id. Trips the ids \
                 check (unique, increasing)."
            }
            Fault::CutsLastEvent => {
                "Ends every response (after `?limit` live events, five without it) in the middle \
                 of its last event: the final `data:` line has neither its line end nor the \
                 blank line, so clients discard the event. Trips the stream-end check (the stream \
                 ends on an event boundary)."
            }
            Fault::UnterminatedEvents => {
                "Leaves afflicted events without the blank line that ends them, so clients merge \
                 each with the next event: one event fires with the data lines of both and the \
                 second one's id. Trips the stream-format check (every event ended by a blank \
                 line)."
            }
            Fault::NoCacheControl => {
                "Sends no `Cache-Control` header. Trips the cache-control check \
                 (`Cache-Control: no-cache`)."
            }
            Fault::WrongContentType => {
                "Answers with `Content-Type: text/plain; charset=utf-8`; EventSource fails the \
                 connection and never reconnects. Trips the status and content-type check."
            }
            Fault::CharsetLatin1 => {
                "Answers with `Content-Type: text/event-stream; charset=iso-8859-1` (clients \
                 ignore the charset and decode UTF-8 anyway). Trips the content-type check's \
                 charset warning."
            }
            Fault::ErrorOnUnknownId => {
                "Answers 500 when the request carries a non-empty `Last-Event-ID` that is not in \
                 the replay log (an id it never sent, or one too old). Trips the unknown \
                 Last-Event-ID check (must still answer 200)."
            }
            Fault::ErrorOnEmptyId => {
                "Answers 500 when the request carries an empty `Last-Event-ID` header. Trips the \
                 empty Last-Event-ID check (must still answer 200)."
            }
            Fault::NoCors => {
                "Sends no `Access-Control-*` headers, whatever the `Origin`, and answers a CORS \
                 preflight (`OPTIONS`) with 405. Trips the CORS checks when they are asked to \
                 judge (`--origin`); without it the endpoint looks same-origin, which is no fault."
            }
            Fault::PreflightWithoutLastEventId => {
                "Answers a stream request's `Origin` with `Access-Control-Allow-Origin`, so it \
                 serves other origins, but its CORS preflight allows only `cache-control, \
                 accept, authorization, content-type`, not `last-event-id` (as Mercure did, \
                 dunglas/mercure#535). A fetch()-based client resuming cross-origin with \
                 `Last-Event-ID` fails the preflight and never resumes. Trips the CORS preflight \
                 check."
            }
            Fault::ReconnectRefused => {
                "For 5 s after any client dropped its stream, answers every `GET /events` with \
                 503 and `Retry-After: 5`. Trips the reconnection check (a reconnect after a drop \
                 succeeds promptly)."
            }
            Fault::DiesAfterDrops => {
                "After 10 streams have been dropped by their clients, closes its listening \
                 socket and every connection: new connections are refused. Trips the burst \
                 check (abruptly dropped connections leave the server working)."
            }
            Fault::Stalls => {
                "Sends a correct 200 head, then nothing at all: no `retry`, no event, no \
                 heartbeat, never ending. Trips the buffering and heartbeat checks; a probe must \
                 end it with its own timeout, as an error outcome, not hang."
            }
            Fault::NeverEndsLine => {
                "Starts with a `retry` line and a `data: ` line and sends `x` bytes forever \
                 (about 25 MB/s), never a line end. A client without a line-length limit grows \
                 its buffer without bound. Trips the probe's memory bound: the check reading the \
                 stream must end with an error outcome (line too long), not an OOM."
            }
            Fault::HugeEvent => {
                "Sends one event first (the `retry`, `event: huge`, no id) whose data is \
                 48 MiB in 1 KiB `data:` lines, then continues cleanly. A client without an \
                 event-size limit buffers all of it. Trips the probe's memory bound: the check \
                 must end with an error outcome (event too large), not an OOM."
            }
        }
    }

    /// Whether a connection's `n`-th event (counting from 0) carries a per-event
    /// content fault.
    pub(crate) fn afflicts(n: u64) -> bool {
        n.is_multiple_of(AFFLICT_EVERY)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = UnknownFault;

    /// Parses a fault by its kebab-case [`Fault::name`] (exact match).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::serve::parse_fault(s, &Fault::ALL, Fault::name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
            assert!(!fault.description().is_empty());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Fault::ALL.len());
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "Buffered".parse::<Fault>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("unknown fault `Buffered`; known faults: buffered, "));
        assert!(msg.ends_with("huge-event"));
    }
}
