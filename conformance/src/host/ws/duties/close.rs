//! The closing handshake as a client plays it (RFC 6455 §5.5.1, §7): the
//! server's Close is answered, the TCP close is left to the server, and a
//! Close the client cannot accept — an invalid code, a reason that is not
//! UTF-8 — fails the connection.
//!
//! Autobahn's cases 7.9.2, 7.9.4–7.9.6, 7.9.9 and 7.5.1 also send codes 999,
//! 1005, 1006, 1016, 2999 and a reason that is not UTF-8, graded on the whole
//! exchange; here each is one requirement with its own evidence. 1015 is in no
//! Autobahn case, and 5000 only in 7.13.1, which Autobahn leaves ungraded.

use std::time::Duration;

use tokio::time::Instant;

use crate::check::{CheckInfo, Level, Outcome, Source};
use crate::registry::{Check, CheckFuture};

use super::super::session::ClientSession;
use super::wire::{ANSWER_WAIT, ClientEvent, ClientWire};
use super::{already_played, take};

/// How long a client that answered the Close is watched for closing TCP
/// itself: RFC 6455 §5.5.1 lets it close "if it has not received a TCP Close
/// from the server in a reasonable time period", and a second is far longer
/// than a server on the same machine takes.
const LINGER: Duration = Duration::from_secs(1);

/// The reason sent with the server's normal Close.
const CLOSING: &[u8] = b"pulsecheck: closing";

/// A close reason that is not UTF-8: `\xff` and `\xfe` never occur in UTF-8,
/// and `\xed\xa0\x80` encodes a surrogate.
const INVALID_REASON: &[u8] = b"pulsecheck \xff\xfe \xed\xa0\x80";

/// A Close body the client must refuse: the code, the reason, and the codes
/// it may answer with (it may also drop TCP).
struct BadClose {
    info: CheckInfo,
    code: u16,
    reason: &'static [u8],
    accepted: &'static [u16],
}

/// A Close carrying `code`, which the section quoted rules out.
macro_rules! invalid_code {
    ($code:literal, $section:literal, $quote:literal) => {
        BadClose {
            info: CheckInfo {
                id: concat!("ws-client/close/invalid-code-", $code),
                aliases: &[],
                title: concat!("A Close with code ", $code, " fails the connection"),
                source: Source::Rfc(6455, $section),
                requirement: concat!(
                    $quote,
                    " A Close carrying ",
                    $code,
                    " is invalid (§5.5.1: its first two bytes are \"a status code with value /code/ defined in Section 7.4\"), so the client fails the connection: a Close 1002 (protocol error), or TCP dropped."
                ),
                level: Level::Must,
            },
            code: $code,
            reason: b"",
            accepted: &[1002],
        }
    };
}

