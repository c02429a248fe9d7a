//! Decided is decided, proved: against servers that fail Autobahn cases, every
//! case is played twice on fresh connections, once ending as soon as its grades
//! are sealed (`Pace::Sealed`, what `pulsecheck probe` does) and once waiting out
//! every timer as Autobahn does (`Pace::Autobahn`). The two must give the same
//! `behavior`, `behaviorClose` and `remoteCloseCode` in every case; the cases the
//! early run cut short must be the ones the fault seals (derived from the case
//! table), and they must not have waited for the timer the waiting run waited for.
//!
//! The faulty servers: four written here on tokio-tungstenite (echoes that
//! change a message's type, as websocat does in its text and binary modes;
//! pings answered twice; a server that closes first after a wrong echo and
//! leaves TCP open) and three faults of the reference server (no pongs, late
//! pongs, invalid UTF-8 echoed). The clean reference server never gets a
//! shortcut.
//!
//! Timing is asserted only with wide margins, for the 10 s timers: the early run
//! skipped at least half of the timer and took under 5 s, while the waiting run
//! took the 10 s. Speed figures belong in measured runs, not here.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::serve::ws::{Fault, WsServerConfig, start};
use pulsecheck::ws::autobahn::cases::{NamedCase, all};
use pulsecheck::ws::autobahn::fuzzer::{
    Case, CaseResult, Expectation, Expected, Pace, ShortcutReason, Step, Timer, WaitFor, play_paced,
};
use pulsecheck::ws::checks::WsProbe;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use url::Url;

#[path = "support/loopback.rs"]
mod loopback;

/// Cases played at once (each pace of a case on its own connection).
const JOBS: usize = 32;

/// How long the reference server's `pongs-late` fault holds a pong
/// (`serve ws --list-faults`).
const LATE_PONG: Duration = Duration::from_secs(2);

/// How a test server here gets Autobahn cases wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrong {
    /// Echoes binary messages as text (invalid UTF-8 replaced), as websocat's
    /// default text mode does.
    BinaryAsText,
    /// Echoes text messages as binary, as websocat's binary mode (`-b`) does.
    TextAsBinary,
    /// Answers every ping twice.
    PongsTwice,
    /// Echoes binary messages as text, then sends its own Close (1000) and leaves
    /// TCP open.
    BinaryAsTextThenCloses,
}

/// How long [`Wrong::BinaryAsTextThenCloses`] keeps TCP open after its Close:
/// longer than any timer of the cases played here.
const HOLD_OPEN: Duration = Duration::from_secs(15);

/// Serves `wrong` on loopback; returns the URL.
async fn wrong_server(wrong: Wrong) -> Url {
    let addr = loopback::serve(move |stream| serve_wrong(stream, wrong)).await;
    Url::parse(&format!("ws://{addr}/")).expect("a URL")
}

async fn serve_wrong(stream: tokio::net::TcpStream, wrong: Wrong) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        let (replies, then_close) = match (wrong, message) {
            (Wrong::BinaryAsText, Message::Binary(b)) => (vec![lossy_text(&b)], false),
            (Wrong::BinaryAsTextThenCloses, Message::Binary(b)) => (vec![lossy_text(&b)], true),
            (Wrong::TextAsBinary, Message::Text(t)) => (
                vec![Message::binary(Bytes::copy_from_slice(t.as_bytes()))],
                false,
            ),
            // A pong the application sends replaces tungstenite's own while that
            // one is still queued: two sends make two pongs.
            (Wrong::PongsTwice, Message::Ping(p)) => {
                (vec![Message::Pong(p.clone()), Message::Pong(p)], false)
            }
            (_, m @ (Message::Text(_) | Message::Binary(_))) => (vec![m], false),
            _ => (Vec::new(), false),
        };
        for reply in replies {
            if ws.send(reply).await.is_err() {
                return;
            }
        }
        if then_close {
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            let _ = ws.send(Message::Close(Some(close))).await;
            tokio::time::sleep(HOLD_OPEN).await;
            return;
        }
    }
}

fn lossy_text(data: &[u8]) -> Message {
    Message::text(String::from_utf8_lossy(data).into_owned())
}

/// One case played at both paces.
struct Played {
    number: String,
    case: Case,
    early: CaseResult,
    waited: CaseResult,
}

/// The case's fallback timer.
fn timer(case: &Case) -> Duration {
    case.steps
        .iter()
        .find_map(|s| match s {
            Step::Timer(Timer::KillAfter(d) | Timer::CloseAfter(d)) => Some(*d),
            _ => None,
        })
        .unwrap_or_default()
}

async fn play(probe: &WsProbe, case: &Case, pace: Pace) -> CaseResult {
    let conn = probe
        .open()
        .await
        .unwrap_or_else(|e| panic!("{}: the handshake failed: {e}", case.number));
    play_paced(case, conn.into_duplex(), true, pace).await
}

