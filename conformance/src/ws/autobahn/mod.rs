//! Autobahn|Testsuite parity: the 301 cases of its groups 1–7, 9 and 10 and the
//! 216 compression cases of groups 12 and 13, each a check whose alias is
//! Autobahn's case number (`pulsecheck probe --only 7.9.3`).
//!
//! A compression case first negotiates permessage-deflate with the offers its
//! case defines ([`handshake`]); without an agreement it is UNIMPLEMENTED, which
//! is a skip here: a server that does not compress is not failing. Agreed, it
//! sends its 1000 messages compressed ([`payloads`] generates them), keeping a
//! few in flight rather than one (Autobahn's grades do not depend on it; a
//! correct server sees the same messages in the same order), and passes when
//! every echo comes back unchanged and the close is clean.
//!
//! Every case runs on its own connection, concurrently with the others, and is
//! played by [`fuzzer::play`] exactly as Autobahn's fuzzing client plays it: the
//! same frames, the same chopping, the same timers (its 1 s close timeouts, its
//! `killAfter`/`closeAfter` fallbacks), the same auto-close when the expected
//! events are in. It is then graded by Autobahn's rules into `behavior` (OK,
//! NON-STRICT, FAILED, INFORMATIONAL) and `behaviorClose` (OK, FAILED, UNCLEAN,
//! WRONG CODE, FAILED BY CLIENT, INFORMATIONAL), which the check's outcome
//! carries as its [`Grades`] (and `--format autobahn` writes as Autobahn's
//! `index.json`). The verdict:
//!
//! | behavior | behaviorClose | verdict |
//! |---|---|---|
//! | OK | OK | pass |
//! | NON-STRICT | OK | warn |
//! | INFORMATIONAL | INFORMATIONAL | info |
//! | anything else | | fail |
//!
//! Autobahn reports the two grades side by side and colours a case by `behavior`;
//! a pass here needs both, so a server that echoes right but never closes TCP
//! fails where Autobahn's summary shows OK beside a FAILED BY CLIENT close.
//!
//! On a server that does not echo (detected once, [`WsProbe::echoes`]), cases
//! whose expected events include an echo are skipped, and data messages are not
//! recorded in the others: what such a server sends is not an answer.
//!
//! Decided is decided: a case whose grades are sealed before its timers have run
//! out does not wait for them. When what arrived can no longer become any
//! accepted list (a text echo of a binary message, a wrong payload, a message
//! where a pong was due), `behavior` is FAILED for good, and the probe fires the
//! case's `killAfter`/`closeAfter` at once (after a short quiet spell, so a Close
//! the server was about to send still counts), then grades the real close
//! handshake; when every grade is fixed while closing (the server closed first
//! where the probe was to), it closes TCP at once. The grades are the ones
//! Autobahn gives after waiting (`fuzzer/sealed.rs` says why;
//! `tests/autobahn_early.rs` plays faulty servers at both paces and compares),
//! and the evidence names each wait cut short.

pub mod cases;
pub mod fuzzer;
pub mod grades;
pub mod handshake;
pub mod payloads;
pub mod recycle;
pub mod reuse;
pub mod stream;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use crate::check::{CheckInfo, Evidence, Level, Outcome, Source, Transcript, Verdict};
use crate::registry::{Check, CheckFuture};
use crate::ws::checks::WsProbe;
use crate::ws::connection::{own_name, peer_name};
use crate::ws::deflate::{InflateStats, Offered, open_offering};
use cases::NamedCase;
use fuzzer::{Behavior, Case, CaseResult, CloseBehavior, Event, Expectation, Expected, Step};
use grades::Grades;
use handshake::{DeflateHandshake, Handshake};
use pulsecheck_ws::Role;

/// The cases, built once: groups 1–10, then the compression cases (12, 13).
static CASES: LazyLock<Vec<NamedCase>> = LazyLock::new(|| {
    let mut all = cases::all();
    all.extend(cases::compression::all());
    all
});

