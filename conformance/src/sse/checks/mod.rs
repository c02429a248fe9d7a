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
use crate::sse::capture::{BodyEnd, Capture, IdStats, SeenKind};
use crate::sse::probe::{SseProbe, header, read_stream, read_stream_until};

mod buffering;
mod cors;
mod format;
mod heartbeat;
mod http1;
mod http2;
mod ids;
mod reconnect;
mod replay;
mod response;
mod retry;
mod robustness;

/// The areas of the SSE suite, each a file of its own, in catalogue order.
const AREAS: &[&[Check<SseProbe>]] = &[
    response::CHECKS,
    format::CHECKS,
    retry::CHECKS,
    ids::CHECKS,
    heartbeat::CHECKS,
    buffering::CHECKS,
    reconnect::CHECKS,
    cors::CHECKS,
    http1::CHECKS,
    http2::CHECKS,
    robustness::CHECKS,
];

/// How many checks the areas hold together.
const COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < AREAS.len() {
        n += AREAS[i].len();
        i += 1;
    }
    n
};

/// The SSE suite, in catalogue order: the areas' checks one after another.
pub const CHECKS: &[Check<SseProbe>] = &{
    let mut all = [AREAS[0][0]; COUNT];
    let (mut area, mut k) = (0, 0);
    while area < AREAS.len() {
        let mut i = 0;
        while i < AREAS[area].len() {
            all[k] = AREAS[area][i];
            k += 1;
            i += 1;
        }
        area += 1;
    }
    all
};

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

/// Why an observation stopped, in words: the real cause a skip or a message
/// names ("the server ended the stream after 7.0 s", not "observe longer").
fn why_it_stopped(c: &Capture) -> String {
    let secs = c.observed_for.as_secs_f64();
    match &c.end {
        BodyEnd::Closed => format!("the server ended the stream after {secs:.1} s"),
        BodyEnd::WindowOver => format!("the {secs:.1} s observation (--observe) ended"),
        BodyEnd::ByteLimit => format!(
            "the probe stopped at its {} MiB read limit after {secs:.1} s",
            c.body_bytes >> 20
        ),
        BodyEnd::ParserLimit(why) => format!("the probe stopped after {secs:.1} s: {why}"),
        BodyEnd::Failed(error) => format!("reading failed after {secs:.1} s: {error}"),
        BodyEnd::Malformed(why) => format!("the stream broke after {secs:.1} s: {why}"),
    }
}

fn is_event_stream(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        v.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
    })
}

/// Fails with the first lines the parser ignored for `reason`.
fn no_ignored(c: &Capture, reason: IgnoreReason, what: &str, expected: &str) -> Outcome {
    let found: Vec<_> = c.ignored(reason).collect();
    match found.first() {
        None => Outcome::pass(format!("no {what}")),
        Some((first, line)) => Outcome::fail(
            format!(
                "{} {what}, first at byte {}: {line:?}",
                c.ignored_count(reason),
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
