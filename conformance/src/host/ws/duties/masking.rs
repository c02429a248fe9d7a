//! Masking (RFC 6455 §5.1, §5.3): every frame a client sends is masked, each
//! with a fresh key; a masked frame from the server fails the connection.

use pulsecheck_ws::{FrameHeader, Opcode, encode_frame};
use tokio::time::Instant;

use crate::check::{CheckInfo, Level, Outcome, Source};
use crate::registry::{Check, CheckFuture};

use super::super::session::ClientSession;
use super::wire::{ANSWER_WAIT, ClientEvent, ClientWire};
use super::{already_played, take};

/// The text messages sent for the client to echo.
const ECHOED: [&str; 4] = [
    "pulsecheck masking 1/4",
    "pulsecheck masking 2/4",
    "pulsecheck masking 3/4",
    "pulsecheck masking 4/4",
];

/// The ping sent beside them.
const PING: &[u8] = b"pulsecheck masking ping";

/// The key of the masked frames the server sends on purpose.
const SERVER_KEY: [u8; 4] = [0x5a, 0x17, 0xc3, 0x8e];

/// The masking checks, in order.
pub(super) fn checks() -> Vec<Check<ClientSession>> {
    vec![
        Check {
            info: CheckInfo {
                id: "ws-client/masking/frames-masked",
                aliases: &[],
                title: "Every client frame is masked",
                source: Source::Rfc(6455, "5.1"),
                requirement: "A client MUST mask all frames that it sends to the server.",
                level: Level::Must,
            },
            run: |session, _| Box::pin(frames_masked(session)),
        },
        Check {
            info: CheckInfo {
                id: "ws-client/masking/keys-vary",
                aliases: &[],
                title: "Each frame has a fresh masking key",
                source: Source::Rfc(6455, "5.3"),
                requirement: "When preparing a masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit values. (Two frames of one connection with the same key show it did not; that the keys are unpredictable cannot be seen from a few frames.)",
                level: Level::Must,
            },
            run: |session, _| Box::pin(keys_vary(session)),
        },
        Check {
            info: CheckInfo {
                id: "ws-client/masking/masked-text-refused",
                aliases: &[],
                title: "A masked text message from the server fails the connection",
                source: Source::Rfc(6455, "5.1"),
                requirement: "A client MUST close a connection if it detects a masked frame. In this case, it MAY use the status code 1002 (protocol error).",
                level: Level::Must,
            },
            run: masked_server_frame,
        },
        Check {
            info: CheckInfo {
                id: "ws-client/masking/masked-ping-refused",
                aliases: &[],
                title: "A masked ping from the server fails the connection",
                source: Source::Rfc(6455, "5.1"),
                requirement: "A client MUST close a connection if it detects a masked frame. In this case, it MAY use the status code 1002 (protocol error).",
                level: Level::Must,
            },
            run: masked_server_frame,
        },
    ]
}

/// What the client answered to the four messages and the ping.
struct EchoRound {
    /// Echoes received.
    echoes: usize,
    /// Whether the pong came.
    pong: bool,
    /// Why the round stopped early, if it did.
    stopped: Option<ClientEvent>,
}

impl EchoRound {
    /// "4 of 4 echoes and the pong", "2 of 4 echoes, no pong (the client closed TCP)".
    fn summary(&self) -> String {
        let mut s = format!(
            "{} of {} echoes and {}",
            self.echoes,
            ECHOED.len(),
            if self.pong { "the pong" } else { "no pong" }
        );
        if let Some(stop) = &self.stopped {
            s.push_str(&format!(" (then {stop})"));
        }
        s
    }
}

