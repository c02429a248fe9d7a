//! The catalogue of the SSE client suite, as data: each case is a check's
//! description, the [`Script`] the host plays across the client's requests,
//! and what it [`Expect`]s — judged from the requests on the wire, or from the
//! events the driver printed.
//!
//! Cases that need a reconnection send `retry: 100` first, so that a client
//! that honours it comes back in a tenth of a second and the suite stays fast.

use std::sync::LazyLock;
use std::time::Duration;

use crate::check::{CheckInfo, Level, Source};
use crate::registry::Check;

use super::play::{SseHost, play};
use super::script::{Reply, STREAM, Script, Step};

/// What a case expects of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Of the first request: GET.
    FirstMethodGet,
    /// Of the first request: `Accept: text/event-stream`.
    FirstAccept,
    /// Of the first request: `Cache-Control: no-cache`.
    FirstCacheControl,
    /// Of the first request: no `Last-Event-ID`.
    FirstNoLastEventId,
    /// A second request comes.
    Reconnects,
    /// The second request comes this long after the first connection ended.
    Gap {
        /// The least wait, in ms.
        min_ms: u64,
        /// The longest wait, in ms.
        max_ms: u64,
    },
    /// The wait before the second request, measured (information).
    DefaultGap,
    /// No more than this many requests while the case watches.
    AtMostRequests(usize),
    /// The second request's `Last-Event-ID` (none: absent).
    LastEventId(Option<&'static str>),
    /// The second request is a GET of the redirect's target.
    RedirectFollowed,
    /// No request after the second (whose reply ended the stream for good).
    NoReconnect,
    /// The driver printed exactly these events (type, data, last event ID).
    Events(&'static [(&'static str, &'static str, &'static str)]),
    /// The driver printed one `message` event of this many `a` bytes.
    BigEvent(usize),
}

/// When a case is decided (or gives up waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// This many requests arrived, or the limit passed.
    Requests(usize, Duration),
    /// The second request's connection ended and this long passed without a
    /// third; a third decides at once.
    QuietAfterSecond(Duration),
    /// The whole window passes.
    Window(Duration),
    /// This many events were printed, or the first connection ended and the
    /// grace passed (or a second request came).
    Events(usize, Duration),
}

impl Expect {
    /// When a case expecting this is decided.
    pub fn until(self) -> Until {
        let secs = Duration::from_secs;
        match self {
            Expect::FirstMethodGet
            | Expect::FirstAccept
            | Expect::FirstCacheControl
            | Expect::FirstNoLastEventId => Until::Requests(1, secs(10)),
            Expect::Reconnects | Expect::LastEventId(_) | Expect::RedirectFollowed => {
                Until::Requests(2, secs(6))
            }
            Expect::Gap { max_ms, .. } => {
                Until::Requests(2, Duration::from_millis(max_ms) + secs(2))
            }
            Expect::DefaultGap => Until::Requests(2, secs(12)),
            Expect::AtMostRequests(_) => Until::Window(secs(3)),
            Expect::NoReconnect => Until::QuietAfterSecond(Duration::from_millis(1500)),
            Expect::Events(events) => Until::Events(events.len() + 1, Duration::from_millis(1000)),
            Expect::BigEvent(_) => Until::Events(2, Duration::from_millis(3000)),
        }
    }

    /// Whether the driver's events are judged.
    pub fn needs_events(self) -> bool {
        matches!(self, Expect::Events(_) | Expect::BigEvent(_))
    }
}

/// One case: its description, its script, what it expects.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// ID, title, source, level, requirement.
    pub info: CheckInfo,
    /// What the host plays.
    pub script: Script,
    /// What it expects.
    pub expect: Expect,
}

const fn head(
    status: u16,
    content_type: Option<&'static str>,
    location: Option<&'static str>,
) -> Step {
    Step::Head {
        status,
        content_type,
        location,
        body: false,
    }
}

