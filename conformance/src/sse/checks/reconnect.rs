//! `sse/reconnect/…`

use http::HeaderValue;

use super::replay::{ReplayJudge, ResumePoint, SeenEvent, resume_points};
use super::*;

/// How many events with ids the replay check watches for before it resumes.
const WATCH_IDS: usize = 12;

/// The longest the replay check watches the stream before it resumes; never more
/// than half the observation (`--observe`), so the check ends within it.
const WATCH_AT_MOST: Duration = Duration::from_secs(10);

/// How long one resumed stream may take to show its replay: the replay itself
/// comes at once; this bounds the wait for a live event after it. Never more
/// than half the observation either (but at least a second), so watching and
/// resuming together stay within `--observe`.
const RESUME_WAIT: Duration = Duration::from_secs(5);

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
        "A reconnection with Last-Event-ID: X first delivers exactly the events that followed X: none repeated, none missing. Tried from the earliest id seen, one in the middle, the last one, and the last of the shorter numeric ids when their lengths differ.",
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

/// How long `sse/reconnect/prompt` waits between dropping a stream and coming
/// back: less than any client's reconnection time.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

async fn reconnect_prompt(probe: &SseProbe) -> Outcome {
    match probe.open(&[]).await {
        Ok(mut first) => {
            let _ = first.next_chunk_within(Duration::from_secs(2)).await;
            drop(first);
        }
        Err(e) => return unavailable(&e.to_string()),
    }
    // A client waits its reconnection time (a few seconds by default) before it
    // comes back; a shorter pause is still a prompt client, and gives the server
    // time to see that the first connection went away, as it would in the field.
    tokio::time::sleep(RECONNECT_PAUSE).await;
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

/// The events a capture saw, as the replay judgement takes them.
fn seen_events(c: &Capture) -> Vec<SeenEvent> {
    c.seen
        .iter()
        .filter_map(|s| match &s.kind {
            SeenKind::Event {
                id, data, sets_id, ..
            } => Some(SeenEvent {
                id: id.clone(),
                sets_id: *sets_id,
                data: data.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// One resumption: where from, and what the resumed stream showed.
struct Resumed {
    point: ResumePoint,
    id: String,
    result: Result<super::replay::Replay, String>,
    transcript: Transcript,
}

/// Reconnects with `Last-Event-ID: events[point]` and judges the replay.
async fn resume(
    probe: &SseProbe,
    events: &[SeenEvent],
    point: ResumePoint,
    wait: Duration,
) -> Resumed {
    let id = events[point.at].id.clone();
    let mut transcript = Transcript::default();
    transcript.note(
        Duration::ZERO,
        format!("reconnected with Last-Event-ID: {id}"),
    );
    let done = |result, transcript| Resumed {
        point: point.clone(),
        id: id.clone(),
        result,
        transcript,
    };
    let Ok(value) = HeaderValue::from_bytes(id.as_bytes()) else {
        return done(
            Err(format!("the id {id:?} cannot be sent as a header")),
            transcript,
        );
    };
    let name = http::HeaderName::from_static("last-event-id");
    let mut response = match probe.open(&[(name, value)]).await {
        Ok(r) if r.status == 200 => r,
        Ok(r) => return done(Err(format!("status {}", r.status)), transcript),
        Err(e) => return done(Err(e.to_string()), transcript),
    };
    let mut judge = ReplayJudge::new(events, point.at);
    // The main capture's bounds: a hostile stream cannot grow the parser.
    let mut parser = pulsecheck_sse::Parser::with_config(
        pulsecheck_sse::Config::default()
            .with_max_line_len(1 << 20)
            .with_max_event_len(4 << 20),
    );
    let mut taken = 0;
    let started = Instant::now();
    while !judge.is_over() && taken < judge.most_events() {
        let remaining = wait.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            transcript.note(started.elapsed(), "stopped waiting");
            break;
        }
        let chunk = match response.next_chunk_within(remaining).await {
            Ok(Next::Chunk(chunk)) => chunk,
            _ => break,
        };
        transcript.bytes(chunk.at, crate::check::Direction::Received, &chunk.bytes);
        let mut arrived = Vec::new();
        let fed = parser.feed(&chunk.bytes, |item| {
            if let pulsecheck_sse::Item::Event(e) = item {
                arrived.push(SeenEvent {
                    id: e.last_event_id.to_str().into_owned(),
                    sets_id: e.sets_id,
                    data: e.data.to_str().into_owned(),
                });
            }
        });
        for event in &arrived {
            if judge.is_over() || taken >= judge.most_events() {
                break;
            }
            judge.push(event);
            taken += 1;
        }
        if let Err(e) = fed {
            transcript.note(started.elapsed(), format!("stopped reading: {e}"));
            break;
        }
    }
    done(Ok(judge.finish()), transcript)
}

async fn last_event_id_replay(probe: &SseProbe) -> Outcome {
    // Watch the stream until enough events have set ids.
    let first = match probe.open(&[]).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e.to_string()),
    };
    let window = (probe.options.observe / 2).min(WATCH_AT_MOST);
    let started = Instant::now();
    let enough_ids = |c: &Capture| {
        c.seen
            .iter()
            .filter(|s| matches!(s.kind, SeenKind::Event { sets_id: true, .. }))
            .count()
            >= WATCH_IDS
    };
    let capture = read_stream_until(
        first,
        started,
        window,
        probe.options.max_body_bytes,
        enough_ids,
    )
    .await;
    let events = seen_events(&capture);
    let points = resume_points(&events);
    if points.is_empty() {
        let with_ids = events.iter().filter(|e| e.sets_id).count();
        let stopped = match capture.end {
            BodyEnd::WindowOver => format!(
                "the check's {:.1} s watch (half of --observe, at most {} s) ended",
                capture.observed_for.as_secs_f64(),
                WATCH_AT_MOST.as_secs()
            ),
            _ => why_it_stopped(&capture),
        };
        return Outcome::skipped(format!(
            "{with_ids} of {} event(s) carried an id before {stopped}; resuming needs at least 2",
            events.len()
        ));
    }
    // The first connection is gone; resume from every point at once.
    let wait = (probe.options.observe / 2)
        .min(RESUME_WAIT)
        .max(Duration::from_secs(1));
    let resumed =
        futures::future::join_all(points.into_iter().map(|p| resume(probe, &events, p, wait)))
            .await;
    judge_resumptions(resumed)
}

/// One outcome for all the resumptions: a pass that says what each replayed, or
/// the first wrong one, with every resumption in the evidence.
fn judge_resumptions(resumed: Vec<Resumed>) -> Outcome {
    let name = |r: &Resumed| format!("{:?} ({})", r.id, r.point.why);
    let wrong: Vec<&Resumed> = resumed
        .iter()
        .filter(|r| r.result.as_ref().map_or(true, |replay| !replay.exact()))
        .collect();
    let Some(first) = wrong.first() else {
        let each: Vec<String> = resumed
            .iter()
            .map(|r| {
                let n = r.result.as_ref().map_or(0, |replay| replay.expected.len());
                format!("{n} after {}", name(r))
            })
            .collect();
        return Outcome::pass(format!(
            "resumed from {} points; each replayed exactly the missed events: {}",
            resumed.len(),
            each.join(", ")
        ));
    };
    let problem = |r: &Resumed| match &r.result {
        Ok(replay) => replay.problem(),
        Err(e) => format!("the reconnection failed: {e}"),
    };
    let others = match (wrong.len() - 1, resumed.len() - wrong.len()) {
        (0, 0) => String::new(),
        (0, right) => format!("; the other {right} point(s) replayed exactly"),
        (more, right) => format!(
            "; also wrong from {more} of the other {} point(s)",
            more + right
        ),
    };
    let per_point = |what: &dyn Fn(&Resumed) -> String| {
        resumed
            .iter()
            .map(|r| format!("after {:?}: {}", r.id, what(r)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let expected = per_point(&|r| match &r.result {
        Ok(replay) if replay.expected.is_empty() => "nothing, then new events".to_owned(),
        Ok(replay) => super::replay::id_list(&replay.expected),
        Err(_) => "200 and the missed events".to_owned(),
    });
    let actual = per_point(&|r| match &r.result {
        Ok(replay) if replay.received.is_empty() => "no event".to_owned(),
        Ok(replay) => super::replay::id_list(&replay.received),
        Err(e) => e.clone(),
    });
    Outcome::fail(
        format!(
            "after Last-Event-ID {}: {}{others}",
            name(first),
            problem(first)
        ),
        Evidence {
            expected,
            actual,
            transcript: first.transcript.clone(),
        },
    )
}