/// Each case's number as its one alias, borrowed from [`CASES`] (which lives as
/// long as the program): the catalogue's strings need no copies.
static ALIASES: LazyLock<Vec<[&'static str; 1]>> =
    LazyLock::new(|| CASES.iter().map(|c| [c.case.number.as_str()]).collect());

/// Case number → index in [`CASES`].
static BY_NUMBER: LazyLock<HashMap<String, usize>> = LazyLock::new(|| {
    CASES
        .iter()
        .enumerate()
        .map(|(i, c)| (c.case.number.clone(), i))
        .collect()
});

/// Cases that move a megabyte or more take what they send from
/// [`MESSAGES_IN_FLIGHT`](crate::budget::MESSAGES_IN_FLIGHT) while they run,
/// whatever `--jobs` says: the server holds each message to echo it, so large
/// messages are counted across concurrent cases, not per connection.
const HEAVY: usize = 1 << 20;

/// How long a case waits on purpose (its pauses): such cases start first, so
/// that a run takes as long as its longest case, not that plus a queue.
fn pauses(case: &Case) -> std::time::Duration {
    case.steps
        .iter()
        .map(|s| match s {
            Step::Wait { after, .. } => *after,
            _ => std::time::Duration::ZERO,
        })
        .sum()
}

/// The 301 cases of groups 1–7, 9 and 10 in Autobahn's order (case numbers as
/// integer tuples, as its reports sort them), with their descriptions as checks.
pub fn cases() -> impl Iterator<Item = (&'static NamedCase, CheckInfo)> {
    in_order(|c| c.case.handshake == Handshake::Plain)
}

/// The 216 compression cases of groups 12 and 13, in Autobahn's order.
pub fn compression_cases() -> impl Iterator<Item = (&'static NamedCase, CheckInfo)> {
    in_order(|c| c.case.handshake != Handshake::Plain)
}

fn in_order(
    keep: impl Fn(&NamedCase) -> bool,
) -> impl Iterator<Item = (&'static NamedCase, CheckInfo)> {
    let mut all: Vec<(usize, &'static NamedCase)> =
        CASES.iter().enumerate().filter(|(_, c)| keep(c)).collect();
    all.sort_by_key(|(_, c)| number_key(&c.case.number));
    all.into_iter().map(|(i, c)| (c, info(i, c)))
}

/// `6.10.1` as `[6, 10, 1]`, for Autobahn's order.
fn number_key(number: &str) -> Vec<u32> {
    number.split('.').filter_map(|n| n.parse().ok()).collect()
}

/// The check description of case `i` of [`CASES`].
fn info(i: usize, c: &'static NamedCase) -> CheckInfo {
    CheckInfo {
        id: &c.id,
        aliases: ALIASES.get(i).map_or(&[], |a| &a[..]),
        title: &c.title,
        source: Source::Rfc(c.rfc, c.section),
        requirement: c.requirement,
        // The cases Autobahn never grades are information.
        level: if c.case.expect == Expectation::Informational {
            Level::Info
        } else {
            Level::Must
        },
    }
}

/// The case a check describes (by its alias, the case number).
pub fn case_of(info: &CheckInfo) -> Option<&'static NamedCase> {
    info.aliases
        .first()
        .and_then(|n| BY_NUMBER.get(*n))
        .and_then(|&i| CASES.get(i))
}

/// The 301 Autobahn cases as checks of a server: those that pause first, then in
/// Autobahn's order (reports sort by ID whatever the order of running).
pub fn checks() -> Vec<Check<WsProbe>> {
    let mut cases: Vec<(&NamedCase, CheckInfo)> = cases().collect();
    cases.sort_by_key(|(c, _)| std::cmp::Reverse(pauses(&c.case)));
    as_checks(cases)
}

/// The 216 compression cases as checks of a server, the heaviest first (so
/// that a run takes about as long as its heaviest case, not that plus a queue),
/// those that send the same messages side by side (so that they share their
/// compressed bytes, [`reuse`]).
pub fn compression_checks() -> Vec<Check<WsProbe>> {
    let mut cases: Vec<(&NamedCase, CheckInfo)> = compression_cases().collect();
    cases.sort_by_key(|(c, _)| (std::cmp::Reverse(c.case.bytes_sent()), corpus_rank(&c.case)));
    as_checks(cases)
}

/// `cases`, in this order, as checks of a server.
fn as_checks(cases: Vec<(&NamedCase, CheckInfo)>) -> Vec<Check<WsProbe>> {
    cases
        .into_iter()
        .map(|(_, info)| Check {
            info,
            run: run_case,
        })
        .collect()
}

/// The place of the corpus a case sends in [`payloads::Corpus::ALL`].
fn corpus_rank(case: &Case) -> usize {
    case.steps
        .iter()
        .find_map(|s| match s {
            Step::Echoes { corpus, .. } => payloads::Corpus::ALL.iter().position(|c| c == corpus),
            _ => None,
        })
        .unwrap_or(usize::MAX)
}

fn run_case<'a>(probe: &'a WsProbe, info: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(async move {
        let Some(named) = case_of(info) else {
            return Outcome::error(
                format!("{} is not an Autobahn case", info.id),
                Transcript::default(),
            );
        };
        play_case(probe, &named.case).await
    })
}

