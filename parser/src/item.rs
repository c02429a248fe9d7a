//! What the parser hands out: events, comments, `retry` values and ignored lines.
//!
//! Every item borrows its bytes. An item whose lines all arrived in the chunk being
//! fed borrows that chunk; one that straddled a chunk boundary borrows the parser's
//! own buffers. Either way the borrow lasts for the callback that receives it; call
//! [`Event::to_owned`] (or copy what you need) to keep it longer.

use core::ops::Range;
use std::borrow::Cow;

use crate::text::decode_utf8_lossy;
use crate::utf8::ChunkText;

/// One observation of the parser, in stream order.
///
/// The first four kinds are everything WHATWG §9.2.6 gives meaning to (dispatched
/// events, comments, `retry` values) plus what it says to ignore, so a conformance
/// probe can see exactly what a server sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item<'a> {
    /// An event dispatched by a blank line (WHATWG §9.2.6 "dispatch the event").
    Event(Event<'a>),
    /// A line starting with `:`; servers send these as heartbeats.
    Comment(Comment<'a>),
    /// A `retry` field whose value is one or more ASCII digits: the new
    /// reconnection time, applied at once (not at dispatch).
    Retry(Retry),
    /// A line the algorithm ignores, with the reason.
    Ignored(Ignored<'a>),
}

impl Item<'_> {
    /// Byte offset in the stream (counting a leading BOM) of the line that produced
    /// this item; for an event, the first line of its block.
    pub fn offset(&self) -> u64 {
        match self {
            Item::Event(e) => e.offset,
            Item::Comment(c) => c.offset,
            Item::Retry(r) => r.offset,
            Item::Ignored(i) => i.offset,
        }
    }
}

/// A dispatched event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The event type: the last `event` field's value in the block, or `message`
    /// when none was set or it was empty (WHATWG §9.2.6 dispatch, step 5).
    pub event_type: Text<'a>,
    /// The data lines, joined by LF on request.
    pub data: Data<'a>,
    /// The stream's last event ID at dispatch: the most recent `id` field seen in
    /// this or an earlier block (empty if none).
    pub last_event_id: Text<'a>,
    /// Whether this event's own block had a valid `id` field; when false, the last
    /// event ID was inherited from an earlier block.
    pub sets_id: bool,
    /// Byte offset of the first line of the event's block.
    pub offset: u64,
}

impl Event<'_> {
    /// Copies the event out of the parser's and the chunk's memory, decoding text.
    pub fn to_owned(&self) -> OwnedEvent {
        OwnedEvent {
            event_type: self.event_type.to_str().into_owned(),
            data: self.data.to_str().into_owned(),
            last_event_id: self.last_event_id.to_str().into_owned(),
            offset: self.offset,
        }
    }
}

/// An [`Event`] copied into owned, decoded strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedEvent {
    /// See [`Event::event_type`].
    pub event_type: String,
    /// The data lines joined by LF.
    pub data: String,
    /// See [`Event::last_event_id`].
    pub last_event_id: String,
    /// See [`Event::offset`].
    pub offset: u64,
}

/// An event's data: one or more lines, without their line ends.
///
/// WHATWG §9.2.6 builds a data buffer by appending each `data` value plus LF and
/// removes the final LF at dispatch; the result is the lines joined by LF. When all
/// the lines arrived in one chunk they are kept as borrowed slices of it and joined
/// only if asked ([`Data::to_bytes`], [`Data::to_str`]); a single line never needs
/// joining. When the event straddled chunks, the parser joined it in its buffer.
#[derive(Clone, Copy)]
pub struct Data<'a> {
    repr: DataRepr<'a>,
}

#[derive(Clone, Copy)]
enum DataRepr<'a> {
    /// Lines as ranges of `chunk`.
    Lines {
        chunk: ChunkText<'a>,
        spans: &'a [Range<usize>],
    },
    /// Lines already joined by LF.
    Joined(Text<'a>),
}

impl<'a> Data<'a> {
    pub(crate) fn lines_in(chunk: ChunkText<'a>, spans: &'a [Range<usize>]) -> Self {
        Data {
            repr: DataRepr::Lines { chunk, spans },
        }
    }

    pub(crate) fn joined(text: Text<'a>) -> Self {
        Data {
            repr: DataRepr::Joined(text),
        }
    }

