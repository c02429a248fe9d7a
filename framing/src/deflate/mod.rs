//! permessage-deflate (RFC 7692): negotiation, compression, and the RSV1 rules.
//!
//! No I/O, like the rest of the crate. The pieces, in the order a connection uses them:
//!
//! - **Offers and responses.** [`parse_extensions`] reads `Sec-WebSocket-Extensions`
//!   values (RFC 6455 §9.1); [`DeflateOffer::from_params`] and
//!   [`DeflateResponse::from_params`] check the four parameters of RFC 7692 §7.1 and name
//!   the rule a list breaks in a [`ParamError`].
//! - **Negotiation.** [`negotiate_server`] walks the client's offers in order, *declines*
//!   the ones it cannot accept (with a [`DeclineReason`] each, never failing the
//!   handshake) and answers the first acceptable one as [`ServerPolicy`] allows;
//!   [`accept_response`] is the client's side: it accepts a response that fits one of its
//!   offers or says why the connection must *fail* ([`ResponseError`]). Both give an
//!   [`Agreement`].
//! - **Messages.** [`Compressor`] and [`Decompressor`] (or both at once in
//!   [`PerMessageDeflate`]) compress with a sync flush and strip `00 00 ff ff`, append it
//!   back to decompress, keep or reset the context per message, and stop a message at
//!   [`CodecConfig::max_message_size`] without inflating further (close code 1009).
//! - **Frames.** [`check_rsv1`] says whether a frame starts a compressed message and
//!   rejects RSV1 on control and continuation frames (RFC 7692 §6.1).
//!
//! # Window bits 8
//!
//! RFC 7692 allows a window of 8 bits (256 bytes), but zlib, and so flate2 and zlib-rs,
//! refuse it for raw DEFLATE. This module compresses and decompresses "8" with zlib's
//! 9 ([`WindowBits::for_zlib`]): zlib's compressor never looks back farther than its window
//! less 262 bytes of lookahead (250 bytes for window 9), so its output stays inside the
//! 256-byte window the peer agreed to; and a 512-byte inflate window accepts all a 256-byte
//! one does. Negotiation answers 8 when 8 was asked for.
//!
//! # Example
//!
//! ```
//! use pulsecheck_ws::deflate::{
//!     DeflateOffer, PerMessageDeflate, ServerPolicy, accept_response, negotiate_server,
//!     offer_header,
//! };
//! use pulsecheck_ws::Role;
//!
//! // The client offers; the server answers; the client accepts the answer.
//! let offers = [DeflateOffer { server_no_context_takeover: true, ..Default::default() }];
//! let request = offer_header(&offers);
//! let outcome = negotiate_server(&ServerPolicy::default(), [request.as_str()])?;
//! let (_, response, server_agreement) = outcome.accepted.expect("accepted");
//! let response = response.to_string();
//! assert_eq!(response, "permessage-deflate; server_no_context_takeover");
//! let client_agreement = accept_response(&offers, [response.as_str()])?.expect("agreed");
//! assert_eq!(client_agreement, server_agreement);
//!
//! // RFC 7692 §7.2.3.1: "Hello" compresses to f2 48 cd c9 c9 07 00.
//! let mut server = PerMessageDeflate::new(&server_agreement, Role::Server, Default::default());
//! let mut client = PerMessageDeflate::new(&client_agreement, Role::Client, Default::default());
//! let mut payload = Vec::new();
//! server.compressor.compress(b"Hello", &mut payload)?;
//! assert_eq!(payload, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
//! let mut message = Vec::new();
//! client.decompressor.decompress(&payload, &mut message)?;
//! assert_eq!(message, b"Hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod negotiate;
mod params;
mod rsv;

pub use codec::{CodecConfig, Compressor, Decompressor, DeflateError, SYNC_TAIL};
pub use negotiate::{
    Agreement, DeclineReason, Mismatch, ResponseError, ServerNegotiation, ServerPolicy,
    accept_response, negotiate_server, offer_header,
};
pub use params::{
    ClientWindowOffer, DeflateOffer, DeflateResponse, ExtensionItem, HeaderSyntaxError,
    PERMESSAGE_DEFLATE, ParamError, Parameter, WindowBits, is_token, parse_extensions,
};
pub use rsv::{FrameCompression, Rsv1Error, check_rsv1};

use crate::header::Role;

/// One endpoint's two halves of an agreed permessage-deflate: a compressor for what it
/// sends and a decompressor for what it receives, set from the [`Agreement`].
#[derive(Debug)]
pub struct PerMessageDeflate {
    /// Compresses this endpoint's messages.
    pub compressor: Compressor,
    /// Decompresses the peer's messages.
    pub decompressor: Decompressor,
}

impl PerMessageDeflate {
    /// The codecs `role` uses under `agreement`. `options` supplies the level and the
    /// message size limit; its window bits and context setting are replaced by the
    /// agreement's for each direction.
    #[must_use]
    pub fn new(agreement: &Agreement, role: Role, options: CodecConfig) -> Self {
        let (send_bits, send_reset) = agreement.sending(role);
        let (recv_bits, recv_reset) = agreement.receiving(role);
        Self {
            compressor: Compressor::new(
                options
                    .with_window_bits(send_bits)
                    .with_no_context_takeover(send_reset),
            ),
            decompressor: Decompressor::new(
                options
                    .with_window_bits(recv_bits)
                    .with_no_context_takeover(recv_reset),
            ),
        }
    }
}

#[cfg(test)]
mod proptests;
