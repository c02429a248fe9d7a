//! The SSE checks: one per requirement, each citing where it comes from.
//!
//! Most checks read the shared main observation ([`SseProbe::main`]) and are pure
//! judgements of it; the reconnection, CORS and robustness checks open
//! connections of their own. Every check says what it expected and what it saw.

use std::time::{Duration, Instant};

use http::Method;
use pulsecheck_sse::IgnoreReason;

use crate::check::{Evidence, Outcome, Source, Transcript};
use crate::http::{ClientError, Next, Phase};
use crate::registry::{Check, check};
use crate::sse::capture::{BodyEnd, Capture, SeenKind};
use crate::sse::probe::{SseProbe, header, read_stream, read_stream_until};

/// The SSE suite, in catalogue order.
pub const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/response/status",
        "The stream is answered with 200 OK",
        Source::Whatwg("9.2.3"),
        Must,
        "An event stream is opened only by a 200 response; any other status fails the connection and stops reconnection.",
        status
    ),
    check!(
        "sse/response/content-type",
        "Content-Type is text/event-stream",
        Source::Whatwg("9.2.3"),
        Must,
        "A response whose Content-Type is not text/event-stream fails the connection.",
        content_type
    ),
    check!(
        "sse/response/charset",
        "No charset other than UTF-8 is declared",
        Source::Whatwg("9.2.5"),
        Should,
        "Event streams are always decoded as UTF-8; a charset parameter other than utf-8 misleads other tools and proxies.",
        charset
    ),
    check!(
        "sse/response/cache-control",
        "Cache-Control: no-cache",
        Source::Practice(
            "WHATWG HTML §9.2.3 requests no-cache; caches and proxies must not store or hold a live stream"
        ),
        Should,
        "The response carries Cache-Control: no-cache (or no-store) so no cache holds or replays the stream.",
        cache_control
    ),
    check!(
        "sse/format/utf8",
        "The stream is valid UTF-8",
        Source::Whatwg("9.2.5"),
        Must,
        "Event streams must be encoded as UTF-8; invalid bytes reach clients as U+FFFD.",
        utf8
    ),
    check!(
        "sse/format/bom",
        "A byte-order mark appears only at the start",
        Source::Whatwg("9.2.5"),
        Should,
        "stream = [ bom ] *event: a BOM is stripped only at the very start; anywhere else it becomes part of a field name.",
        bom
    ),
    check!(
        "sse/format/line-endings",
        "One line-ending style",
        Source::Practice(
            "WHATWG HTML §9.2.5 allows CRLF, LF and CR; mixing them is a sign of a broken writer"
        ),
        Should,
        "Every line of the stream ends the same way (all LF, all CRLF or all CR).",
        line_endings
    ),
    check!(
        "sse/format/known-fields",
        "Only known field names",
        Source::Whatwg("9.2.6"),
        Should,
        "Fields other than event, data, id and retry (names are case-sensitive) are ignored by clients.",
        known_fields
    ),
    check!(
        "sse/format/orphan-lines",
        "No lines without a colon (unescaped newlines in data)",
        Source::Whatwg("9.2.6"),
        Must,
        "Each line of multi-line data is sent as its own data: line; a line without a colon is taken as a field name and its text is lost.",
        orphan_lines
    ),
    check!(
        "sse/format/line-length",
        "Lines and events stay within bounds",
        Source::Practice(
            "clients and proxies bound line and event sizes; pulsecheck reads up to 1 MiB lines and 4 MiB events"
        ),
        Should,
        "No line is longer than 1 MiB and no event's data larger than 4 MiB.",
        line_length
    ),
    check!(
        "sse/format/event-termination",
        "The stream ends on an event boundary",
        Source::Whatwg("9.2.6"),
        Must,
        "If the file ends in the middle of an event, before the final empty line, the incomplete event is not dispatched.",
        event_termination
    ),
    check!(
        "sse/retry/digits",
        "retry values are ASCII digits only",
        Source::Whatwg("9.2.6"),
        Must,
        "If the field value consists of only ASCII digits, set the reconnection time; otherwise the field is ignored.",
        retry_digits
    ),
    check!(
        "sse/retry/kept",
        "retry is sent in a block that ends",
        Source::Practice(
            "client libraries that apply fields at dispatch drop a retry in a block the stream never ends"
        ),
        Should,
        "Every retry field is followed by the blank line that ends its block.",
        retry_kept
    ),
    check!(
        "sse/ids/no-nul",
        "Event ids contain no NUL",
        Source::Whatwg("9.2.6"),
        Must,
        "If the field value does not contain U+0000 NULL, set the last event ID buffer; otherwise the field is ignored.",
        id_no_nul
    ),
    check!(
        "sse/ids/unique",
        "Event ids are unique",
        Source::Practice("Last-Event-ID resumption needs each id to name one event"),
        Should,
        "No two events set the same id.",
        ids_unique
    ),
    check!(
        "sse/ids/increasing",
        "Event ids increase",
        Source::Practice("numeric, increasing ids make resumption and de-duplication simple"),
        Info,
        "Numeric ids increase from event to event.",
        ids_increasing
    ),
    check!(
        "sse/ids/cors-safe",
        "Event ids can be resent without a CORS preflight",
        Source::Practice(
            "Fetch: Last-Event-ID is a CORS-safelisted header only for values of at most 128 bytes without CORS-unsafe bytes"
        ),
        Info,
        "Ids are at most 128 bytes and free of \"():<>?@[\\]{} and control bytes, so a cross-origin reconnection needs no preflight.",
        ids_cors_safe
    ),
    check!(
        "sse/heartbeat/interval",
        "A heartbeat at least every 15-30 s",
        Source::Practice(
            "proxies and load balancers drop connections idle for 30-60 s; servers send a comment line every 15-30 s"
        ),
        Should,
        "The stream is never silent for more than 15 s (a comment line keeps it alive).",
        heartbeat
    ),
    check!(
        "sse/buffering/first-bytes",
        "The stream is not held back",
        Source::Practice(
            "nginx's default proxy_buffering holds responses; SSE servers send X-Accel-Buffering: no and flush each event"
        ),
        Should,
        "The response head arrives within 2 s and the first bytes of the body within 5 s.",
        first_bytes
    ),
    check!(
        "sse/buffering/compression",
        "Offering compression does not hold the stream back",
        Source::Practice("a compressor that is not flushed after each event holds it back"),
        Should,
        "With Accept-Encoding: gzip, br offered, the head arrives within 2 s and body bytes within 5 s.",
        compression
    ),
    check!(
        "sse/reconnect/prompt",
        "Reconnection is accepted at once",
        Source::Whatwg("9.2.3"),
        Should,
        "When a client's connection drops, its reconnection is answered with 200 and a stream.",
        reconnect_prompt
    ),
    check!(
        "sse/reconnect/last-event-id-replay",
        "Last-Event-ID resumes exactly where the client left",
        Source::Whatwg("9.2.4"),
        Should,
        "A reconnection with Last-Event-ID: X first delivers exactly the events that followed X: none repeated, none missing.",
        last_event_id_replay
    ),
    check!(
        "sse/reconnect/unknown-id",
        "An unknown Last-Event-ID is tolerated",
        Source::Whatwg("9.2.4"),
        Should,
        "A reconnection with an id the server does not know is still answered with 200 and a stream.",
        unknown_id
    ),
    check!(
        "sse/reconnect/empty-id",
        "An empty Last-Event-ID is tolerated",
        Source::Whatwg("9.2.4"),
        Should,
        "A request with an empty Last-Event-ID header is answered like one without it.",
        empty_id
    ),
    check!(
        "sse/cors/allow-origin",
        "CORS: the origin is allowed",
        Source::Practice(
            "Fetch CORS protocol: an EventSource from another origin needs Access-Control-Allow-Origin"
        ),
        Should,
        "A request with an Origin header gets Access-Control-Allow-Origin with that origin or *.",
        cors_allow_origin
    ),
    check!(
        "sse/cors/preflight",
        "CORS: a preflight allows Last-Event-ID",
        Source::Practice(
            "Fetch CORS protocol: a non-safelisted Last-Event-ID makes the reconnection preflighted"
        ),
        Should,
        "An OPTIONS preflight for GET with Last-Event-ID is answered with 2xx, Access-Control-Allow-Origin and last-event-id allowed.",
        cors_preflight
    ),
    check!(
        "sse/http2/connection-headers",
        "No connection-specific headers on HTTP/2",
        Source::Rfc(9113, "8.2.2"),
        Must,
        "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific header fields.",
        http2_connection_headers
    ),
    check!(
        "sse/robustness/dropped-burst",
        "Abruptly dropped connections leave the server working",
        Source::Practice("servers release a stream's resources when its client goes away"),
        Should,
        "After a burst of connections dropped without notice, a new stream is still served.",
        dropped_burst
    ),
    check!(
        "sse/robustness/concurrent-streams",
        "Concurrent streams are all served",
        Source::Practice("an SSE endpoint holds one long-lived stream per client"),
        Should,
        "Every one of a bounded number of concurrent streams gets 200 and its first bytes within 5 s.",
        concurrent_streams
    ),
];