/// A stream that sets `retry: 100`, sends one event and ends.
const QUICK: Reply = &[STREAM, Step::Chunk(b"retry: 100\ndata: a\n\n"), Step::End];
/// The first event of every event case: a client that dispatches it is
/// printing events; the cases judge what comes after it.
const CANARY: Step = Step::Chunk(b"data: pulsecheck-canary\n\n");
/// A stream held open.
const HELD: Reply = &[STREAM, Step::Chunk(b": held\n\n"), Step::Hold];
/// 204: stop.
const STOP: Reply = &[head(204, None, None)];

macro_rules! case {
    ($id:literal, $title:literal, $source:expr, $level:ident, $req:literal,
     [$($reply:expr),* $(,)?], then $then:expr, $expect:expr) => {
        Case {
            info: CheckInfo {
                id: $id,
                aliases: &[],
                title: $title,
                source: $source,
                requirement: $req,
                level: Level::$level,
            },
            script: Script { replies: &[$($reply),*], then: $then },
            expect: $expect,
        }
    };
}

const WHATWG_CONN: Source = Source::Whatwg("9.2.3");
const WHATWG_LEI: Source = Source::Whatwg("9.2.4");
const WHATWG_PARSE: Source = Source::Whatwg("9.2.6");
const FETCH: Source =
    Source::Practice("Fetch §4.6 HTTP-network-or-cache fetch, cache mode \"no-store\"");

