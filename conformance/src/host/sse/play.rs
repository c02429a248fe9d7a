//! Playing one case: open its path on the server, start the driver with its
//! URL, wait (bounded) until the case is decided, end the driver, judge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cases::{Case, Expect, Until, case};
use super::driver::{DriverLines, Launch};
use super::server::{CaseWire, SseHostServer, WireLog};
use crate::check::{CheckInfo, Evidence, Outcome, Transcript};

/// How long a driver may take to make its first request.
pub const CONNECT_LIMIT: Duration = Duration::from_secs(20);

/// What every case shares: the server and how to start the client.
pub struct SseHost {
    /// The server.
    pub server: SseHostServer,
    /// Starts the client under test.
    pub launcher: Arc<dyn Launch>,
}

impl std::fmt::Debug for SseHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseHost")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// What a case saw.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The requests.
    pub wire: WireLog,
    /// What the driver printed.
    pub lines: DriverLines,
    /// How the driver exited, if it did before the case was decided.
    pub exited: Option<String>,
    /// The end of its output.
    pub output_tail: String,
}

/// Runs the case of `info` against the client `host` starts.
pub async fn play(host: &SseHost, info: &CheckInfo) -> Outcome {
    let Some(case) = case(info.id) else {
        return Outcome::error(format!("no case {}", info.id), Transcript::default());
    };
    if let Some(reason) = host.launcher.skip_reason(info.id) {
        return Outcome::skipped(reason);
    }
    let wire = host.server.open_held_case(case.script);
    let url = host.server.case_url(&wire, info.id);
    let observed = match host.launcher.launch(&url) {
        Ok(mut launched) => {
            match launched.ready.take() {
                None => wire.release(),
                Some(ready) => {
                    let held = Arc::clone(&wire);
                    tokio::spawn(async move {
                        ready.await;
                        held.release();
                    });
                }
            }
            watch(case, &wire, launched).await
        }
        Err(e) => {
            host.server.close_case(&wire);
            return Outcome::error(e, Transcript::default());
        }
    };
    host.server.close_case(&wire);
    judge(case, &url, &observed)
}

/// Waits until the case is decided; the driver is ended on return.
async fn watch(case: &Case, wire: &Arc<CaseWire>, launched: super::driver::Launched) -> Observed {
    let super::driver::Launched {
        mut lines,
        mut exit,
        output_tail,
        guard,
        ready: _,
    } = launched;
    let mut observed = Observed::default();
    let began = wire.began();
    let mut lines_open = true;
    loop {
        let log = wire.log();
        if let Some(wait) = decided(case.expect.until(), &log, &observed.lines, began) {
            if wait.is_zero() {
                break;
            }
            let changed = wire.changed.notified();
            tokio::select! {
                () = changed => {}
                line = lines.recv(), if lines_open => match line {
                    Some(line) => observed.lines.take(&line),
                    None => lines_open = false,
                },
                status = &mut exit, if observed.exited.is_none() => observed.exited = Some(status),
                () = tokio::time::sleep(wait.min(Duration::from_millis(100))) => {}
            }
        }
        if log.total == 0 && began.elapsed() >= CONNECT_LIMIT {
            break;
        }
        if log.total == 0 && observed.exited.is_some() {
            break;
        }
    }
    drop(guard);
    // What the driver printed before it was ended.
    while let Ok(line) = lines.try_recv() {
        observed.lines.take(&line);
    }
    observed.wire = wire.log();
    observed.output_tail = output_tail();
    observed
}

/// How much longer to wait: zero when decided.
fn decided(until: Until, log: &WireLog, lines: &DriverLines, began: Instant) -> Option<Duration> {
    let now = began.elapsed();
    let left = |limit: Duration| limit.saturating_sub(now);
    Some(match until {
        Until::Requests(n, _) if log.total >= n => Duration::ZERO,
        Until::Requests(_, limit) => left(limit),
        Until::Window(window) => left(window),
        Until::QuietAfterSecond(quiet) => {
            if log.total >= 3 {
                Duration::ZERO
            } else {
                match log.ended.get(1).copied().flatten() {
                    Some(end) => left(end + quiet),
                    None => left(Duration::from_secs(8)),
                }
            }
        }
        Until::Events(n, grace) => {
            if lines.events.len() + lines.events_dropped >= n || log.total >= 2 {
                // A second request: the first stream is over, and what it
                // dispatched was printed before (a short grace for the pipe).
                if lines.events.len() + lines.events_dropped >= n {
                    Duration::ZERO
                } else {
                    match log.requests.get(1) {
                        Some(second) => left(second.at + Duration::from_millis(300)),
                        None => Duration::ZERO,
                    }
                }
            } else {
                match log.ended.first().copied().flatten() {
                    Some(end) => left(end + grace),
                    None => left(Duration::from_secs(15)),
                }
            }
        }
    })
}