fn unavailable(error: &str) -> Outcome {
    Outcome::error(
        format!("could not observe the stream: {error}"),
        Transcript::default(),
    )
}

fn evidence(
    c: &Capture,
    expected: impl Into<String>,
    actual: impl Into<String>,
    at: Option<u64>,
) -> Evidence {
    Evidence {
        expected: expected.into(),
        actual: actual.into(),
        transcript: c.transcript_around(at),
    }
}

/// The main capture, if the server answered it with an event stream.
async fn event_stream(probe: &SseProbe) -> Result<&Capture, Outcome> {
    let c = probe
        .main()
        .await
        .map_err(|e| unavailable(&e.to_string()))?;
    if c.status != 200 || !is_event_stream(c.header("content-type")) {
        return Err(Outcome::skipped(format!(
            "the server did not answer with an event stream (status {}, Content-Type {:?})",
            c.status,
            c.header("content-type").unwrap_or("none")
        )));
    }
    Ok(c)
}

fn is_event_stream(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
    })
}

async fn status(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    match c.status {
        200 => Outcome::pass("200 OK"),
        204 => Outcome::fail(
            "204 No Content: clients stop reconnecting",
            evidence(c, "200 OK and a stream", "204 No Content", None),
        ),
        s => Outcome::fail(
            format!("status {s}"),
            evidence(c, "200 OK", format!("status {s}"), None),
        ),
    }
}

