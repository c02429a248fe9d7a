//! The permessage-deflate checks beyond Autobahn (RFC 7692): how a server
//! negotiates — offers it must decline rather than fail the handshake on, the
//! parameters its answer must echo or keep within, a list of offers it can fall
//! back through, the 8-bit window zlib cannot compress with — and what it does
//! on a compressing connection: RSV1 where it is forbidden, an uncompressed
//! message, no context takeover once agreed, a decompression bomb.
//!
//! Each check first makes sure the server negotiates permessage-deflate at all
//! (it accepts a plain `permessage-deflate` offer); against a server that does
//! not, every check here is skipped: declining compression is legal.

use std::sync::LazyLock;
use std::time::Duration;

use pulsecheck_ws::deflate::{Agreement, ClientWindowOffer, DeflateOffer, SYNC_TAIL, WindowBits};
use pulsecheck_ws::{Opcode, Role, Rsv};
use tokio::time::Instant;

use crate::check::{Evidence, Outcome, Source, Transcript};
use crate::registry::{Check, check};
use crate::ws::checks::WsProbe;
use crate::ws::connection::{
    HandshakeReply, MessageData, WsConnection, WsError, WsEvent, frame_from,
};
use crate::ws::deflate::{Deflater, Inflater, Offered, open_offering};

/// The permessage-deflate negotiation and connection checks.
pub const CHECKS: &[Check<WsProbe>] = &[
    check!(
        "ws/deflate/unknown-parameter-declined",
        "An offer with an unknown parameter is declined, not refused",
        Source::Rfc(7692, "7"),
        Must,
        "\"A server MUST decline an extension negotiation offer for this extension if any of the following conditions are met: The negotiation offer contains an extension parameter not defined for use in an offer.\" Declining is answering 101 without the extension, not failing the handshake.",
        unknown_parameter
    ),
    check!(
        "ws/deflate/duplicate-parameter-declined",
        "An offer with a repeated parameter is declined, not refused",
        Source::Rfc(7692, "7"),
        Must,
        "\"A server MUST decline an extension negotiation offer for this extension if ... The negotiation offer contains multiple extension parameters with the same name.\"",
        duplicate_parameter
    ),
    check!(
        "ws/deflate/invalid-value-declined",
        "An offer with an invalid parameter value is declined, not refused",
        Source::Rfc(7692, "7"),
        Must,
        "\"A server MUST decline an extension negotiation offer for this extension if ... The negotiation offer contains an extension parameter with an invalid value.\" Window bits are \"a decimal integer value without leading zeroes between 8 to 15, inclusive\"; the no-context-takeover parameters have no value.",
        invalid_value
    ),
    check!(
        "ws/deflate/server-no-context-takeover-echoed",
        "server_no_context_takeover offered is echoed when accepted",
        Source::Rfc(7692, "7.1.1.1"),
        Must,
        "\"A server accepts an extension negotiation offer that includes the 'server_no_context_takeover' extension parameter by including the 'server_no_context_takeover' extension parameter in the corresponding extension negotiation response to send back to the client.\"",
        server_no_context_takeover_echoed
    ),
    check!(
        "ws/deflate/server-no-context-takeover-honoured",
        "After agreeing to server_no_context_takeover, each message is compressed on its own",
        Source::Rfc(7692, "7.1.1.1"),
        Must,
        "With server_no_context_takeover agreed the server does not use context takeover: each message it sends decompresses with an empty LZ77 window, so the same message sent twice compresses to about the same size twice.",
        server_no_context_takeover_honoured
    ),
    check!(
        "ws/deflate/server-max-window-bits-kept",
        "server_max_window_bits is answered no larger than offered, and kept to",
        Source::Rfc(7692, "7.1.2.1"),
        Must,
        "\"A server accepts an extension negotiation offer with this parameter by including the 'server_max_window_bits' extension parameter in the extension negotiation response to send back to the client with the same or smaller value as the offer.\" Its messages then refer back no farther than that window.",
        server_max_window_bits_kept
    ),
    check!(
        "ws/deflate/client-max-window-bits-only-when-offered",
        "client_max_window_bits is answered only when offered, no larger than offered",
        Source::Rfc(7692, "7.1.2.2"),
        Must,
        "\"If a received extension negotiation offer doesn't have the 'client_max_window_bits' extension parameter, the corresponding extension negotiation response to the offer MUST NOT include the 'client_max_window_bits' extension parameter.\" When offered with a value, the answer is equal to or smaller than it.",
        client_max_window_bits_only_when_offered
    ),
    check!(
        "ws/deflate/offer-list-fallback",
        "After declining a first offer, a later acceptable one is accepted",
        Source::Rfc(7692, "5"),
        Should,
        "A client lists several offers in its order of preference so that a server that must decline one (RFC 7692 §7: an invalid value) can accept a later one: a server that accepts the second offer alone accepts it after an invalid first.",
        offer_list_fallback
    ),
    check!(
        "ws/deflate/window-bits-8",
        "An offer of 8-bit windows is declined or honoured, never refused or raised",
        Source::Rfc(7692, "7.1.2"),
        Must,
        "Window bits are \"between 8 to 15, inclusive\": an offer of server_max_window_bits=8 and client_max_window_bits=8 is valid. A server that cannot use an 8-bit window (zlib cannot compress with one) declines the offer; one that accepts answers 8 (never more than offered) and its messages decompress within 256 bytes of window, and it decompresses the client's.",
        window_bits_8
    ),
    check!(
        "ws/deflate/rsv1-on-control-frame",
        "RSV1 on a control frame fails the connection",
        Source::Rfc(7692, "6.1"),
        Must,
        "\"An endpoint MUST NOT set the 'Per-Message Compressed' bit of control frames and non-first fragments of a data message. An endpoint receiving such a frame MUST _Fail the WebSocket Connection_.\"",
        rsv1_on_control_frame
    ),
    check!(
        "ws/deflate/rsv1-on-continuation",
        "RSV1 on a continuation frame fails the connection",
        Source::Rfc(7692, "6.1"),
        Must,
        "\"An endpoint MUST NOT set the 'Per-Message Compressed' bit of control frames and non-first fragments of a data message. An endpoint receiving such a frame MUST _Fail the WebSocket Connection_.\"",
        rsv1_on_continuation
    ),
    check!(
        "ws/deflate/uncompressed-message-accepted",
        "An uncompressed message on a compressing connection is received as it is",
        Source::Rfc(7692, "6.2"),
        Must,
        "A message whose first frame has RSV1 clear is not compressed, even where permessage-deflate was agreed: the receiver takes its payload as it is (RFC 7692 §6.2 decompresses only messages with the 'Per-Message Compressed' bit set), and echoes it unchanged.",
        uncompressed_message_accepted
    ),
    check!(
        "ws/deflate/bomb-refused",
        "A decompression bomb is refused",
        Source::Rfc(6455, "10.4"),
        Should,
        "\"Implementations SHOULD impose implementation-specific limits on frame sizes and the total message size after reassembly from multiple frames\" — after decompression too: a 256 KiB compressed message that inflates to 256 MiB is refused (Close 1009, \"message too big\", RFC 6455 §7.4.1), not inflated and echoed.",
        bomb_refused
    ),
];