/// Answers 101, sends the four messages and the ping, collects the answers
/// (at most [`ANSWER_WAIT`]), then closes normally: the client's frames,
/// its Close included, are in [`ClientWire::frames`].
async fn echo_round(wire: &mut ClientWire) -> Result<EchoRound, String> {
    let head = wire.correct_101();
    wire.send(&head).await?;
    for text in ECHOED {
        wire.send_frame(Opcode::TEXT, text.as_bytes()).await?;
    }
    wire.send_frame(Opcode::PING, PING).await?;
    let deadline = Instant::now() + ANSWER_WAIT;
    let mut round = EchoRound {
        echoes: 0,
        pong: false,
        stopped: None,
    };
    while round.echoes < ECHOED.len() || !round.pong {
        match wire.next_event(deadline).await {
            ClientEvent::Message { .. } => round.echoes += 1,
            ClientEvent::Pong(_) => round.pong = true,
            ClientEvent::Ping(payload) => {
                let _ = wire.send_frame(Opcode::PONG, &payload).await;
            }
            other => {
                round.stopped = Some(other);
                break;
            }
        }
    }
    let closed_by_client = matches!(
        round.stopped,
        Some(ClientEvent::Closed | ClientEvent::Reset(_))
    );
    match &round.stopped {
        Some(ClientEvent::Close(body)) => {
            let body = body.clone();
            wire.answer_close(&body).await;
        }
        // A client silent this long will not answer a Close either.
        Some(ClientEvent::Silent) => wire.shutdown().await,
        _ if closed_by_client => {}
        _ => wire.close_normally().await,
    }
    Ok(round)
}

/// "frame 3 (fin=1 rsv=none text unmasked len=22 (7-bit))".
fn frame_list(frames: &[(usize, &FrameHeader)]) -> String {
    let shown: Vec<String> = frames
        .iter()
        .take(4)
        .map(|(i, h)| format!("frame {} ({h})", i + 1))
        .collect();
    let more = frames.len().saturating_sub(4);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn frames_seen(wire: &ClientWire) -> String {
    let n = wire.frames.len() as u64 + wire.frames_not_kept;
    format!("{n} frame(s)")
}

async fn frames_masked(session: &ClientSession) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let round = match echo_round(&mut wire).await {
        Ok(r) => r,
        Err(e) => return Outcome::error(e, wire.transcript.clone()),
    };
    let unmasked: Vec<(usize, &FrameHeader)> = wire
        .frames
        .iter()
        .enumerate()
        .filter(|(_, h)| h.mask.is_none())
        .collect();
    if wire.frames.is_empty() {
        let actual = format!("no frame: {}", round.summary());
        return Outcome::fail(
            format!(
                "the client sent no frame within {} s (it must echo the {} messages and answer the ping), so its masking cannot be seen",
                ANSWER_WAIT.as_secs(),
                ECHOED.len()
            ),
            wire.evidence("echoes, a pong and a Close, every frame masked", actual),
        );
    }
    if unmasked.is_empty() {
        let extra = if wire.frames_not_kept > 0 {
            format!(" ({} later frames not inspected)", wire.frames_not_kept)
        } else {
            String::new()
        };
        return Outcome::pass(format!(
            "all {} frames masked{extra}: {}",
            wire.frames.len(),
            round.summary()
        ));
    }
    let actual = format!(
        "{} of {} unmasked: {}",
        unmasked.len(),
        frames_seen(&wire),
        frame_list(&unmasked)
    );
    Outcome::fail(
        actual.clone(),
        wire.evidence("every client frame with the MASK bit set and a key", actual),
    )
}