    /// The data lines, in order, without line ends. There is always at least one.
    pub fn lines(&self) -> DataLines<'a> {
        match self.repr {
            DataRepr::Lines { chunk, spans } => DataLines {
                inner: LinesInner::Spans {
                    chunk: chunk.bytes(),
                    spans: spans.iter(),
                },
            },
            DataRepr::Joined(text) => DataLines {
                inner: LinesInner::Split(Some(text.as_bytes())),
            },
        }
    }

    /// The number of `data` lines.
    pub fn line_count(&self) -> usize {
        match self.repr {
            DataRepr::Lines { spans, .. } => spans.len(),
            DataRepr::Joined(text) => memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1,
        }
    }

    /// Length in bytes of the joined data.
    pub fn len(&self) -> usize {
        match self.repr {
            DataRepr::Lines { spans, .. } => {
                spans.iter().map(|s| s.len()).sum::<usize>() + spans.len().saturating_sub(1)
            }
            DataRepr::Joined(text) => text.len(),
        }
    }

    /// True when the joined data is empty (a single empty `data` line).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The joined data as one borrowed [`Text`], if that needs no copy: a single
    /// line, or data the parser already joined.
    pub fn as_contiguous_text(&self) -> Option<Text<'a>> {
        match self.repr {
            DataRepr::Lines { chunk, spans } => match spans {
                [one] => Some(chunk.text(one.clone())),
                _ => None,
            },
            DataRepr::Joined(text) => Some(text),
        }
    }

    /// The joined data as one borrowed slice, if that needs no copy: a single line,
    /// or data the parser already joined.
    pub fn as_contiguous(&self) -> Option<&'a [u8]> {
        self.as_contiguous_text().map(|text| text.as_bytes())
    }

    /// The lines joined by LF; borrowed when no copy is needed.
    pub fn to_bytes(&self) -> Cow<'a, [u8]> {
        match self.as_contiguous() {
            Some(bytes) => Cow::Borrowed(bytes),
            None => {
                let mut out = Vec::with_capacity(self.len());
                self.write_to(&mut out);
                Cow::Owned(out)
            }
        }
    }

    /// The lines joined by LF as text (invalid UTF-8 becomes U+FFFD); borrowed when
    /// no copy is needed and the bytes are valid UTF-8. Lines the parser already
    /// validated are joined without validating them again.
    #[inline]
    pub fn to_str(&self) -> Cow<'a, str> {
        // The common case (one line, or data the parser joined) inline, so the caller
        // gets the borrowed text in registers; joining lines out of line.
        match self.repr {
            DataRepr::Lines { chunk, spans } if spans.len() > 1 => Self::join_to_str(chunk, spans),
            DataRepr::Lines { chunk, spans } => match spans.first() {
                Some(span) => chunk.text(span.clone()).to_str(),
                None => Cow::Borrowed(""),
            },
            DataRepr::Joined(text) => text.to_str(),
        }
    }

    /// [`Data::to_str`] of several lines in one chunk: joined into a new `String`.
    #[inline(never)]
    fn join_to_str(chunk: ChunkText<'a>, spans: &'a [Range<usize>]) -> Cow<'a, str> {
        let data = Data::lines_in(chunk, spans);
        let mut out = String::with_capacity(data.len());
        for (i, span) in spans.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            match chunk.text(span.clone()).as_str() {
                Some(line) => out.push_str(line),
                None => {
                    let joined = data.to_bytes().into_owned();
                    return Cow::Owned(match String::from_utf8(joined) {
                        Ok(s) => s,
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    });
                }
            }
        }
        Cow::Owned(out)
    }

    /// Appends the lines joined by LF to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend_from_slice(line);
        }
    }
}

impl PartialEq for Data<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.lines().eq(other.lines())
    }
}

impl Eq for Data<'_> {}

impl core::fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.lines().map(|l| String::from_utf8_lossy(l)))
            .finish()
    }
}

/// Iterator over an event's data lines; see [`Data::lines`].
#[derive(Clone, Debug)]
pub struct DataLines<'a> {
    inner: LinesInner<'a>,
}

#[derive(Clone, Debug)]
enum LinesInner<'a> {
    Spans {
        chunk: &'a [u8],
        spans: core::slice::Iter<'a, Range<usize>>,
    },
    Split(Option<&'a [u8]>),
}

impl<'a> Iterator for DataLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.inner {
            LinesInner::Spans { chunk, spans } => spans
                .next()
                .map(|s| chunk.get(s.clone()).unwrap_or_default()),
            LinesInner::Split(rest) => {
                let bytes = rest.take()?;
                match memchr::memchr(b'\n', bytes) {
                    Some(i) => {
                        *rest = bytes.get(i + 1..);
                        bytes.get(..i)
                    }
                    None => Some(bytes),
                }
            }
        }
    }
}

