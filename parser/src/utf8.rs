//! What the parser knows about UTF-8, held in types that cannot lie.
//!
//! The parser validates each chunk once with simdutf8 (validating every field
//! separately cost a third of the parse time on an LLM token stream — many short
//! calls, each with its own setup; see BENCHMARKS.md) and then hands out fields
//! as `&str` without validating them again. It does so without `unsafe`:
//!
//! * [`ChunkText`] holds the chunk's lines together with the validated part as a
//!   `&str` that simdutf8 returned. A field inside it is cut out of that `&str`
//!   with [`str::get`], which checks that both ends are character boundaries (two
//!   byte comparisons), so a field can only be handed out as text if it is.
//! * [`TextBuf`] is an owned buffer that is a `String` as long as only `&str`s
//!   were appended to it, and turns into plain bytes the moment unchecked bytes
//!   are. Moving between the two costs nothing: a `String` gives up its bytes for
//!   free, and an emptied buffer becomes a `String` again by validating zero bytes.
//!
//! The crate has no `unsafe` code at all (`#![forbid(unsafe_code)]` at its root).

use core::ops::Range;

use crate::item::Text;

/// Stretches of a chunk shorter than this are not validated up front: the call
/// would cost more than validating the few fields they hold when those are read.
/// Measured: 32 beats 256 by 30% on tiny events in 64-byte chunks and loses 8% on
/// 180-byte events in 64-byte chunks.
pub(crate) const VALIDATE_CHUNK_MIN: usize = 32;

/// The longest prefix of `bytes` that is valid UTF-8, as the validator returned it.
#[inline]
pub(crate) fn valid_prefix(bytes: &[u8]) -> &str {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => text,
        // Invalid somewhere (the region ends at a line end, so a character cut by
        // the chunk's end cannot be the cause): find where validity ends, and take
        // the part before it, which the fast validator then accepts.
        Err(_) => {
            let valid_up_to = match simdutf8::compat::from_utf8(bytes) {
                Ok(_) => bytes.len(),
                Err(e) => e.valid_up_to(),
            };
            let prefix = bytes.get(..valid_up_to).unwrap_or_default();
            simdutf8::basic::from_utf8(prefix).unwrap_or_default()
        }
    }
}

/// The part of a chunk whose lines the parser hands out, with the prefix of it
/// that is known to be valid UTF-8. Ranges given to its methods index `bytes`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkText<'a> {
    bytes: &'a [u8],
    /// A prefix of `bytes`, validated.
    valid: &'a str,
}

impl<'a> ChunkText<'a> {
    /// `bytes`, of which the first `validate_len` are validated (fewer if they are
    /// not all valid UTF-8); `None` validates nothing.
    #[inline]
    pub(crate) fn new(bytes: &'a [u8], validate_len: Option<usize>) -> Self {
        let valid = match validate_len.and_then(|len| bytes.get(..len)) {
            Some(prefix) => valid_prefix(prefix),
            None => "",
        };
        ChunkText { bytes, valid }
    }

    /// No bytes at all: what lines carried over from earlier chunks refer to.
    pub(crate) fn empty() -> Self {
        ChunkText {
            bytes: &[],
            valid: "",
        }
    }

    /// The raw bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes in `range` (empty if it is out of bounds).
    #[inline]
    pub(crate) fn slice(&self, range: Range<usize>) -> &'a [u8] {
        self.bytes.get(range).unwrap_or_default()
    }

    /// The bytes in `range`, as `&str` when they lie in the validated prefix and
    /// start and end on character boundaries.
    #[inline]
    pub(crate) fn text(&self, range: Range<usize>) -> Text<'a> {
        match self.valid.get(range.clone()) {
            Some(text) => Text::from(text),
            None => Text::from_bytes(self.slice(range)),
        }
    }
}

/// An owned, reusable buffer that knows whether its bytes are valid UTF-8: only
/// appending a `&str` (or a [`Text`] that holds one) keeps it text.
#[derive(Debug, Clone)]
pub(crate) enum TextBuf {
    /// Everything appended was text.
    Text(String),
    /// Some bytes of unknown validity were appended.
    Bytes(Vec<u8>),
}

impl Default for TextBuf {
    fn default() -> Self {
        TextBuf::Text(String::new())
    }
}

impl TextBuf {
    /// Empties the buffer, keeping its capacity. An empty buffer of bytes becomes
    /// text again when text is appended to it ([`TextBuf::push_str`]).
    #[inline]
    pub(crate) fn clear(&mut self) {
        match self {
            TextBuf::Text(text) => text.clear(),
            TextBuf::Bytes(bytes) => bytes.clear(),
        }
    }

