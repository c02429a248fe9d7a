//! permessage-deflate (RFC 7692) in the reference server, on the framing crate's
//! [`pulsecheck_ws::deflate`]: the server's side of the negotiation (§5, §7), and
//! the codecs of a connection where it was agreed (§6, §7.2), with the
//! compression faults applied.

use pulsecheck_ws::deflate::{
    Agreement, CodecConfig, Compressor, DeclineReason, Decompressor, DeflateError, DeflateResponse,
    PERMESSAGE_DEFLATE, Parameter, PerMessageDeflate, ServerPolicy, WindowBits, is_token,
    negotiate_server, parse_extensions,
};
use pulsecheck_ws::{CloseCode, Role};

use super::fault::Fault;

/// How far [`Fault::NoBombLimit`] inflates a message before it stops: far past
/// any bomb a probe sends (256 MiB), yet a hard stop for the server's memory.
pub(crate) const NO_LIMIT_STOP: usize = 1 << 30;

/// What the server answers to a request's `Sec-WebSocket-Extensions` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Negotiated {
    /// No offer accepted (none made, or every one declined): no extension.
    Declined,
    /// An offer accepted: the response element to send, and the agreement the
    /// server keeps to.
    Accepted {
        /// The `Sec-WebSocket-Extensions` value.
        response: String,
        /// The parameters in force for the connection.
        agreement: Agreement,
    },
    /// The handshake is refused with this HTTP status line (a fault only: the
    /// clean server declines instead).
    Refused(&'static str),
}

/// The server's side of RFC 7692 §5: the first offer `policy` can accept, in the
/// client's order, every other one declined, as
/// [`negotiate_server`](pulsecheck_ws::deflate::negotiate_server) decides;
/// the negotiation faults change what it reads or what it answers.
pub(crate) fn negotiate(
    policy: &ServerPolicy,
    values: &[&str],
    fault: Option<Fault>,
) -> Negotiated {
    if fault == Some(Fault::RefusesWindow8) && offers_window_8(values) {
        return Negotiated::Refused("500 Internal Server Error");
    }
    let read_as = match fault {
        Some(Fault::AcceptsUnknownParameters | Fault::AcceptsDuplicateParameters) => {
            rewrite_offers(values, fault)
        }
        Some(Fault::FirstOfferOnly) => first_offer(values),
        _ => values.iter().map(|v| (*v).to_owned()).collect(),
    };
    // RFC 6455 §9.1 grammar broken: the handshake validator already refused
    // most such lists; what is left is declined as a whole.
    let Ok(outcome) = negotiate_server(policy, read_as.iter().map(String::as_str)) else {
        return Negotiated::Declined;
    };
    if fault == Some(Fault::RefusesInvalidOffers)
        && outcome
            .declined
            .iter()
            .any(|(_, reason)| matches!(reason, DeclineReason::Invalid(_)))
    {
        return Negotiated::Refused("400 Bad Request");
    }
    let Some((_, response, agreement)) = outcome.accepted else {
        return Negotiated::Declined;
    };
    let answered = answer_with_fault(response, fault);
    // The server keeps to what it answered, except where its fault is to keep
    // to something else.
    let mut kept = Agreement::from_response(&answered);
    if fault == Some(Fault::ForgetsServerNoContextTakeover) {
        kept.server_no_context_takeover = agreement.server_no_context_takeover;
    }
    Negotiated::Accepted {
        response: answered.to_string(),
        agreement: kept,
    }
}

/// The response a fault sends instead of the correct one.
fn answer_with_fault(response: DeflateResponse, fault: Option<Fault>) -> DeflateResponse {
    match fault {
        Some(Fault::ForgetsServerNoContextTakeover) => DeflateResponse {
            server_no_context_takeover: false,
            ..response
        },
        Some(Fault::RaisesServerWindow) if response.server_max_window_bits.is_some() => {
            DeflateResponse {
                server_max_window_bits: Some(WindowBits::MAX),
                ..response
            }
        }
        Some(Fault::AnswersClientWindow) if response.client_max_window_bits.is_none() => {
            DeflateResponse {
                client_max_window_bits: Some(WindowBits::MAX),
                ..response
            }
        }
        _ => response,
    }
}

