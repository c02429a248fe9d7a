//! The opening handshake a case needs, for either role: most cases need a plain
//! one; the compression cases (groups 12 and 13) negotiate permessage-deflate
//! with the parameters Autobahn's case defines — the offers its client sends
//! (`CLIENT_OFFERS`) and the rule its server accepts by (`SERVER_ACCEPT`).
//!
//! Autobahn's client offers (autobahn-python's `PerMessageDeflateOffer`) always
//! carry `client_no_context_takeover` and a bare `client_max_window_bits`, then
//! `server_no_context_takeover` and `server_max_window_bits=N` as the case asks.
//! Its server walks a list of ways to accept, each over every offer in order:
//! echo what the offer asks of the server, and ask the client for
//! `client_no_context_takeover` and/or `client_max_window_bits=N` (the latter
//! only of an offer that has `client_max_window_bits`).

use pulsecheck_ws::Role;
use pulsecheck_ws::deflate::{
    Agreement, ClientWindowOffer, DeflateOffer, DeflateResponse, HeaderSyntaxError,
    PERMESSAGE_DEFLATE, WindowBits, parse_extensions,
};

use crate::ws::deflate::{Deflater, Inflater};

/// What a case needs of the opening handshake.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Handshake {
    /// No extension, no subprotocol (groups 1–10).
    #[default]
    Plain,
    /// permessage-deflate, as the case defines it.
    Deflate(DeflateHandshake),
}

/// A compression case's negotiation, for both roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateHandshake {
    /// What pulsecheck offers as the client, most preferred first.
    pub offers: Vec<DeflateOffer>,
    /// How pulsecheck accepts as the server: each way is tried over every offer
    /// in turn; the first that fits is answered.
    pub accepts: Vec<Accept>,
}

/// One way for the server to accept an offer (Autobahn's
/// `PerMessageDeflateOfferAccept` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Accept {
    /// Ask the client not to keep its context (`client_no_context_takeover`).
    pub client_no_context_takeover: bool,
    /// Ask the client to use at most this window (`client_max_window_bits=N`);
    /// fits only an offer that has `client_max_window_bits`.
    pub client_max_window_bits: Option<WindowBits>,
}

/// An offer as Autobahn's client makes it: context takeover off and window
/// bits left to the server on the client's side, and these requests of the
/// server.
pub fn autobahn_offer(
    server_no_context_takeover: bool,
    server_max_window_bits: Option<WindowBits>,
) -> DeflateOffer {
    DeflateOffer {
        server_no_context_takeover,
        client_no_context_takeover: true,
        server_max_window_bits,
        client_max_window_bits: ClientWindowOffer::Supported,
    }
}

impl Accept {
    /// The response to `offer` this way, if it fits.
    fn answer(&self, offer: &DeflateOffer) -> Option<DeflateResponse> {
        let client_max_window_bits =
            match (self.client_max_window_bits, offer.client_max_window_bits) {
                (None, _) => None,
                (Some(_), ClientWindowOffer::NotOffered) => return None,
                (Some(bits), ClientWindowOffer::Supported) => Some(bits),
                // RFC 7692 §7.1.2.2: no larger than the client's own limit (Autobahn
                // would answer its value regardless).
                (Some(bits), ClientWindowOffer::Limit(limit)) => Some(bits.min(limit)),
            };
        Some(DeflateResponse {
            server_no_context_takeover: offer.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: offer.server_max_window_bits,
            client_max_window_bits,
        })
    }
}

/// What the server side made of the client's offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The response's `Sec-WebSocket-Extensions` value.
    pub response: String,
    /// The agreement it makes.
    pub agreement: Agreement,
}

impl DeflateHandshake {
    /// The `Sec-WebSocket-Extensions` value pulsecheck sends as the client.
    pub fn offer_header(&self) -> String {
        pulsecheck_ws::deflate::offer_header(&self.offers)
    }