/// What a plain offer looks like.
const PLAIN: &str = "permessage-deflate";

/// How large the bomb inflates.
const BOMB: usize = 256 << 20;

/// A server on loopback answers within this; a remote one within the probe's
/// wait (the larger).
const ANSWER_FLOOR: Duration = Duration::from_secs(2);

fn no_connection(e: impl std::fmt::Display) -> Outcome {
    Outcome::error(
        format!("cannot open a connection: {e}"),
        Transcript::default(),
    )
}

/// Every `Sec-WebSocket-Extensions` value of a reply, as one list.
fn extensions(reply: &HandshakeReply) -> Option<String> {
    let values: Vec<&str> = reply
        .headers
        .iter()
        .filter(|(n, _)| n == "sec-websocket-extensions")
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// The answer in words: `Sec-WebSocket-Extensions: …` or none.
fn answered(reply: &HandshakeReply) -> String {
    extensions(reply).map_or("no Sec-WebSocket-Extensions".to_owned(), |v| {
        format!("Sec-WebSocket-Extensions: {v}")
    })
}

/// Whether a reply accepts permessage-deflate.
fn accepts(reply: &HandshakeReply) -> bool {
    extensions(reply).is_some_and(|v| {
        pulsecheck_ws::deflate::parse_extensions([v.as_str()])
            .map(|items| items.iter().any(|i| i.name == PLAIN))
            .unwrap_or(true)
    })
}

/// Offers `elements`, standing by `offers`.
async fn offer(
    probe: &WsProbe,
    elements: &[&str],
    offers: &[DeflateOffer],
) -> Result<Offered, WsError> {
    open_offering(&probe.client, &probe.url, elements, offers, probe.wait).await
}

/// How long to wait for the server's answer on a connection.
fn answer_wait(probe: &WsProbe) -> Duration {
    probe.wait.max(ANSWER_FLOOR)
}

/// `None` when the server echoes; otherwise the outcome of a check that needs
/// an echo.
async fn require_echo(probe: &WsProbe) -> Option<Outcome> {
    match probe.echoes().await {
        Ok(true) => None,
        Ok(false) => Some(Outcome::skipped(
            "the server does not echo messages (ws/echo/detected); this check compares echoes",
        )),
        Err(e) => Some(Outcome::error(
            format!("cannot find out whether the server echoes: {e}"),
            Transcript::default(),
        )),
    }
}

/// `None` when the server accepts a plain offer; otherwise the outcome of a
/// check that cannot apply (skipped) or could not run (error).
async fn require_deflate(probe: &WsProbe) -> Option<Outcome> {
    match offer(probe, &[PLAIN], &[DeflateOffer::default()]).await {
        Ok(Offered {
            agreement: Ok(Some(_)),
            ..
        }) => None,
        Ok(Offered {
            agreement: Ok(None),
            ..
        }) => Some(Outcome::skipped(
            "the server does not negotiate permessage-deflate (a plain offer is declined)",
        )),
        Ok(Offered {
            agreement: Err(e),
            reply,
            conn,
        }) => Some(Outcome::fail(
            format!("the answer to a plain offer must be refused by a client: {e}"),
            Evidence {
                expected: "no extension, or permessage-deflate with parameters fitting the offer"
                    .into(),
                actual: answered(&reply),
                transcript: conn.transcript,
            },
        )),
        Err(e) => Some(no_connection(e)),
    }
}

/// An agreed connection for `elements` (standing by `offers`), or the outcome
/// when there is none.
async fn agreed(
    probe: &WsProbe,
    elements: &[&str],
    offers: &[DeflateOffer],
) -> Result<(WsConnection, Agreement, HandshakeReply), Outcome> {
    if let Some(outcome) = require_deflate(probe).await {
        return Err(outcome);
    }
    match offer(probe, elements, offers).await {
        Ok(Offered {
            conn,
            reply,
            agreement: Ok(Some(agreement)),
        }) => Ok((conn, agreement, reply)),
        Ok(Offered {
            agreement: Ok(None),
            reply,
            ..
        }) => Err(Outcome::skipped(format!(
            "the server declined the offer \"{}\" ({}), which it may do",
            elements.join(", "),
            answered(&reply)
        ))),
        Ok(Offered {
            agreement: Err(e),
            reply,
            conn,
        }) => Err(Outcome::fail(
            format!("{}: {e}", answered(&reply)),
            Evidence {
                expected: format!("an answer fitting the offer \"{}\"", elements.join(", ")),
                actual: answered(&reply),
                transcript: conn.transcript,
            },
        )),
        Err(e) => Err(no_connection(e)),
    }
}

/// Offers each of `offers` alone; each must be declined (101 without
/// permessage-deflate).
async fn declines(probe: &WsProbe, offers: &[(&str, &str)]) -> Outcome {
    if let Some(outcome) = require_deflate(probe).await {
        return outcome;
    }
    let mut passed = Vec::new();
    for (what, element) in offers {
        match offer(probe, &[element], &[]).await {
            Ok(Offered { reply, conn, .. }) if accepts(&reply) => {
                return Outcome::fail(
                    format!("{what} (\"{element}\") accepted: {}", answered(&reply)),
                    Evidence {
                        expected: "101 without permessage-deflate (the offer declined)".into(),
                        actual: answered(&reply),
                        transcript: conn.transcript,
                    },
                );
            }
            Ok(_) => passed.push(*what),
            Err(WsError::Handshake(e)) => {
                return Outcome::fail(
                    format!("{what} (\"{element}\"): the handshake failed: {e}"),
                    Evidence {
                        expected: "101 without permessage-deflate: an offer is declined, the handshake goes on".into(),
                        actual: e,
                        transcript: Transcript::default(),
                    },
                );
            }
            Err(e) => return no_connection(e),
        }
    }
    Outcome::pass(format!(
        "declined, the handshake completing: {}",
        passed.join("; ")
    ))
}

async fn unknown_parameter(probe: &WsProbe) -> Outcome {
    declines(
        probe,
        &[
            ("an unknown parameter", "permessage-deflate; x_pulsecheck"),
            (
                "an unknown parameter with a value",
                "permessage-deflate; x_pulsecheck=1; server_no_context_takeover",
            ),
        ],
    )
    .await
}

async fn duplicate_parameter(probe: &WsProbe) -> Outcome {
    declines(
        probe,
        &[
            (
                "server_no_context_takeover twice",
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            ),
            (
                "server_max_window_bits twice",
                "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            ),
            (
                "client_max_window_bits twice",
                "permessage-deflate; client_max_window_bits; client_max_window_bits",
            ),
        ],
    )
    .await
}

async fn invalid_value(probe: &WsProbe) -> Outcome {
    declines(
        probe,
        &[
            (
                "server_max_window_bits=16",
                "permessage-deflate; server_max_window_bits=16",
            ),
            (
                "server_max_window_bits=7",
                "permessage-deflate; server_max_window_bits=7",
            ),
            (
                "a leading zero",
                "permessage-deflate; server_max_window_bits=010",
            ),
            (
                "server_max_window_bits without a value",
                "permessage-deflate; server_max_window_bits",
            ),
            (
                "client_max_window_bits=abc",
                "permessage-deflate; client_max_window_bits=abc",
            ),
            (
                "client_max_window_bits=0",
                "permessage-deflate; client_max_window_bits=0",
            ),
            (
                "server_no_context_takeover=1",
                "permessage-deflate; server_no_context_takeover=1",
            ),
        ],
    )
    .await
}

async fn server_no_context_takeover_echoed(probe: &WsProbe) -> Outcome {
    let element = "permessage-deflate; server_no_context_takeover";
    let offers = [DeflateOffer {
        server_no_context_takeover: true,
        ..DeflateOffer::default()
    }];
    match agreed(probe, &[element], &offers).await {
        Ok((_, agreement, reply)) if agreement.server_no_context_takeover => {
            Outcome::pass(format!("accepted with {}", answered(&reply)))
        }
        Ok((conn, _, reply)) => Outcome::fail(
            "accepted without server_no_context_takeover",
            Evidence {
                expected: "server_no_context_takeover in the response".into(),
                actual: answered(&reply),
                transcript: conn.transcript,
            },
        ),
        Err(outcome) => outcome,
    }
}

/// Sends `message` compressed by `deflater`, as one text frame.
async fn send_compressed(
    conn: &mut WsConnection,
    deflater: &mut Deflater,
    message: &[u8],
) -> Result<usize, String> {
    let mut payload = Vec::new();
    deflater
        .compress(message, &mut payload)
        .map_err(|e| e.to_string())?;
    let mut frames = Vec::new();
    deflater.frames(Opcode::TEXT, &payload, None, &mut frames);
    conn.send_raw(&frames).await.map_err(|e| e.to_string())?;
    Ok(payload.len())
}

/// The next data message (pings and pongs skipped), or what came instead.
async fn next_message(conn: &mut WsConnection, deadline: Instant) -> Result<MessageData, WsEvent> {
    loop {
        match conn.next_event(deadline).await {
            WsEvent::Message { data, .. } => return Ok(data),
            WsEvent::Ping(_) | WsEvent::Pong(_) => {}
            other => return Err(other),
        }
    }
}

/// `n` bytes of varied printable text: compressible, with no repeats near
/// each other (so that a copy of it at a distance is what a compressor finds).
fn varied_text(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            b"abcdefghijklmnopqrstuvwxyz .,"[(state >> 59) as usize % 29]
        })
        .collect()
}

