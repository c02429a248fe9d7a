//! permessage-deflate as the client must negotiate it (RFC 7692 §5, §7, §7.1;
//! RFC 6455 §4.1): responses it must refuse, and valid ones it must take.
//!
//! Every check here but `unoffered` needs a client that offers
//! permessage-deflate: against one that offers none it is skipped, as
//! Autobahn marks its compression cases UNIMPLEMENTED (declining compression
//! is legal). `unoffered` is the other way round: it answers a client that did
//! not offer permessage-deflate with a response accepting it, and is skipped
//! for a client that offered it.
//!
//! A refusal check answers with a response built on one of the client's
//! offers (the first well-formed one, or the first the check can use), correct
//! but for one defect, then sends an uncompressed text message (legal on a
//! compressing connection: RSV1 clear, RFC 7692 §6). A client that refused the
//! response sends nothing back and closes; one that took it echoes the message.
//!
//! An acceptance check answers with a valid response that adds what the server
//! may add unasked (a smaller `server_max_window_bits`,
//! `server_no_context_takeover`), then sends two compressed text messages, the
//! second the same as the first (so that a server keeping its context refers
//! back to the first), compressed as that response says. Each echo must be the
//! message, decompressed when its first frame has RSV1.

use pulsecheck_ws::deflate::{
    Agreement, ClientWindowOffer, CodecConfig, DeflateOffer, DeflateResponse, PERMESSAGE_DEFLATE,
    PerMessageDeflate, WindowBits, parse_extensions,
};
use pulsecheck_ws::{FrameHeader, Opcode, Role, Rsv, encode_frame, encode_message};

use crate::check::{CheckInfo, Level, Outcome, Source};
use crate::registry::{Check, CheckFuture};

use super::super::session::ClientSession;
use super::handshake::{await_echo, judge_refusal};
use super::wire::{ANSWER_WAIT, ClientEvent, ClientWire, MAX_PAYLOAD};
use super::{already_played, take};

/// The one thing wrong with a response the client must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    /// `permessage-deflate` to a client that did not offer it.
    Unoffered,
    /// A parameter RFC 7692 does not define.
    UnknownParameter,
    /// `server_no_context_takeover` twice.
    DuplicateParameter,
    /// `client_max_window_bits=10` to a client none of whose offers has
    /// `client_max_window_bits`.
    UnofferedClientWindow,
    /// `server_max_window_bits` with this value, which is not "a decimal
    /// integer value without leading zeroes between 8 to 15, inclusive".
    ServerWindow(&'static str),
    /// `client_max_window_bits` without a value.
    BareClientWindow,
}

/// A valid response a client must take, with what it adds unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addition {
    /// `server_max_window_bits` smaller than the offer's (or than 15, when the
    /// offer has none).
    SmallerServerWindow,
    /// `server_no_context_takeover`, which the offer did not ask for.
    ServerNoContextTakeover,
}

/// What a check answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Refuse(Defect),
    Accept(Addition),
}

struct DeflateDuty {
    info: CheckInfo,
    plan: Plan,
}

const fn duty(
    id: &'static str,
    title: &'static str,
    section: &'static str,
    requirement: &'static str,
    plan: Plan,
) -> DeflateDuty {
    DeflateDuty {
        info: CheckInfo {
            id,
            aliases: &[],
            title,
            source: Source::Rfc(7692, section),
            requirement,
            level: Level::Must,
        },
        plan,
    }
}

/// The parameter no RFC defines.
const UNKNOWN: &str = "pulsecheck_unknown";

/// The text message sent after a response the client must refuse.
const AFTER_REFUSAL: &[u8] = b"pulsecheck: this connection must not be open";

/// The text message an acceptance check sends twice, compressed.
const COMPRESSED: &[u8] = b"pulsecheck: a compressed message, pulsecheck: a compressed message, pulsecheck: a compressed message";

