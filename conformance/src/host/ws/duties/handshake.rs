//! The server's opening handshake as the client must read it (RFC 6455 §4.1,
//! §4.2.2): responses it must refuse, and a frame that arrives in the same
//! write as the 101.
//!
//! Each refusal check answers with a response that is correct but for one
//! defect, then sends a text message at once. A client that refused the
//! response sends nothing back and closes TCP; one that took it echoes the
//! message.

use pulsecheck_ws::handshake::accept_key;
use pulsecheck_ws::{Opcode, Rsv, encode_message};
use tokio::time::Instant;

use crate::check::{CheckInfo, Level, Outcome, Source};
use crate::registry::{Check, CheckFuture};

use super::super::session::ClientSession;
use super::wire::{ANSWER_WAIT, ClientEvent, ClientWire};
use super::{already_played, take};

/// The one thing wrong with a response the client must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// Another status than 101 (with its reason phrase); every other header is
    /// that of a correct 101, and the text frame is the response's body.
    Status(u16, &'static str),
    /// No `Upgrade` header.
    NoUpgrade,
    /// No `Connection` header.
    NoConnection,
    /// A `Sec-WebSocket-Accept` computed from another key.
    WrongAccept,
    /// No `Sec-WebSocket-Accept`.
    NoAccept,
    /// `Sec-WebSocket-Protocol: pulsecheck-unoffered`.
    UnofferedSubprotocol,
    /// `Sec-WebSocket-Extensions: pulsecheck-unoffered`.
    UnofferedExtension,
}

/// The subprotocol and the extension no client offers.
const UNOFFERED: &str = "pulsecheck-unoffered";

/// The text message sent after a response the client must refuse.
const AFTER_REFUSAL: &[u8] = b"pulsecheck: this connection must not be open";

struct BadResponse {
    info: CheckInfo,
    defect: Defect,
}

const fn bad(
    id: &'static str,
    title: &'static str,
    requirement: &'static str,
    defect: Defect,
) -> BadResponse {
    BadResponse {
        info: CheckInfo {
            id,
            aliases: &[],
            title,
            source: Source::Rfc(6455, "4.1"),
            requirement,
            level: Level::Must,
        },
        defect,
    }
}

const NOT_101: &str = "If the status code received from the server is not 101, the client handles the response per HTTP [RFC2616] procedures. (The WebSocket connection is not established: the client sends no frame, and closes the connection as the response's Connection: close asks.)";

const BAD_RESPONSES: &[BadResponse] = &[
    bad(
        "ws-client/handshake/status-200",
        "A 200 answer is not a WebSocket connection",
        NOT_101,
        Defect::Status(200, "OK"),
    ),
    bad(
        "ws-client/handshake/status-403",
        "A 403 answer is not a WebSocket connection",
        NOT_101,
        Defect::Status(403, "Forbidden"),
    ),
    bad(
        "ws-client/handshake/no-upgrade",
        "A 101 without Upgrade is refused",
        "If the response lacks an |Upgrade| header field or the |Upgrade| header field contains a value that is not an ASCII case-insensitive match for the value \"websocket\", the client MUST _Fail the WebSocket Connection_.",
        Defect::NoUpgrade,
    ),
    bad(
        "ws-client/handshake/no-connection",
        "A 101 without Connection is refused",
        "If the response lacks a |Connection| header field or the |Connection| header field doesn't contain a token that is an ASCII case-insensitive match for the value \"Upgrade\", the client MUST _Fail the WebSocket Connection_.",
        Defect::NoConnection,
    ),
    bad(
        "ws-client/handshake/accept-wrong",
        "A wrong Sec-WebSocket-Accept is refused",
        "If the response lacks a |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\" but ignoring any leading and trailing whitespace, the client MUST _Fail the WebSocket Connection_.",
        Defect::WrongAccept,
    ),
    bad(
        "ws-client/handshake/accept-missing",
        "A 101 without Sec-WebSocket-Accept is refused",
        "If the response lacks a |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\" but ignoring any leading and trailing whitespace, the client MUST _Fail the WebSocket Connection_.",
        Defect::NoAccept,
    ),
    bad(
        "ws-client/handshake/unoffered-subprotocol",
        "A subprotocol the client did not offer is refused",
        "If the response includes a |Sec-WebSocket-Protocol| header field and this header field indicates the use of a subprotocol that was not present in the client's handshake (the server has indicated a subprotocol not requested by the client), the client MUST _Fail the WebSocket Connection_.",
        Defect::UnofferedSubprotocol,
    ),
    bad(
        "ws-client/handshake/unoffered-extension",
        "An extension the client did not offer is refused",
        "If the response includes a |Sec-WebSocket-Extensions| header field and this header field indicates the use of an extension that was not present in the client's handshake (the server has indicated an extension not requested by the client), the client MUST _Fail the WebSocket Connection_.",
        Defect::UnofferedExtension,
    ),
];

