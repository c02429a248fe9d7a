//! Negotiation: a server picks an offer and answers it; a client checks the answer
//! (RFC 7692 §5, §7.1).

use super::params::{
    ClientWindowOffer, DeflateOffer, DeflateResponse, HeaderSyntaxError, PERMESSAGE_DEFLATE,
    ParamError, WindowBits, parse_extensions,
};
use crate::header::Role;

/// What both sides agreed: the parameters in force for the connection's lifetime.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Agreement {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with.
    pub server_max_window_bits: WindowBits,
    /// The largest window the client compresses with.
    pub client_max_window_bits: WindowBits,
}

impl Agreement {
    /// The agreement a response establishes (absent window parameters mean 15).
    #[must_use]
    pub fn from_response(response: &DeflateResponse) -> Self {
        Self {
            server_no_context_takeover: response.server_no_context_takeover,
            client_no_context_takeover: response.client_no_context_takeover,
            server_max_window_bits: response.server_max_window_bits.unwrap_or(WindowBits::MAX),
            client_max_window_bits: response.client_max_window_bits.unwrap_or(WindowBits::MAX),
        }
    }

    /// `(window bits, no context takeover)` for what `role` sends.
    #[must_use]
    pub fn sending(&self, role: Role) -> (WindowBits, bool) {
        match role {
            Role::Server => (self.server_max_window_bits, self.server_no_context_takeover),
            Role::Client => (self.client_max_window_bits, self.client_no_context_takeover),
        }
    }

    /// `(window bits, no context takeover)` for what `role` receives.
    #[must_use]
    pub fn receiving(&self, role: Role) -> (WindowBits, bool) {
        match role {
            Role::Server => self.sending(Role::Client),
            Role::Client => self.sending(Role::Server),
        }
    }
}

/// What a server is willing to agree to. Grows without breaking users: build it with
/// [`ServerPolicy::default`] and the `with_*` methods.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct ServerPolicy {
    /// Always reset the server's context, offered or not (RFC 7692 §7.1.1.1 lets a server
    /// add `server_no_context_takeover` unasked).
    pub server_no_context_takeover: bool,
    /// Always ask the client to reset its context (RFC 7692 §7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with.
    pub server_max_window_bits: WindowBits,
    /// The largest window the server accepts from the client. Below 15 it can only be
    /// agreed with a client that offered `client_max_window_bits`; offers without it are
    /// declined.
    pub client_max_window_bits: WindowBits,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::MAX,
        }
    }
}

impl ServerPolicy {
    /// Sets [`ServerPolicy::server_no_context_takeover`].
    #[must_use]
    pub const fn with_server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`ServerPolicy::client_no_context_takeover`].
    #[must_use]
    pub const fn with_client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`ServerPolicy::server_max_window_bits`].
    #[must_use]
    pub const fn with_server_max_window_bits(mut self, bits: WindowBits) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// Sets [`ServerPolicy::client_max_window_bits`].
    #[must_use]
    pub const fn with_client_max_window_bits(mut self, bits: WindowBits) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// The response to `offer`, or why this server declines it.
    ///
    /// # Errors
    /// [`DeclineReason::ClientWindowNotOffered`] when the policy limits the client's
    /// window and the offer gives no way to say so.
    pub fn answer(&self, offer: &DeflateOffer) -> Result<DeflateResponse, DeclineReason> {
        let min = |a: WindowBits, b: WindowBits| a.min(b);
        //= RFC 7692 §7.1.2.1: the server answers "with the same or smaller value as the
        //= offer".
        let server_max_window_bits = match offer.server_max_window_bits {
            Some(offered) => Some(min(offered, self.server_max_window_bits)),
            None if self.server_max_window_bits < WindowBits::MAX => {
                Some(self.server_max_window_bits)
            }
            None => None,
        };
        //= RFC 7692 §7.1.2.2: "If a received extension negotiation offer doesn't have the
        //= 'client_max_window_bits' extension parameter, the corresponding extension
        //= negotiation response to the offer MUST NOT include the 'client_max_window_bits'
        //= extension parameter."
        let client_max_window_bits = match offer.client_max_window_bits {
            ClientWindowOffer::NotOffered if self.client_max_window_bits < WindowBits::MAX => {
                return Err(DeclineReason::ClientWindowNotOffered);
            }
            ClientWindowOffer::NotOffered => None,
            ClientWindowOffer::Supported if self.client_max_window_bits < WindowBits::MAX => {
                Some(self.client_max_window_bits)
            }
            ClientWindowOffer::Supported => None,
            ClientWindowOffer::Limit(offered) => Some(min(offered, self.client_max_window_bits)),
        };
        Ok(DeflateResponse {
            //= RFC 7692 §7.1.1.1: "A server accepts an extension negotiation offer that
            //= includes the 'server_no_context_takeover' extension parameter by including
            //= the 'server_no_context_takeover' extension parameter in the corresponding
            //= extension negotiation response".
            server_no_context_takeover: offer.server_no_context_takeover
                || self.server_no_context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        })
    }
}