async fn content_type(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    let value = c.header("content-type");
    if is_event_stream(value) {
        Outcome::pass(format!("Content-Type: {}", value.unwrap_or_default()))
    } else {
        Outcome::fail(
            format!("Content-Type: {}", value.unwrap_or("(none)")),
            evidence(
                c,
                "text/event-stream",
                value.unwrap_or("no Content-Type"),
                None,
            ),
        )
    }
}

async fn charset(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let value = c.header("content-type").unwrap_or_default();
    let charset = value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    match charset {
        None => Outcome::pass("no charset parameter"),
        Some(cs) if cs.eq_ignore_ascii_case("utf-8") || cs.eq_ignore_ascii_case("utf8") => {
            Outcome::pass(format!("charset={cs}"))
        }
        Some(cs) => Outcome::fail(
            format!("charset={cs}, but the stream is read as UTF-8"),
            evidence(
                c,
                "no charset, or charset=utf-8",
                format!("Content-Type: {value}"),
                None,
            ),
        ),
    }
}

async fn cache_control(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let value = c.header("cache-control");
    let ok = value.is_some_and(|v| {
        v.split(',').any(|d| {
            matches!(
                d.trim().to_ascii_lowercase().as_str(),
                "no-cache" | "no-store"
            )
        })
    });
    if ok {
        Outcome::pass(format!("Cache-Control: {}", value.unwrap_or_default()))
    } else {
        Outcome::fail(
            "the response may be cached or held",
            evidence(
                c,
                "Cache-Control: no-cache",
                value.map_or("no Cache-Control".to_owned(), |v| {
                    format!("Cache-Control: {v}")
                }),
                None,
            ),
        )
    }
}

async fn utf8(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    match c.invalid_utf8_at {
        None => Outcome::pass(format!("{} bytes of valid UTF-8", c.body_bytes)),
        Some(at) => Outcome::fail(
            format!("invalid UTF-8 at byte {at}"),
            evidence(
                c,
                "valid UTF-8 throughout",
                format!("an invalid byte sequence at body byte {at}"),
                Some(at),
            ),
        ),
    }
}

async fn bom(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    match c.bom_elsewhere.first() {
        None => Outcome::pass(if c.bom_at_start {
            "one BOM, at the start"
        } else {
            "no BOM"
        }),
        Some(&at) => Outcome::fail(
            format!("a byte-order mark at byte {at}"),
            evidence(
                c,
                "a BOM only as the stream's first bytes",
                format!("EF BB BF at body byte {at}"),
                Some(at),
            ),
        ),
    }
}

async fn line_endings(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let e = c.line_endings;
    let counts = format!("{} LF, {} CRLF, {} CR", e.lf, e.crlf, e.cr);
    if e.styles_used() <= 1 {
        Outcome::pass(counts)
    } else {
        Outcome::fail(
            format!("mixed line endings: {counts}"),
            evidence(c, "one line-ending style", counts, None),
        )
    }
}

