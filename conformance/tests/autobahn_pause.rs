//! The pause of 5.19 and 5.20 ends when pong 1 is in (`fuzzer/answered.rs`):
//! against peers that answer ping 1 at once, a little later, after the pause,
//! or never, each case is played at both paces (`Pace::Sealed`, what `probe`
//! and `host ws` do, and `Pace::Autobahn`, every wait waited out). The grades
//! must be the same; the pause is cut only when pong 1 came within it, and the
//! case then takes well under the pause. One peer shows the difference the
//! module's text names: one that closes on its own within the pause.
//!
//! The peer is written here on the framing crate, so that it can hold its
//! answers: a peer that sends every answer (pongs, echoes, its Close) in the
//! order the frames came, a pong no sooner than `pong_after` after its ping.

use std::sync::Arc;
use std::time::Duration;

use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::ws::autobahn::cases::all;
use pulsecheck::ws::autobahn::fuzzer::{
    Behavior, Case, CaseResult, CloseBehavior, Pace, ShortcutReason, play_paced,
};
use pulsecheck::ws::checks::WsProbe;
use pulsecheck_ws::handshake::{ServerResponse, validate_client_request};
use pulsecheck_ws::{
    Assembled, CloseCode, FrameConfig, MessageKind, Opcode, Role, Status, StreamReader,
    encode_message, write_close_body,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;
use url::Url;

#[path = "support/loopback.rs"]
mod loopback;

/// How the test peer answers.
#[derive(Debug, Clone, Copy)]
struct Peer {
    /// Each pong is sent no sooner than this after its ping (`None`: never).
    pong_after: Option<Duration>,
    /// Closes (Close 1001) this long after the opening handshake, if still open.
    closes_after: Option<Duration>,
}

/// One answer, due at a time; answers go out in order.
type Answer = (Instant, Vec<u8>);

async fn serve(mut tcp: TcpStream, peer: Peer) {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let used = loop {
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        match validate_client_request(&buf) {
            Ok(Status::Complete((request, used))) => {
                let mut answer = Vec::new();
                ServerResponse::accept(&request, &[]).write(&mut answer);
                if tcp.write_all(&answer).await.is_err() {
                    return;
                }
                break used;
            }
            Ok(Status::Partial) => {}
            Err(_) => return,
        }
    };
    buf.drain(..used);
    let opened = Instant::now();
    let (mut read, mut write) = tcp.into_split();
    // The writer sends the answers in order, each when due; it ends the
    // connection after a Close.
    let (answers, mut queue) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = queue.recv().await {
            tokio::time::sleep_until(due).await;
            if write.write_all(&bytes).await.is_err() {
                return;
            }
            if bytes.first() == Some(&0x88) {
                let _ = write.shutdown().await;
                return;
            }
        }
    });
    let mut last_due = opened;
    let mut send = |after: Duration, opcode: Opcode, payload: &[u8]| {
        let mut frame = Vec::new();
        encode_message(&mut frame, opcode, None, payload);
        last_due = last_due.max(Instant::now() + after);
        let _ = answers.send((last_due, frame));
    };
    let close_body = |code: u16| {
        let mut body = Vec::new();
        write_close_body(&mut body, CloseCode(code), b"");
        body
    };
    let mut reader = StreamReader::new(FrameConfig::new(Role::Client));
    let lifetime = peer
        .closes_after
        .map(|d| opened + d)
        .unwrap_or_else(|| opened + Duration::from_secs(3600));
    loop {
        let mut start = 0;
        loop {
            let rest = buf.get_mut(start..).unwrap_or_default();
            match reader.read(rest) {
                Ok(Status::Complete((frame, used))) => {
                    start += used;
                    match frame.event {
                        Assembled::Ping(p) => {
                            if let Some(after) = peer.pong_after {
                                send(after, Opcode::PONG, p);
                            }
                        }
                        Assembled::Message(m) => {
                            let opcode = match m.kind() {
                                MessageKind::Text => Opcode::TEXT,
                                MessageKind::Binary => Opcode::BINARY,
                            };
                            send(Duration::ZERO, opcode, m.data());
                        }
                        Assembled::Close(_) => {
                            send(Duration::ZERO, Opcode::CLOSE, &close_body(1000));
                            let _ = writer.await;
                            return;
                        }
                        Assembled::Pong(_) | Assembled::Fragment => {}
                    }
                }
                Ok(Status::Partial) => break,
                Err(_) => {
                    send(Duration::ZERO, Opcode::CLOSE, &close_body(1002));
                    let _ = writer.await;
                    return;
                }
            }
        }
        buf.drain(..start.min(buf.len()));
        tokio::select! {
            n = read.read(&mut chunk) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            () = tokio::time::sleep_until(lifetime) => {
                send(Duration::ZERO, Opcode::CLOSE, &close_body(1001));
                let _ = writer.await;
                return;
            }
        }
    }
}

