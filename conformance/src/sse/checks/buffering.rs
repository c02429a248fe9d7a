//! `sse/buffering/…`: whether anything between the server's writes and the
//! client holds the stream back: the first bytes, compression, how events are
//! delivered over the whole observation ([`delivery`]), and the header that asks
//! nginx-style proxies not to buffer.

use super::*;

mod delivery;

use delivery::{Judgement, LATE, OCCASIONS, Sign};

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
    check!(
        "sse/buffering/held-events",
        "Events are not held back and released together",
        Source::Practice(
            "nginx's default proxy_buffering releases a response only as its buffer fills: events come late and together (production advice: \"Set X-Accel-Buffering: no … to prevent proxies and CDNs from buffering SSE events\")"
        ),
        Should,
        "No read delivers several events of which one existed 0.5 s or more before it arrived, on two occasions or more. When an event existed is shown by the same event on another connection earlier, by a replay of an event the probe already had (a second connection resumes with Last-Event-ID), or by a time in every event's data; a server that writes bursts sends them to every connection at once and so passes.",
        held_events
    ),
    check!(
        "sse/buffering/lag",
        "Events arrive as soon as they exist",
        Source::Practice(
            "production advice for SSE: \"Set X-Accel-Buffering: no … to prevent proxies and CDNs from buffering SSE events\"; each event is flushed when written"
        ),
        Should,
        "No event arrives 0.5 s or more after the earliest sign that it existed (its arrival on another connection, its replay to a connection that asked after the probe had it, a time in every event's data), on two occasions or more.",
        lag
    ),
    check!(
        "sse/buffering/x-accel-buffering",
        "The response asks proxies not to buffer",
        Source::Practice(
            "production advice for SSE: \"Set X-Accel-Buffering: no … to prevent proxies and CDNs from buffering SSE events\"; nginx honours the header (proxy_buffering)"
        ),
        Should,
        "The event stream's response carries X-Accel-Buffering: no.",
        x_accel_buffering
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

/// The delivery observation, judged; an outcome when there is nothing to judge.
async fn judged(probe: &SseProbe) -> Result<Judgement, Outcome> {
    let delivery = probe
        .delivery(|| delivery::observe(probe))
        .await
        .map_err(|e| unavailable(&e.to_string()))?;
    let first = &delivery.connections[0].capture;
    if first.status != 200 || !is_event_stream(first.header("content-type")) {
        return Err(Outcome::skipped(format!(
            "the server did not answer with an event stream (status {}, Content-Type {:?})",
            first.status,
            first.header("content-type").unwrap_or("none")
        )));
    }
    let judgement = Judgement::of(delivery);
    if judgement.arrivals.is_empty() {
        return Err(Outcome::skipped(format!(
            "no event arrived in the {:.0} s observation",
            first.observed_for.as_secs_f64()
        )));
    }
    if judgement.judged().next().is_none() {
        return Err(Outcome::skipped(format!(
            "nothing shows when the {} events were produced: {}",
            judgement.arrivals.len(),
            judgement.undated_because()
        )));
    }
    Ok(judgement)
}

/// What dated the events, for a message.
fn signs(j: &Judgement) -> String {
    let mut said = Vec::new();
    if let Ok(n) = j.shared
        && n > 0
    {
        let resumed = j.resumed_from.iter().filter(|r| r.is_some()).count();
        said.push(format!(
            "ids matched across {} connections, {resumed} resuming with Last-Event-ID",
            j.resumed_from.len()
        ));
    }
    if let Ok(n) = j.stamped
        && n > 0
    {
        said.push("the times in the data".to_owned());
    }
    said.join("; ")
}

/// One late arrival in words: `id "5" on connection 1 at 3.04 s, 1.00 s after …`.
fn late_words(j: &Judgement, a: &delivery::Arrival) -> String {
    let (existed, sign) = a.existed_by.unwrap_or((a.at, Sign::DataTime));
    let why = match sign {
        Sign::OtherConnection(c) => format!(
            "{} had it at {:.2} s",
            j.connection(c),
            existed.as_secs_f64()
        ),
        Sign::Replayed(c) => format!(
            "it was replayed, and {} had it at {:.2} s, before this connection asked",
            j.connection(c),
            existed.as_secs_f64()
        ),
        Sign::DataTime => format!("its data says it existed by {:.2} s", existed.as_secs_f64()),
    };
    let id = if a.id.is_empty() {
        "an event without id".to_owned()
    } else {
        format!("id {:?}", a.id)
    };
    format!(
        "{id} on {} at {:.2} s, {:.2} s late ({why})",
        j.connection(a.conn),
        a.at.as_secs_f64(),
        a.lag.as_secs_f64()
    )
}

/// Evidence for late arrivals: the first few in words, and the bytes around the
/// worst one on its own connection's clock.
fn late_evidence(
    probe_delivery: &crate::sse::probe::Delivery,
    j: &Judgement,
    late: &[&delivery::Arrival],
    expected: &str,
) -> Evidence {
    let worst = late.iter().max_by_key(|a| a.lag).copied();
    let mut transcript = Transcript::default();
    if let Some(w) = worst {
        let timeline = &probe_delivery.connections[w.conn];
        transcript = timeline.capture.transcript_around(Some(w.offset));
        transcript.note(
            w.at.saturating_sub(timeline.opened_at),
            format!(
                "{} arrives {:.2} s late (times on {}'s clock)",
                if w.id.is_empty() {
                    "the event".to_owned()
                } else {
                    format!("id {:?}", w.id)
                },
                w.lag.as_secs_f64(),
                j.connection(w.conn)
            ),
        );
    }
    Evidence {
        expected: expected.into(),
        actual: late
            .iter()
            .take(4)
            .map(|a| late_words(j, a))
            .collect::<Vec<_>>()
            .join("; "),
        transcript,
    }
}

/// (a) Held and released together: a read that completes several events, one of
/// which (not the last) arrived [`LATE`] or more after the earliest sign that it
/// existed. Bursts a server writes reach every connection at once and are no
/// sign of holding; a verdict needs [`OCCASIONS`] such reads.
async fn held_events(probe: &SseProbe) -> Outcome {
    let j = match judged(probe).await {
        Ok(j) => j,
        Err(outcome) => return outcome,
    };
    // Reads of several events, one of which (not the last) was held.
    let held: Vec<&delivery::Read> = j
        .reads
        .iter()
        .filter(|r| {
            r.events.len() > 1
                && r.events[..r.events.len() - 1]
                    .iter()
                    .any(|i| j.arrivals[*i].existed_by.is_some() && j.arrivals[*i].lag >= LATE)
        })
        .collect();
    let together = j.reads.iter().filter(|r| r.events.len() > 1).count();
    if held.len() < OCCASIONS {
        return Outcome::pass(format!(
            "{} reads, {together} of them with several events, {} holding back an event that existed {:.1} s earlier ({})",
            j.reads.len(),
            if held.is_empty() {
                "none".to_owned()
            } else {
                format!("{} (once is not judged)", held.len())
            },
            LATE.as_secs_f64(),
            signs(&j)
        ));
    }
    let first = held[0];
    let ids: Vec<String> = first
        .events
        .iter()
        .map(|i| format!("{:?}", j.arrivals[*i].id))
        .collect();
    let ids = match ids.as_slice() {
        [a, b, c, .., last] if ids.len() > 4 => {
            format!("{a}, {b}, {c}, … {last} ({} events)", ids.len())
        }
        _ => ids.join(", "),
    };
    let late: Vec<&delivery::Arrival> = held
        .iter()
        .flat_map(|r| r.events.iter().map(|i| &j.arrivals[*i]))
        .filter(|a| a.lag >= LATE)
        .collect();
    let Ok(delivery) = probe.delivery(|| delivery::observe(probe)).await else {
        return unavailable("the delivery observation is gone");
    };
    Outcome::fail(
        format!(
            "{} times several events came in one read with one held back: ids [{}] arrived together on {} at {:.2} s after {:.2} s of silence",
            held.len(),
            ids,
            j.connection(first.conn),
            first.at.as_secs_f64(),
            first.silence.as_secs_f64()
        ),
        late_evidence(
            delivery,
            &j,
            &late,
            "each event delivered when it exists, not held until later ones come",
        ),
    )
}

/// (b) Lag: every dated event (see [`delivery`]) against the earliest sign that
/// it existed; a verdict needs late events in [`OCCASIONS`] reads, so one lost
/// TCP segment is not taken for holding.
async fn lag(probe: &SseProbe) -> Outcome {
    let j = match judged(probe).await {
        Ok(j) => j,
        Err(outcome) => return outcome,
    };
    let judged = j.judged().count();
    let late: Vec<&delivery::Arrival> = j.late().collect();
    let occasions: std::collections::HashSet<usize> = late.iter().map(|a| a.read).collect();
    let worst = j.judged().map(|a| a.lag).max().unwrap_or_default();
    if occasions.len() < OCCASIONS {
        let once = match late.first() {
            Some(a) => format!(
                "; once {:.2} s late (a single delay is not judged)",
                a.lag.as_secs_f64()
            ),
            None => String::new(),
        };
        return Outcome::pass(format!(
            "{judged} events dated ({}): {}{once}",
            signs(&j),
            if late.is_empty() {
                format!(
                    "each within {} ms of the earliest sign it existed",
                    worst.as_millis()
                )
            } else {
                "the others on time".to_owned()
            }
        ));
    }
    let Ok(delivery) = probe.delivery(|| delivery::observe(probe)).await else {
        return unavailable("the delivery observation is gone");
    };
    Outcome::fail(
        format!(
            "{} of {judged} dated events arrived {:.1} s or more after they existed, in {} reads, up to {:.2} s late ({})",
            late.len(),
            LATE.as_secs_f64(),
            occasions.len(),
            worst.as_secs_f64(),
            signs(&j)
        ),
        late_evidence(
            delivery,
            &j,
            &late,
            "every event within 0.5 s of the earliest sign it existed",
        ),
    )
}

/// The header nginx (and proxies that copy it) read to stop buffering a response.
async fn x_accel_buffering(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    match c.header("x-accel-buffering") {
        Some(v) if v.trim().eq_ignore_ascii_case("no") => {
            Outcome::pass(format!("X-Accel-Buffering: {v}"))
        }
        found => Outcome::fail(
            match found {
                Some(v) => format!("X-Accel-Buffering: {v}, not no"),
                None => "no X-Accel-Buffering header: an nginx in front buffers the stream unless configured not to".to_owned(),
            },
            evidence(
                c,
                "X-Accel-Buffering: no",
                found.map_or("no such header".to_owned(), |v| format!("X-Accel-Buffering: {v}")),
                None,
            ),
        ),
    }
}
