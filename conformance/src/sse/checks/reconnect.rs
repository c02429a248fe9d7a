//! `sse/reconnect/…`

use super::*;

/// The `sse/reconnect` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
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
];

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

/// Reads events (data and id) from a response until `count` arrived or `limit` passed,
/// or the events' text passes 1 MiB (more than the missed events a capture keeps, so
/// such a replay is not the one expected anyway).
async fn read_events(
    mut response: crate::http::Response,
    count: usize,
    limit: Duration,
    mut transcript: Transcript,
) -> (Vec<(String, String)>, Transcript) {
    const MAX_KEPT: usize = 1 << 20;
    let started = Instant::now();
    let mut parser = probe_parser();
    let mut events = Vec::new();
    let mut kept = 0usize;
    while events.len() < count && kept < MAX_KEPT {
        let remaining = limit.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            break;
        }
        match response.next_chunk_within(remaining).await {
            Ok(Next::Chunk(chunk)) => {
                transcript.bytes(chunk.at, crate::check::Direction::Received, &chunk.bytes);
                let fed = parser.feed(&chunk.bytes, |item| {
                    if let pulsecheck_sse::Item::Event(e) = item
                        && kept < MAX_KEPT
                    {
                        kept += e.data.len() + e.last_event_id.len();
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