async fn play_case(probe: &WsProbe, case: &Case) -> Outcome {
    let echoes = match probe.echoes().await {
        Ok(echoes) => echoes,
        Err(e) => {
            return Outcome::error(
                format!("cannot find out whether the server echoes: {e}"),
                Transcript::default(),
            );
        }
    };
    if case.expect.needs_echo() && !echoes {
        return Outcome::skipped(
            "the server does not echo messages (ws/echo/detected); this case grades an echo",
        )
        .with_grades(Grades::UNIMPLEMENTED);
    }
    let _heavy = take_budget(case).await;
    if let Handshake::Deflate(deflate) = &case.handshake {
        return play_compression_case(probe, case, deflate, echoes).await;
    }
    let conn = match probe.open().await {
        Ok(conn) => conn,
        Err(e) => return handshake_failed(&e.to_string(), Transcript::default()),
    };
    let result = fuzzer::play(case, conn.into_duplex(), echoes).await;
    outcome_of(case, result)
}

/// FAILED: the opening handshake did not complete (or its answer must be refused).
fn handshake_failed(why: &str, mut transcript: Transcript) -> Outcome {
    transcript.note(std::time::Duration::ZERO, why);
    let outcome = Outcome::fail(
        format!("FAILED: the opening handshake failed: {why}"),
        Evidence {
            expected: "a completed opening handshake, then the case".into(),
            actual: why.to_owned(),
            transcript,
        },
    );
    with_grades(outcome, Behavior::Failed, CloseBehavior::Failed, None, 0)
}

/// A compression case as the client: offer as the case says, accept the
/// server's answer or fail the connection (RFC 7692 §7: a response the client
/// cannot accept fails it), then play with the agreed codecs.
async fn play_compression_case(
    probe: &WsProbe,
    case: &Case,
    deflate: &DeflateHandshake,
    echoes: bool,
) -> Outcome {
    let header = deflate.offer_header();
    let elements: Vec<String> = deflate.offers.iter().map(ToString::to_string).collect();
    let elements: Vec<&str> = elements.iter().map(String::as_str).collect();
    let offered = match open_offering(
        &probe.client,
        &probe.url,
        &elements,
        &deflate.offers,
        probe.wait,
    )
    .await
    {
        Ok(offered) => offered,
        Err(e) => return handshake_failed(&e.to_string(), Transcript::default()),
    };
    let Offered {
        mut conn,
        reply,
        agreement,
    } = offered;
    let answer = reply
        .header("sec-websocket-extensions")
        .map_or("no Sec-WebSocket-Extensions".to_owned(), |v| {
            format!("Sec-WebSocket-Extensions: {v}")
        });
    let (deflater, stats) = match agreement {
        Err(e) => {
            let why = format!(
                "the server answered the offer \"{header}\" with {answer}, which a client must refuse: {e}"
            );
            let transcript = std::mem::take(&mut conn.transcript);
            return handshake_failed(&why, transcript);
        }
        Ok(None) => (None, None),
        Ok(Some(agreement)) => {
            let (deflater, inflater) = deflate.codecs(&agreement, pulsecheck_ws::Role::Client);
            let stats = inflater.stats();
            conn.inflate_with(inflater);
            (Some(deflater), Some(stats))
        }
    };
    let mut duplex = conn.into_duplex();
    duplex.note(format!(
        "offered \"{header}\"; the server answered {answer}"
    ));
    let result =
        fuzzer::play_negotiated(case, duplex, echoes, deflater, fuzzer::Pace::Sealed).await;
    with_compression(outcome_of(case, result.clone()), &result, stats.as_deref())
}