/// A comment line: everything after the leading `:`, unmodified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment<'a> {
    /// The bytes after the colon (a leading space is kept).
    pub text: Text<'a>,
    /// Byte offset of the line.
    pub offset: u64,
}

/// A valid `retry` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The reconnection time in milliseconds. Values beyond `u64::MAX` saturate.
    pub ms: u64,
    /// Byte offset of the line.
    pub offset: u64,
}

/// A line WHATWG §9.2.6 says to ignore, kept so a probe can report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ignored<'a> {
    /// Why the line was ignored.
    pub reason: IgnoreReason,
    /// The field name: the bytes before the first colon, or the whole line.
    pub name: &'a [u8],
    /// The field value after the optional single space (empty without a colon).
    pub value: &'a [u8],
    /// Byte offset of the line.
    pub offset: u64,
}

/// Why a line was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// A field name other than `event`, `data`, `id` and `retry` (names are
    /// case-sensitive), on a line with a colon.
    ///
    /// WHATWG §9.2.6: "Otherwise: The field is ignored."
    UnknownField,
    /// A line without any colon whose whole text is not a known field name. Such
    /// lines usually come from a server that wrote a newline inside data without
    /// starting a new `data:` line.
    ///
    /// WHATWG §9.2.6: the whole line is the field name, the value is empty, and an
    /// unknown field is ignored.
    LineWithoutColon,
    /// A `retry` value that is not one or more ASCII digits (a sign, a space, a
    /// unit, or nothing).
    ///
    /// WHATWG §9.2.6: "If the field value consists of only ASCII digits, then ...
    /// set the event stream's reconnection time ... Otherwise, ignore the field."
    InvalidRetry,
    /// An `id` value containing U+0000 NULL.
    ///
    /// WHATWG §9.2.6: "If the field value does not contain U+0000 NULL, then set
    /// the last event ID buffer to the field value. Otherwise, ignore the field."
    IdContainsNul,
}

impl IgnoreReason {
    /// A short stable name, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::UnknownField => "unknown-field",
            IgnoreReason::LineWithoutColon => "line-without-colon",
            IgnoreReason::InvalidRetry => "invalid-retry",
            IgnoreReason::IdContainsNul => "id-contains-nul",
        }
    }
}

/// A field's bytes, with what the parser already knows about their UTF-8.
///
/// The parser validates each chunk once; a field that lies in the validated part
/// is held as the `&str` the validator returned, and [`Text::to_str`] hands it out
/// at no cost. Otherwise `to_str` decodes as the specification says (invalid
/// sequences become U+FFFD). Only a `&str` makes a `Text` known to be text, so it
/// can never claim that invalid bytes are valid. It dereferences to the raw bytes,
/// and compares equal to byte strings and `str`s.
#[derive(Clone, Copy)]
pub struct Text<'a> {
    repr: TextRepr<'a>,
}

#[derive(Clone, Copy)]
enum TextRepr<'a> {
    /// Known to be valid UTF-8.
    Str(&'a str),
    /// Not validated yet.
    Bytes(&'a [u8]),
}

impl Default for Text<'_> {
    fn default() -> Self {
        Text::from("")
    }
}

impl<'a> From<&'a str> for Text<'a> {
    /// Text known to be valid UTF-8.
    #[inline]
    fn from(text: &'a str) -> Self {
        Text {
            repr: TextRepr::Str(text),
        }
    }
}

impl<'a> Text<'a> {
    /// Text whose UTF-8 is not known yet.
    #[inline]
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        Text {
            repr: TextRepr::Bytes(bytes),
        }
    }

    /// The raw bytes.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        match self.repr {
            TextRepr::Str(text) => text.as_bytes(),
            TextRepr::Bytes(bytes) => bytes,
        }
    }

    /// The text, if it is already known to be valid UTF-8 (the parser validated
    /// it); `None` means not checked yet, not invalid. [`Text::to_str`] always
    /// gives text.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        match self.repr {
            TextRepr::Str(text) => Some(text),
            TextRepr::Bytes(_) => None,
        }
    }

    /// The decoded text (invalid UTF-8 becomes U+FFFD); borrowed unless the bytes
    /// were invalid.
    #[inline]
    pub fn to_str(self) -> Cow<'a, str> {
        match self.repr {
            TextRepr::Str(text) => Cow::Borrowed(text),
            TextRepr::Bytes(bytes) => decode_utf8_lossy(bytes),
        }
    }
}

impl core::ops::Deref for Text<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl core::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text<'_> {}

impl core::hash::Hash for Text<'_> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq<[u8]> for Text<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for Text<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Text<'_> {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Text<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