/// Sends each of `messages` compressed and reads its echo; the echoes, or the
/// failing outcome.
async fn round_trips(
    conn: &mut WsConnection,
    deflater: &mut Deflater,
    messages: &[Vec<u8>],
    wait: Duration,
    expected: &str,
) -> Result<(), Outcome> {
    for (i, message) in messages.iter().enumerate() {
        if let Err(e) = send_compressed(conn, deflater, message).await {
            return Err(no_connection(e));
        }
        let deadline = Instant::now() + wait;
        let problem = match next_message(conn, deadline).await {
            Ok(data) if data == *message => continue,
            Ok(data) => format!(
                "echo {} of {} differs from what was sent: {} bytes, sent {}",
                i + 1,
                messages.len(),
                data.len(),
                message.len()
            ),
            Err(event) => format!("message {} of {}: {event}", i + 1, messages.len()),
        };
        return Err(Outcome::fail(
            problem.clone(),
            Evidence {
                expected: expected.to_owned(),
                actual: problem,
                transcript: conn.transcript.clone(),
            },
        ));
    }
    Ok(())
}

async fn server_no_context_takeover_honoured(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_echo(probe).await {
        return outcome;
    }
    let element = "permessage-deflate; server_no_context_takeover";
    let offers = [DeflateOffer {
        server_no_context_takeover: true,
        ..DeflateOffer::default()
    }];
    let (mut conn, agreement, reply) = match agreed(probe, &[element], &offers).await {
        Ok(agreed) => agreed,
        Err(outcome) => return outcome,
    };
    if !agreement.server_no_context_takeover {
        return Outcome::skipped(format!(
            "server_no_context_takeover was not agreed ({}): see ws/deflate/server-no-context-takeover-echoed",
            answered(&reply)
        ));
    }
    // The probe's inflater resets after each message, as agreed: an echo that
    // refers back into the previous one does not decompress.
    let inflater = Inflater::new(&agreement, Role::Client);
    let stats = inflater.stats();
    conn.inflate_with(inflater);
    let mut deflater = Deflater::new(&agreement, Role::Client, true);
    let message = varied_text(2048, 7);
    let messages = vec![message.clone(), message.clone(), message];
    if let Err(outcome) = round_trips(
        &mut conn,
        &mut deflater,
        &messages,
        answer_wait(probe),
        "each echo decompresses on its own, with an empty window",
    )
    .await
    {
        return outcome;
    }
    let sizes: Vec<u64> = stats.recent().iter().map(|m| m.wire).collect();
    let first = sizes.first().copied().unwrap_or(0);
    let shrunk = sizes.iter().skip(1).any(|&s| s * 2 < first);
    let text = sizes
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if shrunk {
        return Outcome::fail(
            format!(
                "the same message echoed three times compressed to {text} bytes: the later ones shrank"
            ),
            Evidence {
                expected: "about the same compressed size each time (no context kept)".into(),
                actual: format!("compressed sizes {text}"),
                transcript: conn.transcript,
            },
        );
    }
    Outcome::pass(format!(
        "the same 2048-byte message echoed three times, compressed to {text} bytes, each decompressed with an empty window"
    ))
}