const BAD_CLOSES: &[BadClose] = &[
    invalid_code!(
        999,
        "7.4.2",
        "Status codes in the range 0-999 are not used."
    ),
    invalid_code!(
        1005,
        "7.4.1",
        "1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."
    ),
    invalid_code!(
        1006,
        "7.4.1",
        "1006 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."
    ),
    invalid_code!(
        1015,
        "7.4.1",
        "1015 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."
    ),
    invalid_code!(
        1016,
        "7.4.2",
        "Status codes in the range 1000-2999 are reserved for definition by this protocol, its future revisions, and extensions specified in a permanent and readily available public specification. (None defines 1016: the IANA registry ends at 1015.)"
    ),
    invalid_code!(
        2999,
        "7.4.2",
        "Status codes in the range 1000-2999 are reserved for definition by this protocol, its future revisions, and extensions specified in a permanent and readily available public specification. (None defines 2999.)"
    ),
    invalid_code!(
        5000,
        "7.4.2",
        "Section 7.4.2 defines status codes up to 4999 (\"Status codes in the range 4000-4999 are reserved for private use\"); none above."
    ),
    BadClose {
        info: CheckInfo {
            id: "ws-client/close/invalid-reason-utf8",
            aliases: &[],
            title: "A Close reason that is not UTF-8 fails the connection",
            source: Source::Rfc(6455, "8.1"),
            requirement: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_. (A Close's reason is UTF-8-encoded data, §5.5.1: the client answers one that is not with a Close 1007 or 1002, or drops TCP.)",
            level: Level::Must,
        },
        code: 1000,
        reason: INVALID_REASON,
        accepted: &[1007, 1002],
    },
];

/// The close checks, in order.
pub(super) fn checks() -> Vec<Check<ClientSession>> {
    let mut checks = vec![
        Check {
            info: CheckInfo {
                id: "ws-client/close/answered",
                aliases: &[],
                title: "The server's Close is answered with a Close",
                source: Source::Rfc(6455, "5.5.1"),
                requirement: "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response.",
                level: Level::Must,
            },
            run: |session, _| Box::pin(answered(session)),
        },
        Check {
            info: CheckInfo {
                id: "ws-client/close/leaves-tcp-to-server",
                aliases: &[],
                title: "After the close handshake the client leaves TCP to the server",
                source: Source::Rfc(6455, "7.1.1"),
                requirement: "The underlying TCP connection, in most normal cases, SHOULD be closed first by the server, so that it holds the TIME_WAIT state and not the client. (§5.5.1: \"the client SHOULD wait for the server to close the connection but MAY close the connection at any time after sending and receiving a Close message, e.g., if it has not received a TCP Close from the server in a reasonable time period.\")",
                level: Level::Should,
            },
            run: |session, _| Box::pin(leaves_tcp_to_server(session)),
        },
    ];
    checks.extend(BAD_CLOSES.iter().map(|b| Check {
        info: b.info,
        run: run_bad_close,
    }));
    checks
}

/// Answers 101 and sends a Close with `code` and `reason`.
async fn open_and_close(wire: &mut ClientWire, code: u16, reason: &[u8]) -> Result<(), Outcome> {
    let head = wire.correct_101();
    let sent = match wire.send(&head).await {
        Ok(()) => wire.send_close(code, reason).await,
        Err(e) => Err(e),
    };
    sent.map_err(|e| Outcome::error(e, wire.transcript.clone()))
}

async fn answered(session: &ClientSession) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    if let Err(o) = open_and_close(&mut wire, 1000, CLOSING).await {
        return o;
    }
    let sent_at = wire.at();
    let expected = "a Close frame from the client";
    let event = wire.next_close_event(Instant::now() + ANSWER_WAIT).await;
    let ms = (wire.at() - sent_at).as_millis();
    match event {
        ClientEvent::Close(body) => {
            wire.shutdown().await;
            Outcome::pass(format!("answered with {body} ({ms} ms)"))
                .with_fact("close_answer_ms", ms as u64)
        }
        ClientEvent::Closed | ClientEvent::Reset(_) => {
            let actual = format!("{event} {ms} ms after the server's Close, without a Close");
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
        ClientEvent::Silent => {
            wire.shutdown().await;
            let actual = format!("no Close within {} s", ANSWER_WAIT.as_secs());
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
        other => {
            wire.shutdown().await;
            let actual = format!("instead of a Close, the client sent {other}");
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
    }
}

async fn leaves_tcp_to_server(session: &ClientSession) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    if let Err(o) = open_and_close(&mut wire, 1000, CLOSING).await {
        return o;
    }
    let sent_at = wire.at();
    let expected = format!(
        "the client's Close, then TCP left open for the server to close (watched {} s)",
        LINGER.as_secs()
    );
    match wire.next_close_event(Instant::now() + ANSWER_WAIT).await {
        ClientEvent::Close(body) => {
            let answered_at = wire.at();
            let answer_ms = (answered_at - sent_at).as_millis() as u64;
            match wire.client_closes_tcp(Instant::now() + LINGER).await {
                Some(closed_at) => {
                    let after = (closed_at - answered_at).as_millis() as u64;
                    let actual = format!(
                        "the client answered with {body} and closed TCP {after} ms later, before the server"
                    );
                    Outcome::fail(actual.clone(), wire.evidence(expected, actual))
                        .with_fact("close_answer_ms", answer_ms)
                        .with_fact("client_tcp_close_ms", after)
                        .with_fact("tcp_closed_first_by", "client")
                }
                None => {
                    wire.shutdown().await;
                    Outcome::pass(format!(
                        "answered with {body} ({answer_ms} ms), then left TCP open {} s until the server closed it",
                        LINGER.as_secs()
                    ))
                    .with_fact("close_answer_ms", answer_ms)
                    .with_fact("tcp_closed_first_by", "server")
                }
            }
        }
        event @ (ClientEvent::Closed | ClientEvent::Reset(_)) => {
            let ms = (wire.at() - sent_at).as_millis() as u64;
            let actual = format!("{event} {ms} ms after the server's Close, without answering it");
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
                .with_fact("client_tcp_close_ms", ms)
                .with_fact("tcp_closed_first_by", "client")
        }
        ClientEvent::Silent => {
            wire.shutdown().await;
            Outcome::pass(format!(
                "the client did not answer the Close within {} s (ws-client/close/answered judges that), and left TCP to the server",
                ANSWER_WAIT.as_secs()
            ))
            .with_fact("tcp_closed_first_by", "server")
        }
        other => {
            wire.shutdown().await;
            let actual = format!("instead of a Close, the client sent {other}");
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
    }
}

fn run_bad_close<'a>(session: &'a ClientSession, info: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(bad_close(session, info))
}

/// "1002", "1007 or 1002".
fn codes(accepted: &[u16]) -> String {
    let codes: Vec<String> = accepted.iter().map(u16::to_string).collect();
    codes.join(" or ")
}

async fn bad_close(session: &ClientSession, info: &CheckInfo) -> Outcome {
    let Some(bad) = BAD_CLOSES.iter().find(|b| b.info.id == info.id) else {
        return Outcome::error(
            format!("no bad Close is named {}", info.id),
            Default::default(),
        );
    };
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    if let Err(o) = open_and_close(&mut wire, bad.code, bad.reason).await {
        return o;
    }
    let sent = if bad.reason.is_empty() {
        format!("a Close {}", bad.code)
    } else {
        format!("a Close {} with a reason that is not UTF-8", bad.code)
    };
    let expected = format!("a Close {}, or TCP dropped", codes(bad.accepted));
    let event = wire.next_close_event(Instant::now() + ANSWER_WAIT).await;
    let ms = wire.at().as_millis();
    match event {
        ClientEvent::Close(body) if body.code.is_some_and(|c| bad.accepted.contains(&c)) => {
            wire.shutdown().await;
            Outcome::pass(format!("{sent} was answered with {body} ({ms} ms)"))
        }
        ClientEvent::Closed | ClientEvent::Reset(_) => Outcome::pass(format!(
            "{sent}: the client dropped TCP without answering ({ms} ms)"
        )),
        ClientEvent::Close(body) => {
            wire.shutdown().await;
            let why = match body.code {
                Some(c) if c == bad.code && bad.reason.is_empty() => {
                    "it echoed the invalid code, as if it were valid"
                }
                Some(_) if body.reason == bad.reason => "it echoed the invalid reason",
                Some(_) => "it took the Close as valid",
                None => "an empty Close: it took the Close as valid",
            };
            let actual = format!("{sent} was answered with {body}: {why}");
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
        ClientEvent::Silent => {
            wire.shutdown().await;
            let actual = format!(
                "no answer to {sent} within {} s, and TCP stayed open",
                ANSWER_WAIT.as_secs()
            );
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
        other => {
            wire.shutdown().await;
            let actual = format!("{sent} was answered with {other}");
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
    }
}

#[cfg(test)]
mod tests {
    use pulsecheck_ws::CloseCode;

    use super::*;

    #[test]
    fn every_code_sent_is_invalid_on_the_wire_and_every_code_accepted_valid() {
        for b in BAD_CLOSES {
            if b.reason.is_empty() {
                assert!(!CloseCode(b.code).is_valid_on_wire(), "{}", b.info.id);
                assert!(b.info.id.ends_with(&b.code.to_string()), "{}", b.info.id);
            } else {
                assert!(CloseCode(b.code).is_valid_on_wire(), "{}", b.info.id);
                assert!(std::str::from_utf8(b.reason).is_err());
            }
            for &c in b.accepted {
                assert!(CloseCode(c).is_valid_on_wire());
            }
        }
    }
}