/// Whether a permessage-deflate offer asks for a window of 8 bits.
fn offers_window_8(values: &[&str]) -> bool {
    let Ok(items) = parse_extensions(values.iter().copied()) else {
        return false;
    };
    items
        .iter()
        .filter(|item| item.name == PERMESSAGE_DEFLATE)
        .flat_map(|item| item.params.iter())
        .any(|(name, value)| name.ends_with("_max_window_bits") && value.as_deref() == Some("8"))
}

/// The offers as [`Fault::AcceptsUnknownParameters`] (unknown parameters
/// dropped) or [`Fault::AcceptsDuplicateParameters`] (the last of repeated ones
/// kept) reads them, one header value; the values as they are when they break
/// the grammar.
fn rewrite_offers(values: &[&str], fault: Option<Fault>) -> Vec<String> {
    let Ok(items) = parse_extensions(values.iter().copied()) else {
        return values.iter().map(|v| (*v).to_owned()).collect();
    };
    let elements: Vec<String> = items
        .iter()
        .map(|item| {
            let mut params: Vec<(&str, Option<&str>)> = Vec::new();
            for (name, value) in &item.params {
                let known = Parameter::from_name(name).is_some();
                if fault == Some(Fault::AcceptsUnknownParameters)
                    && item.name == PERMESSAGE_DEFLATE
                    && !known
                {
                    continue;
                }
                if fault == Some(Fault::AcceptsDuplicateParameters)
                    && item.name == PERMESSAGE_DEFLATE
                {
                    params.retain(|(seen, _)| seen != name);
                }
                params.push((name, value.as_deref()));
            }
            element(item.name, &params)
        })
        .collect();
    vec![elements.join(", ")]
}

/// The offers as [`Fault::FirstOfferOnly`] reads them: the first
/// permessage-deflate offer and no other.
fn first_offer(values: &[&str]) -> Vec<String> {
    let Ok(items) = parse_extensions(values.iter().copied()) else {
        return values.iter().map(|v| (*v).to_owned()).collect();
    };
    items
        .iter()
        .find(|item| item.name == PERMESSAGE_DEFLATE)
        .map(|item| {
            let params: Vec<(&str, Option<&str>)> = item
                .params
                .iter()
                .map(|(name, value)| (*name, value.as_deref()))
                .collect();
            vec![element(item.name, &params)]
        })
        .unwrap_or_default()
}

/// One extension element, `name; param=value; ...`, a value quoted unless it
/// is a token (RFC 6455 §9.1).
fn element(name: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = name.to_owned();
    for (param, value) in params {
        out.push_str("; ");
        out.push_str(param);
        match value {
            Some(v) if is_token(v) => {
                out.push('=');
                out.push_str(v);
            }
            Some(v) => {
                out.push_str("=\"");
                for c in v.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            None => {}
        }
    }
    out
}

/// Why a compressed message cannot be echoed; the connection fails with
/// [`MessageError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MessageError {
    /// Inflating failed or passed the limit.
    Inflate(DeflateError),
    /// The inflated text is not UTF-8 (RFC 6455 §8.1).
    InvalidUtf8,
    /// Compressing the echo failed.
    Deflate(DeflateError),
}

impl MessageError {
    /// 1009 for a message that inflates past the limit, 1007 for data that does
    /// not inflate or text that is not UTF-8, 1011 when compressing fails.
    pub(crate) fn close_code(&self) -> CloseCode {
        match self {
            MessageError::Inflate(e) | MessageError::Deflate(e) => e.close_code(),
            MessageError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
        }
    }
}

/// The two codecs of a connection where permessage-deflate was agreed, set as the
/// agreement says (or as the connection's fault bends it).
pub(crate) struct ServerCodecs {
    compressor: Compressor,
    decompressor: Decompressor,
    fault: Option<Fault>,
    /// The inflated message being echoed.
    inflated: Vec<u8>,
}