async fn server_max_window_bits_kept(probe: &WsProbe) -> Outcome {
    let element = "permessage-deflate; server_max_window_bits=10";
    let offers = [DeflateOffer {
        server_max_window_bits: WindowBits::new(10),
        ..DeflateOffer::default()
    }];
    let (mut conn, agreement, reply) = match agreed(probe, &[element], &offers).await {
        Ok(agreed) => agreed,
        Err(outcome) => return outcome,
    };
    let bits = agreement.server_max_window_bits.get();
    if require_echo(probe).await.is_some() {
        return Outcome::pass(format!(
            "answered {} (not checked on the wire: the server does not echo)",
            answered(&reply)
        ));
    }
    // A text repeated at 4 KiB: a compressor with a window over 4 KiB refers
    // back to the first copy, which an inflater with the agreed window (at most
    // 1 KiB) cannot follow.
    let inflater = Inflater::new(&agreement, Role::Client).strict();
    let stats = inflater.stats();
    conn.inflate_with(inflater);
    let mut deflater = Deflater::new(&agreement, Role::Client, true);
    let half = varied_text(4096, 11);
    let message = [half.clone(), half].concat();
    let window = 1u32 << bits;
    let expected = format!("an echo that refers back no more than the agreed {window} bytes");
    if let Err(outcome) = round_trips(
        &mut conn,
        &mut deflater,
        &[message],
        answer_wait(probe),
        &expected,
    )
    .await
    {
        return outcome;
    }
    match beyond(&stats, window) {
        Some(farthest) => Outcome::fail(
            format!(
                "answered {}, then compressed with a wider window: its echo refers {farthest} bytes back",
                answered(&reply)
            ),
            Evidence {
                expected,
                actual: format!(
                    "a back-reference of {farthest} bytes (zlib inflates it; a client with a {window}-byte window cannot)"
                ),
                transcript: conn.transcript,
            },
        ),
        None => Outcome::pass(format!(
            "answered {}; an echo of a text repeated at 4 KiB refers back no more than {window} bytes",
            answered(&reply)
        )),
    }
}