const DUTIES: &[DeflateDuty] = &[
    DeflateDuty {
        info: CheckInfo {
            id: "ws-client/deflate/unoffered",
            aliases: &[],
            title: "permessage-deflate accepted though not offered is refused",
            source: Source::Rfc(6455, "4.1"),
            requirement: "\"If the response includes a |Sec-WebSocket-Extensions| header field and this header field indicates the use of an extension that was not present in the client's handshake (the server has indicated an extension not requested by the client), the client MUST _Fail the WebSocket Connection_.\" (RFC 7692 §5: the server accepts permessage-deflate only by answering an offer of it.) Unlike handshake/unoffered-extension, the extension is one a client may implement: a client that checks the names it knows, rather than the ones it offered, takes it.",
            level: Level::Must,
        },
        plan: Plan::Refuse(Defect::Unoffered),
    },
    duty(
        "ws-client/deflate/unknown-parameter",
        "A response with an unknown parameter is refused",
        "7",
        "\"A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension negotiation offer for this extension with an extension negotiation response meeting any of the following conditions: The negotiation response contains an extension parameter not defined for use in a response.\"",
        Plan::Refuse(Defect::UnknownParameter),
    ),
    duty(
        "ws-client/deflate/duplicate-parameter",
        "A response with a repeated parameter is refused",
        "7",
        "\"A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension negotiation offer for this extension with an extension negotiation response meeting any of the following conditions: ... The negotiation response contains multiple extension parameters with the same name.\"",
        Plan::Refuse(Defect::DuplicateParameter),
    ),
    duty(
        "ws-client/deflate/client-max-window-bits-unoffered",
        "client_max_window_bits in a response is refused when not offered",
        "7.1.2.2",
        "\"If a received extension negotiation offer doesn't have the 'client_max_window_bits' extension parameter, the corresponding extension negotiation response to the offer MUST NOT include the 'client_max_window_bits' extension parameter.\" A response that does matches none of the client's offers: RFC 7692 §7, \"The client does not support the configuration that the response represents\", so the client MUST _Fail the WebSocket Connection_.",
        Plan::Refuse(Defect::UnofferedClientWindow),
    ),
    duty(
        "ws-client/deflate/server-max-window-bits-16",
        "server_max_window_bits=16 in a response is refused",
        "7.1.2.1",
        "server_max_window_bits \"has a decimal integer value without leading zeroes between 8 to 15, inclusive\"; RFC 7692 §7: the client MUST _Fail the WebSocket Connection_ when \"The negotiation response contains an extension parameter with an invalid value.\"",
        Plan::Refuse(Defect::ServerWindow("16")),
    ),
    duty(
        "ws-client/deflate/server-max-window-bits-7",
        "server_max_window_bits=7 in a response is refused",
        "7.1.2.1",
        "server_max_window_bits \"has a decimal integer value without leading zeroes between 8 to 15, inclusive\"; RFC 7692 §7: the client MUST _Fail the WebSocket Connection_ when \"The negotiation response contains an extension parameter with an invalid value.\"",
        Plan::Refuse(Defect::ServerWindow("7")),
    ),
    duty(
        "ws-client/deflate/server-max-window-bits-leading-zero",
        "server_max_window_bits=09 in a response is refused",
        "7.1.2.1",
        "server_max_window_bits \"has a decimal integer value without leading zeroes between 8 to 15, inclusive\": 09 has a leading zero. RFC 7692 §7: the client MUST _Fail the WebSocket Connection_ when \"The negotiation response contains an extension parameter with an invalid value.\"",
        Plan::Refuse(Defect::ServerWindow("09")),
    ),
    duty(
        "ws-client/deflate/server-max-window-bits-not-decimal",
        "server_max_window_bits=0xf in a response is refused",
        "7.1.2.1",
        "server_max_window_bits \"has a decimal integer value without leading zeroes between 8 to 15, inclusive, ... and MUST conform to the ABNF below. server-max-window-bits = 1*DIGIT\": 0xf is not decimal digits (a parser that takes hexadecimal reads 15). RFC 7692 §7: the client MUST _Fail the WebSocket Connection_ when \"The negotiation response contains an extension parameter with an invalid value.\"",
        Plan::Refuse(Defect::ServerWindow("0xf")),
    ),
    duty(
        "ws-client/deflate/client-max-window-bits-no-value",
        "client_max_window_bits without a value in a response is refused",
        "7.1.2.2",
        "Only an offer may carry client_max_window_bits without a value (\"A client MAY include the 'client_max_window_bits' extension parameter in an extension negotiation offer. This parameter has no value or a decimal integer value ...\"); a server accepts it \"by including the 'client_max_window_bits' extension parameter in the corresponding extension negotiation response to the offer with a value equal to or smaller than the received value\", the window the client must keep to. Without a value the response's parameter has an invalid value: RFC 7692 §7, the client MUST _Fail the WebSocket Connection_.",
        Plan::Refuse(Defect::BareClientWindow),
    ),
    duty(
        "ws-client/deflate/smaller-server-window-accepted",
        "A server_max_window_bits smaller than offered is accepted",
        "7.1.2.1",
        "\"A server accepts an extension negotiation offer with this parameter by including the 'server_max_window_bits' extension parameter in the extension negotiation response to send back to the client with the same or smaller value as the offer.\" and \"A server MAY include the 'server_max_window_bits' extension parameter in an extension negotiation response even if the extension negotiation offer being accepted by the response didn't include the 'server_max_window_bits' extension parameter.\" Such a response is valid, and RFC 7692 §7 lets a client fail the connection only over a configuration it \"does not support\": an inflater with the 32 KiB window the client's offer allowed reads a stream made with a smaller one, so every client that offered permessage-deflate supports it. It takes the connection and decompresses the server's messages.",
        Plan::Accept(Addition::SmallerServerWindow),
    ),
    duty(
        "ws-client/deflate/server-no-context-takeover-accepted",
        "server_no_context_takeover the client did not ask for is accepted",
        "7.1.1.1",
        "\"A server MAY include the 'server_no_context_takeover' extension parameter in an extension negotiation response even if the extension negotiation offer being accepted by the response didn't include the 'server_no_context_takeover' extension parameter.\" Such a response is valid, and RFC 7692 §7 lets a client fail the connection only over a configuration it \"does not support\": the server resetting its context asks nothing of the client's inflater (it may reset its own or not), so every client that offered permessage-deflate supports it. It takes the connection and decompresses the server's messages.",
        Plan::Accept(Addition::ServerNoContextTakeover),
    ),
];