/// Why a server declined one offer; it then tries the next one, in the client's order of
/// preference (RFC 7692 §5).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeclineReason {
    /// The offer's parameters break RFC 7692 §7: a server "MUST decline" such an offer;
    /// it does not fail the handshake.
    #[error(transparent)]
    Invalid(#[from] ParamError),
    /// The server limits the client's window, but the offer has no
    /// `client_max_window_bits`, so the response may not carry one (RFC 7692 §7.1.2.2).
    #[error(
        "the policy limits the client's window but the offer has no client_max_window_bits (RFC 7692 §7.1.2.2)"
    )]
    ClientWindowNotOffered,
}

/// The outcome of a server's negotiation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServerNegotiation {
    /// The accepted offer's position among the permessage-deflate offers, its response
    /// (the `Sec-WebSocket-Extensions` value to send) and the agreement; `None` when every
    /// offer was declined or none was made: the connection runs without compression.
    pub accepted: Option<(usize, DeflateResponse, Agreement)>,
    /// Each offer declined before the accepted one (or all of them), with its position and
    /// reason, for reports.
    pub declined: Vec<(usize, DeclineReason)>,
}

/// The server side of RFC 7692 §5: reads the client's `Sec-WebSocket-Extensions` values,
/// walks the permessage-deflate offers in the client's order of preference, and accepts
/// the first one `policy` can answer.
///
/// # Errors
/// The header breaks the grammar of RFC 6455 §9.1. A server may then decline every
/// extension or refuse the handshake; that is the caller's choice.
///
/// ```
/// use pulsecheck_ws::deflate::{ServerPolicy, negotiate_server};
///
/// let offers = ["permessage-deflate; foo, permessage-deflate; server_max_window_bits=10"];
/// let outcome = negotiate_server(&ServerPolicy::default(), offers)?;
/// let (index, response, _agreement) = outcome.accepted.unwrap();
/// assert_eq!(index, 1); // the first offer has an unknown parameter: declined
/// assert_eq!(response.to_string(), "permessage-deflate; server_max_window_bits=10");
/// # Ok::<(), pulsecheck_ws::deflate::HeaderSyntaxError>(())
/// ```
pub fn negotiate_server<'a>(
    policy: &ServerPolicy,
    values: impl IntoIterator<Item = &'a str>,
) -> Result<ServerNegotiation, HeaderSyntaxError> {
    let items = parse_extensions(values)?;
    let mut declined = Vec::new();
    for (index, item) in items
        .iter()
        .filter(|item| item.name == PERMESSAGE_DEFLATE)
        .enumerate()
    {
        let answer = DeflateOffer::from_params(&item.params)
            .map_err(DeclineReason::from)
            .and_then(|offer| policy.answer(&offer));
        match answer {
            Ok(response) => {
                let agreement = Agreement::from_response(&response);
                return Ok(ServerNegotiation {
                    accepted: Some((index, response, agreement)),
                    declined,
                });
            }
            Err(reason) => declined.push((index, reason)),
        }
    }
    Ok(ServerNegotiation {
        accepted: None,
        declined,
    })
}

/// How a response fails to fit one offer (RFC 7692 §7.1.1 and §7.1.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    /// The offer had `server_no_context_takeover` and the response lacks it.
    /// RFC 7692 §7.1.1.1: the server accepts such an offer "by including the
    /// 'server_no_context_takeover' extension parameter" in the response.
    #[error("server_no_context_takeover was offered but not echoed (RFC 7692 §7.1.1.1)")]
    ServerNoContextTakeoverDropped,
    /// The offer limited `server_max_window_bits` and the response omits it or goes over.
    /// RFC 7692 §7.1.2.1: the server includes it "with the same or smaller value as the
    /// offer".
    #[error(
        "server_max_window_bits {answered:?} exceeds the offered {offered} (RFC 7692 §7.1.2.1)"
    )]
    ServerWindowTooLarge {
        /// The offered limit.
        offered: WindowBits,
        /// What the server answered (`None`: omitted, meaning 15).
        answered: Option<WindowBits>,
    },
    /// The response has `client_max_window_bits` and the offer did not. RFC 7692
    /// §7.1.2.2: "the corresponding extension negotiation response to the offer MUST NOT
    /// include the 'client_max_window_bits' extension parameter."
    #[error("client_max_window_bits in the response was never offered (RFC 7692 §7.1.2.2)")]
    ClientWindowNotOffered,
    /// The response's `client_max_window_bits` is larger than the offered value.
    /// RFC 7692 §7.1.2.2 lets the server answer "with a value equal to or smaller than the
    /// received value".
    #[error("client_max_window_bits {answered} exceeds the offered {offered} (RFC 7692 §7.1.2.2)")]
    ClientWindowTooLarge {
        /// The offered limit.
        offered: WindowBits,
        /// The answered value.
        answered: WindowBits,
    },
}