/// The farthest reference of the peer's recent messages, when beyond `window`.
fn beyond(stats: &crate::ws::deflate::InflateStats, window: u32) -> Option<u32> {
    stats
        .recent()
        .iter()
        .filter_map(|m| m.farthest)
        .max()
        .filter(|&f| f > window)
}

async fn client_max_window_bits_only_when_offered(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_deflate(probe).await {
        return outcome;
    }
    let cases = [
        ("a plain offer", PLAIN, DeflateOffer::default()),
        (
            "client_max_window_bits=10",
            "permessage-deflate; client_max_window_bits=10",
            DeflateOffer {
                client_max_window_bits: ClientWindowOffer::Limit(
                    WindowBits::new(10).unwrap_or(WindowBits::MAX),
                ),
                ..DeflateOffer::default()
            },
        ),
    ];
    let mut seen = Vec::new();
    for (what, element, stood_by) in cases {
        match offer(probe, &[element], &[stood_by]).await {
            Ok(Offered {
                agreement: Err(e),
                reply,
                conn,
            }) => {
                return Outcome::fail(
                    format!("{what}: {e}"),
                    Evidence {
                        expected:
                            "client_max_window_bits only when offered, no larger than offered"
                                .into(),
                        actual: answered(&reply),
                        transcript: conn.transcript,
                    },
                );
            }
            Ok(Offered { reply, .. }) => seen.push(format!(
                "{what} answered with {}",
                extensions(&reply).map_or("no extension".to_owned(), |v| format!("\"{v}\""))
            )),
            Err(e) => return no_connection(e),
        }
    }
    Outcome::pass(seen.join(", then "))
}