    /// The bytes from `start` on, as text when the buffer is text and `start` is
    /// a character boundary.
    #[inline]
    pub(crate) fn text_from(&self, start: usize) -> Text<'_> {
        match self {
            TextBuf::Text(text) => match text.get(start..) {
                Some(text) => Text::from(text),
                None => Text::from_bytes(text.as_bytes().get(start..).unwrap_or_default()),
            },
            TextBuf::Bytes(bytes) => Text::from_bytes(bytes.get(start..).unwrap_or_default()),
        }
    }

    /// The whole buffer as [`Text`].
    #[inline]
    pub(crate) fn text(&self) -> Text<'_> {
        self.text_from(0)
    }

    /// Appends text; the buffer stays text if it was, and becomes text if it was
    /// empty.
    #[inline]
    pub(crate) fn push_str(&mut self, text: &str) {
        match self {
            TextBuf::Text(buf) => buf.push_str(text),
            TextBuf::Bytes(buf) if buf.is_empty() => {
                // Zero bytes are valid UTF-8: this cannot fail, and checks nothing.
                match String::from_utf8(core::mem::take(buf)) {
                    Ok(mut buf) => {
                        buf.push_str(text);
                        *self = TextBuf::Text(buf);
                    }
                    Err(e) => {
                        *buf = e.into_bytes();
                        buf.extend_from_slice(text.as_bytes());
                    }
                }
            }
            TextBuf::Bytes(buf) => buf.extend_from_slice(text.as_bytes()),
        }
    }

    /// Appends an LF; the buffer stays text if it was.
    #[inline]
    pub(crate) fn push_lf(&mut self) {
        match self {
            TextBuf::Text(buf) => buf.push('\n'),
            TextBuf::Bytes(buf) => buf.push(b'\n'),
        }
    }

    /// Appends the bytes of `chunk` in `range`: as text when the buffer is text and
    /// they are text in `chunk`.
    #[inline]
    pub(crate) fn push_chunk(&mut self, chunk: ChunkText<'_>, range: Range<usize>) {
        match self {
            TextBuf::Text(buf) => match chunk.valid.get(range.clone()) {
                Some(text) => buf.push_str(text),
                None => self.push_bytes(chunk.slice(range)),
            },
            TextBuf::Bytes(buf) if !buf.is_empty() => {
                buf.extend_from_slice(chunk.slice(range));
            }
            TextBuf::Bytes(_) => self.push_text(chunk.text(range)),
        }
    }

    /// Appends bytes of unknown validity; the buffer is no longer known to be text.
    #[inline]
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) {
        match self {
            TextBuf::Text(text) => {
                let mut buf = core::mem::take(text).into_bytes();
                buf.extend_from_slice(bytes);
                *self = TextBuf::Bytes(buf);
            }
            TextBuf::Bytes(buf) => buf.extend_from_slice(bytes),
        }
    }

    /// Appends a field: as text when it is known to be text.
    #[inline]
    pub(crate) fn push_text(&mut self, text: Text<'_>) {
        match text.as_str() {
            Some(text) => self.push_str(text),
            None => self.push_bytes(text.as_bytes()),
        }
    }

    /// Replaces the contents with `bytes` of unknown validity, taking them over
    /// without a copy, and returns the old buffer, emptied, for reuse.
    pub(crate) fn replace_with_bytes(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        let old = match core::mem::replace(self, TextBuf::Bytes(bytes)) {
            TextBuf::Text(text) => text.into_bytes(),
            TextBuf::Bytes(bytes) => bytes,
        };
        let mut old = old;
        old.clear();
        old
    }

    /// Sets the contents to a copy of `other`'s, keeping what it knows.
    pub(crate) fn copy_from(&mut self, other: &TextBuf) {
        self.clear();
        self.push_text(other.text());
    }

    /// Swaps allocations with a fresh buffer (for [`crate::Parser::reset`]).
    pub(crate) fn take(&mut self) -> TextBuf {
        let mut taken = core::mem::take(self);
        taken.clear();
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_prefix_stops_before_an_invalid_character() {
        let mut chunk = vec![b'a'; 300];
        assert_eq!(valid_prefix(&chunk).len(), 300);
        chunk.extend_from_slice("é".as_bytes());
        assert_eq!(valid_prefix(&chunk).len(), 302);
        chunk.push(0xE2); // the first byte of a three-byte character
        assert_eq!(valid_prefix(&chunk).len(), 302);
        chunk[10] = 0xFF;
        assert_eq!(valid_prefix(&chunk).len(), 10);
        assert_eq!(valid_prefix(b"short"), "short");
    }

    #[test]
    fn chunk_text_hands_out_text_only_on_character_boundaries_inside_the_validated_part() {
        let bytes = "data: é\ndata: \u{1F600}\n".as_bytes();
        let chunk = ChunkText::new(bytes, Some(bytes.len()));
        assert_eq!(chunk.text(6..8).as_str(), Some("é"));
        // Cutting "é" in half is not text, even though the bytes were validated.
        assert_eq!(chunk.text(6..7).as_str(), None);
        assert_eq!(chunk.text(7..8).as_str(), None);
        // Past the validated part: bytes only.
        let partly = ChunkText::new(bytes, Some(9));
        assert_eq!(partly.text(6..8).as_str(), Some("é"));
        assert_eq!(partly.text(15..19).as_str(), None);
        assert_eq!(partly.text(15..19).as_bytes(), "\u{1F600}".as_bytes());
        // Out of bounds: empty bytes, never a panic.
        assert!(partly.text(50..60).is_empty());
    }

    #[test]
    fn text_buf_is_text_only_while_only_text_was_appended() {
        let mut buf = TextBuf::default();
        buf.push_str("héllo");
        buf.push_text(Text::from("\n"));
        assert_eq!(buf.text().as_str(), Some("héllo\n"));
        // Cut inside "é": not a character boundary.
        assert_eq!(buf.text_from(2).as_str(), None);
        assert_eq!(buf.text_from(3).as_str(), Some("llo\n"));
        buf.push_bytes(b"ok");
        assert_eq!(buf.text().as_str(), None);
        assert_eq!(buf.text().as_bytes(), "héllo\nok".as_bytes());
        buf.clear();
        assert_eq!(buf.text().as_str(), None);
        buf.push_str("x");
        assert_eq!(buf.text().as_str(), Some("x"));
        let old = buf.replace_with_bytes(b"data: y".to_vec());
        assert!(old.is_empty());
        assert_eq!(buf.text_from(6).as_bytes(), b"y");
        assert_eq!(buf.text_from(6).as_str(), None);
        let mut copy = TextBuf::default();
        copy.copy_from(&buf);
        assert_eq!(copy.text().as_bytes(), b"data: y");
    }
}