/// Why a client fails the connection after the handshake response. RFC 7692 §7: "A
/// client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension
/// negotiation offer for this extension with an extension negotiation response meeting
/// any of the following conditions", among them "The client does not support the
/// configuration that the response represents."
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The header breaks RFC 6455 §9.1.
    #[error(transparent)]
    Syntax(#[from] HeaderSyntaxError),
    /// A parameter breaks RFC 7692 §7 or §7.1.
    #[error(transparent)]
    Invalid(#[from] ParamError),
    /// The response accepts permessage-deflate that the client never offered. RFC 6455
    /// §4.1: "If the response includes a |Sec-WebSocket-Extensions| header field and this
    /// header field indicates the use of an extension that was not present in the
    /// client's handshake ..., the client MUST _Fail the WebSocket Connection_."
    #[error("the response names permessage-deflate, which was not offered (RFC 6455 §4.1)")]
    NotOffered,
    /// permessage-deflate appears more than once in the response. RFC 7692 §5: "A server
    /// MUST NOT accept a PMCE extension negotiation offer together with another extension
    /// if the PMCE will conflict with the extension on their use of the RSV1 bit."
    #[error("permessage-deflate appears more than once in the response (RFC 7692 §5)")]
    Repeated,
    /// The response matches none of the offers: one mismatch per offer, in order.
    #[error("the response matches no offer; against the first: {}", .0.first().map_or(String::new(), ToString::to_string))]
    NoOfferMatches(Vec<Mismatch>),
}

fn check_against(offer: &DeflateOffer, response: &DeflateResponse) -> Result<(), Mismatch> {
    if offer.server_no_context_takeover && !response.server_no_context_takeover {
        return Err(Mismatch::ServerNoContextTakeoverDropped);
    }
    if let Some(offered) = offer.server_max_window_bits {
        match response.server_max_window_bits {
            Some(answered) if answered <= offered => {}
            answered => return Err(Mismatch::ServerWindowTooLarge { offered, answered }),
        }
    }
    match (
        offer.client_max_window_bits,
        response.client_max_window_bits,
    ) {
        (ClientWindowOffer::NotOffered, Some(_)) => Err(Mismatch::ClientWindowNotOffered),
        (ClientWindowOffer::Limit(offered), Some(answered)) if answered > offered => {
            Err(Mismatch::ClientWindowTooLarge { offered, answered })
        }
        _ => Ok(()),
    }
}

/// The client side of RFC 7692 §5: checks the server's `Sec-WebSocket-Extensions` values
/// against the offers the client sent (in the same order).
///
/// `Ok(None)`: the server accepted no permessage-deflate offer, which is legal; the
/// connection runs uncompressed. Other extensions in the header are ignored.
///
/// # Errors
/// A response the client cannot accept: it must fail the connection.
///
/// ```
/// use pulsecheck_ws::deflate::{ClientWindowOffer, DeflateOffer, ResponseError, accept_response};
///
/// let offer = DeflateOffer { client_max_window_bits: ClientWindowOffer::Supported, ..Default::default() };
/// let agreed = accept_response(&[offer], ["permessage-deflate; client_max_window_bits=9"])?;
/// assert_eq!(agreed.unwrap().client_max_window_bits.get(), 9);
///
/// let bare = DeflateOffer::default();
/// assert!(matches!(
///     accept_response(&[bare], ["permessage-deflate; client_max_window_bits=9"]),
///     Err(ResponseError::NoOfferMatches(_))
/// ));
/// # Ok::<(), ResponseError>(())
/// ```
pub fn accept_response<'a>(
    offers: &[DeflateOffer],
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Option<Agreement>, ResponseError> {
    let items = parse_extensions(values)?;
    let mut deflate = items.iter().filter(|item| item.name == PERMESSAGE_DEFLATE);
    let Some(item) = deflate.next() else {
        return Ok(None);
    };
    if deflate.next().is_some() {
        return Err(ResponseError::Repeated);
    }
    if offers.is_empty() {
        return Err(ResponseError::NotOffered);
    }
    let response = DeflateResponse::from_params(&item.params)?;
    let mut mismatches = Vec::new();
    for offer in offers {
        match check_against(offer, &response) {
            Ok(()) => return Ok(Some(Agreement::from_response(&response))),
            Err(mismatch) => mismatches.push(mismatch),
        }
    }
    Err(ResponseError::NoOfferMatches(mismatches))
}

/// The `Sec-WebSocket-Extensions` value for a list of offers, most preferred first.
#[must_use]
pub fn offer_header(offers: &[DeflateOffer]) -> String {
    offers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(b: u8) -> WindowBits {
        WindowBits::new(b).unwrap()
    }

    fn server(policy: ServerPolicy, header: &str) -> Option<(usize, String)> {
        negotiate_server(&policy, [header])
            .unwrap()
            .accepted
            .map(|(i, response, _)| (i, response.to_string()))
    }

    #[test]
    fn server_negotiation_table() {
        let default = ServerPolicy::default();
        let small = ServerPolicy::default()
            .with_server_max_window_bits(bits(10))
            .with_client_max_window_bits(bits(11));
        let pd = "permessage-deflate";
        // (policy, offers header, accepted offer and response)
        type Case<'a> = (ServerPolicy, &'a str, Option<(usize, &'a str)>);
        let cases: &[Case<'_>] = &[
            (default, "permessage-deflate", Some((0, pd))),
            (default, "x-other, permessage-deflate", Some((0, pd))),
            (default, "", None),
            // Echo server_no_context_takeover.
            (
                default,
                "permessage-deflate; server_no_context_takeover",
                Some((0, "permessage-deflate; server_no_context_takeover")),
            ),
            // client_no_context_takeover acknowledged.
            (
                default,
                "permessage-deflate; client_no_context_takeover",
                Some((0, "permessage-deflate; client_no_context_takeover")),
            ),
            // server_max_window_bits: no larger than offered.
            (
                default,
                "permessage-deflate; server_max_window_bits=8",
                Some((0, "permessage-deflate; server_max_window_bits=8")),
            ),
            (
                small,
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
                Some((
                    0,
                    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11",
                )),
            ),
            (
                small,
                "permessage-deflate; client_max_window_bits=9",
                Some((
                    0,
                    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
                )),
            ),
            // client_max_window_bits only when offered: a limiting server declines, the
            // next offer with the parameter is accepted.
            (
                small,
                "permessage-deflate, permessage-deflate; client_max_window_bits",
                Some((
                    1,
                    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11",
                )),
            ),
            (small, "permessage-deflate", None),
            (
                default,
                "permessage-deflate; client_max_window_bits",
                Some((0, pd)),
            ),
            // Fallback through invalid offers.
            (
                default,
                "permessage-deflate; x, permessage-deflate; server_max_window_bits=0, permessage-deflate",
                Some((2, pd)),
            ),
            (
                default,
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                None,
            ),
        ];
        for (policy, header, want) in cases {
            let want = want.map(|(i, s)| (i, s.to_owned()));
            assert_eq!(server(*policy, header), want, "{header}");
        }
    }

    #[test]
    fn server_reports_declines() {
        let outcome = negotiate_server(
            &ServerPolicy::default(),
            ["permessage-deflate; a, permessage-deflate; client_max_window_bits=16"],
        )
        .unwrap();
        assert!(outcome.accepted.is_none());
        assert_eq!(outcome.declined.len(), 2);
        assert!(matches!(
            outcome.declined[0],
            (0, DeclineReason::Invalid(ParamError::Unknown(_)))
        ));
        assert!(negotiate_server(&ServerPolicy::default(), ["permessage-deflate;"]).is_err());
    }

    #[test]
    fn every_server_answer_is_accepted_by_the_client() {
        use ClientWindowOffer::*;
        let windows = [None, Some(bits(8)), Some(bits(12)), Some(bits(15))];
        let client_windows = [NotOffered, Supported, Limit(bits(8)), Limit(bits(13))];
        for snct in [false, true] {
            for cnct in [false, true] {
                for smwb in windows {
                    for cmwb in client_windows {
                        let offer = DeflateOffer {
                            server_no_context_takeover: snct,
                            client_no_context_takeover: cnct,
                            server_max_window_bits: smwb,
                            client_max_window_bits: cmwb,
                        };
                        for policy in [
                            ServerPolicy::default(),
                            ServerPolicy::default().with_server_max_window_bits(bits(9)),
                            ServerPolicy::default()
                                .with_server_no_context_takeover(true)
                                .with_client_no_context_takeover(true),
                            ServerPolicy::default().with_client_max_window_bits(bits(10)),
                        ] {
                            let header = offer_header(&[offer]);
                            let outcome = negotiate_server(&policy, [header.as_str()]).unwrap();
                            let Some((_, response, agreement)) = outcome.accepted else {
                                assert_eq!(cmwb, NotOffered);
                                continue;
                            };
                            let text = response.to_string();
                            let client = accept_response(&[offer], [text.as_str()]).unwrap();
                            assert_eq!(client, Some(agreement), "{header} -> {text}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn client_failure_table() {
        use ClientWindowOffer::*;
        let plain = DeflateOffer::default();
        let snct = DeflateOffer {
            server_no_context_takeover: true,
            ..plain
        };
        let smwb10 = DeflateOffer {
            server_max_window_bits: Some(bits(10)),
            ..plain
        };
        let cmwb10 = DeflateOffer {
            client_max_window_bits: Limit(bits(10)),
            ..plain
        };
        let cmwb = DeflateOffer {
            client_max_window_bits: Supported,
            ..plain
        };
        let nomatch = |m| Err(ResponseError::NoOfferMatches(vec![m]));
        let cases: Vec<(Vec<DeflateOffer>, &str, Result<bool, ResponseError>)> = vec![
            (vec![plain], "", Ok(false)),
            (vec![plain], "x-other", Ok(false)),
            (vec![plain], "permessage-deflate", Ok(true)),
            (
                vec![plain],
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=8",
                Ok(true),
            ),
            (
                vec![cmwb],
                "permessage-deflate; client_max_window_bits=8",
                Ok(true),
            ),
            (vec![], "permessage-deflate", Err(ResponseError::NotOffered)),
            (
                vec![plain],
                "permessage-deflate, permessage-deflate",
                Err(ResponseError::Repeated),
            ),
            (
                vec![plain],
                "permessage-deflate; foo",
                Err(ResponseError::Invalid(ParamError::Unknown("foo".into()))),
            ),
            (
                vec![cmwb],
                "permessage-deflate; client_max_window_bits",
                Err(ResponseError::Invalid(ParamError::MissingValue(
                    super::super::Parameter::ClientMaxWindowBits,
                ))),
            ),
            (
                vec![snct],
                "permessage-deflate",
                nomatch(Mismatch::ServerNoContextTakeoverDropped),
            ),
            (
                vec![smwb10],
                "permessage-deflate",
                nomatch(Mismatch::ServerWindowTooLarge {
                    offered: bits(10),
                    answered: None,
                }),
            ),
            (
                vec![smwb10],
                "permessage-deflate; server_max_window_bits=11",
                nomatch(Mismatch::ServerWindowTooLarge {
                    offered: bits(10),
                    answered: Some(bits(11)),
                }),
            ),
            (
                vec![smwb10],
                "permessage-deflate; server_max_window_bits=9",
                Ok(true),
            ),
            (
                vec![plain],
                "permessage-deflate; client_max_window_bits=15",
                nomatch(Mismatch::ClientWindowNotOffered),
            ),
            (
                vec![cmwb10],
                "permessage-deflate; client_max_window_bits=12",
                nomatch(Mismatch::ClientWindowTooLarge {
                    offered: bits(10),
                    answered: bits(12),
                }),
            ),
            // A response that fits a later offer is accepted.
            (vec![snct, plain], "permessage-deflate", Ok(true)),
            (
                vec![plain, cmwb],
                "permessage-deflate; client_max_window_bits=8",
                Ok(true),
            ),
            (
                vec![plain],
                "permessage-deflate;",
                Err(ResponseError::Syntax(HeaderSyntaxError::ExpectedToken {
                    offset: 19,
                })),
            ),
        ];
        for (offers, header, want) in cases {
            let got = accept_response(&offers, [header]).map(|a| a.is_some());
            assert_eq!(got, want, "{header}");
        }
    }

    #[test]
    fn agreement_directions() {
        let agreement = Agreement {
            server_no_context_takeover: true,
            client_no_context_takeover: false,
            server_max_window_bits: bits(9),
            client_max_window_bits: bits(12),
        };
        assert_eq!(agreement.sending(Role::Server), (bits(9), true));
        assert_eq!(agreement.receiving(Role::Client), (bits(9), true));
        assert_eq!(agreement.sending(Role::Client), (bits(12), false));
        assert_eq!(agreement.receiving(Role::Server), (bits(12), false));
    }
}