/// The compression facts of a played case: what was sent, and what came back,
/// before and after decompression.
pub fn with_compression(
    outcome: Outcome,
    result: &CaseResult,
    received: Option<&InflateStats>,
) -> Outcome {
    let Some(sent) = result.echoes else {
        return outcome;
    };
    let mut outcome = outcome
        .with_fact("messages_echoed", sent.echoed)
        .with_fact("bytes_sent", sent.plain)
        .with_fact("bytes_sent_compressed", sent.wire);
    if let Some(received) = received {
        let (wire, inflated) = received.bytes();
        outcome = outcome
            .with_fact("bytes_received", inflated)
            .with_fact("bytes_received_compressed", wire);
    }
    outcome
}

/// Compression cases played at once. Each holds a compressor and a
/// decompressor (about 400 KB with 15-bit windows) and keeps the peer busy
/// compressing: a few at a time saturate a server (one that compresses on one
/// core needs two), more only lengthen each case and the peer's answers to its
/// Close, which Autobahn gives 1 s.
pub static COMPRESSION_CASES: crate::budget::Budget = crate::budget::Budget::new(8);

/// What a case takes while it plays: a heavy case its bytes from
/// [`MESSAGES_IN_FLIGHT`](crate::budget::MESSAGES_IN_FLIGHT) (the peer holds
/// each message to echo it), a compression case one of [`COMPRESSION_CASES`]
/// and its window of messages; nothing for the others. The time a case waits
/// for them is not time the peer took
/// ([`waiting_for_turn`](crate::runner::waiting_for_turn)): its
/// `--check-timeout` counts from when it can play.
pub async fn take_budget(case: &Case) -> CaseLeases {
    crate::runner::waiting_for_turn(take_leases(case)).await
}

async fn take_leases(case: &Case) -> CaseLeases {
    let mut held = Vec::new();
    if case.handshake != Handshake::Plain {
        held.push(COMPRESSION_CASES.take(1).await);
        // Messages go out a window at a time: the peer holds at most that.
        held.push(
            crate::budget::MESSAGES_IN_FLIGHT
                .take(case.bytes_in_flight())
                .await,
        );
    } else if case.bytes_sent() >= HEAVY {
        held.push(
            crate::budget::MESSAGES_IN_FLIGHT
                .take(case.bytes_sent())
                .await,
        );
    }
    CaseLeases { _held: held }
}

/// What a case holds from the run's budgets while it plays (given back when
/// dropped).
#[derive(Debug)]
pub struct CaseLeases {
    _held: Vec<crate::budget::Lease>,
}

/// `outcome` with a played case's [`Grades`], and the milliseconds it took as
/// the fact `duration_ms`.
pub fn with_grades(
    outcome: Outcome,
    behavior: Behavior,
    close: CloseBehavior,
    code: Option<u16>,
    duration_ms: u64,
) -> Outcome {
    outcome
        .with_grades(Grades::new(behavior, close, code))
        .with_fact("duration_ms", duration_ms)
}

