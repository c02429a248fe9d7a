//! Property tests: inflate(deflate(x)) == x under every parameter set, over many messages,
//! with and without context takeover, under any fragmentation of the compressed payload;
//! and the compressed stream checked against an independent inflater (miniz_oxide).

use proptest::prelude::*;

use super::{CodecConfig, Compressor, Decompressor, SYNC_TAIL, WindowBits};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Random bytes, or a short random unit repeated (which LZ77 finds), or text.
fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        (proptest::collection::vec(any::<u8>(), 1..40), 0..5000usize).prop_map(|(unit, len)| unit
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()),
        "[a-e ]{0,800}".prop_map(String::into_bytes),
    ]
}

fn config() -> impl Strategy<Value = CodecConfig> {
    (8u8..=15, any::<bool>(), 0u32..=9).prop_map(|(bits, reset, level)| {
        CodecConfig::new()
            .with_window_bits(WindowBits::new(bits).expect("8..=15"))
            .with_no_context_takeover(reset)
            .with_level(level)
    })
}

/// Cuts `payload` at the positions `cuts` select (any number, any place, empty pieces
/// allowed).
fn fragments<'p>(payload: &'p [u8], cuts: &[prop::sample::Index]) -> Vec<&'p [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(payload.len() + 1)).collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in at {
        pieces.push(&payload[start..cut]);
        start = cut;
    }
    pieces.push(&payload[start..]);
    pieces
}

/// Inflates a sync-flushed raw DEFLATE stream with miniz_oxide, after closing it with an
/// empty final fixed-Huffman block (`03 00`: BFINAL=1, BTYPE=01, end of block), which
/// miniz_oxide's one-shot API needs to finish.
fn miniz_inflate(stream: &[u8]) -> Vec<u8> {
    let mut closed = stream.to_vec();
    closed.extend_from_slice(&[0x03, 0x00]);
    miniz_oxide::inflate::decompress_to_vec(&closed).expect("miniz_oxide inflates our stream")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn inflate_of_deflate_is_identity(
        config in config(),
        messages in proptest::collection::vec(message(), 1..8),
        cuts in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..5), 8),
    ) {
        let mut compressor = Compressor::new(config);
        let mut decompressor = Decompressor::new(config);
        // The whole connection as one DEFLATE stream, for the independent inflater.
        let mut stream = Vec::new();
        let mut all = Vec::new();
        for (message, cuts) in messages.iter().zip(&cuts) {
            let mut payload = Vec::new();
            compressor.compress(message, &mut payload).unwrap();
            let mut out = Vec::new();
            for piece in fragments(&payload, cuts) {
                decompressor.feed(piece, &mut out).unwrap();
            }
            decompressor.finish(&mut out).unwrap();
            prop_assert_eq!(&out, message);
            if config.no_context_takeover {
                // Each message stands alone: a fresh inflater decodes it.
                let mut alone = payload.clone();
                alone.extend_from_slice(&SYNC_TAIL);
                prop_assert_eq!(&miniz_inflate(&alone), message);
            } else {
                stream.extend_from_slice(&payload);
                stream.extend_from_slice(&SYNC_TAIL);
                all.extend_from_slice(message);
            }
        }
        if !config.no_context_takeover {
            prop_assert_eq!(miniz_inflate(&stream), all);
        }
    }

    #[test]
    fn limit_is_exact(
        message in message(),
        slack in 0usize..3,
    ) {
        let mut payload = Vec::new();
        Compressor::new(CodecConfig::new()).compress(&message, &mut payload).unwrap();
        // At the size or above: decoded. One below: refused with 1009, output at the limit.
        let limit = message.len() + slack;
        let mut out = Vec::new();
        Decompressor::new(CodecConfig::new().with_max_message_size(limit))
            .decompress(&payload, &mut out).unwrap();
        prop_assert_eq!(&out, &message);
        if let Some(below) = message.len().checked_sub(1) {
            let mut out = Vec::new();
            let err = Decompressor::new(CodecConfig::new().with_max_message_size(below))
                .decompress(&payload, &mut out).unwrap_err();
            prop_assert_eq!(err.close_code().get(), 1009);
            prop_assert_eq!(out.len(), below);
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..4),
        limit in 0usize..4096,
    ) {
        let mut decompressor = Decompressor::new(CodecConfig::new().with_max_message_size(limit));
        for payload in payloads {
            let mut out = Vec::new();
            if decompressor.decompress(&payload, &mut out).is_err() {
                break;
            }
            prop_assert!(out.len() <= limit);
        }
    }
}

/// A sender that ends every message with a BFINAL block (RFC 7692 §7.2.3.4): a fresh zlib
/// stream per message, primed with the last 32 KiB of what it sent before, finished, and
/// followed by the `00` octet when `pad` says so.
fn bfinal_payload(message: &[u8], history: &[u8], pad: bool) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    let mut compress = Compress::new_with_window_bits(Compression::default(), false, 15);
    let keep = history.len().saturating_sub(1 << 15);
    if history.len() > keep {
        compress
            .set_dictionary(&history[keep..])
            .expect("dictionary");
    }
    let mut out = Vec::with_capacity(message.len() + 64);
    loop {
        let consumed = usize::try_from(compress.total_in()).expect("fits");
        let status = compress
            .compress_vec(&message[consumed..], &mut out, FlushCompress::Finish)
            .expect("compresses");
        if status == Status::StreamEnd {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    if pad {
        out.push(0x00);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(128)))]

    #[test]
    fn bfinal_messages_keep_the_shared_window(
        messages in proptest::collection::vec((message(), any::<bool>()), 1..6),
        cuts in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..4), 6),
    ) {
        let mut decompressor = Decompressor::new(CodecConfig::new());
        let mut sent = Vec::new();
        for ((message, pad), cuts) in messages.iter().zip(&cuts) {
            let payload = bfinal_payload(message, &sent, *pad);
            let mut out = Vec::new();
            for piece in fragments(&payload, cuts) {
                decompressor.feed(piece, &mut out).unwrap();
            }
            decompressor.finish(&mut out).unwrap();
            prop_assert_eq!(&out, message);
            sent.extend_from_slice(message);
        }
    }
}