const FRAME_WITH_101: CheckInfo = CheckInfo {
    id: "ws-client/handshake/frame-with-101",
    aliases: &[],
    title: "A frame in the same write as the 101 is delivered",
    source: Source::Rfc(6455, "4.2.2"),
    requirement: "If the server finishes these steps without aborting the WebSocket handshake, the server considers the WebSocket connection to be established and that the WebSocket connection is in the OPEN state. At this point, the server may begin sending (and receiving) data. (Bytes that follow the 101's head, in the same TCP segment or not, are the connection's first frames.)",
    level: Level::Must,
};

/// The handshake checks, in order.
pub(super) fn checks() -> Vec<Check<ClientSession>> {
    let mut checks: Vec<Check<ClientSession>> = BAD_RESPONSES
        .iter()
        .map(|b| Check {
            info: b.info,
            run: run_refusal,
        })
        .collect();
    checks.push(Check {
        info: FRAME_WITH_101,
        run: |session, _| Box::pin(frame_with_101(session)),
    });
    checks
}

fn run_refusal<'a>(session: &'a ClientSession, info: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(refusal(session, info))
}

/// The values a client offered in a list header (`Sec-WebSocket-Protocol`),
/// or the names of the extensions it offered.
fn offered(wire: &ClientWire, header: &str) -> Vec<String> {
    wire.request
        .headers_named(header)
        .flat_map(|v| v.split(','))
        .map(|e| {
            e.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|e| !e.is_empty())
        .collect()
}

/// The response with `defect`, and what it is in words.
fn response(wire: &ClientWire, defect: Defect) -> (Vec<u8>, String) {
    let accept = wire.expected_accept();
    let mut frame = Vec::new();
    encode_message(&mut frame, Opcode::TEXT, None, AFTER_REFUSAL);
    if let Defect::Status(status, reason) = defect {
        // Every header of a correct 101, so that only the status is wrong; the
        // text frame is the body, so the response is whole HTTP.
        let mut out = format!(
            "HTTP/1.1 {status} {reason}\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Accept: {accept}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            frame.len()
        )
        .into_bytes();
        out.extend_from_slice(&frame);
        return (
            out,
            format!("a {status} {reason} whose body is a text frame"),
        );
    }
    let mut lines = vec!["HTTP/1.1 101 Switching Protocols".to_owned()];
    if defect != Defect::NoUpgrade {
        lines.push("Upgrade: websocket".into());
    }
    if defect != Defect::NoConnection {
        lines.push("Connection: Upgrade".into());
    }
    let what = match defect {
        Defect::WrongAccept => {
            let wrong = accept_key(&format!("{}pulsecheck", wire.key()));
            lines.push(format!("Sec-WebSocket-Accept: {wrong}"));
            format!("a 101 with Sec-WebSocket-Accept {wrong} (the key's is {accept})")
        }
        Defect::NoAccept => "a 101 without Sec-WebSocket-Accept".to_owned(),
        other => {
            lines.push(format!("Sec-WebSocket-Accept: {accept}"));
            match other {
                Defect::NoUpgrade => "a 101 without Upgrade".to_owned(),
                Defect::NoConnection => "a 101 without Connection".to_owned(),
                Defect::UnofferedSubprotocol => {
                    lines.push(format!("Sec-WebSocket-Protocol: {UNOFFERED}"));
                    format!("a 101 selecting the subprotocol {UNOFFERED}, never offered")
                }
                Defect::UnofferedExtension => {
                    lines.push(format!("Sec-WebSocket-Extensions: {UNOFFERED}"));
                    format!("a 101 accepting the extension {UNOFFERED}, never offered")
                }
                _ => "a 101".to_owned(),
            }
        }
    };
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    (out, what)
}

async fn refusal(session: &ClientSession, info: &CheckInfo) -> Outcome {
    let Some(bad) = BAD_RESPONSES.iter().find(|b| b.info.id == info.id) else {
        return Outcome::error(
            format!("no bad response is named {}", info.id),
            Default::default(),
        );
    };
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let skip = match bad.defect {
        Defect::UnofferedSubprotocol => offered(&wire, "sec-websocket-protocol"),
        Defect::UnofferedExtension => offered(&wire, "sec-websocket-extensions"),
        _ => Vec::new(),
    };
    if skip.iter().any(|o| o == UNOFFERED) {
        wire.shutdown().await;
        return Outcome::skipped(format!("the client offered {UNOFFERED} itself"));
    }
    let (head, what) = response(&wire, bad.defect);
    wire.note(format!("answering with {what}"));
    let sent = if let Defect::Status(..) = bad.defect {
        // The response ends the exchange (Connection: close): the server
        // ends its side, as an HTTP server does, and goes on reading.
        let sent = wire.send(&head).await;
        wire.note("the server ends its side of TCP");
        wire.half_close().await;
        sent
    } else {
        let mut frame = Vec::new();
        encode_message(&mut frame, Opcode::TEXT, None, AFTER_REFUSAL);
        match wire.send(&head).await {
            Ok(()) => wire.send(&frame).await,
            Err(e) => Err(e),
        }
    };
    if let Err(e) = sent {
        // A client that closed at once may make the second write fail: that
        // is a refusal, seen below as the end of its side.
        wire.note(format!("writing: {e}"));
    }
    judge_refusal(&mut wire, &what).await
}

/// The verdict on a client that was sent a response it must refuse (`what`,
/// in words) and then a message: it passes when it sends no data frame and
/// ends the connection (a Close, the end of TCP, a reset) within
/// [`ANSWER_WAIT`]; it fails when it answers as on an open connection or stays
/// silent.
pub(super) async fn judge_refusal(wire: &mut ClientWire, what: &str) -> Outcome {
    let expected = "no frame from the client, and the connection closed by it";
    let deadline = Instant::now() + ANSWER_WAIT;
    let event = wire.next_event(deadline).await;
    let ms = wire.at().as_millis();
    match event {
        ClientEvent::Closed | ClientEvent::Reset(_) => Outcome::pass(format!(
            "refused {what}: closed TCP after {ms} ms without a frame"
        )),
        ClientEvent::Close(body) => {
            wire.shutdown().await;
            Outcome::pass(format!(
                "refused {what}: sent {body} after {ms} ms (no Close is needed on a connection that never opened)"
            ))
        }
        ClientEvent::Silent => {
            wire.shutdown().await;
            let actual = format!(
                "neither a frame nor a close within {} s: the connection stayed open",
                ANSWER_WAIT.as_secs()
            );
            Outcome::fail(
                format!("after {what}: {actual}"),
                wire.evidence(expected, actual),
            )
        }
        ClientEvent::Message { .. } | ClientEvent::Ping(_) | ClientEvent::Pong(_) => {
            let event = match &event {
                // Compressed bytes say nothing as text.
                ClientEvent::Message { opcode, data } if wire.message_rsv.contains(Rsv::RSV1) => {
                    format!(
                        "a compressed {opcode} message (RSV1) of {} bytes",
                        data.len()
                    )
                }
                other => other.to_string(),
            };
            let actual =
                format!("the client sent {event} after {ms} ms: it took the connection as open");
            wire.close_normally().await;
            Outcome::fail(
                format!("accepted {what}: {event}"),
                wire.evidence(expected, actual),
            )
        }
        ClientEvent::Unreadable(sent) => {
            wire.shutdown().await;
            let actual = format!("the client sent {sent}");
            Outcome::fail(
                format!("after {what}: {actual}"),
                wire.evidence(expected, actual),
            )
        }
    }
}

/// The message sent in the same write as the 101, and the one sent later if
/// it is not echoed (to tell a lost frame from a client that echoes nothing).
const WITH_101: &[u8] = b"pulsecheck: sent with the 101";
const AFTER_101: &[u8] = b"pulsecheck: sent after the 101";

async fn frame_with_101(session: &ClientSession) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let mut bytes = wire.correct_101();
    encode_message(&mut bytes, Opcode::TEXT, None, WITH_101);
    wire.note("the 101 and a text frame in one write");
    if let Err(e) = wire.send(&bytes).await {
        return Outcome::error(e, wire.transcript.clone());
    }
    let expected = format!("the echo of {:?}", String::from_utf8_lossy(WITH_101));
    let echo = match await_echo(&mut wire).await {
        Ok(Some(data)) => data,
        Ok(None) => {
            // Silence: was the frame lost, or does the client echo nothing?
            wire.note(format!(
                "no echo within {} s: a second text frame, alone",
                ANSWER_WAIT.as_secs()
            ));
            if let Err(e) = wire.send_frame(Opcode::TEXT, AFTER_101).await {
                return Outcome::error(e, wire.transcript.clone());
            }
            let second = await_echo(&mut wire).await;
            let silent = matches!(second, Ok(None));
            let actual = match second {
                Ok(Some(data)) if data == AFTER_101 => {
                    "the frame sent with the 101 was lost: the client echoed only the frame sent after it".to_owned()
                }
                Ok(Some(data)) => format!(
                    "no echo of the frame sent with the 101 within {} s, then {:?}",
                    ANSWER_WAIT.as_secs(),
                    String::from_utf8_lossy(&data)
                ),
                Ok(None) => format!(
                    "no echo of either frame (the one with the 101, nor one sent alone {} s later)",
                    ANSWER_WAIT.as_secs()
                ),
                Err(end) => format!("no echo; then {end}"),
            };
            if silent {
                wire.shutdown().await;
            } else {
                wire.close_normally().await;
            }
            return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
        }
        Err(end) => {
            let actual = format!("{end} before echoing the frame sent with the 101");
            wire.shutdown().await;
            return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
        }
    };
    let ms = wire.at().as_millis();
    wire.close_normally().await;
    if echo == WITH_101 {
        Outcome::pass(format!("the frame sent with the 101 was echoed ({ms} ms)"))
    } else {
        let actual = format!("an echo of {:?}", String::from_utf8_lossy(&echo));
        Outcome::fail(actual.clone(), wire.evidence(expected, actual))
    }
}