/// The permessage-deflate checks, in order.
pub(super) fn checks() -> Vec<Check<ClientSession>> {
    DUTIES
        .iter()
        .map(|d| Check {
            info: d.info,
            run: run_duty,
        })
        .collect()
}

fn run_duty<'a>(session: &'a ClientSession, info: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(play(session, info))
}

/// The permessage-deflate offers in the client's request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Offers {
    /// The well-formed ones, in the client's order.
    valid: Vec<DeflateOffer>,
    /// Why each malformed one is: these are not offers a server may accept.
    invalid: Vec<String>,
}

/// Reads the client's offers; `Err` when its `Sec-WebSocket-Extensions`
/// breaks the grammar of RFC 6455 §9.1.
fn client_offers(wire: &ClientWire) -> Result<Offers, String> {
    let values: Vec<&str> = wire
        .request
        .headers_named("sec-websocket-extensions")
        .collect();
    let items = parse_extensions(values).map_err(|e| {
        format!(
            "the client's Sec-WebSocket-Extensions breaks RFC 6455 §9.1 ({e}): no offer to answer"
        )
    })?;
    let mut offers = Offers::default();
    for item in items.iter().filter(|i| i.name == PERMESSAGE_DEFLATE) {
        match DeflateOffer::from_params(&item.params) {
            Ok(offer) => offers.valid.push(offer),
            Err(e) => offers.invalid.push(e.to_string()),
        }
    }
    Ok(offers)
}

/// The response that accepts `offer` as it is: what the server must echo
/// (`server_no_context_takeover`, `server_max_window_bits`) and nothing else.
fn plain_acceptance(offer: &DeflateOffer) -> DeflateResponse {
    DeflateResponse {
        server_no_context_takeover: offer.server_no_context_takeover,
        server_max_window_bits: offer.server_max_window_bits,
        ..DeflateResponse::default()
    }
}