/// The transcript of what a case saw.
fn transcript(observed: &Observed) -> Transcript {
    let mut t = Transcript::default();
    for (i, request) in observed.wire.requests.iter().enumerate() {
        t.note(request.at, request.describe(i + 1));
    }
    if observed.wire.total > observed.wire.requests.len() {
        t.note(
            Duration::ZERO,
            format!(
                "{} more requests not kept",
                observed.wire.total - observed.wire.requests.len()
            ),
        );
    }
    for event in observed.lines.events.iter().take(8) {
        t.note(
            Duration::ZERO,
            format!("driver printed event {}", event.describe()),
        );
    }
    for error in observed.lines.errors.iter().take(4) {
        t.note(Duration::ZERO, format!("driver printed error {error:?}"));
    }
    t
}

/// The verdict of a case from what it saw.
fn judge(case: &Case, url: &str, observed: &Observed) -> Outcome {
    let log = &observed.wire;
    if log.total == 0 {
        let why = match &observed.exited {
            Some(exit) => format!("the client {exit} without connecting to {url}"),
            None => format!(
                "the client never connected to {url} within {} s",
                CONNECT_LIMIT.as_secs()
            ),
        };
        let tail = if observed.output_tail.is_empty() {
            " (it wrote nothing)".to_owned()
        } else {
            format!(
                "; its output ended with:\n{}",
                observed.output_tail.trim_end()
            )
        };
        return Outcome::error(format!("{why}{tail}"), transcript(observed));
    }
    let verdict = if case.expect.needs_events() {
        judge_events(case.expect, observed)
    } else {
        judge_wire(case.expect, log)
    };
    let fail = |expected: String, actual: String| {
        Outcome::fail(
            actual.clone(),
            Evidence {
                expected,
                actual,
                transcript: transcript(observed),
            },
        )
    };
    match verdict {
        Judged::Pass(message) => Outcome::pass(message),
        Judged::Info(message) => Outcome::info(
            message.clone(),
            Evidence {
                expected: "a measurement".to_owned(),
                actual: message,
                transcript: transcript(observed),
            },
        ),
        Judged::Fail { expected, actual } => fail(expected, actual),
        Judged::Skip(reason) => Outcome::skipped(reason),
        Judged::Error(message) => Outcome::error(message, transcript(observed)),
    }
}

/// A judgement before it becomes an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Met.
    Pass(String),
    /// Measured.
    Info(String),
    /// Not met.
    Fail {
        /// What was expected.
        expected: String,
        /// What happened.
        actual: String,
    },
    /// Does not apply.
    Skip(String),
    /// Could not be judged.
    Error(String),
}

fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Judged {
    Judged::Fail {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// Judges a case from the requests alone.
pub fn judge_wire(expect: Expect, log: &WireLog) -> Judged {
    let Some(first) = log.requests.first() else {
        return Judged::Error("no request".to_owned());
    };
    let second = log.requests.get(1);
    match expect {
        Expect::FirstMethodGet => match first.method.as_str() {
            "GET" => Judged::Pass("the first request is a GET".to_owned()),
            other => fail("GET", format!("the first request's method is {other}")),
        },
        Expect::FirstAccept => match &first.accept {
            Some(a)
                if a.split(',').any(|t| {
                    t.split(';')
                        .next()
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
                }) =>
            {
                Judged::Pass(format!("Accept: {a}"))
            }
            Some(a) => fail("Accept: text/event-stream", format!("Accept: {a}")),
            None => fail("Accept: text/event-stream", "no Accept header"),
        },
        Expect::FirstCacheControl => match &first.cache_control {
            Some(c)
                if c.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("no-cache")) =>
            {
                Judged::Pass(format!("Cache-Control: {c}"))
            }
            Some(c) => fail("Cache-Control: no-cache", format!("Cache-Control: {c}")),
            None => fail("Cache-Control: no-cache", "no Cache-Control header"),
        },
        Expect::FirstNoLastEventId => match &first.last_event_id {
            None => Judged::Pass("no Last-Event-ID on the first request".to_owned()),
            Some(v) => fail(
                "no Last-Event-ID header",
                format!("Last-Event-ID: {v:?} on the first request"),
            ),
        },
        Expect::Reconnects => match second {
            Some(s) => Judged::Pass(match s.since_previous_end {
                Some(gap) => format!("reconnected after {} ms", gap.as_millis()),
                None => "reconnected".to_owned(),
            }),
            None => fail(
                "a second request (retry: 100 was sent)",
                "the client did not reconnect within 6 s",
            ),
        },
        Expect::Gap { min_ms, max_ms } => {
            let expected = format!("a reconnection {min_ms}–{max_ms} ms after the stream ended");
            match second.map(|s| s.since_previous_end) {
                Some(Some(gap)) => {
                    let ms = u64::try_from(gap.as_millis()).unwrap_or(u64::MAX);
                    if ms < min_ms {
                        fail(
                            expected,
                            format!("reconnected after {ms} ms: sooner than the reconnection time"),
                        )
                    } else if ms > max_ms {
                        fail(
                            expected,
                            format!(
                                "reconnected after {ms} ms: the reconnection time the stream set was not applied"
                            ),
                        )
                    } else {
                        Judged::Pass(format!("reconnected after {ms} ms"))
                    }
                }
                Some(None) => fail(
                    expected,
                    "reconnected while the first connection was still open",
                ),
                None => fail(expected, "the client did not reconnect"),
            }
        }
        Expect::DefaultGap => match second.and_then(|s| s.since_previous_end) {
            Some(gap) => Judged::Info(format!(
                "the default reconnection time is about {} ms",
                gap.as_millis()
            )),
            None => Judged::Info("the client did not reconnect within 12 s".to_owned()),
        },
        Expect::AtMostRequests(most) => {
            if log.total <= most {
                Judged::Pass(format!("{} requests in 3 s", log.total))
            } else {
                fail(
                    format!("at most {most} requests in 3 s"),
                    format!("{} requests in 3 s: a reconnect storm", log.total),
                )
            }
        }
        Expect::LastEventId(want) => {
            let Some(second) = second else {
                return fail(
                    "a second request",
                    "the client did not reconnect within 6 s (retry: 100 was sent)",
                );
            };
            let expected = match want {
                Some(v) => format!("Last-Event-ID: {v:?}"),
                None => "no Last-Event-ID header".to_owned(),
            };
            match (&second.last_event_id, want) {
                (Some(got), Some(want)) if got == want => {
                    Judged::Pass(format!("reconnected with Last-Event-ID: {got:?}"))
                }
                (None, None) => Judged::Pass("reconnected without Last-Event-ID".to_owned()),
                (Some(got), _) => {
                    fail(expected, format!("reconnected with Last-Event-ID: {got:?}"))
                }
                (None, Some(_)) => fail(expected, "reconnected without Last-Event-ID"),
            }
        }
        Expect::RedirectFollowed => match second {
            Some(s) if s.method == "GET" && s.target.ends_with("/redirected") => {
                Judged::Pass(format!("followed to {}", s.target))
            }
            Some(s) => fail(
                "a GET of …/redirected",
                format!("{} {}", s.method, s.target),
            ),
            None => fail(
                "a GET of …/redirected",
                "the client did not follow the redirect",
            ),
        },
        Expect::NoReconnect => {
            if log.total <= 2 {
                Judged::Pass("no reconnection after the stream was failed".to_owned())
            } else {
                let gap = log
                    .requests
                    .get(2)
                    .and_then(|r| r.since_previous_end)
                    .map(|g| format!(" {} ms after", g.as_millis()))
                    .unwrap_or_default();
                fail(
                    "no request after the second (its reply fails the connection for good)",
                    format!("the client reconnected{gap}: {} requests", log.total),
                )
            }
        }
        Expect::Events(_) | Expect::BigEvent(_) => {
            Judged::Error("an event case judged on the wire".to_owned())
        }
    }
}

/// Judges a case from the driver's events.
pub fn judge_events(expect: Expect, observed: &Observed) -> Judged {
    let lines = &observed.lines;
    if lines.events.is_empty() && lines.events_dropped == 0 {
        if lines.garbage > 0 {
            return Judged::Error(format!(
                "the driver printed {} line(s) that are not the contract's JSON (first: {:?}) and no event",
                lines.garbage,
                lines.first_garbage.clone().unwrap_or_default()
            ));
        }
        return Judged::Skip(
            "the driver printed no {\"kind\":\"event\",…} lines: this case judges dispatched events".to_owned(),
        );
    }
    // The canary shows the driver prints events; the case judges what follows.
    let events: &[super::driver::DispatchedEvent] = match lines.events.split_first() {
        Some((first, rest)) if first.data == "pulsecheck-canary" => rest,
        _ => &lines.events,
    };
    let got: Vec<String> = events
        .iter()
        .map(super::driver::DispatchedEvent::describe)
        .collect();
    match expect {
        Expect::Events(want) => {
            let matches = events.len() == want.len()
                && events.iter().zip(want).all(|(e, (t, d, id))| {
                    e.event_type == *t && e.data == *d && e.last_event_id == *id
                });
            let want_text: Vec<String> = want
                .iter()
                .map(|(t, d, id)| {
                    super::driver::DispatchedEvent {
                        event_type: (*t).to_owned(),
                        data: (*d).to_owned(),
                        last_event_id: (*id).to_owned(),
                    }
                    .describe()
                })
                .collect();
            if matches {
                Judged::Pass(format!("dispatched {}", got.join(", ")))
            } else {
                fail(
                    want_text.join(", "),
                    format!(
                        "dispatched {}",
                        if got.is_empty() {
                            "nothing".to_owned()
                        } else {
                            got.join(", ")
                        }
                    ),
                )
            }
        }
        Expect::BigEvent(size) => match events {
            [e] if e.data.len() == size && e.data.bytes().all(|b| b == b'a') => {
                Judged::Pass(format!("one event of {size} bytes"))
            }
            _ => fail(
                format!("one event of {size} bytes of a"),
                format!("dispatched {}", got.join(", ")),
            ),
        },
        _ => Judged::Error("a wire case judged on events".to_owned()),
    }
}