/// Fails with the first lines the parser ignored for `reason`.
fn no_ignored(c: &Capture, reason: IgnoreReason, what: &str, expected: &str) -> Outcome {
    let found: Vec<_> = c.ignored(reason).collect();
    match found.first() {
        None => Outcome::pass(format!("no {what}")),
        Some((first, line)) => Outcome::fail(
            format!(
                "{} {what}, first at byte {}: {line:?}",
                found.len(),
                first.offset
            ),
            evidence(
                c,
                expected,
                found
                    .iter()
                    .take(3)
                    .map(|(s, l)| format!("byte {}: {l:?}", s.offset))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(first.offset),
            ),
        ),
    }
}

async fn known_fields(probe: &SseProbe) -> Outcome {
    match event_stream(probe).await {
        Ok(c) => no_ignored(
            c,
            IgnoreReason::UnknownField,
            "unknown fields",
            "only event, data, id and retry fields",
        ),
        Err(o) => o,
    }
}

async fn orphan_lines(probe: &SseProbe) -> Outcome {
    match event_stream(probe).await {
        Ok(c) => no_ignored(
            c,
            IgnoreReason::LineWithoutColon,
            "lines without a colon",
            "every data line written as data: ...",
        ),
        Err(o) => o,
    }
}

async fn retry_digits(probe: &SseProbe) -> Outcome {
    match event_stream(probe).await {
        Ok(c) => no_ignored(
            c,
            IgnoreReason::InvalidRetry,
            "invalid retry values",
            "retry: followed by ASCII digits only",
        ),
        Err(o) => o,
    }
}

async fn id_no_nul(probe: &SseProbe) -> Outcome {
    match event_stream(probe).await {
        Ok(c) => no_ignored(
            c,
            IgnoreReason::IdContainsNul,
            "ids containing NUL",
            "ids without U+0000",
        ),
        Err(o) => o,
    }
}

async fn line_length(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    match &c.end {
        BodyEnd::ParserLimit(why) => Outcome::fail(
            why.clone(),
            evidence(
                c,
                "lines under 1 MiB, events under 4 MiB",
                why.clone(),
                Some(c.body_bytes.saturating_sub(64)),
            ),
        ),
        _ => Outcome::pass("every line and event within bounds"),
    }
}

async fn event_termination(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    if c.end != BodyEnd::Closed {
        return Outcome::skipped(format!(
            "the server kept the stream open for the {:.0} s observation; nothing ended",
            c.observed_for.as_secs_f64()
        ));
    }
    if c.ended_inside_event {
        let at = c.closed_inside_block.unwrap_or(c.body_bytes);
        Outcome::fail(
            format!("the stream ended inside an event that began at byte {at}"),
            evidence(
                c,
                "the stream to end after a blank line",
                "an event without its final blank line; clients drop it",
                Some(at),
            ),
        )
    } else {
        Outcome::pass("the stream ended after a complete event")
    }
}

async fn retry_kept(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let retries: Vec<_> = c
        .seen
        .iter()
        .filter(|s| matches!(s.kind, SeenKind::Retry(_)))
        .collect();
    let Some(last) = retries.last() else {
        return Outcome::skipped("the server sent no retry field");
    };
    match c.closed_inside_block {
        Some(block) if last.offset >= block => Outcome::fail(
            format!(
                "the retry at byte {} is in a block the stream never ended",
                last.offset
            ),
            evidence(
                c,
                "a blank line after the retry field",
                "the stream closed before its block ended",
                Some(last.offset),
            ),
        ),
        _ => Outcome::pass(format!(
            "{} retry field(s), each in a block that ended",
            retries.len()
        )),
    }
}

/// Ids of the events whose own block set one, with their offsets.
fn explicit_ids(c: &Capture) -> Vec<(u64, &str)> {
    c.seen
        .iter()
        .filter_map(|s| match &s.kind {
            SeenKind::Event {
                id, sets_id: true, ..
            } => Some((s.offset, id.as_str())),
            _ => None,
        })
        .collect()
}

async fn ids_unique(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = explicit_ids(c);
    if ids.is_empty() {
        return Outcome::skipped("no event carried an id");
    }
    let mut seen = std::collections::HashMap::new();
    for (offset, id) in &ids {
        if let Some(first) = seen.insert(*id, *offset) {
            return Outcome::fail(
                format!("id {id:?} used twice (bytes {first} and {offset})"),
                evidence(
                    c,
                    "each id names one event",
                    format!("two events with id {id:?}"),
                    Some(*offset),
                ),
            );
        }
    }
    Outcome::pass(format!("{} events, {} distinct ids", ids.len(), seen.len()))
}

