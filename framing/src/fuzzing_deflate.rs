//! Entry points for the permessage-deflate fuzz targets (see [`crate::fuzzing`] for the
//! conventions): any bytes in, a panic only when an invariant of [`crate::deflate`] breaks.

use crate::deflate::{
    CodecConfig, Compressor, Decompressor, DeflateOffer, ServerPolicy, WindowBits, accept_response,
    negotiate_server,
};

/// The codec settings one byte selects: window bits 8–15, context takeover or not, a
/// compression level.
#[must_use]
pub fn codec_config_from_byte(b: u8) -> CodecConfig {
    let bits = WindowBits::new(8 + (b & 7)).unwrap_or(WindowBits::MAX);
    CodecConfig::new()
        .with_window_bits(bits)
        .with_no_context_takeover(b & 8 != 0)
        .with_level(u32::from(b >> 4) % 10)
}

/// Hostile input: `data` as a `Sec-WebSocket-Extensions` header for both negotiation
/// sides, then as compressed messages for a decompressor with a small limit. Checks that
/// every server answer is one the client side accepts, and that decompression never
/// produces more than the limit.
pub fn deflate_no_panic(data: &[u8]) {
    let header = String::from_utf8_lossy(data);
    let policy = ServerPolicy::default();
    if let Ok(outcome) = negotiate_server(&policy, [header.as_ref()])
        && let Some((index, response, agreement)) = outcome.accepted
    {
        let offers = crate::deflate::parse_extensions([header.as_ref()])
            .expect("the server parsed it")
            .into_iter()
            .filter(|item| item.name == crate::deflate::PERMESSAGE_DEFLATE)
            .map(|item| DeflateOffer::from_params(&item.params))
            .collect::<Vec<_>>();
        let offer = offers[index].clone().expect("the accepted offer is valid");
        let text = response.to_string();
        assert_eq!(
            accept_response(&[offer], [text.as_str()]),
            Ok(Some(agreement))
        );
    }
    let _ = accept_response(&[DeflateOffer::default()], [header.as_ref()]);

    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let limit = 4096;
    let mut decompressor =
        Decompressor::new(codec_config_from_byte(selector).with_max_message_size(limit));
    // Messages separated by 0xFF, each fed in two pieces. Errors do not stop the loop: a
    // caller that goes on after one must get errors or garbage, never a panic.
    for message in rest.split(|&b| b == 0xFF) {
        let (a, b) = message.split_at(message.len() / 2);
        let mut out = Vec::new();
        let _ = decompressor.feed(a, &mut out);
        let _ = decompressor.feed(b, &mut out);
        let _ = decompressor.finish(&mut out);
        assert!(
            out.len() <= limit,
            "{} bytes past a {limit}-byte limit",
            out.len()
        );
    }
}

/// Round trip: `data` split into messages at 0x00 bytes, compressed under the settings its
/// first byte selects, cut into fragments at the positions its second byte suggests, and
/// decompressed; every message must come back unchanged.
pub fn deflate_roundtrip(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some((&cut, rest)) = rest.split_first() else {
        return;
    };
    let config = codec_config_from_byte(selector);
    let mut compressor = Compressor::new(config);
    let mut decompressor = Decompressor::new(config);
    for message in rest.split(|&b| b == 0) {
        let mut payload = Vec::new();
        compressor
            .compress(message, &mut payload)
            .expect("compression does not fail");
        let mut out = Vec::new();
        for piece in payload.chunks(usize::from(cut) + 1) {
            decompressor
                .feed(piece, &mut out)
                .expect("our output inflates");
        }
        decompressor.finish(&mut out).expect("our output inflates");
        assert_eq!(out, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_accept_samples() {
        for sample in [
            &b""[..],
            b"permessage-deflate; client_max_window_bits, permessage-deflate",
            b"permessage-deflate; server_max_window_bits=8; server_no_context_takeover",
            b"\x07\xf2\x48\xcd\xc9\xc9\x07\x00\xff\xf2\x00\x11\x00\x00",
            b"\x00\x03hello\x00world\x00\x00hello hello hello",
        ] {
            deflate_no_panic(sample);
            deflate_roundtrip(sample);
        }
    }
}
