//! Small fixed reports the writers' tests share.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{CheckInfo, Direction, Evidence, Level, Outcome, Source, Transcript, Verdict};

use super::{CheckResult, Report};
use crate::ws::autobahn::fuzzer::{Behavior, CloseBehavior};
use crate::ws::autobahn::grades::Grades;

const HEADERS: CheckInfo = CheckInfo {
    id: "sse/headers/content-type",
    aliases: &[],
    title: "Content-Type is text/event-stream",
    source: Source::Whatwg("9.2.3"),
    requirement: "The response must have the text/event-stream type.",
    level: Level::Must,
};
const HEARTBEAT: CheckInfo = CheckInfo {
    id: "sse/heartbeat/interval",
    aliases: &[],
    title: "Heartbeat",
    source: Source::Practice("proxies drop idle connections after 30-60 s"),
    requirement: "A server should send a comment at least every 15-30 s.",
    level: Level::Should,
};

/// Two event-stream checks with the given verdicts; every non-pass has the same
/// evidence, whose transcript holds `<&>\x01\n` received at 3 ms.
pub(super) fn report(content_type: Verdict, heartbeat: Verdict, strict: bool) -> Report {
    let outcome = |v: Verdict| Outcome {
        verdict: v,
        message: format!("found {v}"),
        evidence: (v != Verdict::Pass).then(|| {
            let mut transcript = Transcript::default();
            transcript.bytes(Duration::from_millis(3), Direction::Received, b"<&>\x01\n");
            Evidence {
                expected: "x".into(),
                actual: "y".into(),
                transcript,
            }
        }),
        grades: None,
        facts: BTreeMap::new(),
    };
    Report::new(
        "http://127.0.0.1:1/events",
        strict,
        vec![
            CheckResult::new(&HEARTBEAT, outcome(heartbeat), 7),
            CheckResult::new(&HEADERS, outcome(content_type), 3),
        ],
        10,
    )
}

/// One WebSocket check of the probe's own and Autobahn cases of several groups,
/// with every verdict among them, Autobahn's grades as the cases give them,
/// and a hostile server's bytes in one transcript.
pub(super) fn ws_report() -> Report {
    let case = |id: &'static str, number: &'static str, title: &'static str| CheckInfo {
        id,
        aliases: Box::leak(vec![number].into_boxed_slice()),
        title,
        source: Source::Rfc(6455, "5.2"),
        requirement: "A data message is echoed unchanged; the probe's Close 1000 is answered.",
        level: Level::Must,
    };
    let graded =
        |outcome: Outcome, behavior: Behavior, close: CloseBehavior, code: Option<u16>, ms: u64| {
            outcome
                .with_grades(Grades::new(behavior, close, code))
                .with_fact("duration_ms", ms)
        };
    let mut hostile = Transcript::default();
    hostile.bytes(
        Duration::from_millis(1),
        Direction::Sent,
        b"\x81\x85\x00\x00\x00\x00hello",
    );
    hostile.bytes(
        Duration::from_millis(2),
        Direction::Received,
        b"\x81\x19<script>alert(1)</script>",
    );
    hostile.note(Duration::from_millis(3), "the server closed TCP & left");
    let evidence = |expected: &str, actual: &str, transcript: Transcript| Evidence {
        expected: expected.into(),
        actual: actual.into(),
        transcript,
    };
    let mut non_strict = Outcome::fail(
        "behavior NON-STRICT, close OK; the server's Close carried 1007",
        evidence(
            "OK: a Close 1007 at the invalid byte; NON-STRICT: at the message's end",
            "a Close 1007 \"at the end\"",
            Transcript::default(),
        ),
    );
    non_strict.verdict = Verdict::Warn;
    let checks = vec![
        CheckResult::new(
            &CheckInfo {
                id: "ws/handshake/accept",
                aliases: &[],
                title: "Sec-WebSocket-Accept is the key's hash",
                source: Source::Rfc(6455, "4.2.2"),
                requirement: "The server's Sec-WebSocket-Accept is the base64 SHA-1 of the key and the GUID.",
                level: Level::Must,
            },
            Outcome::pass("the accept key is right"),
            4,
        ),
        CheckResult::new(
            &case(
                "ws/framing/text-0-bytes",
                "1.1.1",
                "A text message of 0 bytes is echoed",
            ),
            graded(
                Outcome::pass("behavior OK, close OK; the server's Close carried 1000"),
                Behavior::Ok,
                CloseBehavior::Ok,
                Some(1000),
                2,
            ),
            3,
        ),
        CheckResult::new(
            &case(
                "ws/framing/text-125-bytes",
                "1.1.2",
                "A text message of 125 bytes is echoed",
            ),
            graded(
                Outcome::fail(
                    "behavior FAILED, close OK; the server's Close carried 1000",
                    evidence(
                        "OK: text of 125 bytes 'hello <b>'",
                        "text of 5 bytes 'hello'",
                        hostile,
                    ),
                ),
                Behavior::Failed,
                CloseBehavior::Ok,
                Some(1000),
                5,
            ),
            6,
        ),
        CheckResult::new(
            &case(
                "ws/utf8/fail-fast-inside-a-frame",
                "6.4.3",
                "Invalid UTF-8 inside a frame still arriving fails the connection at once",
            ),
            graded(
                non_strict,
                Behavior::NonStrict,
                CloseBehavior::Ok,
                Some(1007),
                1003,
            ),
            1004,
        ),
        CheckResult::new(
            &case("ws/close/code-5000", "7.13.1", "A Close with code 5000"),
            graded(
                Outcome::info(
                    "behavior INFORMATIONAL, close INFORMATIONAL; the server's Close carried 1002",
                    evidence("anything", "a Close 1002", Transcript::default()),
                ),
                Behavior::Informational,
                CloseBehavior::Informational,
                Some(1002),
                1,
            ),
            2,
        ),
        CheckResult::new(
            &case(
                "ws/limits/text-64kib",
                "9.1.1",
                "A text message of 64KiB is echoed",
            ),
            Outcome::skipped(
                "the server does not echo messages (ws/echo/detected); this case grades an echo",
            )
            .with_grades(Grades::UNIMPLEMENTED),
            0,
        ),
        CheckResult::new(
            &case(
                "ws/ping/empty-payload",
                "2.1",
                "A ping with an empty payload is answered",
            ),
            Outcome::error(
                "the check did not finish within --check-timeout (60 s)",
                Transcript::default(),
            ),
            60_000,
        ),
        CheckResult::new(
            &case(
                "ws/misc/fragmented-echo",
                "10.1.1",
                "A message of 64 KiB in frames",
            ),
            graded(
                Outcome::pass("behavior OK, close OK; the server's Close carried 1000"),
                Behavior::Ok,
                CloseBehavior::Ok,
                Some(1000),
                7,
            ),
            8,
        ),
    ];
    Report::new("ws://127.0.0.1:9001/", false, checks, 1234)
}
