//! UTF-8 decoding, the way WHATWG §9.2.5 asks for it.

use std::borrow::Cow;

/// Decodes bytes as UTF-8, replacing each invalid sequence with U+FFFD, as the
/// event stream's decoder does (WHATWG §9.2.5: "Streams must be decoded using the
/// UTF-8 decode algorithm"). Borrows when the bytes are valid.
///
/// Decoding a field after splitting the stream into lines gives the same text as
/// decoding the whole stream first: line ends, colons and spaces are ASCII, and the
/// UTF-8 decoder never folds an ASCII byte into a multi-byte sequence (it ends the
/// sequence with U+FFFD and reads the ASCII byte on its own).
pub fn decode_utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    // simdutf8 wins on long inputs; the standard library's word-at-a-time check
    // costs less to call on short ones.
    let checked = if bytes.len() < 64 {
        core::str::from_utf8(bytes).ok()
    } else {
        simdutf8::basic::from_utf8(bytes).ok()
    };
    match checked {
        Some(s) => Cow::Borrowed(s),
        None => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_borrowed() {
        assert!(matches!(
            decode_utf8_lossy("héllo".as_bytes()),
            Cow::Borrowed("héllo")
        ));
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        // A truncated three-byte sequence is one U+FFFD (maximal subpart), a lone
        // continuation byte another.
        assert_eq!(decode_utf8_lossy(b"a\xE2\x82b\x80"), "a\u{FFFD}b\u{FFFD}");
    }
}