/// What a check does with this client: answer with a header value, or skip.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// A response the client must refuse: the `Sec-WebSocket-Extensions` value,
    /// and the offer it was built on (`None`: the client offered none).
    Refuse(String, Option<DeflateOffer>),
    /// A valid response and the offer it accepts.
    Accept(DeflateResponse, DeflateOffer),
    /// Why the check does not apply.
    Skip(String),
}

/// The header value of a response accepting one offer, with `extra`
/// parameters after those of `base`.
fn with_params(base: &DeflateResponse, extra: &[String]) -> String {
    let mut value = base.to_string();
    for p in extra {
        value.push_str("; ");
        value.push_str(p);
    }
    value
}

/// The `server_max_window_bits` a smaller-window check answers to an offer
/// with `offered` (none: 15): 10, or one less than offered, and never below 8.
fn smaller_window(offered: Option<WindowBits>) -> WindowBits {
    let bits = match offered.map(WindowBits::get) {
        None => 10,
        Some(n) => n.saturating_sub(1).clamp(9, 10).min(n),
    };
    WindowBits::new(bits).unwrap_or(WindowBits::MAX)
}

/// How `plan` answers a client with `offers`.
fn answer(plan: Plan, offers: &Offers) -> Answer {
    let no_offer = || {
        let mut why = "the client offered no permessage-deflate".to_owned();
        if !offers.invalid.is_empty() {
            why.push_str(&format!(
                " that could be accepted ({} malformed: {})",
                offers.invalid.len(),
                offers.invalid.join("; ")
            ));
        }
        Answer::Skip(why)
    };
    let unoffered = || {
        if offers.valid.is_empty() && offers.invalid.is_empty() {
            Answer::Refuse(PERMESSAGE_DEFLATE.to_owned(), None)
        } else {
            Answer::Skip(
                "the client offered permessage-deflate: an answer accepting it would be legal"
                    .to_owned(),
            )
        }
    };
    if plan == Plan::Refuse(Defect::Unoffered) {
        return unoffered();
    }
    let Some(first) = offers.valid.first().copied() else {
        return no_offer();
    };
    let has_client_window =
        |o: &&DeflateOffer| o.client_max_window_bits != ClientWindowOffer::NotOffered;
    match plan {
        Plan::Refuse(defect) => {
            let base = plain_acceptance(&first);
            let refuse = |extra: &[String], offer| Answer::Refuse(with_params(&base, extra), offer);
            match defect {
                Defect::Unoffered => unoffered(),
                Defect::UnknownParameter => refuse(&[UNKNOWN.to_owned()], Some(first)),
                Defect::DuplicateParameter => {
                    let mut bare = base;
                    bare.server_no_context_takeover = false;
                    let twice = vec!["server_no_context_takeover".to_owned(); 2];
                    Answer::Refuse(with_params(&bare, &twice), Some(first))
                }
                Defect::UnofferedClientWindow => {
                    if offers.valid.iter().any(|o| has_client_window(&o)) {
                        Answer::Skip("the client offered client_max_window_bits: a response with it is legal".to_owned())
                    } else {
                        refuse(&["client_max_window_bits=10".to_owned()], Some(first))
                    }
                }
                Defect::ServerWindow(value) => {
                    let mut bare = base;
                    bare.server_max_window_bits = None;
                    Answer::Refuse(
                        with_params(&bare, &[format!("server_max_window_bits={value}")]),
                        Some(first),
                    )
                }
                Defect::BareClientWindow => match offers.valid.iter().find(has_client_window) {
                    Some(offer) => Answer::Refuse(
                        with_params(
                            &plain_acceptance(offer),
                            &["client_max_window_bits".to_owned()],
                        ),
                        Some(*offer),
                    ),
                    None => Answer::Skip(
                        "the client did not offer client_max_window_bits (client-max-window-bits-unoffered answers it with one)".to_owned(),
                    ),
                },
            }
        }
        Plan::Accept(Addition::SmallerServerWindow) => {
            let mut response = plain_acceptance(&first);
            response.server_max_window_bits = Some(smaller_window(first.server_max_window_bits));
            Answer::Accept(response, first)
        }
        Plan::Accept(Addition::ServerNoContextTakeover) => {
            match offers
                .valid
                .iter()
                .find(|o| !o.server_no_context_takeover)
            {
                Some(offer) => {
                    let mut response = plain_acceptance(offer);
                    response.server_no_context_takeover = true;
                    Answer::Accept(response, *offer)
                }
                None => Answer::Skip(
                    "every offer of the client asks for server_no_context_takeover: it cannot be added unasked".to_owned(),
                ),
            }
        }
    }
}