/// Every case, in catalogue order.
pub static CASES: &[Case] = &[
    // --- the first request -------------------------------------------------
    case!("sse-client/request/method-get", "The first request is a GET", WHATWG_CONN, Must,
        "The EventSource constructor fetches the URL with a GET request (the request's method is the default, GET).",
        [HELD], then HELD, Expect::FirstMethodGet),
    case!("sse-client/request/accept", "The first request accepts text/event-stream", Source::Whatwg("9.2.2"), Must,
        "Set (`Accept`, `text/event-stream`) in request's header list.",
        [HELD], then HELD, Expect::FirstAccept),
    case!("sse-client/request/cache-control", "The first request sends Cache-Control: no-cache", FETCH, Should,
        "The request's cache mode is \"no-store\"; Fetch then appends (`Cache-Control`, `no-cache`) to the request.",
        [HELD], then HELD, Expect::FirstCacheControl),
    case!("sse-client/request/no-last-event-id", "The first request has no Last-Event-ID", WHATWG_LEI, Must,
        "Last-Event-ID is sent only when the event source's last event ID string is not the empty string, and it starts empty.",
        [HELD], then HELD, Expect::FirstNoLastEventId),
    // --- reconnection ------------------------------------------------------
    case!("sse-client/reconnect/after-end", "Reconnects when the body ends", WHATWG_CONN, Must,
        "When a response body completes normally, the user agent must reestablish the connection.",
        [QUICK], then HELD, Expect::Reconnects),
    case!("sse-client/reconnect/after-drop", "Reconnects when the connection drops", WHATWG_CONN, Must,
        "Network errors that cause the connection to close make the user agent reestablish the connection.",
        [&[STREAM, Step::Chunk(b"retry: 100\ndata: a\n\n"), Step::Pause(50), Step::Chunk(b"data: cut"), Step::Drop]],
        then HELD, Expect::Reconnects),
    case!(
        "sse-client/reconnect/backoff-bounded",
        "No reconnect storm against a server that closes at once",
        Source::Practice(
            "WHATWG HTML §9.2.3 \"wait a delay equal to the reconnection time\"; exponential backoff"
        ),
        Should,
        "A client waits at least its reconnection time (a few seconds by default) between attempts: a server that ends every stream at once does not get a storm of requests.",
        [],
        then & [STREAM, Step::End],
        Expect::AtMostRequests(6)
    ),
    // --- retry ---------------------------------------------------------------
    case!("sse-client/retry/default", "The reconnection time without retry (measured)", WHATWG_CONN, Info,
        "Each EventSource has a reconnection time, initially a user-agent-defined value, probably in the region of a few seconds.",
        [&[STREAM, Step::Chunk(b"data: a\n\n"), Step::End]], then HELD, Expect::DefaultGap),
    case!("sse-client/retry/honoured", "retry: 500 sets the reconnection time", WHATWG_PARSE, Must,
        "If the field name is \"retry\" and the value consists of only ASCII digits, interpret it in base ten and set the reconnection time to that integer; the client waits that long before reconnecting.",
        [&[STREAM, Step::Chunk(b"retry: 500\ndata: a\n\n"), Step::End]], then HELD, Expect::Gap { min_ms: 450, max_ms: 2000 }),
    case!("sse-client/retry/honoured-long", "retry: 2500 is waited for", WHATWG_PARSE, Must,
        "The reconnection time set by retry is waited before reconnecting: a client whose own default is shorter must not come back sooner.",
        [&[STREAM, Step::Chunk(b"retry: 2500\ndata: a\n\n"), Step::End]], then HELD, Expect::Gap { min_ms: 2250, max_ms: 4000 }),
    case!("sse-client/retry/leading-zeros", "retry: 0500 is 500 ms", WHATWG_PARSE, Must,
        "A value of only ASCII digits is interpreted in base ten: leading zeros are digits.",
        [&[STREAM, Step::Chunk(b"retry: 0500\ndata: a\n\n"), Step::End]], then HELD, Expect::Gap { min_ms: 450, max_ms: 2000 }),
    case!("sse-client/retry/invalid-ignored", "retry values that are not only digits are ignored", WHATWG_PARSE, Must,
        "If the retry value does not consist of only ASCII digits, the field is ignored: the reconnection time set before stays.",
        [&[STREAM, Step::Chunk(b"retry: 1000\nretry: 10 \nretry: +10\nretry: 1.5\nretry: 5x\nretry: -1\ndata: a\n\n"), Step::End]],
        then HELD, Expect::Gap { min_ms: 900, max_ms: 2500 }),
    // An empty value "consists of only ASCII digits" only vacuously, and there is
    // then no integer to read: Chromium resets to its default, others ignore it.
    // What the client does is measured, not judged.
    case!("sse-client/retry/empty-value", "An empty retry value (measured: the spec is ambiguous)", WHATWG_PARSE, Info,
        "If the field value consists of only ASCII digits, interpret it as an integer in base ten and set the reconnection time; otherwise ignore the field. An empty value satisfies the first clause only vacuously.",
        [&[STREAM, Step::Chunk(b"retry: 1000\nretry:\ndata: a\n\n"), Step::End]],
        then HELD, Expect::Gap { min_ms: 900, max_ms: 2500 }),
    case!("sse-client/retry/retry-only-block", "retry in a block without data is applied", WHATWG_PARSE, Must,
        "The retry field sets the reconnection time when the field is processed, whether or not its block dispatches an event.",
        [&[STREAM, Step::Chunk(b"data: a\n\nretry: 500\n\n"), Step::End]], then HELD, Expect::Gap { min_ms: 450, max_ms: 2000 }),
    // --- Last-Event-ID ---------------------------------------------------------
    case!("sse-client/last-event-id/last-id", "Reconnects with the last id", WHATWG_LEI, Must,
        "If the event source's last event ID string is not the empty string, set `Last-Event-ID` to it, encoded as UTF-8.",
        [&[STREAM, Step::Chunk(b"retry: 100\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n"), Step::End]], then HELD, Expect::LastEventId(Some("2"))),
    case!("sse-client/last-event-id/utf-8", "A non-ASCII id is sent back as UTF-8", WHATWG_LEI, Must,
        "The Last-Event-ID header's value is the last event ID string, encoded as UTF-8.",
        [&[STREAM, Step::Chunk("retry: 100\nid: é€😀\ndata: a\n\n".as_bytes()), Step::End]], then HELD, Expect::LastEventId(Some("é€😀"))),
    case!("sse-client/last-event-id/nul-ignored", "An id containing NUL is ignored", WHATWG_PARSE, Must,
        "If the field name is \"id\" and the field value does not contain U+0000 NULL, set the last event ID buffer to the value; otherwise ignore the field.",
        [&[STREAM, Step::Chunk(b"retry: 100\nid: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"), Step::End]], then HELD, Expect::LastEventId(Some("1"))),
    case!("sse-client/last-event-id/empty-resets", "id: with no value resets it (no header)", WHATWG_LEI, Must,
        "An id field with an empty value sets the last event ID to the empty string; then no Last-Event-ID header is sent.",
        [&[STREAM, Step::Chunk(b"retry: 100\nid: 1\ndata: a\n\nid:\ndata: b\n\n"), Step::End]], then HELD, Expect::LastEventId(None)),
    case!("sse-client/last-event-id/bare-id-resets", "A bare id line resets it (no header)", WHATWG_PARSE, Must,
        "A line with no colon is a field whose name is the whole line and whose value is empty: a bare `id` sets the last event ID to the empty string.",
        [&[STREAM, Step::Chunk(b"retry: 100\nid: 1\ndata: a\n\nid\ndata: b\n\n"), Step::End]], then HELD, Expect::LastEventId(None)),
    case!("sse-client/last-event-id/id-only-block", "A block with only an id sets it", WHATWG_PARSE, Must,
        "On an empty line the last event ID buffer becomes the event source's last event ID, before the data buffer is checked: a block with an id and no data sets it.",
        [&[STREAM, Step::Chunk(b"retry: 100\nid: 1\ndata: a\n\nid: 2\n\n"), Step::End]], then HELD, Expect::LastEventId(Some("2"))),
    case!("sse-client/last-event-id/partial-event-discarded", "The id of an event cut at the end of the body is not kept", WHATWG_PARSE, Must,
        "Once the end of the file is reached, any pending data must be discarded: an incomplete event's id does not become the last event ID.",
        [&[STREAM, Step::Chunk(b"retry: 100\nid: 1\ndata: a\n\nid: 2\ndata: b\n"), Step::End]], then HELD, Expect::LastEventId(Some("1"))),
    // --- BOM and line endings, seen through the id sent back ------------------------
    case!("sse-client/stream/bom", "A leading BOM is stripped", Source::Whatwg("9.2.5"), Must,
        "The stream may start with one U+FEFF BYTE ORDER MARK, which is not part of the first field's name.",
        [&[STREAM, Step::Chunk(b"\xEF\xBB\xBFid: 1\nretry: 100\ndata: a\n\n"), Step::End]], then HELD, Expect::LastEventId(Some("1"))),
    case!("sse-client/stream/bom-split", "A BOM split across chunks is stripped", Source::Whatwg("9.2.5"), Must,
        "The leading U+FEFF is stripped however the bytes arrive: here its three bytes come in two reads.",
        [&[STREAM, Step::Chunk(b"\xEF\xBB"), Step::Pause(60), Step::Chunk(b"\xBFid: 1\nretry: 100\ndata: a\n\n"), Step::End]], then HELD, Expect::LastEventId(Some("1"))),
    case!("sse-client/stream/cr-lines", "Lines ending in CR alone", Source::Whatwg("9.2.5"), Must,
        "end-of-line = ( cr lf / cr / lf ): a CR alone ends a line.",
        [&[STREAM, Step::Chunk(b"retry: 100\rid: 1\rdata: a\r\r"), Step::End]], then HELD, Expect::LastEventId(Some("1"))),
    case!("sse-client/stream/crlf-lines", "Lines ending in CRLF", Source::Whatwg("9.2.5"), Must,
        "end-of-line = ( cr lf / cr / lf ): CRLF is one line end.",
        [&[STREAM, Step::Chunk(b"retry: 100\r\nid: 1\r\ndata: a\r\n\r\nid: 2\r\ndata: b\r\n"), Step::End]], then HELD, Expect::LastEventId(Some("1"))),
    case!("sse-client/stream/crlf-split", "A CRLF split across chunks is one line end", Source::Whatwg("9.2.5"), Must,
        "A CR followed by LF is one end of line even when the LF comes in the next read; taking them as two line ends makes an empty line, which dispatches.",
        [&[STREAM, Step::Chunk(b"retry: 100\r\nid: 1\r\ndata: a\r\n\r\nid: 2\r"), Step::Pause(60), Step::Chunk(b"\ndata: b\r\n"), Step::End]],
        then HELD, Expect::LastEventId(Some("1"))),
    // --- statuses and types that end the stream for good ---------------------
    case!("sse-client/status/204-stops", "204 No Content stops reconnection", WHATWG_CONN, Must,
        "Any response whose status is not 200 fails the connection: the user agent does not reconnect. HTTP 204 is how a server tells a client to stop.",
        [QUICK, STOP], then QUICK, Expect::NoReconnect),
    case!("sse-client/status/404-stops", "404 stops reconnection", WHATWG_CONN, Must,
        "A response whose status is not 200 fails the connection: no reconnection.",
        [QUICK, &[head(404, Some("text/plain"), None)]], then QUICK, Expect::NoReconnect),
    case!("sse-client/status/500-stops", "500 stops reconnection", WHATWG_CONN, Must,
        "A response whose status is not 200 fails the connection: no reconnection.",
        [QUICK, &[head(500, Some("text/plain"), None)]], then QUICK, Expect::NoReconnect),
    case!("sse-client/status/503-stops", "503 stops reconnection", WHATWG_CONN, Must,
        "A response whose status is not 200 fails the connection: no reconnection (WPT eventsource/eventsource-reconnect expects CLOSED).",
        [QUICK, &[head(503, Some("text/plain"), None)]], then QUICK, Expect::NoReconnect),
    case!("sse-client/status/wrong-content-type-stops", "A 200 that is not text/event-stream stops reconnection", WHATWG_CONN, Must,
        "A 200 response whose Content-Type is not text/event-stream fails the connection: no reconnection.",
        [QUICK, &[Step::Head { status: 200, content_type: Some("text/plain"), location: None, body: true }, Step::Chunk(b"retry: 100\ndata: a\n\n"), Step::End]],
        then QUICK, Expect::NoReconnect),
    // --- redirects ---------------------------------------------------------------
    case!("sse-client/redirect/301", "301 is followed", Source::Practice("Fetch §4.4 HTTP-redirect fetch; WHATWG HTML §9.2.3"), Must,
        "Redirects are handled by Fetch: the client follows 301 to the Location with a GET.",
        [&[head(301, None, Some("redirected"))], HELD], then HELD, Expect::RedirectFollowed),
    case!("sse-client/redirect/302", "302 is followed", Source::Practice("Fetch §4.4 HTTP-redirect fetch; WHATWG HTML §9.2.3"), Must,
        "Redirects are handled by Fetch: the client follows 302 to the Location with a GET.",
        [&[head(302, None, Some("redirected"))], HELD], then HELD, Expect::RedirectFollowed),
    case!("sse-client/redirect/303", "303 is followed", Source::Practice("Fetch §4.4 HTTP-redirect fetch; WHATWG HTML §9.2.3"), Must,
        "Redirects are handled by Fetch: the client follows 303 to the Location with a GET.",
        [&[head(303, None, Some("redirected"))], HELD], then HELD, Expect::RedirectFollowed),
    case!("sse-client/redirect/307", "307 is followed", Source::Practice("Fetch §4.4 HTTP-redirect fetch; WHATWG HTML §9.2.3"), Must,
        "Redirects are handled by Fetch: the client follows 307 to the Location with a GET.",
        [&[head(307, None, Some("redirected"))], HELD], then HELD, Expect::RedirectFollowed),
    case!("sse-client/redirect/308", "308 is followed", Source::Practice("Fetch §4.4 HTTP-redirect fetch; WHATWG HTML §9.2.3"), Must,
        "Redirects are handled by Fetch: the client follows 308 to the Location with a GET.",
        [&[head(308, None, Some("redirected"))], HELD], then HELD, Expect::RedirectFollowed),
    // --- parsing, judged on the events the driver prints ------------------------
    case!("sse-client/events/multi-line-data", "Several data lines join with LF", WHATWG_PARSE, Must,
        "data appends the value and a LF to the data buffer; one trailing LF is removed at dispatch.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"data: a\ndata: b\ndata:\ndata: c\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a\nb\n\nc", "")])),
    case!("sse-client/events/empty-data", "An empty data field dispatches an empty event", WHATWG_PARSE, Must,
        "A data field with an empty value appends a LF: the data buffer is not empty, so an event with empty data fires.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"data\n\ndata:\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "", ""), ("message", "", "")])),
    case!("sse-client/events/type-reset", "The event type resets after dispatch", WHATWG_PARSE, Must,
        "After dispatch the event type buffer is set to the empty string: the next event is a message.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"event: ping\ndata: a\n\ndata: b\n\n"), Step::End]], then STOP,
        Expect::Events(&[("ping", "a", ""), ("message", "b", "")])),
    case!("sse-client/events/unknown-fields", "Unknown fields and case-changed names are ignored", WHATWG_PARSE, Must,
        "Otherwise, the field is ignored (field names are case-sensitive: Data is not data).",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"foo: bar\nData: no\ndata: a\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a", "")])),
    case!("sse-client/events/comments", "Comment lines are ignored", WHATWG_PARSE, Must,
        "If the line starts with a U+003A COLON character, ignore the line.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b": hi\ndata: a\n:\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a", "")])),
    case!("sse-client/events/leading-space", "Only one leading space of a value is removed", WHATWG_PARSE, Must,
        "If value starts with a U+0020 SPACE character, remove it from value (one space; tabs and further spaces stay).",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"data:a\n\ndata:  b\n\ndata:\tc\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a", ""), ("message", " b", ""), ("message", "\tc", "")])),
    case!("sse-client/events/nul-in-data", "NUL in data is kept", WHATWG_PARSE, Must,
        "Data values are any characters but CR and LF: a U+0000 in data is delivered.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"data: a\x00b\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a\u{0}b", "")])),
    case!("sse-client/events/invalid-utf-8", "Invalid UTF-8 is decoded as U+FFFD", Source::Whatwg("9.2.5"), Must,
        "Event streams are always decoded as UTF-8 (decode with replacement): invalid bytes become U+FFFD, not an error.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"data: a\xFFb\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a\u{FFFD}b", "")])),
    case!("sse-client/events/id-on-events", "Events carry the last event ID", WHATWG_PARSE, Must,
        "The event's lastEventId is the event source's last event ID string, set at this dispatch.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Chunk(b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"), Step::End]], then STOP,
        Expect::Events(&[("message", "a", "1"), ("message", "b", "1"), ("message", "c", "")])),
    case!("sse-client/events/one-byte-chunks", "An event sent one byte per chunk", Source::Whatwg("9.2.6"), Must,
        "The stream is parsed the same however it is split into reads.",
        [&[STREAM, CANARY, Step::Pause(30), Step::Bytewise(b"event: e\r\nid: 7\r\ndata: x\r\ndata: y\r\n\r\n"), Step::End]], then STOP,
        Expect::Events(&[("e", "x\ny", "7")])),
    case!("sse-client/events/large-event", "A 5 MB event is delivered whole", Source::Practice("WHATWG HTML §9.2.6 sets no size limit; LaunchDarkly sse-contract-tests"), Should,
        "An event of 5 MB of data is dispatched whole (the spec sets no limit; a client may set one, well above this).",
        [&[STREAM, CANARY, Step::Pause(30), Step::BigEvent(5_000_000), Step::End]], then STOP,
        Expect::BigEvent(5_000_000)),
];

static CHECKS: LazyLock<Vec<Check<SseHost>>> = LazyLock::new(|| {
    CASES
        .iter()
        .map(|case| Check {
            info: case.info,
            run: |host, info| Box::pin(play(host, info)),
        })
        .collect()
});

/// Every check of the SSE client suite, in catalogue order.
pub fn checks() -> &'static [Check<SseHost>] {
    &CHECKS
}

/// The case of a check ID.
pub fn case(id: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.info.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sound() {
        assert!(
            crate::registry::lint(checks()).is_empty(),
            "{:?}",
            crate::registry::lint(checks())
        );
        for case in CASES {
            assert!(case.info.id.starts_with("sse-client/"), "{}", case.info.id);
        }
    }
}
