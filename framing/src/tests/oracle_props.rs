use proptest::prelude::*;

use crate::close::CloseCode;
use crate::encode::encode_frame;
use crate::fuzzing::{self, config_from_byte, run_chunked};
use crate::header::{FrameHeader, LengthEncoding, Role};
use crate::opcode::{Opcode, Rsv};
use crate::oracle;

/// Payloads that exercise the rules: text (sometimes cut inside a code point), random
/// bytes, close bodies (valid, 1 byte, bad code, bad reason).
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => any::<String>().prop_map(String::into_bytes),
        2 => prop::collection::vec(any::<u8>(), 0..40),
        1 => (any::<String>(), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            let b = s.into_bytes();
            let cut = i.index(b.len() + 1);
            b[..cut].to_vec()
        }),
        1 => (prop_oneof![Just(1000u16), Just(1005), Just(3000), Just(4999), Just(999), any::<u16>()], "[a-zé€😀]{0,5}")
            .prop_map(|(code, reason)| {
                let mut body = code.to_be_bytes().to_vec();
                body.extend_from_slice(reason.as_bytes());
                body
            }),
        1 => prop::collection::vec(any::<u8>(), 126..300),
    ]
}

prop_compose! {
    /// A frame that is usually right for `mask` (the sender's role) and sometimes wrong in
    /// one of the ways the RFC forbids.
    fn frame(masked: bool)(
        opcode in prop_oneof![
            4 => Just(Opcode::TEXT),
            2 => Just(Opcode::BINARY),
            4 => Just(Opcode::CONTINUATION),
            1 => Just(Opcode::PING),
            1 => Just(Opcode::PONG),
            1 => Just(Opcode::CLOSE),
            1 => (0u8..16).prop_map(Opcode::from_bits),
        ],
        fin in prop::bool::weighted(0.6),
        rsv in prop_oneof![8 => Just(0u8), 1 => 0u8..8],
        wrong_mask in prop::bool::weighted(0.05),
        key in any::<[u8; 4]>(),
        encoding in prop_oneof![10 => Just(None), 1 => Just(Some(LengthEncoding::Extended16)), 1 => Just(Some(LengthEncoding::Extended64))],
        top_bit in prop::bool::weighted(0.02),
        payload in payload(),
    ) -> Vec<u8> {
        let mut h = FrameHeader::new(opcode, payload.len() as u64);
        h.fin = fin || (opcode.is_control() && rsv == 0);
        h.rsv = Rsv::from_bits(rsv);
        h.mask = (masked != wrong_mask).then_some(key);
        if let Some(e) = encoding.filter(|e| e.can_hold(payload.len() as u64)) {
            h.length_encoding = e;
        }
        if top_bit {
            h.length_encoding = LengthEncoding::Extended64;
            h.payload_len |= 1 << 63;
        }
        let mut out = Vec::new();
        encode_frame(&mut out, &h, &payload).unwrap();
        out
    }
}

pub(super) fn stream() -> impl Strategy<Value = (u8, Vec<u8>)> {
    any::<u8>().prop_flat_map(|config| {
        let masked = config_from_byte(config).sender == Role::Client;
        (
            Just(config),
            prop::collection::vec(frame(masked), 0..8),
            prop::option::weighted(0.2, (any::<prop::sample::Index>(), any::<u8>())),
            prop::option::weighted(0.2, any::<prop::sample::Index>()),
        )
            .prop_map(|(config, frames, flip, cut)| {
                let mut data = frames.concat();
                if let (Some((i, b)), false) = (flip, data.is_empty()) {
                    let i = i.index(data.len());
                    data[i] ^= b;
                }
                if let (Some(i), false) = (cut, data.is_empty()) {
                    data.truncate(i.index(data.len()));
                }
                (config, data)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::cases(512)))]

    /// RFC 6455 §5.2/§5.4: the fast reader equals the byte-at-a-time oracle on generated
    /// frame streams (valid and broken) under arbitrary chunkings, and reports each
    /// violation as soon as the deciding byte has been revealed.
    #[test]
    fn rfc6455_5_2_fast_reader_equals_oracle_on_frame_streams(
        (config, data) in stream(),
        cuts in prop::collection::vec(0u8..40, 0..12),
    ) {
        let mut c = vec![config];
        c.extend(cuts);
        fuzzing::parser_matches_oracle(&data, &c);
    }

    /// The same on arbitrary bytes.
    #[test]
    fn rfc6455_5_2_fast_reader_equals_oracle_on_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        fuzzing::parser_matches_oracle(&data, &cuts);
    }
}

/// Byte by byte, the worst chunking: every prefix of a valid stream is Partial, never an
/// error, and the result equals the oracle.
#[test]
fn rfc6455_5_7_examples_one_byte_at_a_time_equal_the_oracle() {
    let examples: &[&[u8]] = &[
        &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
        &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f],
        &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
    ];
    let config = config_from_byte(0);
    for data in examples {
        let every: Vec<usize> = (0..data.len()).collect();
        for release in [false, true] {
            let (got, reported) = run_chunked(&config, data, &every, release);
            let expected = oracle::run(&config, data);
            assert_eq!(got, expected);
            assert_eq!(reported, None);
            assert_eq!(expected.violation, None);
            assert_eq!(expected.consumed, data.len() as u64);
        }
    }
}

/// Large frames too (the 16- and 64-bit lengths), with masking and text validation over
/// more than one scratch buffer of the partial-frame path.
#[test]
fn rfc6455_5_2_boundary_lengths_equal_the_oracle_in_chunks() {
    for len in [125usize, 126, 127, 65535, 65536] {
        for (role_byte, mask) in [(0u8, None), (1, Some([9, 8, 7, 6]))] {
            let config = config_from_byte(role_byte);
            let text: Vec<u8> = "aé€😀".bytes().cycle().take(len).collect();
            let mut h = FrameHeader::new(Opcode::TEXT, len as u64);
            h.mask = mask;
            let mut data = Vec::new();
            encode_frame(&mut data, &h, &text).unwrap();
            let reveal: Vec<usize> = (0..data.len()).step_by(997).collect();
            for release in [false, true] {
                let (got, _) = run_chunked(&config, &data, &reveal, release);
                assert_eq!(
                    got,
                    oracle::run(&config, &data),
                    "len {len} mask {mask:?} release {release}"
                );
            }
        }
    }
}

#[test]
fn oracle_reports_close_codes_like_the_classifier() {
    for code in [
        0u16, 999, 1000, 1004, 1005, 1006, 1012, 1015, 1016, 2999, 3000, 4999, 5000,
    ] {
        let mut data = vec![0x88, 0x02];
        data.extend_from_slice(&code.to_be_bytes());
        let outcome = oracle::run(&config_from_byte(0), &data);
        assert_eq!(
            outcome.violation.is_none(),
            CloseCode(code).is_valid_on_wire(),
            "{code}"
        );
    }
}