async fn play(session: &ClientSession, info: &CheckInfo) -> Outcome {
    let Some(duty) = DUTIES.iter().find(|d| d.info.id == info.id) else {
        return Outcome::error(
            format!("no permessage-deflate duty is named {}", info.id),
            Default::default(),
        );
    };
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let offers = match client_offers(&wire) {
        Ok(offers) => offers,
        Err(why) => return skip(&mut wire, why).await,
    };
    match answer(duty.plan, &offers) {
        Answer::Skip(why) => skip(&mut wire, why).await,
        Answer::Refuse(value, offer) => refusal(&mut wire, &value, offer).await,
        Answer::Accept(response, offer) => acceptance(&mut wire, &response, &offer).await,
    }
}

/// Skips the check: the connection still gets a correct 101 and a normal
/// close, so that the client's run goes on as for any case.
async fn skip(wire: &mut ClientWire, why: String) -> Outcome {
    wire.note(format!("skipped: {why}; a correct 101, then a Close"));
    let head = wire.correct_101();
    if wire.send(&head).await.is_ok() {
        wire.close_normally().await;
    } else {
        wire.shutdown().await;
    }
    Outcome::skipped(why)
}

/// "the offer `permessage-deflate; …`", or "no offer".
fn offer_words(offer: Option<&DeflateOffer>) -> String {
    offer.map_or_else(
        || "no offer of permessage-deflate".to_owned(),
        |o| format!("the offer `{o}`"),
    )
}

async fn refusal(wire: &mut ClientWire, value: &str, offer: Option<DeflateOffer>) -> Outcome {
    let what = format!(
        "a 101 with `Sec-WebSocket-Extensions: {value}` (to {})",
        offer_words(offer.as_ref())
    );
    wire.note(format!("answering with {what}, then a text message"));
    let mut bytes = wire.answer_101(Some(value));
    encode_message(&mut bytes, Opcode::TEXT, None, AFTER_REFUSAL);
    if let Err(e) = wire.send(&bytes).await {
        // A client that closed at once may make the write fail: that is a
        // refusal, seen as the end of its side.
        wire.note(format!("writing: {e}"));
    }
    judge_refusal(wire, &what).await
}

/// One compressed text message (RSV1 on its one frame), as the server sends it.
fn compressed_frame(codec: &mut PerMessageDeflate, message: &[u8]) -> Result<Vec<u8>, String> {
    let mut payload = Vec::new();
    codec
        .compressor
        .compress(message, &mut payload)
        .map_err(|e| format!("pulsecheck could not compress its message: {e}"))?;
    let mut header = FrameHeader::new(Opcode::TEXT, payload.len() as u64);
    header.rsv = Rsv::RSV1;
    let mut out = Vec::new();
    encode_frame(&mut out, &header, &payload)
        .map_err(|e| format!("pulsecheck could not frame its message: {e}"))?;
    Ok(out)
}