async fn ids_increasing(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = explicit_ids(c);
    if ids.is_empty() {
        return Outcome::skipped("no event carried an id");
    }
    let numbers: Option<Vec<u128>> = ids.iter().map(|(_, id)| id.parse().ok()).collect();
    let message = match numbers {
        None => "ids are not all numbers".to_owned(),
        Some(n) if n.windows(2).all(|w| w[0] < w[1]) => {
            format!("{} numeric ids, strictly increasing", n.len())
        }
        Some(n) => {
            let at = n.windows(2).position(|w| w[0] >= w[1]).unwrap_or(0);
            format!("numeric ids, not increasing: {} then {}", n[at], n[at + 1])
        }
    };
    Outcome::info(
        message.clone(),
        evidence(c, "numeric increasing ids", message, None),
    )
}

/// Fetch's CORS-unsafe request-header bytes.
fn cors_unsafe(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7F || b"\"():<>?@[\\]{}".contains(&b)
}

async fn ids_cors_safe(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = explicit_ids(c);
    if ids.is_empty() {
        return Outcome::skipped("no event carried an id");
    }
    let unsafe_ids: Vec<&str> = ids
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| id.len() > 128 || id.bytes().any(cors_unsafe))
        .collect();
    let message = match unsafe_ids.first() {
        None => format!(
            "all {} ids are CORS-safelisted Last-Event-ID values",
            ids.len()
        ),
        Some(first) => format!(
            "{} ids would make a cross-origin reconnection preflighted, e.g. {first:?}",
            unsafe_ids.len()
        ),
    };
    Outcome::info(
        message.clone(),
        evidence(c, "ids of at most 128 safe bytes", message, None),
    )
}

async fn heartbeat(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (silence, from) = c.longest_silence();
    let comments = c
        .seen
        .iter()
        .filter(|s| matches!(s.kind, SeenKind::Comment(_)))
        .count();
    let secs = silence.as_secs_f64();
    if silence > Duration::from_secs(15) {
        let mut ev = evidence(
            c,
            "no silence longer than 15 s",
            format!("{secs:.1} s without a byte"),
            None,
        );
        ev.transcript.note(from, "silence begins");
        return Outcome::fail(
            format!("silent for {secs:.1} s (from {:.1} s)", from.as_secs_f64()),
            ev,
        );
    }
    if c.observed_for >= Duration::from_secs(15) || comments > 0 {
        Outcome::pass(format!(
            "longest silence {secs:.1} s over {:.1} s; {comments} heartbeat comment(s)",
            c.observed_for.as_secs_f64()
        ))
    } else {
        Outcome::skipped(format!(
            "no heartbeat in a {:.1} s observation; observe at least 16 s (--observe) to judge",
            c.observed_for.as_secs_f64()
        ))
    }
}

/// Judges how promptly a capture's head and first body bytes arrived.
fn promptness(c: &Capture, what: &str) -> Outcome {
    let head = c.head_at;
    let first = c.chunks.first().map(|(at, _)| *at);
    let expected = "the head within 2 s, body bytes within 5 s";
    if head > Duration::from_secs(2) {
        return Outcome::fail(
            format!("{what}: the response head took {:.1} s", head.as_secs_f64()),
            evidence(
                c,
                expected,
                format!("head after {:.1} s", head.as_secs_f64()),
                None,
            ),
        );
    }
    match first {
        Some(at) if at <= Duration::from_secs(5) => Outcome::pass(format!(
            "{what}: head after {} ms, first bytes after {} ms",
            head.as_millis(),
            at.as_millis()
        )),
        Some(at) => Outcome::fail(
            format!(
                "{what}: the first body bytes took {:.1} s",
                at.as_secs_f64()
            ),
            evidence(
                c,
                expected,
                format!("first bytes after {:.1} s", at.as_secs_f64()),
                None,
            ),
        ),
        None if c.end == BodyEnd::Closed => {
            Outcome::skipped(format!("{what}: the server sent an empty body"))
        }
        None => Outcome::fail(
            format!(
                "{what}: no body bytes in {:.1} s",
                c.observed_for.as_secs_f64()
            ),
            evidence(
                c,
                expected,
                "nothing after the head: a buffer is holding the stream",
                None,
            ),
        ),
    }
}

async fn first_bytes(probe: &SseProbe) -> Outcome {
    match probe.main().await {
        Ok(c) => promptness(c, "plain"),
        Err(e) => held_head(e),
    }
}