impl ServerCodecs {
    /// The server's codecs under `agreement`, inflating at most `max_message`
    /// bytes per message.
    pub(crate) fn new(agreement: &Agreement, max_message: usize, fault: Option<Fault>) -> Self {
        let limit = if fault == Some(Fault::NoBombLimit) {
            NO_LIMIT_STOP
        } else {
            max_message
        };
        let codecs = PerMessageDeflate::new(
            agreement,
            Role::Server,
            CodecConfig::new().with_max_message_size(limit),
        );
        let (bits, reset) = agreement.sending(Role::Server);
        let sending = codecs
            .compressor
            .config()
            .with_window_bits(if fault == Some(Fault::IgnoresServerWindow) {
                WindowBits::MAX
            } else {
                bits
            })
            .with_no_context_takeover(reset && fault != Some(Fault::KeepsContext));
        Self {
            compressor: Compressor::new(sending),
            decompressor: codecs.decompressor,
            fault,
            inflated: Vec::new(),
        }
    }

    /// The compressed payload of the echo of a message whose payload, as it came,
    /// is `payload` (compressed when its first frame had RSV1, RFC 7692 §6.2),
    /// appended to `out`.
    ///
    /// # Errors
    ///
    /// The payload does not inflate, inflates past the limit, or is text that is
    /// not UTF-8 once inflated.
    pub(crate) fn echo(
        &mut self,
        payload: &[u8],
        compressed: bool,
        text: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), MessageError> {
        self.inflated.clear();
        let compressed = compressed || self.fault == Some(Fault::InflatesUncompressed);
        let message = if compressed {
            //= RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end
            //= of the payload of the message. Decompress the resulting data using
            //= DEFLATE."
            self.decompressor
                .decompress(payload, &mut self.inflated)
                .map_err(MessageError::Inflate)?;
            //= RFC 6455 §8.1: text is UTF-8; the reader could not validate compressed
            //= bytes, so the inflated message is validated here.
            if text && core::str::from_utf8(&self.inflated).is_err() {
                return Err(MessageError::InvalidUtf8);
            }
            if self.fault == Some(Fault::CorruptsCompressedEchoes)
                && let Some(last) = self.inflated.last_mut()
            {
                *last ^= 0x01;
            }
            self.inflated.as_slice()
        } else {
            payload
        };
        //= RFC 7692 §7.2.1: "Compress all the octets of the payload of the message
        //= using DEFLATE ... Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the
        //= tail end."
        let result = self
            .compressor
            .compress(message, out)
            .map_err(MessageError::Deflate);
        self.release();
        result
    }

