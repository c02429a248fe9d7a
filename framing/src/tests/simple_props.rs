use proptest::prelude::*;

use crate::fuzzing;
use crate::mask::{copy_unmask, unmask, unmask_naive};

/// Mostly valid UTF-8 (any chars, including 2-, 3- and 4-byte ones), sometimes corrupted
/// by one byte or cut short.
fn text_bytes() -> impl Strategy<Value = Vec<u8>> {
    damaged(prop::collection::vec(any::<char>(), 0..40))
}

/// Long, mostly ASCII text (a few 2-, 3- and 4-byte chars, as in chat or JSON), sometimes
/// corrupted by one byte or cut short: fragments past the first 64 bytes are validated
/// with a check that starts inside the bytes validated before them (`is_utf8_after`),
/// which only these lengths reach.
fn long_text_bytes() -> impl Strategy<Value = Vec<u8>> {
    let ch = prop_oneof![
        12 => prop::char::range('a', 'z'),
        1 => prop::char::range('\u{80}', '\u{7FF}'),
        1 => prop::char::range('\u{800}', '\u{FFFF}'),
        1 => prop::char::range('\u{10000}', '\u{10FFFF}'),
    ];
    damaged(prop::collection::vec(ch, 0..700))
}

/// The UTF-8 of `chars`, half the time with one byte replaced by any byte, and a fifth of
/// the time cut short at any point.
fn damaged(chars: impl Strategy<Value = Vec<char>>) -> impl Strategy<Value = Vec<u8>> {
    (
        chars,
        prop::option::weighted(0.5, (any::<prop::sample::Index>(), any::<u8>())),
        prop::option::weighted(0.2, any::<prop::sample::Index>()),
    )
        .prop_map(|(chars, corrupt, cut)| {
            let mut bytes = chars.into_iter().collect::<String>().into_bytes();
            if let (Some((i, b)), false) = (corrupt, bytes.is_empty()) {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            if let (Some(i), false) = (cut, bytes.is_empty()) {
                bytes.truncate(i.index(bytes.len()));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::cases(512)))]

    /// As `rfc6455_5_6_incremental_utf8_equals_std_for_any_split`, on messages long
    /// enough for fragments to be checked in whole 64-byte blocks reaching back into the
    /// bytes validated before them, from a code point boundary or one block further back.
    #[test]
    fn rfc6455_5_6_incremental_utf8_equals_std_for_long_text_and_any_split(
        bytes in long_text_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        fuzzing::check_utf8_split(&bytes, &cuts);
    }

    /// RFC 6455 §5.3: the word-wise unmask equals the byte loop at any length, alignment
    /// and key offset, for any content and key.
    #[test]
    fn rfc6455_5_3_unmask_fast_equals_naive(
        data in prop::collection::vec(any::<u8>(), 0..=300 + 64),
        align in 0usize..64,
        key in any::<[u8; 4]>(),
        offset in any::<usize>(),
    ) {
        let align = align.min(data.len());
        let mut fast = data.clone();
        let mut naive = data[align..].to_vec();
        unmask(&mut fast[align..], key, offset);
        unmask_naive(&mut naive, key, offset);
        prop_assert_eq!(&fast[align..], &naive[..]);
        prop_assert_eq!(&fast[..align], &data[..align]);
        let mut copied = vec![0; data.len() - align];
        copy_unmask(&mut copied, &data[align..], key, offset);
        prop_assert_eq!(copied, naive);
    }

    /// RFC 6455 §5.6: incremental validation over arbitrary splits agrees with
    /// `std::str::from_utf8` of the whole message, and fails in the fragment holding the
    /// byte that proves the error.
    #[test]
    fn rfc6455_5_6_incremental_utf8_equals_std_for_any_split(
        bytes in text_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        fuzzing::check_utf8_split(&bytes, &cuts);
    }

    /// RFC 6455 §5.4 and §5.6 through the whole stack: messages are the concatenated
    /// fragments, sequencing errors are caught, text is validated like `from_utf8`.
    #[test]
    fn rfc6455_5_4_assembled_messages_match_a_plain_model(
        data in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        fuzzing::assemble_messages(&data);
    }

    /// Any bytes: nothing panics and the parsers agree with each other.
    #[test]
    fn any_bytes_keep_every_invariant(data in prop::collection::vec(any::<u8>(), 0..64)) {
        fuzzing::frames_no_panic(&data);
    }
}

#[test]
fn assemble_messages_model_sees_utf8_split_across_fragments() {
    // Text "é" (C3 A9) split over two fragments, then a fragment whose 0x41 breaks a
    // sequence started in the previous one.
    fuzzing::assemble_messages(&[0x01, 1, 0xC3, 0x80, 1, 0xA9]);
    fuzzing::assemble_messages(&[0x01, 2, b'a', 0xE2, 0x00, 1, 0x41]);
    fuzzing::assemble_messages(&[0x00, 1, b'x']);
    fuzzing::assemble_messages(&[0x01, 1, b'x', 0x02, 0]);
}