async fn compression(probe: &SseProbe) -> Outcome {
    let c = match probe.compressed().await {
        Ok(c) => c,
        Err(e) => return held_head(e),
    };
    let first = promptness(c, "with compression offered");
    if first.verdict != crate::check::Verdict::Pass {
        return first;
    }
    // A compressor that is not flushed per event sends its header at once and then
    // holds the events: compare the silences with the uncompressed stream's.
    let plain = match probe.main().await {
        Ok(m) => m.longest_silence().0,
        Err(e) => return unavailable(&e.to_string()),
    };
    let (silence, from) = c.longest_silence();
    let encoding = c.header("content-encoding").unwrap_or("identity");
    if silence > plain + Duration::from_secs(2) {
        let mut ev = evidence(
            c,
            format!(
                "events flowing as without compression (longest silence {:.1} s)",
                plain.as_secs_f64()
            ),
            format!(
                "Content-Encoding: {encoding}; silent for {:.1} s after {:.1} s",
                silence.as_secs_f64(),
                from.as_secs_f64()
            ),
            None,
        );
        ev.transcript.note(from, "silence begins");
        return Outcome::fail(
            format!(
                "with compression ({encoding}) the stream stalls for {:.1} s; uncompressed, its longest silence is {:.1} s",
                silence.as_secs_f64(),
                plain.as_secs_f64()
            ),
            ev,
        );
    }
    Outcome::pass(format!(
        "Content-Encoding: {encoding}; longest silence {:.1} s (uncompressed {:.1} s)",
        silence.as_secs_f64(),
        plain.as_secs_f64()
    ))
}

/// A response head that never came is the buffering symptom itself.
fn held_head(e: &ClientError) -> Outcome {
    match e {
        ClientError::Timeout {
            phase: Phase::ResponseHead,
            after,
            ..
        } => Outcome::fail(
            format!("no response head within {:.0} s", after.as_secs_f64()),
            Evidence {
                expected: "the head within 2 s".into(),
                actual: "no head at all: a buffering proxy or server holds the response".into(),
                transcript: Transcript::default(),
            },
        ),
        e => unavailable(&e.to_string()),
    }
}

/// Opens a stream with extra headers and judges its head: 200 and an event stream.
async fn answered(
    probe: &SseProbe,
    extra: &[(http::HeaderName, http::HeaderValue)],
    what: &str,
) -> Outcome {
    let started = Instant::now();
    match probe.open(extra).await {
        Ok(r)
            if r.status == 200
                && is_event_stream(r.headers.get("content-type").and_then(|v| v.to_str().ok())) =>
        {
            Outcome::pass(format!(
                "{what}: 200 and a stream after {} ms",
                started.elapsed().as_millis()
            ))
        }
        Ok(r) => {
            let c = read_stream(r, started, Duration::from_millis(300), 4096).await;
            Outcome::fail(
                format!("{what}: status {}", c.status),
                evidence(
                    &c,
                    "200 and text/event-stream",
                    format!(
                        "status {}, Content-Type {:?}",
                        c.status,
                        c.header("content-type").unwrap_or("none")
                    ),
                    None,
                ),
            )
        }
        Err(e) => Outcome::fail(
            format!("{what}: {e}"),
            Evidence {
                expected: "200 and a stream".into(),
                actual: e.to_string(),
                transcript: Transcript::default(),
            },
        ),
    }
}

async fn reconnect_prompt(probe: &SseProbe) -> Outcome {
    match probe.open(&[]).await {
        Ok(mut first) => {
            let _ = first.next_chunk_within(Duration::from_secs(2)).await;
            drop(first);
        }
        Err(e) => return unavailable(&e.to_string()),
    }
    let started = Instant::now();
    let outcome = answered(probe, &[], "reconnection").await;
    if outcome.verdict == crate::check::Verdict::Pass && started.elapsed() > Duration::from_secs(2)
    {
        return Outcome::fail(
            format!(
                "the reconnection took {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            Evidence {
                expected: "an answer within 2 s".into(),
                actual: outcome.message,
                transcript: Transcript::default(),
            },
        );
    }
    outcome
}

async fn unknown_id(probe: &SseProbe) -> Outcome {
    let id = header("last-event-id", "pulsecheck-unknown-id-7f3a");
    answered(probe, id.as_slice(), "unknown Last-Event-ID").await
}

async fn empty_id(probe: &SseProbe) -> Outcome {
    let id = header("last-event-id", "");
    answered(probe, id.as_slice(), "empty Last-Event-ID").await
}

