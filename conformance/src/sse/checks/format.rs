//! `sse/format/…`

use super::*;

/// The `sse/format` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
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
];

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
    if c.end == BodyEnd::ByteLimit {
        return Outcome::skipped(format!(
            "the probe stopped at its {} MiB read limit after {:.1} s; the stream had not ended",
            c.body_bytes >> 20,
            c.observed_for.as_secs_f64()
        ));
    }
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