/// The verdict, message and evidence of a played case.
pub fn outcome_of(case: &Case, result: CaseResult) -> Outcome {
    let peer = peer_name(result.role);
    let code = match result.remote_close_code {
        Some(c) => format!("{peer}'s Close carried {c}"),
        None => format!("no close code from {peer}"),
    };
    let message = format!(
        "behavior {}, close {}; {code}",
        result.behavior, result.behavior_close
    );
    if result.behavior == Behavior::Unimplemented {
        let ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
        let why = "UNIMPLEMENTED: no permessage-deflate was agreed in the opening handshake \
                   (a peer that does not compress takes no part in this case; not a failure)";
        return with_grades(
            Outcome::skipped(why),
            result.behavior,
            result.behavior_close,
            result.remote_close_code,
            ms,
        );
    }
    let verdict = match (result.behavior, result.behavior_close) {
        (Behavior::Ok, CloseBehavior::Ok) => Verdict::Pass,
        (Behavior::NonStrict, CloseBehavior::Ok) => Verdict::Warn,
        (Behavior::Informational, _) => Verdict::Info,
        _ => Verdict::Fail,
    };
    let outcome = if verdict == Verdict::Pass {
        Outcome::pass(message)
    } else {
        let mut o = Outcome::fail(
            message,
            Evidence {
                expected: expected_text(case, result.role),
                actual: actual_text(&result),
                transcript: result.transcript.clone(),
            },
        );
        o.verdict = verdict;
        o
    };
    let ms = u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX);
    with_grades(
        outcome,
        result.behavior,
        result.behavior_close,
        result.remote_close_code,
        ms,
    )
}

fn expected_text(case: &Case, role: Role) -> String {
    let (me, peer) = (own_name(role), peer_name(role));
    let behavior = match &case.expect {
        Expectation::Events { ok, non_strict } => {
            let mut s = format!("OK: {}", events_text(ok));
            if let Some(n) = non_strict {
                let _ = write!(s, "; NON-STRICT: {}", events_text(n));
            }
            s
        }
        Expectation::Length { binary, len } => format!(
            "one {} message of exactly {len} bytes",
            if *binary { "binary" } else { "text" }
        ),
        Expectation::RoundTrips => "every round trip echoed with its type and length".into(),
        Expectation::Echoes => {
            "permessage-deflate agreed, then every message echoed unchanged (type and bytes), in order, within the case's time".into()
        }
        Expectation::Informational => {
            "anything (the spec leaves it open; reported as information)".into()
        }
    };
    let close = &case.close;
    let who = if close.by_fuzzer {
        format!("{me} closes first and {peer} answers")
    } else {
        format!("{peer} fails the connection first (a Close or a dropped TCP connection)")
    };
    let codes: Vec<String> = close.codes.iter().map(u16::to_string).collect();
    format!(
        "{behavior}. Close: {who}; code {} or none{}",
        codes.join(" or "),
        if close.clean {
            // RFC 6455 §7.1.1: the server closes TCP first, whichever side
            // that is here.
            let server = if role == Role::Server { me } else { peer };
            format!("; a clean close (Close both ways, then {server} closes TCP)")
        } else {
            String::new()
        }
    )
}

fn events_text(events: &[Expected]) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    let parts: Vec<String> = events
        .iter()
        .map(|e| match e {
            Expected::Message { binary, data } => message_text(*binary, &data.to_bytes()),
            Expected::Pong(p) => format!("pong {}", short(p)),
            Expected::Timeout(t) => format!("still open at wait {t}"),
        })
        .collect();
    parts.join(", ")
}

fn actual_text(result: &CaseResult) -> String {
    let received: Vec<String> = result
        .received
        .iter()
        .map(|e| match e {
            Event::Message { binary, data } if data.is_whole() => {
                message_text(*binary, data.head())
            }
            Event::Message { binary, data } => format!(
                "{} message of {} bytes",
                if *binary { "binary" } else { "text" },
                data.len()
            ),
            Event::Pong(p) => format!("pong {}", short(p)),
            Event::Timeout(t) => format!("still open at wait {t}"),
        })
        .collect();
    let mut s = format!(
        "received: {}",
        if received.is_empty() {
            "nothing".to_owned()
        } else {
            received.join(", ")
        }
    );
    for note in &result.notes {
        let _ = write!(s, "; {note}");
    }
    s
}

fn message_text(binary: bool, data: &[u8]) -> String {
    let kind = if binary { "binary" } else { "text" };
    format!("{kind} message {}", short(data))
}

/// A payload in a line: short ones shown (escaped), long ones by length.
fn short(data: &[u8]) -> String {
    if data.len() <= 32 {
        format!("{:?} ({} bytes)", String::from_utf8_lossy(data), data.len())
    } else {
        format!("of {} bytes", data.len())
    }
}