/// Plays every case below a megabyte at both paces against `url`.
async fn play_both(url: Url) -> Vec<Played> {
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(5)));
    assert_eq!(
        probe.echoes().await,
        Ok(true),
        "the server must echo for the echo cases to run"
    );
    let jobs = Arc::new(Semaphore::new(JOBS));
    let mut tasks = tokio::task::JoinSet::new();
    for NamedCase { case, .. } in all() {
        // Cases of a megabyte or more grade one echo and close at once; they would
        // only make the test heavy.
        if case.bytes_sent() >= 1 << 20 {
            continue;
        }
        let probe = Arc::clone(&probe);
        let jobs = Arc::clone(&jobs);
        tasks.spawn(async move {
            let _slot = jobs.acquire_many(2).await.expect("open semaphore");
            let (early, waited) = tokio::join!(
                play(&probe, &case, Pace::Sealed),
                play(&probe, &case, Pace::Autobahn)
            );
            Played {
                number: case.number.clone(),
                case,
                early,
                waited,
            }
        });
    }
    let mut played = Vec::new();
    while let Some(p) = tasks.join_next().await {
        played.push(p.expect("a case task"));
    }
    played
}

/// The grades compared. 7.1.6's close code is left out: its Close and ping sit
/// behind 256 KiB, and a server that closes TCP with the ping unread resets the
/// connection, so whether the probe read the server's Close first is the
/// kernel's race, at either pace (its grades are INFORMATIONAL whatever happens).
fn grades(number: &str, r: &CaseResult) -> String {
    let code = if number == "7.1.6" {
        "-".to_owned()
    } else {
        format!("{:?}", r.remote_close_code)
    };
    format!("{} / {} / {code}", r.behavior, r.behavior_close)
}