async fn offer_list_fallback(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_deflate(probe).await {
        return outcome;
    }
    let elements = ["permessage-deflate; server_max_window_bits=16", PLAIN];
    match offer(probe, &elements, &[DeflateOffer::default()]).await {
        Ok(Offered {
            agreement: Ok(Some(_)),
            reply,
            ..
        }) => Outcome::pass(format!(
            "the invalid first offer declined, the second accepted: {}",
            answered(&reply)
        )),
        Ok(Offered {
            agreement: Ok(None),
            reply,
            conn,
        }) => Outcome::fail(
            "every offer declined, though the second alone is accepted",
            Evidence {
                expected: "the second offer (plain permessage-deflate) accepted".into(),
                actual: answered(&reply),
                transcript: conn.transcript,
            },
        ),
        Ok(Offered {
            agreement: Err(e),
            reply,
            conn,
        }) => Outcome::fail(
            format!("an answer that fits no valid offer: {e}"),
            Evidence {
                expected: "the second offer (plain permessage-deflate) accepted".into(),
                actual: answered(&reply),
                transcript: conn.transcript,
            },
        ),
        Err(WsError::Handshake(e)) => Outcome::fail(
            format!("the handshake failed: {e}"),
            Evidence {
                expected: "the second offer accepted; the first declined, not refused".into(),
                actual: e,
                transcript: Transcript::default(),
            },
        ),
        Err(e) => no_connection(e),
    }
}

async fn window_bits_8(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_deflate(probe).await {
        return outcome;
    }
    let element = "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8";
    let eight = WindowBits::MIN;
    let offers = [DeflateOffer {
        server_max_window_bits: Some(eight),
        client_max_window_bits: ClientWindowOffer::Limit(eight),
        ..DeflateOffer::default()
    }];
    let (mut conn, agreement, reply) = match offer(probe, &[element], &offers).await {
        Ok(Offered {
            agreement: Ok(None),
            reply,
            ..
        }) => {
            return Outcome::pass(format!(
                "declined ({}), as a server that cannot use an 8-bit window does",
                answered(&reply)
            ));
        }
        Ok(Offered {
            agreement: Err(e),
            reply,
            conn,
        }) => {
            return Outcome::fail(
                format!("{}: {e}", answered(&reply)),
                Evidence {
                    expected: "declined, or accepted with window bits 8".into(),
                    actual: answered(&reply),
                    transcript: conn.transcript,
                },
            );
        }
        Ok(Offered {
            conn,
            reply,
            agreement: Ok(Some(agreement)),
        }) => (conn, agreement, reply),
        Err(WsError::Handshake(e)) => {
            return Outcome::fail(
                format!("the handshake failed: {e}"),
                Evidence {
                    expected: "101: the offer declined or accepted".into(),
                    actual: e,
                    transcript: Transcript::default(),
                },
            );
        }
        Err(e) => return no_connection(e),
    };
    if require_echo(probe).await.is_some() {
        return Outcome::pass(format!(
            "accepted with {} (not checked on the wire: the server does not echo)",
            answered(&reply)
        ));
    }
    let inflater = Inflater::new(&agreement, Role::Client).strict();
    let stats = inflater.stats();
    conn.inflate_with(inflater);
    let mut deflater = Deflater::new(&agreement, Role::Client, true);
    let half = varied_text(200, 3);
    let messages = vec![
        [half.clone(), half.clone(), half].concat(),
        varied_text(3000, 5),
    ];
    let expected = "each message echoed, both ways within 8-bit windows";
    if let Err(outcome) = round_trips(
        &mut conn,
        &mut deflater,
        &messages,
        answer_wait(probe),
        expected,
    )
    .await
    {
        return outcome;
    }
    let window = 1u32 << agreement.server_max_window_bits.get();
    match beyond(&stats, window) {
        Some(farthest) => Outcome::fail(
            format!(
                "accepted with {}, then refers {farthest} bytes back, beyond the {window}-byte window",
                answered(&reply)
            ),
            Evidence {
                expected: expected.into(),
                actual: format!("a back-reference of {farthest} bytes"),
                transcript: conn.transcript,
            },
        ),
        None => Outcome::pass(format!(
            "accepted with {}; two messages echoed within {window}-byte windows",
            answered(&reply)
        )),
    }
}