    /// Gives back the memory of a big inflated message.
    fn release(&mut self) {
        if self.inflated.capacity() > 4 << 20 {
            self.inflated = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(values: &[&str], fault: Option<Fault>) -> Negotiated {
        negotiate(&ServerPolicy::default(), values, fault)
    }

    fn response(values: &[&str], fault: Option<Fault>) -> Option<String> {
        match answer(values, fault) {
            Negotiated::Accepted { response, .. } => Some(response),
            _ => None,
        }
    }

    #[test]
    fn the_clean_server_declines_bad_offers_and_falls_through() {
        assert_eq!(
            answer(&["permessage-deflate; x_y"], None),
            Negotiated::Declined
        );
        assert_eq!(
            response(
                &["permessage-deflate; server_max_window_bits=010, permessage-deflate; server_no_context_takeover"],
                None
            )
            .as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        assert_eq!(
            response(
                &["permessage-deflate; server_max_window_bits=8; client_max_window_bits=8"],
                None
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=8")
        );
        assert_eq!(answer(&["x-other"], None), Negotiated::Declined);
    }

    #[test]
    fn negotiation_faults_read_or_answer_wrongly() {
        let unknown = ["permessage-deflate; x_y; server_no_context_takeover"];
        assert_eq!(
            response(&unknown, Some(Fault::AcceptsUnknownParameters)).as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        let twice = ["permessage-deflate; server_max_window_bits=10; server_max_window_bits=9"];
        assert_eq!(
            response(&twice, Some(Fault::AcceptsDuplicateParameters)).as_deref(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
        assert_eq!(
            answer(&unknown, Some(Fault::RefusesInvalidOffers)),
            Negotiated::Refused("400 Bad Request")
        );
        let list = ["permessage-deflate; server_max_window_bits=16, permessage-deflate"];
        assert_eq!(
            answer(&list, Some(Fault::FirstOfferOnly)),
            Negotiated::Declined
        );
        assert!(response(&list, None).is_some());
        let eight = ["permessage-deflate; client_max_window_bits=8"];
        assert_eq!(
            answer(&eight, Some(Fault::RefusesWindow8)),
            Negotiated::Refused("500 Internal Server Error")
        );
        let Negotiated::Accepted {
            response,
            agreement,
        } = answer(
            &["permessage-deflate; server_no_context_takeover"],
            Some(Fault::ForgetsServerNoContextTakeover),
        )
        else {
            panic!("accepted");
        };
        assert_eq!(response, "permessage-deflate");
        assert!(agreement.server_no_context_takeover, "it resets anyway");
        assert_eq!(
            response_of(
                &["permessage-deflate; server_max_window_bits=10"],
                Fault::RaisesServerWindow
            ),
            "permessage-deflate; server_max_window_bits=15"
        );
        assert_eq!(
            response_of(&["permessage-deflate"], Fault::AnswersClientWindow),
            "permessage-deflate; client_max_window_bits=15"
        );
    }

    fn response_of(values: &[&str], fault: Fault) -> String {
        response(values, Some(fault)).expect("accepted")
    }

    #[test]
    fn echoes_inflate_and_compress_per_the_agreement() {
        let Negotiated::Accepted { agreement, .. } =
            answer(&["permessage-deflate; server_no_context_takeover"], None)
        else {
            panic!("accepted");
        };
        let mut server = ServerCodecs::new(&agreement, 1 << 20, None);
        let mut client = PerMessageDeflate::new(&agreement, Role::Client, CodecConfig::new());
        let mut lengths = Vec::new();
        for _ in 0..2 {
            let mut sent = Vec::new();
            client
                .compressor
                .compress(b"Hello, Hello", &mut sent)
                .unwrap();
            let mut echo = Vec::new();
            server.echo(&sent, true, true, &mut echo).unwrap();
            lengths.push(echo.len());
            let mut back = Vec::new();
            client.decompressor.decompress(&echo, &mut back).unwrap();
            assert_eq!(back, b"Hello, Hello");
        }
        // No context takeover: the second echo does not refer to the first.
        assert_eq!(lengths[0], lengths[1], "{lengths:?}");
        // An uncompressed message is taken as it is, and echoed compressed.
        let mut echo = Vec::new();
        server.echo(b"plain", false, true, &mut echo).unwrap();
        let mut back = Vec::new();
        client.decompressor.decompress(&echo, &mut back).unwrap();
        assert_eq!(back, b"plain");
    }

    #[test]
    fn bad_messages_fail_with_their_codes() {
        let agreement = Agreement::from_response(&DeflateResponse::default());
        let mut client = PerMessageDeflate::new(&agreement, Role::Client, CodecConfig::new());
        let mut big = Vec::new();
        client.compressor.compress(&[0; 4096], &mut big).unwrap();
        let mut server = ServerCodecs::new(&agreement, 4095, None);
        let e = server.echo(&big, true, false, &mut Vec::new()).unwrap_err();
        assert_eq!(e.close_code(), CloseCode::MESSAGE_TOO_BIG);
        let mut server = ServerCodecs::new(&agreement, 4095, Some(Fault::NoBombLimit));
        assert!(server.echo(&big, true, false, &mut Vec::new()).is_ok());
        let mut bad_text = Vec::new();
        client
            .compressor
            .compress(b"a\xffb", &mut bad_text)
            .unwrap();
        let mut server = ServerCodecs::new(&agreement, 4096, None);
        let e = server
            .echo(&bad_text, true, true, &mut Vec::new())
            .unwrap_err();
        assert_eq!(e.close_code(), CloseCode::INVALID_PAYLOAD);
        let e = server
            .echo(&[0xff, 0xff, 0xff], true, false, &mut Vec::new())
            .unwrap_err();
        assert_eq!(e.close_code(), CloseCode::INVALID_PAYLOAD);
    }
}