async fn acceptance(
    wire: &mut ClientWire,
    response: &DeflateResponse,
    offer: &DeflateOffer,
) -> Outcome {
    let value = response.to_string();
    let agreement = Agreement::from_response(response);
    let what = format!("a 101 with `Sec-WebSocket-Extensions: {value}` (to the offer `{offer}`)");
    let options = CodecConfig::default().with_max_message_size(MAX_PAYLOAD);
    let mut codec = PerMessageDeflate::new(&agreement, Role::Server, options);
    let expected = format!(
        "the connection taken, and each of two compressed text messages of {} bytes echoed",
        COMPRESSED.len()
    );
    wire.note(format!("answering with {what}"));
    let head = wire.answer_101(Some(&value));
    if let Err(e) = wire.send(&head).await {
        return Outcome::error(e, wire.transcript.clone());
    }
    for round in ["first", "second"] {
        let frame = match compressed_frame(&mut codec, COMPRESSED) {
            Ok(frame) => frame,
            Err(e) => return Outcome::error(e, wire.transcript.clone()),
        };
        wire.note(format!(
            "the {round} compressed text message: {} bytes of payload for {}",
            frame.len().saturating_sub(2),
            COMPRESSED.len()
        ));
        if let Err(e) = wire.send(&frame).await {
            let actual = format!("the {round} message could not be written: {e}");
            wire.shutdown().await;
            return Outcome::fail(
                format!("after {what}: {actual}"),
                wire.evidence(expected, actual),
            );
        }
        let echo = match await_echo(wire).await {
            Ok(Some(data)) => data,
            Ok(None) => {
                let actual = format!(
                    "no echo of the {round} compressed message within {} s",
                    ANSWER_WAIT.as_secs()
                );
                wire.shutdown().await;
                return Outcome::fail(
                    format!("after {what}: {actual}"),
                    wire.evidence(expected, actual),
                );
            }
            Err(end) => {
                let refused = round == "first"
                    && matches!(
                        end,
                        ClientEvent::Closed | ClientEvent::Reset(_) | ClientEvent::Close(_)
                    );
                let actual = if refused {
                    format!("refused a valid response: {end}, without a frame")
                } else {
                    format!("{end} before echoing the {round} compressed message")
                };
                wire.shutdown().await;
                return Outcome::fail(
                    format!("after {what}: {actual}"),
                    wire.evidence(expected, actual),
                );
            }
        };
        let compressed = wire.message_rsv.contains(Rsv::RSV1);
        let data = if compressed {
            let mut out = Vec::new();
            match codec.decompressor.decompress(&echo, &mut out) {
                Ok(()) => out,
                Err(e) => {
                    let actual = format!(
                        "the echo of the {round} message ({} bytes, RSV1) does not decompress under `{value}`: {e}",
                        echo.len()
                    );
                    wire.close_normally().await;
                    return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
                }
            }
        } else {
            echo
        };
        if data != COMPRESSED {
            let actual = format!(
                "the echo of the {round} message ({}) is {} bytes that differ from it",
                if compressed {
                    "compressed"
                } else {
                    "uncompressed"
                },
                data.len()
            );
            wire.close_normally().await;
            return Outcome::fail(actual.clone(), wire.evidence(expected, actual));
        }
        wire.note(format!(
            "the {round} echo matches ({})",
            if compressed {
                "compressed"
            } else {
                "uncompressed"
            }
        ));
    }
    wire.close_normally().await;
    Outcome::pass(format!("took {what} and echoed both compressed messages"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(header: &str) -> Offers {
        let mut offers = Offers::default();
        for item in parse_extensions([header]).expect("well formed") {
            if item.name == PERMESSAGE_DEFLATE {
                match DeflateOffer::from_params(&item.params) {
                    Ok(o) => offers.valid.push(o),
                    Err(e) => offers.invalid.push(e.to_string()),
                }
            }
        }
        offers
    }

    fn header(a: Answer) -> String {
        match a {
            Answer::Refuse(value, _) => value,
            Answer::Accept(response, _) => response.to_string(),
            Answer::Skip(why) => format!("skip: {why}"),
        }
    }

    #[test]
    fn each_plan_answers_each_kind_of_offer() {
        let plain = "permessage-deflate";
        let window = "permessage-deflate; client_max_window_bits";
        let asks = "permessage-deflate; server_no_context_takeover; server_max_window_bits=12";
        // (plan, offers, the Sec-WebSocket-Extensions answered, or "skip")
        let cases: &[(Plan, &str, &str)] = &[
            (Plan::Refuse(Defect::Unoffered), "", "permessage-deflate"),
            (
                Plan::Refuse(Defect::Unoffered),
                "x-other",
                "permessage-deflate",
            ),
            (Plan::Refuse(Defect::Unoffered), plain, "skip"),
            (Plan::Refuse(Defect::UnknownParameter), "", "skip"),
            (
                Plan::Refuse(Defect::UnknownParameter),
                plain,
                "permessage-deflate; pulsecheck_unknown",
            ),
            (
                Plan::Refuse(Defect::UnknownParameter),
                asks,
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; pulsecheck_unknown",
            ),
            (
                Plan::Refuse(Defect::DuplicateParameter),
                asks,
                "permessage-deflate; server_max_window_bits=12; server_no_context_takeover; server_no_context_takeover",
            ),
            (
                Plan::Refuse(Defect::UnofferedClientWindow),
                plain,
                "permessage-deflate; client_max_window_bits=10",
            ),
            (Plan::Refuse(Defect::UnofferedClientWindow), window, "skip"),
            (
                Plan::Refuse(Defect::ServerWindow("09")),
                asks,
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=09",
            ),
            (
                Plan::Refuse(Defect::BareClientWindow),
                window,
                "permessage-deflate; client_max_window_bits",
            ),
            (Plan::Refuse(Defect::BareClientWindow), plain, "skip"),
            (
                Plan::Accept(Addition::SmallerServerWindow),
                plain,
                "permessage-deflate; server_max_window_bits=10",
            ),
            (
                Plan::Accept(Addition::SmallerServerWindow),
                asks,
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
            ),
            (
                Plan::Accept(Addition::ServerNoContextTakeover),
                window,
                "permessage-deflate; server_no_context_takeover",
            ),
            (
                Plan::Accept(Addition::ServerNoContextTakeover),
                asks,
                "skip",
            ),
            // A malformed first offer is passed over.
            (
                Plan::Accept(Addition::ServerNoContextTakeover),
                "permessage-deflate; server_max_window_bits=20, permessage-deflate",
                "permessage-deflate; server_no_context_takeover",
            ),
        ];
        for (plan, offers, want) in cases {
            let got = header(answer(*plan, &offer(offers)));
            if *want == "skip" {
                assert!(got.starts_with("skip: "), "{plan:?} to {offers:?}: {got}");
            } else {
                assert_eq!(got, *want, "{plan:?} to {offers:?}");
            }
        }
    }

    #[test]
    fn the_smaller_window_is_smaller_when_it_can_be() {
        let answered =
            |offered: Option<u8>| smaller_window(offered.and_then(WindowBits::new)).get();
        assert_eq!(answered(None), 10);
        assert_eq!(answered(Some(15)), 10);
        assert_eq!(answered(Some(11)), 10);
        assert_eq!(answered(Some(10)), 9);
        assert_eq!(answered(Some(9)), 9);
        assert_eq!(answered(Some(8)), 8);
    }

    #[test]
    fn every_refusal_fits_its_offer_but_for_its_defect_and_every_acceptance_fits() {
        use pulsecheck_ws::deflate::{ResponseError, accept_response};
        for header_offers in [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
        ] {
            let offers = offer(header_offers);
            for duty in DUTIES {
                match answer(duty.plan, &offers) {
                    Answer::Refuse(value, _) => {
                        let got = accept_response(&offers.valid, [value.as_str()]);
                        assert!(
                            matches!(
                                got,
                                Err(ResponseError::Invalid(_) | ResponseError::NoOfferMatches(_))
                            ),
                            "{}: {value} to {header_offers}: {got:?}",
                            duty.info.id
                        );
                    }
                    Answer::Accept(response, _) => {
                        let value = response.to_string();
                        let got = accept_response(&offers.valid, [value.as_str()]);
                        assert_eq!(
                            got,
                            Ok(Some(Agreement::from_response(&response))),
                            "{}: {value} to {header_offers}",
                            duty.info.id
                        );
                    }
                    Answer::Skip(_) => {}
                }
            }
        }
    }
}