async fn keys_vary(session: &ClientSession) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let round = match echo_round(&mut wire).await {
        Ok(r) => r,
        Err(e) => return Outcome::error(e, wire.transcript.clone()),
    };
    let keys: Vec<(usize, [u8; 4])> = wire
        .frames
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.mask.map(|k| (i, k)))
        .collect();
    if keys.len() < 2 {
        return Outcome::skipped(format!(
            "{} masked frame(s) to compare, at least 2 needed ({}; ws-client/masking/frames-masked says more)",
            keys.len(),
            round.summary()
        ));
    }
    let hex = |k: [u8; 4]| format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3]);
    let distinct: std::collections::BTreeSet<[u8; 4]> = keys.iter().map(|(_, k)| *k).collect();
    if distinct.len() == keys.len() {
        return Outcome::pass(format!(
            "{} masked frames, {} different keys",
            keys.len(),
            distinct.len()
        ));
    }
    let actual = if distinct.len() == 1 {
        format!(
            "all {} masked frames used the key {}",
            keys.len(),
            hex(keys[0].1)
        )
    } else {
        // The first frame whose key an earlier frame already used.
        let (first, later, key) = keys
            .iter()
            .enumerate()
            .find_map(|(j, (later, k))| {
                keys[..j]
                    .iter()
                    .find(|(_, e)| e == k)
                    .map(|(first, _)| (*first, *later, *k))
            })
            .unwrap_or((keys[0].0, keys[1].0, keys[0].1));
        format!(
            "frames {} and {} used the same key {} ({} different keys in {} masked frames)",
            first + 1,
            later + 1,
            hex(key),
            distinct.len(),
            keys.len()
        )
    };
    Outcome::fail(
        actual.clone(),
        wire.evidence("a different masking key in every frame", actual),
    )
}

fn masked_server_frame<'a>(session: &'a ClientSession, info: &'a CheckInfo) -> CheckFuture<'a> {
    let ping = info.id.ends_with("masked-ping-refused");
    Box::pin(refuse_masked(session, ping))
}

/// Sends a masked text message (or ping) and expects the client to close the
/// connection without echoing it (or ponging it).
async fn refuse_masked(session: &ClientSession, ping: bool) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let (opcode, payload, what): (Opcode, &[u8], &str) = if ping {
        (Opcode::PING, b"pulsecheck masked ping", "masked ping")
    } else {
        (
            Opcode::TEXT,
            b"pulsecheck masked text",
            "masked text message",
        )
    };
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.mask = Some(SERVER_KEY);
    let mut frame = Vec::new();
    if encode_frame(&mut frame, &header, payload).is_err() {
        return Outcome::error("could not encode the masked frame", wire.transcript.clone());
    }
    let head = wire.correct_101();
    if let Err(e) = wire.send(&head).await {
        return Outcome::error(e, wire.transcript.clone());
    }
    if let Err(e) = wire.send(&frame).await {
        return Outcome::error(e, wire.transcript.clone());
    }
    wire.note(format!("sent a {what} ({header})"));
    let expected =
        "the connection closed (a Close, 1002 preferably, or TCP dropped), nothing answered";
    let deadline = Instant::now() + ANSWER_WAIT;
    loop {
        let event = wire.next_event(deadline).await;
        match event {
            ClientEvent::Message { .. } if !ping => {
                let actual = format!("it echoed the {what}: {event}");
                wire.close_normally().await;
                return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
            }
            ClientEvent::Pong(_) if ping => {
                let actual = format!("it answered the {what} with {event}");
                wire.close_normally().await;
                return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
            }
            ClientEvent::Message { .. } | ClientEvent::Pong(_) => {}
            ClientEvent::Ping(p) => {
                let _ = wire.send_frame(Opcode::PONG, &p).await;
            }
            ClientEvent::Close(body) => {
                let ms = wire.at().as_millis();
                wire.answer_close(&body).await;
                return Outcome::pass(format!(
                    "the client closed the connection with {body} ({ms} ms)"
                ));
            }
            ClientEvent::Closed | ClientEvent::Reset(_) => {
                return Outcome::pass(format!(
                    "the client dropped the connection ({event}, {} ms)",
                    wire.at().as_millis()
                ));
            }
            ClientEvent::Silent => {
                let actual = format!(
                    "no reaction within {} s: the connection stayed open",
                    ANSWER_WAIT.as_secs()
                );
                wire.shutdown().await;
                return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
            }
            ClientEvent::Unreadable(what_sent) => {
                let actual = format!("instead of closing, the client sent {what_sent}");
                wire.shutdown().await;
                return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
            }
        }
    }
}
