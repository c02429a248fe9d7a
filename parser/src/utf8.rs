//! The crate's one piece of `unsafe` code: handing out `&str` for bytes the parser
//! has already validated, so a field is never validated twice.
//!
//! Why it exists (measured, see BENCHMARKS.md): validating every field separately
//! cost a third of the parse time on an LLM token stream — many short calls, each
//! with its own setup. The parser instead validates each chunk once with simdutf8
//! and knows, for every field, whether its bytes lie in the validated prefix.
//!
//! The invariant that makes it sound: a field's bytes are a range of a chunk that
//! starts right after an ASCII byte (a line start, `:` or a space) or at the
//! chunk's start, and ends at an ASCII byte (CR or LF) or a character boundary.
//! Cutting valid UTF-8 next to an ASCII byte always leaves valid UTF-8, so any such
//! range inside a validated prefix is valid UTF-8. Debug builds (and so every test,
//! property test and fuzz run) re-check it.
#![allow(unsafe_code)]

/// Converts bytes that the parser has validated as UTF-8 to `&str`.
///
/// Callers must only pass bytes proven valid (see the module docs).
#[inline]
pub(crate) fn assume_valid(bytes: &[u8]) -> &str {
    debug_assert!(
        core::str::from_utf8(bytes).is_ok(),
        "bytes assumed valid UTF-8 are not: {bytes:?}"
    );
    // SAFETY: the parser only marks a field valid when its bytes lie inside a
    // prefix of the chunk that simdutf8 validated and the field's boundaries are
    // character boundaries (next to ASCII delimiters); see the module docs.
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

/// Stretches of a chunk shorter than this are not validated up front: the call
/// would cost more than validating the few fields they hold when those are read.
/// Measured: 32 beats 256 by 30% on tiny events in 64-byte chunks and loses 8% on
/// 180-byte events in 64-byte chunks.
pub(crate) const VALIDATE_CHUNK_MIN: usize = 32;

/// The length of the longest prefix of `chunk` that is valid UTF-8.
#[inline]
pub(crate) fn valid_prefix_len(chunk: &[u8]) -> usize {
    match simdutf8::basic::from_utf8(chunk) {
        Ok(_) => chunk.len(),
        // Most often a character cut by the chunk's end; find where validity ends.
        Err(_) => match simdutf8::compat::from_utf8(chunk) {
            Ok(_) => chunk.len(),
            Err(e) => e.valid_up_to(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_prefix_stops_before_a_cut_or_invalid_character() {
        let mut chunk = vec![b'a'; 300];
        assert_eq!(valid_prefix_len(&chunk), 300);
        chunk.extend_from_slice("é".as_bytes());
        assert_eq!(valid_prefix_len(&chunk), 302);
        chunk.push(0xE2); // the first byte of a three-byte character
        assert_eq!(valid_prefix_len(&chunk), 302);
        chunk[10] = 0xFF;
        assert_eq!(valid_prefix_len(&chunk), 10);
        assert_eq!(valid_prefix_len(b"short"), 5);
    }
}