/// After sending `bytes` on an agreed connection: the server must fail it.
async fn expect_failure(
    mut conn: WsConnection,
    bytes: &[u8],
    wait: Duration,
    what: &str,
) -> Outcome {
    if let Err(e) = conn.send_raw(bytes).await {
        return Outcome::pass(format!("{what}: the server dropped the connection ({e})"));
    }
    let deadline = Instant::now() + wait;
    loop {
        let event = conn.next_event(deadline).await;
        let fail = |actual: String, conn: &WsConnection| {
            Outcome::fail(
                format!("{what}: {actual}"),
                Evidence {
                    expected: "the connection failed: Close 1002 or dropped".into(),
                    actual,
                    transcript: conn.transcript.clone(),
                },
            )
        };
        return match event {
            WsEvent::Close {
                code: None | Some(1002),
                ..
            }
            | WsEvent::Eof => Outcome::pass(format!(
                "{what}: {}",
                match event {
                    WsEvent::Eof => "the server dropped the connection".to_owned(),
                    other => format!("the server answered {other}"),
                }
            )),
            WsEvent::Close { .. } => {
                let mut o = fail(
                    format!("the server failed the connection with {event}, not 1002"),
                    &conn,
                );
                o.verdict = crate::check::Verdict::Warn;
                o
            }
            WsEvent::Ping(_) | WsEvent::Pong(_) => continue,
            WsEvent::Timeout => fail(
                format!("no reaction within {:.1} s", wait.as_secs_f64()),
                &conn,
            ),
            other => fail(format!("the server answered with {other}"), &conn),
        };
    }
}

async fn rsv1_on_control_frame(probe: &WsProbe) -> Outcome {
    let (conn, _, _) = match agreed(probe, &[PLAIN], &[DeflateOffer::default()]).await {
        Ok(agreed) => agreed,
        Err(outcome) => return outcome,
    };
    let ping = frame_from(Role::Client, true, Opcode::PING, Rsv::RSV1, b"rsv1 ping");
    expect_failure(conn, &ping, answer_wait(probe), "a Ping with RSV1").await
}

async fn rsv1_on_continuation(probe: &WsProbe) -> Outcome {
    let (conn, agreement, _) = match agreed(probe, &[PLAIN], &[DeflateOffer::default()]).await {
        Ok(agreed) => agreed,
        Err(outcome) => return outcome,
    };
    let mut deflater = Deflater::new(&agreement, Role::Client, true);
    let mut payload = Vec::new();
    if let Err(e) = deflater.compress(&varied_text(600, 13), &mut payload) {
        return Outcome::error(format!("cannot compress: {e}"), Transcript::default());
    }
    let cut = payload.len() / 2;
    let mut bytes = frame_from(
        Role::Client,
        false,
        Opcode::TEXT,
        Rsv::RSV1,
        &payload[..cut],
    );
    bytes.extend(frame_from(
        Role::Client,
        true,
        Opcode::CONTINUATION,
        Rsv::RSV1,
        &payload[cut..],
    ));
    expect_failure(
        conn,
        &bytes,
        answer_wait(probe),
        "a compressed message whose continuation frame has RSV1 too",
    )
    .await
}

async fn uncompressed_message_accepted(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_echo(probe).await {
        return outcome;
    }
    let (mut conn, agreement, _) = match agreed(probe, &[PLAIN], &[DeflateOffer::default()]).await {
        Ok(agreed) => agreed,
        Err(outcome) => return outcome,
    };
    conn.inflate_with(Inflater::new(&agreement, Role::Client));
    let message = b"an uncompressed message on a compressing connection";
    let frame = frame_from(Role::Client, true, Opcode::TEXT, Rsv::NONE, message);
    if let Err(e) = conn.send_raw(&frame).await {
        return no_connection(e);
    }
    let deadline = Instant::now() + answer_wait(probe);
    let actual = match next_message(&mut conn, deadline).await {
        Ok(data) if data == message => {
            return Outcome::pass("a text message without RSV1 was echoed unchanged");
        }
        Ok(data) => format!("an echo of {} bytes that differs", data.len()),
        Err(event) => event.to_string(),
    };
    Outcome::fail(
        format!("a text message without RSV1: {actual}"),
        Evidence {
            expected: "the message echoed unchanged".into(),
            actual,
            transcript: conn.transcript,
        },
    )
}