/// The next data message, within [`ANSWER_WAIT`]: `Ok(None)` on silence, the
/// ending event when the client closes or sends what is not frames. Pings are
/// answered on the way.
pub(super) async fn await_echo(wire: &mut ClientWire) -> Result<Option<Vec<u8>>, ClientEvent> {
    let deadline = Instant::now() + ANSWER_WAIT;
    loop {
        match wire.next_event(deadline).await {
            ClientEvent::Message { data, .. } => return Ok(Some(data)),
            ClientEvent::Ping(p) => {
                let _ = wire.send_frame(Opcode::PONG, &p).await;
            }
            ClientEvent::Pong(_) => {}
            ClientEvent::Silent => return Ok(None),
            end => return Err(end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::for_test;
    use super::*;

    /// The status code and the header lines of a response head (lowercase
    /// names), and what follows the head.
    fn parsed(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut storage = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut storage);
        let httparse::Status::Complete(len) = response.parse(bytes).expect("valid HTTP") else {
            panic!("a whole head")
        };
        let headers = response
            .headers
            .iter()
            .map(|h| {
                let value = String::from_utf8(h.value.to_vec()).expect("ASCII");
                (h.name.to_ascii_lowercase(), value)
            })
            .collect();
        (response.code.unwrap_or(0), headers, bytes[len..].to_vec())
    }

    #[test]
    fn each_bad_response_is_a_correct_101_but_for_its_one_defect() {
        let (wire, _client) = for_test(&[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")], b"");
        let (status, correct, rest) = parsed(&wire.correct_101());
        assert_eq!((status, rest.len()), (101, 0));
        let accept = (
            "sec-websocket-accept".to_owned(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned(),
        );
        assert!(correct.contains(&accept));
        for bad in BAD_RESPONSES {
            let (bytes, what) = response(&wire, bad.defect);
            let (status, headers, body) = parsed(&bytes);
            let missing: Vec<&(String, String)> =
                correct.iter().filter(|h| !headers.contains(h)).collect();
            let added: Vec<&(String, String)> =
                headers.iter().filter(|h| !correct.contains(h)).collect();
            let name = |h: &&(String, String)| h.0.clone();
            let (missing, added): (Vec<String>, Vec<String>) = (
                missing.iter().map(name).collect(),
                added.iter().map(name).collect(),
            );
            let id = bad.info.id;
            match bad.defect {
                Defect::Status(code, _) => {
                    assert_eq!(status, code, "{id}");
                    // The same headers, "close" added to Connection, and the
                    // frame as a declared body.
                    assert_eq!(missing, ["connection"], "{id}");
                    assert_eq!(
                        added,
                        ["connection", "content-type", "content-length"],
                        "{id}"
                    );
                    let mut frame = Vec::new();
                    encode_message(&mut frame, Opcode::TEXT, None, AFTER_REFUSAL);
                    assert_eq!(body, frame, "{id}");
                }
                defect => {
                    assert_eq!((status, body.len()), (101, 0), "{id}");
                    let (want_missing, want_added): (&[&str], &[&str]) = match defect {
                        Defect::NoUpgrade => (&["upgrade"], &[]),
                        Defect::NoConnection => (&["connection"], &[]),
                        Defect::NoAccept => (&["sec-websocket-accept"], &[]),
                        Defect::WrongAccept => {
                            (&["sec-websocket-accept"], &["sec-websocket-accept"])
                        }
                        Defect::UnofferedSubprotocol => (&[], &["sec-websocket-protocol"]),
                        Defect::UnofferedExtension => (&[], &["sec-websocket-extensions"]),
                        Defect::Status(..) => unreachable!(),
                    };
                    assert_eq!(
                        (missing, added),
                        (to_vec(want_missing), to_vec(want_added)),
                        "{id}: {what}"
                    );
                }
            }
        }
    }

    fn to_vec(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }
}