/// Case 5.19 or 5.20 played once at `pace` against `peer`.
async fn play(number: &str, peer: Peer, pace: Pace) -> CaseResult {
    let addr = loopback::serve(move |tcp| serve(tcp, peer)).await;
    let url = Url::parse(&format!("ws://{addr}/")).expect("a URL");
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(5)));
    let case: Case = all()
        .into_iter()
        .find(|c| c.case.number == number)
        .expect("the case exists")
        .case;
    let conn = probe.open().await.expect("the handshake");
    play_paced(&case, conn.into_duplex(), true, pace).await
}

/// Both cases at both paces: (number, early, waited).
async fn play_both(peer: Peer) -> Vec<(&'static str, CaseResult, CaseResult)> {
    let mut played = Vec::new();
    for number in ["5.19", "5.20"] {
        let (early, waited) = tokio::join!(
            play(number, peer, Pace::Sealed),
            play(number, peer, Pace::Autobahn)
        );
        played.push((number, early, waited));
    }
    played
}

fn grades(r: &CaseResult) -> (Behavior, CloseBehavior, Option<u16>) {
    (r.behavior, r.behavior_close, r.remote_close_code)
}

/// Asserts both paces graded the case OK with a clean 1000 close, and returns how
/// much of the pause the early run cut when the answer came.
fn both_ok_and_cut(number: &str, early: &CaseResult, waited: &CaseResult) -> Duration {
    let ok = (Behavior::Ok, CloseBehavior::Ok, Some(1000));
    assert_eq!(grades(early), ok, "{number}: {:?}", early.notes);
    assert_eq!(grades(waited), ok, "{number}: {:?}", waited.notes);
    answered_cut(early).expect("the pause was cut")
}

fn answered_cut(r: &CaseResult) -> Option<Duration> {
    r.shortcuts
        .iter()
        .find(|s| s.reason == ShortcutReason::Answered)
        .map(|s| s.left)
}

const PAUSE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_pongs_at_once_ends_the_pause_with_ok() {
    let peer = Peer {
        pong_after: Some(Duration::ZERO),
        closes_after: None,
    };
    for (number, early, waited) in play_both(peer).await {
        let left = both_ok_and_cut(number, &early, &waited);
        assert!(left > PAUSE / 2, "{number}: only {left:?} of the pause cut");
        assert!(
            early.duration < PAUSE / 2 && waited.duration >= PAUSE,
            "{number}: {:?} early, {:?} waiting",
            early.duration,
            waited.duration
        );
        assert!(waited.shortcuts.is_empty(), "{:?}", waited.shortcuts);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_pongs_within_the_pause_ends_it_then() {
    let delay = Duration::from_millis(300);
    let peer = Peer {
        pong_after: Some(delay),
        closes_after: None,
    };
    for (number, early, waited) in play_both(peer).await {
        let left = both_ok_and_cut(number, &early, &waited);
        assert!(left < PAUSE - delay + Duration::from_millis(50), "{left:?}");
        // Pong 1 after the delay, then pong 2 after another: under the pause
        // plus one delay, where the waiting run took the pause plus one.
        assert!(
            early.duration >= delay && early.duration < waited.duration,
            "{number}: {:?} early, {:?} waiting",
            early.duration,
            waited.duration
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_pongs_after_the_pause_gets_the_whole_pause() {
    let peer = Peer {
        pong_after: Some(Duration::from_millis(1500)),
        closes_after: None,
    };
    for (number, early, waited) in play_both(peer).await {
        assert_eq!(
            grades(&early),
            grades(&waited),
            "{number}: early {:?}, waited {:?}",
            early.notes,
            waited.notes
        );
        assert_eq!(answered_cut(&early), None, "{number}");
        assert!(early.duration >= PAUSE, "{number}: {:?}", early.duration);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_pongs_gets_the_whole_pause_and_fails() {
    let peer = Peer {
        pong_after: None,
        closes_after: None,
    };
    for (number, early, waited) in play_both(peer).await {
        assert_eq!(grades(&early), grades(&waited), "{number}");
        assert_eq!(early.behavior, Behavior::Failed, "{number}");
        assert_eq!(answered_cut(&early), None, "{number}");
        assert!(early.duration >= PAUSE, "{number}: {:?}", early.duration);
    }
}

/// The one difference `answered.rs` names: a peer that closes on a clock of its
/// own within the pause. Autobahn sees the peer close first (FAILED); the
/// early run has played the case to its end before the clock runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_closes_on_its_own_within_the_pause_is_the_one_difference() {
    let peer = Peer {
        pong_after: Some(Duration::ZERO),
        closes_after: Some(PAUSE / 2),
    };
    for (number, early, waited) in play_both(peer).await {
        assert_eq!(
            grades(&early).0,
            Behavior::Ok,
            "{number}: {:?}",
            early.notes
        );
        assert_eq!(
            (waited.behavior, waited.behavior_close),
            (Behavior::Failed, CloseBehavior::Failed),
            "{number}: {:?}",
            waited.notes
        );
    }
}