/// The compressed payload of [`BOMB`] zero bytes, built once in pieces (never
/// held inflated).
static BOMB_PAYLOAD: LazyLock<Vec<u8>> = LazyLock::new(|| deflate_zeros(BOMB));

/// A permessage-deflate payload of `total` zero bytes: raw DEFLATE, a sync
/// flush, the `00 00 ff ff` tail removed (RFC 7692 §7.2.1); empty if zlib fails.
fn deflate_zeros(total: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut z = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        let piece = &zeros[..left.min(zeros.len())];
        let before = z.total_in();
        loop {
            let used = usize::try_from(z.total_in() - before).unwrap_or(usize::MAX);
            if used >= piece.len() {
                break;
            }
            out.reserve(4096);
            if z.compress_vec(&piece[used..], &mut out, FlushCompress::None)
                .is_err()
            {
                return Vec::new();
            }
        }
        left -= piece.len();
    }
    loop {
        out.reserve(4096);
        if z.compress_vec(&[], &mut out, FlushCompress::Sync).is_err() {
            return Vec::new();
        }
        if out.len() < out.capacity() {
            break;
        }
    }
    if out.ends_with(&SYNC_TAIL) {
        out.truncate(out.len() - SYNC_TAIL.len());
    }
    out
}

async fn bomb_refused(probe: &WsProbe) -> Outcome {
    let (mut conn, agreement, _) = match agreed(probe, &[PLAIN], &[DeflateOffer::default()]).await {
        Ok(agreed) => agreed,
        Err(outcome) => return outcome,
    };
    conn.inflate_with(Inflater::new(&agreement, Role::Client));
    let payload = &*BOMB_PAYLOAD;
    let frame = frame_from(Role::Client, true, Opcode::BINARY, Rsv::RSV1, payload);
    let what = format!(
        "a {} KiB compressed message inflating to {} MiB",
        payload.len() / 1024,
        BOMB >> 20
    );
    if let Err(e) = conn.send_raw(&frame).await {
        return Outcome::pass(format!("{what}: the server dropped the connection ({e})"));
    }
    let deadline = Instant::now() + answer_wait(probe).max(Duration::from_secs(10));
    loop {
        let event = conn.next_event(deadline).await;
        let verdict = match &event {
            WsEvent::Ping(_) | WsEvent::Pong(_) => continue,
            WsEvent::Close {
                code: Some(1009), ..
            } => {
                return Outcome::pass(format!("{what}: refused with Close 1009"));
            }
            WsEvent::Close { .. } | WsEvent::Eof => {
                return Outcome::pass(format!("{what}: refused ({event}; 1009 says why)"));
            }
            WsEvent::Compression(_) | WsEvent::Message { .. } => {
                "it inflated the message and echoed it".to_owned()
            }
            WsEvent::Timeout => "no answer: still inflating, or holding it".to_owned(),
            WsEvent::Violation(v) => format!("its own frames break RFC 6455: {}", v.error),
        };
        return Outcome::fail(
            format!("{what}: {verdict}"),
            Evidence {
                expected: "the message refused: Close 1009 (or the connection failed)".into(),
                actual: event.to_string(),
                transcript: conn.transcript,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bomb_inflates_to_its_size_and_is_small() {
        let payload = &*BOMB_PAYLOAD;
        assert!(payload.len() < BOMB / 500, "{} bytes", payload.len());
        let mut d = pulsecheck_ws::deflate::Decompressor::new(
            pulsecheck_ws::deflate::CodecConfig::new().with_max_message_size(BOMB),
        );
        let mut out = Vec::new();
        d.decompress(payload, &mut out).expect("it inflates");
        assert_eq!(out.len(), BOMB);
        assert!(out.iter().all(|&b| b == 0));
    }

    #[test]
    fn varied_text_does_not_repeat_nearby() {
        let t = varied_text(4096, 1);
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut e, &t).unwrap();
        let alone = e.finish().unwrap().len();
        assert!(alone > 2000, "{alone}: some compression, no long matches");
    }
}
