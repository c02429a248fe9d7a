//! UTF-8 to `&str` without validating twice: the crate's one piece of `unsafe` code.
//!
//! Two measured wins need it (`ws/tiny` and `ws/fragmented-text` in BENCHMARKS.md).
//!
//! **Short payloads.**
//! simdutf8 hands inputs shorter than its 64-byte block to the standard library's
//! byte-at-a-time validator, which is slow on mixed text. Measured on the `ws/tiny`
//! benchmark (text frames of 0–125 bytes, median 19): that validator took 47% of the
//! time per frame. Copying the payload into a zero-padded 64-byte block lets the SIMD
//! path run, and padding cannot change the verdict: NUL bytes are ASCII, so valid
//! text stays valid, and a sequence cut at the payload's end is still cut (a NUL is not
//! a continuation byte). Producing the `&str` must then not validate a second time,
//! which needs `from_utf8_unchecked`.
//!
//! **Fragmented text.** [`crate::Utf8Validator`] has validated every fragment as it
//! arrived (failing fast); once the message is complete, validating the joined bytes
//! again only to produce a `&str` cost a whole extra pass. [`assume_valid`] skips it,
//! and debug builds (every test, property test and fuzz run) re-check.
#![allow(unsafe_code)]

/// The bytes of a text message that [`crate::Utf8Validator`] accepted whole (every
/// fragment fed and `finish` returned `Ok`).
#[inline]
pub(crate) fn assume_valid(bytes: &[u8]) -> &str {
    debug_assert!(core::str::from_utf8(bytes).is_ok());
    // SAFETY: callers pass only bytes the incremental validator accepted in full,
    // which is exactly UTF-8 validity (property-tested against std in utf8.rs).
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

/// The payload as `&str` if it is valid UTF-8.
#[inline]
pub(crate) fn to_str(bytes: &[u8]) -> Option<&str> {
    let mut block = [0u8; 64];
    let Some(prefix) = block.get_mut(..bytes.len()) else {
        return simdutf8::basic::from_utf8(bytes).ok();
    };
    prefix.copy_from_slice(bytes);
    simdutf8::basic::from_utf8(&block).ok()?;
    debug_assert!(core::str::from_utf8(bytes).is_ok());
    // SAFETY: `block` starts with `bytes` and is valid UTF-8; a prefix of valid UTF-8
    // followed only by NUL bytes is itself valid UTF-8 (see the module docs).
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_on_short_and_long_inputs() {
        let cases: [&[u8]; 9] = [
            b"",
            b"hello",
            "h\u{e9}llo \u{1F600}".as_bytes(),
            b"\xC3",
            b"abc\xE2\x82",
            b"\xED\xA0\x80",
            b"\xC0\x80",
            b"\x80",
            &[b'a'; 200],
        ];
        for case in cases {
            assert_eq!(to_str(case), core::str::from_utf8(case).ok(), "{case:?}");
        }
    }
}