/// Reads events (data and id) from a response until `count` arrived or `limit` passed.
async fn read_events(
    mut response: crate::http::Response,
    count: usize,
    limit: Duration,
    mut transcript: Transcript,
) -> (Vec<(String, String)>, Transcript) {
    let started = Instant::now();
    let mut parser = pulsecheck_sse::Parser::new();
    let mut events = Vec::new();
    while events.len() < count {
        let remaining = limit.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            break;
        }
        match response.next_chunk_within(remaining).await {
            Ok(Next::Chunk(chunk)) => {
                transcript.bytes(chunk.at, crate::check::Direction::Received, &chunk.bytes);
                let fed = parser.feed(&chunk.bytes, |item| {
                    if let pulsecheck_sse::Item::Event(e) = item {
                        events.push((
                            e.last_event_id.to_str().into_owned(),
                            e.data.to_str().into_owned(),
                        ));
                    }
                });
                if fed.is_err() {
                    break;
                }
            }
            _ => break,
        }
    }
    (events, transcript)
}

async fn last_event_id_replay(probe: &SseProbe) -> Outcome {
    // Watch the stream until three events have set ids.
    let first = match probe.open(&[]).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e.to_string()),
    };
    let window = probe.options.observe.min(Duration::from_secs(10));
    let started = Instant::now();
    let has_three_ids = |c: &Capture| {
        c.seen
            .iter()
            .filter(|s| matches!(s.kind, SeenKind::Event { sets_id: true, .. }))
            .count()
            >= 3
    };
    let capture = read_stream_until(
        first,
        started,
        window,
        probe.options.max_body_bytes,
        has_three_ids,
    )
    .await;
    let events: Vec<(bool, &str, &str)> = capture
        .seen
        .iter()
        .filter_map(|s| match &s.kind {
            SeenKind::Event {
                id, data, sets_id, ..
            } => Some((*sets_id, id.as_str(), data.as_str())),
            _ => None,
        })
        .collect();
    let with_ids: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.0)
        .map(|(i, _)| i)
        .collect();
    if with_ids.len() < 3 {
        return Outcome::skipped(format!(
            "fewer than 3 events with ids in {:.0} s ({} events seen)",
            window.as_secs_f64(),
            events.len()
        ));
    }
    // Resume from the third-last id: the server should replay what followed it.
    let resume = with_ids[with_ids.len() - 3];
    let resume_id = events[resume].1.to_owned();
    let missed: Vec<(String, String)> = events[resume + 1..]
        .iter()
        .map(|(_, id, data)| ((*id).to_owned(), (*data).to_owned()))
        .collect();
    let Some(id_header) = header("last-event-id", &resume_id) else {
        return Outcome::skipped(format!("the id {resume_id:?} cannot be sent as a header"));
    };
    let second = match probe.open(&[id_header]).await {
        Ok(r) if r.status == 200 => r,
        Ok(r) => {
            return Outcome::fail(
                format!(
                    "the reconnection with Last-Event-ID {resume_id:?} got status {}",
                    r.status
                ),
                Evidence {
                    expected: "200 and the missed events".into(),
                    actual: format!("status {}", r.status),
                    transcript: Transcript::default(),
                },
            );
        }
        Err(e) => return unavailable(&e.to_string()),
    };
    let mut note = Transcript::default();
    note.note(
        Duration::ZERO,
        format!("reconnected with Last-Event-ID: {resume_id}"),
    );
    let (replayed, transcript) =
        read_events(second, missed.len(), Duration::from_secs(5), note).await;
    let show = |v: &[(String, String)]| {
        v.iter()
            .map(|(id, _)| format!("id {id:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if replayed == missed {
        Outcome::pass(format!(
            "resumed after id {resume_id:?}: {} missed event(s) replayed exactly",
            missed.len()
        ))
    } else {
        // Name the problem: events the client had already seen sent again, or
        // missed events that never came (a gap), or something else.
        let already_had: std::collections::HashSet<(&str, &str)> = events[..=resume]
            .iter()
            .map(|(_, id, data)| (*id, *data))
            .collect();
        let repeated = replayed
            .iter()
            .filter(|(id, data)| already_had.contains(&(id.as_str(), data.as_str())))
            .count();
        let never_came = missed.iter().filter(|m| !replayed.contains(m)).count();
        let problem = if repeated > 0 {
            "events the client already had were sent again".to_owned()
        } else if never_came > 0 {
            format!(
                "{never_came} of the {} missed event(s) never came",
                missed.len()
            )
        } else {
            "the missed events came in the wrong order".to_owned()
        };
        Outcome::fail(
            format!("after Last-Event-ID {resume_id:?}: {problem}"),
            Evidence {
                expected: format!("first {}", show(&missed)),
                actual: format!("first {}", show(&replayed)),
                transcript,
            },
        )
    }
}

const PROBE_ORIGIN: &str = "https://pulsecheck.example";

async fn cors_allow_origin(probe: &SseProbe) -> Outcome {
    let origin = header("origin", PROBE_ORIGIN);
    let started = Instant::now();
    let response = match probe.open(origin.as_slice()).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e.to_string()),
    };
    let allowed = response
        .headers
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let c = read_stream(response, started, Duration::from_millis(200), 4096).await;
    match allowed.as_deref() {
        Some("*") | Some(PROBE_ORIGIN) => Outcome::pass(format!(
            "Access-Control-Allow-Origin: {}",
            allowed.unwrap_or_default()
        )),
        other => Outcome::fail(
            format!("Access-Control-Allow-Origin: {}", other.unwrap_or("(none)")),
            evidence(
                &c,
                format!("Access-Control-Allow-Origin: {PROBE_ORIGIN} or *"),
                other.unwrap_or("no Access-Control-Allow-Origin"),
                None,
            ),
        ),
    }
}