/// The same grades at both paces, no shortcut when waiting, and shortcuts in
/// exactly the cases of `sealed`, the 10 s timers skipped rather than waited for.
fn assert_early_equals_waited(played: &[Played], sealed: &BTreeSet<String>, what: &str) {
    let differing: Vec<String> = played
        .iter()
        .filter(|p| grades(&p.number, &p.early) != grades(&p.number, &p.waited))
        .map(|p| {
            format!(
                "{}: early {} ({:?}) — waited {} ({:?})",
                p.number,
                grades(&p.number, &p.early),
                p.early.notes,
                grades(&p.number, &p.waited),
                p.waited.notes
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "{what}: the early grades differ from the waited ones:\n{}",
        differing.join("\n")
    );
    for p in played {
        assert!(
            p.waited.shortcuts.is_empty(),
            "{what}: {} cut a wait short at Autobahn's pace: {:?}",
            p.number,
            p.waited.shortcuts
        );
    }
    let cut = |reason: ShortcutReason| -> BTreeSet<String> {
        played
            .iter()
            .filter(|p| p.early.shortcuts.iter().any(|s| s.reason == reason))
            .map(|p| p.number.clone())
            .collect()
    };
    assert_eq!(
        &cut(ShortcutReason::Sealed),
        sealed,
        "{what}: the cases cut short as sealed"
    );
    // A pause that waits for answers is cut only in a case that has one.
    let answered = cut(ShortcutReason::Answered);
    assert!(
        answered.is_subset(&pauses_for_answers()),
        "{what}: {answered:?}"
    );
    // Every case of `sealed` cut a wait short (the set above). Those with a 10 s
    // timer are where the time goes: the early run must have skipped most of it
    // while the waiting run waited it out.
    for p in played.iter().filter(|p| sealed.contains(&p.number)) {
        let wait = timer(&p.case);
        if wait < Duration::from_secs(10) {
            continue;
        }
        let left: Duration = p.early.shortcuts.iter().map(|s| s.left).sum();
        assert!(
            left >= wait / 2 && p.early.duration < wait / 2 && p.waited.duration >= wait,
            "{what}: {}: {left:?} of the {wait:?} timer skipped; {:?} early, {:?} waiting",
            p.number,
            p.early.duration,
            p.waited.duration
        );
    }
}

/// The cases with a pause that ends once its answers are in (5.19, 5.20).
fn pauses_for_answers() -> BTreeSet<String> {
    all()
        .into_iter()
        .filter(|c| {
            c.case.steps.iter().any(|s| {
                matches!(
                    s,
                    Step::Wait {
                        until: WaitFor::Answers(_),
                        ..
                    }
                )
            })
        })
        .map(|c| c.case.number)
        .collect()
}

/// The cases the probe is to close whose OK list holds an event `pick` picks.
fn closed_by_probe_expecting(pick: impl Fn(&[Expected]) -> bool) -> BTreeSet<String> {
    all()
        .into_iter()
        .filter(|c| c.case.close.by_fuzzer && c.case.bytes_sent() < 1 << 20)
        .filter(|c| match &c.case.expect {
            Expectation::Events { ok, .. } => pick(ok),
            _ => false,
        })
        .map(|c| c.case.number)
        .collect()
}

fn has_message(ok: &[Expected], want_binary: bool) -> bool {
    ok.iter()
        .any(|e| matches!(e, Expected::Message { binary, .. } if *binary == want_binary))
}

/// A pong expected before some other event (a second pong or the echo).
fn pong_then_more(ok: &[Expected]) -> bool {
    matches!(ok.first(), Some(Expected::Pong(_))) && ok.len() >= 2
}

/// A pong expected before a message.
fn pong_before_message(ok: &[Expected]) -> bool {
    ok.iter()
        .position(|e| matches!(e, Expected::Pong(_)))
        .zip(
            ok.iter()
                .position(|e| matches!(e, Expected::Message { .. })),
        )
        .is_some_and(|(pong, message)| pong < message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_message_echoed_as_text_is_graded_at_once() {
    let played = play_both(wrong_server(Wrong::BinaryAsText).await).await;
    // 1.2.1-1.2.8: a binary echo expected, a text one received.
    let sealed = closed_by_probe_expecting(|ok| has_message(ok, true));
    assert_eq!(sealed.len(), 8, "{sealed:?}");
    assert_early_equals_waited(&played, &sealed, "binary as text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_message_echoed_as_binary_is_graded_at_once() {
    let played = play_both(wrong_server(Wrong::TextAsBinary).await).await;
    // Every text echo the probe is to close after: groups 1.1, 5, 6, 7.1.1, 10.
    let sealed = closed_by_probe_expecting(|ok| has_message(ok, false));
    assert!(sealed.len() > 60, "{sealed:?}");
    assert_early_equals_waited(&played, &sealed, "text as binary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pong_is_graded_at_once_and_a_paused_case_goes_on_without_its_pause() {
    let played = play_both(wrong_server(Wrong::PongsTwice).await).await;
    // A single expected pong closes the case before its duplicate arrives; where
    // more is expected after the pong, the duplicate seals FAILED with the
    // connection open (2.10, 2.11, 5.6-5.8, 5.19, 5.20).
    let sealed = closed_by_probe_expecting(pong_then_more);
    assert_eq!(sealed.len(), 7, "{sealed:?}");
    assert_early_equals_waited(&played, &sealed, "pongs twice");
    for number in ["5.19", "5.20"] {
        let p = played.iter().find(|p| p.number == number).expect("played");
        assert!(
            p.early.shortcuts.iter().any(|s| s.wait.contains("pause")),
            "{number}: the 1 s pause should have been cut: {:?}",
            p.early.shortcuts
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_first_after_a_wrong_echo_is_graded_without_waiting_for_tcp() {
    let played = play_both(wrong_server(Wrong::BinaryAsTextThenCloses).await).await;
    let sealed = closed_by_probe_expecting(|ok| has_message(ok, true));
    assert_early_equals_waited(&played, &sealed, "binary as text, then closes");
    for number in &sealed {
        let p = played.iter().find(|p| &p.number == number).expect("played");
        assert_eq!(
            p.early.behavior_close.to_string(),
            "FAILED",
            "{number}: the server closed first"
        );
        assert!(
            p.early
                .shortcuts
                .iter()
                .any(|s| s.wait.contains("closing of TCP")),
            "{number}: {:?}",
            p.early.shortcuts
        );
    }
}

async fn reference(fault: Option<&str>) -> (pulsecheck::serve::ws::RunningServer, Url) {
    let server = start(WsServerConfig {
        fault: fault.map(|f| f.parse::<Fault>().expect("a known fault")),
        ..WsServerConfig::default()
    })
    .await
    .expect("the reference server starts");
    let url = Url::parse(&server.url()).expect("a URL");
    (server, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_of_the_reference_server_are_graded_at_once() {
    // The echo arrives where a pong is due: 5.6-5.8, 5.19, 5.20. (Cases that
    // expect pongs alone stay open to the end: a pong could still come, and
    // late ones do.)
    let echo_overtakes_pong = closed_by_probe_expecting(pong_before_message);
    assert_eq!(echo_overtakes_pong.len(), 5, "{echo_overtakes_pong:?}");
    // Invalid UTF-8 echoed: the probe fails the connection on the echo and can
    // decode nothing after it, so no grade is sealed before the server closes TCP.
    let none = BTreeSet::new();
    for (fault, sealed) in [
        ("no-pong", &echo_overtakes_pong),
        ("pongs-late", &echo_overtakes_pong),
        ("skips-utf8-validation", &none),
    ] {
        let (server, url) = reference(Some(fault)).await;
        let mut played = play_both(url).await;
        if fault == "pongs-late" {
            // 2.6 closes 2 s after its ping, when the late pong falls due: which
            // comes first is a race at either pace.
            played.retain(|p| timer(&p.case) != LATE_PONG);
            assert!(played.len() > 250, "{}", played.len());
        }
        assert_early_equals_waited(&played, sealed, fault);
        drop(server);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_server_gets_no_shortcut_but_the_pauses_its_pongs_end() {
    let (server, url) = reference(None).await;
    let played = play_both(url).await;
    assert_early_equals_waited(&played, &BTreeSet::new(), "clean server");
    let answered: BTreeSet<String> = played
        .iter()
        .filter(|p| !p.early.shortcuts.is_empty())
        .map(|p| p.number.clone())
        .collect();
    assert_eq!(answered, pauses_for_answers(), "pong 1 ends the pause");
    assert_eq!(answered.len(), 2, "5.19 and 5.20: {answered:?}");
    drop(server);
}
