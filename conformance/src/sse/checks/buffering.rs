//! `sse/buffering/…`

use super::*;

/// The `sse/buffering` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
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
];

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