async fn cors_preflight(probe: &SseProbe) -> Outcome {
    let headers: Vec<_> = [
        header("origin", PROBE_ORIGIN),
        header("access-control-request-method", "GET"),
        header("access-control-request-headers", "last-event-id"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let response = match probe.request(Method::OPTIONS, &headers).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e.to_string()),
    };
    let get = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let allow_origin = get("access-control-allow-origin");
    let allow_headers = get("access-control-allow-headers").to_ascii_lowercase();
    let headers_ok = allow_headers
        .split(',')
        .any(|h| matches!(h.trim(), "last-event-id" | "*"));
    let origin_ok = allow_origin == "*" || allow_origin == PROBE_ORIGIN;
    let actual = format!(
        "status {}, Access-Control-Allow-Origin {allow_origin:?}, Access-Control-Allow-Headers {allow_headers:?}",
        response.status
    );
    if response.status.is_success() && origin_ok && headers_ok {
        Outcome::pass(actual)
    } else {
        Outcome::fail(
            format!("the preflight does not allow Last-Event-ID: {actual}"),
            Evidence {
                expected: "2xx, the origin allowed, last-event-id in Access-Control-Allow-Headers"
                    .into(),
                actual,
                transcript: Transcript::default(),
            },
        )
    }
}

async fn http2_connection_headers(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    if !c.version.contains('2') {
        return Outcome::skipped(format!(
            "the server answered over {}; use https (ALPN) or --http2-prior-knowledge to test HTTP/2",
            c.version
        ));
    }
    let forbidden = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ];
    match c
        .headers
        .iter()
        .find(|(n, _)| forbidden.contains(&n.as_str()))
    {
        None => Outcome::pass("no connection-specific header fields"),
        Some((n, v)) => Outcome::fail(
            format!("{n}: {v} on HTTP/2"),
            evidence(
                c,
                "no Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding or Upgrade",
                format!("{n}: {v}"),
                None,
            ),
        ),
    }
}

/// Opens a stream and waits for its first body bytes (within 5 s).
async fn served(probe: &SseProbe) -> Result<Duration, String> {
    let started = Instant::now();
    let mut r = probe.open(&[]).await.map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("status {}", r.status));
    }
    match r.next_chunk_within(Duration::from_secs(5)).await {
        Ok(Next::Chunk(_)) => Ok(started.elapsed()),
        Ok(Next::End) => Err("the stream ended without a byte".into()),
        Ok(Next::Idle) => Err("no body bytes within 5 s".into()),
        Err(e) => Err(e.to_string()),
    }
}

async fn dropped_burst(probe: &SseProbe) -> Outcome {
    let opened = futures::future::join_all((0..probe.options.burst).map(|_| probe.open(&[]))).await;
    let count = opened.iter().filter(|r| r.is_ok()).count();
    drop(opened);
    tokio::time::sleep(Duration::from_millis(100)).await;
    match served(probe).await {
        Ok(took) => Outcome::pass(format!(
            "{count} connections dropped; a new stream was served after {} ms",
            took.as_millis()
        )),
        Err(why) => Outcome::fail(
            format!("after {count} dropped connections: {why}"),
            Evidence {
                expected: "a new stream served".into(),
                actual: why,
                transcript: Transcript::default(),
            },
        ),
    }
}

async fn concurrent_streams(probe: &SseProbe) -> Outcome {
    let n = probe.options.concurrent_streams;
    let results = futures::future::join_all((0..n).map(|_| served(probe))).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Outcome::pass(format!("{n} concurrent streams all served"))
    } else {
        Outcome::fail(
            format!(
                "{} of {n} concurrent streams not served: {}",
                failures.len(),
                failures[0]
            ),
            Evidence {
                expected: format!("{n} streams served"),
                actual: failures.join("; "),
                transcript: Transcript::default(),
            },
        )
    }
}