    /// The server side: the answer to the client's `Sec-WebSocket-Extensions`
    /// values, or `None` when no offer fits (offers with invalid parameters are
    /// declined, RFC 7692 §5).
    ///
    /// # Errors
    ///
    /// The header breaks RFC 6455 §9.1.
    pub fn accept<'a>(
        &self,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<Accepted>, HeaderSyntaxError> {
        let items = parse_extensions(values)?;
        let offers: Vec<DeflateOffer> = items
            .iter()
            .filter(|item| item.name == PERMESSAGE_DEFLATE)
            .filter_map(|item| DeflateOffer::from_params(&item.params).ok())
            .collect();
        for way in &self.accepts {
            if let Some(response) = offers.iter().find_map(|offer| way.answer(offer)) {
                return Ok(Some(Accepted {
                    response: response.to_string(),
                    agreement: Agreement::from_response(&response),
                }));
            }
        }
        Ok(None)
    }

    /// The codecs pulsecheck uses in `role` under `agreement`: as the client it
    /// keeps to the `client_no_context_takeover` its offers carry, even where
    /// the server did not echo it. The compressor is one an earlier case handed
    /// on when one with the same settings is idle ([`super::recycle`]).
    pub fn codecs(&self, agreement: &Agreement, role: Role) -> (Deflater, Inflater) {
        let reset =
            role == Role::Client && self.offers.iter().all(|o| o.client_no_context_takeover);
        (
            super::recycle::deflater(agreement, role, reset),
            Inflater::new(agreement, role),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(b: u8) -> Option<WindowBits> {
        WindowBits::new(b)
    }

    #[test]
    fn autobahns_offers_read_as_its_client_writes_them() {
        let h = DeflateHandshake {
            offers: vec![autobahn_offer(true, bits(9)), autobahn_offer(false, None)],
            accepts: Vec::new(),
        };
        let header = h.offer_header();
        for part in [
            "client_no_context_takeover",
            "client_max_window_bits",
            "server_no_context_takeover",
            "server_max_window_bits=9",
        ] {
            assert!(header.contains(part), "{header}");
        }
        assert_eq!(header.matches("permessage-deflate").count(), 2);
    }

    #[test]
    fn the_server_tries_each_way_over_every_offer() {
        // 13.7: (no context takeover, 9), then (no context takeover), then plain.
        let h = DeflateHandshake {
            offers: Vec::new(),
            accepts: vec![
                Accept {
                    client_no_context_takeover: true,
                    client_max_window_bits: bits(9),
                },
                Accept {
                    client_no_context_takeover: true,
                    client_max_window_bits: None,
                },
                Accept::default(),
            ],
        };
        // An offer without client_max_window_bits skips the first way.
        let a = h
            .accept(["permessage-deflate; server_max_window_bits=10"])
            .unwrap()
            .unwrap();
        assert!(
            a.response.contains("client_no_context_takeover"),
            "{}",
            a.response
        );
        assert!(
            a.response.contains("server_max_window_bits=10"),
            "{}",
            a.response
        );
        assert!(
            !a.response.contains("client_max_window_bits"),
            "{}",
            a.response
        );
        assert!(a.agreement.client_no_context_takeover);
        assert_eq!(a.agreement.server_max_window_bits.get(), 10);
        assert_eq!(a.agreement.client_max_window_bits, WindowBits::MAX);
        // A second offer with it takes the first way, whatever the order.
        let a = h
            .accept(["permessage-deflate, permessage-deflate; client_max_window_bits=12"])
            .unwrap()
            .unwrap();
        assert_eq!(a.agreement.client_max_window_bits.get(), 9);
        // The client's own limit is kept.
        let h = DeflateHandshake {
            offers: Vec::new(),
            accepts: vec![Accept {
                client_no_context_takeover: false,
                client_max_window_bits: bits(15),
            }],
        };
        let a = h
            .accept(["permessage-deflate; client_max_window_bits=11"])
            .unwrap()
            .unwrap();
        assert_eq!(a.agreement.client_max_window_bits.get(), 11);
        // Nothing fits: no extension; invalid offers are declined.
        assert_eq!(h.accept(["permessage-deflate"]).unwrap(), None);
        assert_eq!(
            h.accept(["permessage-deflate; client_max_window_bits=99"])
                .unwrap(),
            None
        );
        assert_eq!(h.accept(["x-webkit-deflate-frame"]).unwrap(), None);
    }
}
