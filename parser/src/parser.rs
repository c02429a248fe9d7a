//! The incremental event-stream parser.
//!
//! # How it stays zero-copy and linear
//!
//! [`Parser::feed`] walks the chunk line by line, finding line ends with
//! `memchr2(LF, CR)`. A line that lies inside the chunk is processed where it lies:
//! an `event`, `id` or `data` value is recorded as a range of the chunk, so an event
//! whose block lies inside one chunk is handed out borrowing it. Only two things are
//! copied, and only when a chunk ends:
//!
//! * the unfinished last line of the chunk, appended to a carry buffer that the next
//!   chunk completes (new bytes are searched once; the carried bytes never again), and
//! * the state of an event block still open at the chunk's end (its data lines so far,
//!   its type, the last-event-ID buffer), which moves into the parser's own buffers.
//!
//! A CR that is the last byte of a chunk ends its line at once; the parser remembers
//! to skip an LF at the start of the next chunk, so a CRLF split across chunks is
//! one line end. A byte-order mark split across chunks is matched byte by byte.
//! The output is therefore the same however the stream is cut.

use core::ops::Range;

use memchr::{memchr, memchr2, memrchr2};

use crate::item::{Comment, Data, Event, IgnoreReason, Ignored, Item, Retry, Text};
use crate::utf8::{ChunkText, TextBuf, VALIDATE_CHUNK_MIN};

/// The UTF-8 byte-order mark, stripped once at the very start of a stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A carried line at least this long grows its buffer fourfold ([`Parser::extend_carry`]).
const LONG_LINE: usize = 64 << 10;

/// The event type of an event whose block set none (WHATWG §9.2.6 dispatch step 5).
const DEFAULT_EVENT_TYPE: &str = "message";

/// Limits that bound the parser's memory. The specification sets none; a parser
/// that reads from the network must.
///
/// Both are checked identically however the stream is chunked, so a limit error
/// happens at the same item whatever the chunk size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The longest line accepted, in bytes, not counting its line end. Default
    /// 8 MiB. A longer line, ended or not, fails with [`Error::LineTooLong`] as soon
    /// as its first `max_line_len + 1` bytes are seen.
    pub max_line_len: usize,
    /// The largest data buffer of one event, in bytes: the `data` values plus one
    /// LF each, as WHATWG §9.2.6 builds it. Default 32 MiB. Exceeding it fails with
    /// [`Error::EventTooLarge`].
    pub max_event_len: usize,
}

impl Config {
    /// The default limits: 8 MiB lines, 32 MiB events.
    pub const DEFAULT: Config = Config {
        max_line_len: 8 << 20,
        max_event_len: 32 << 20,
    };

    /// Sets [`Config::max_line_len`].
    pub fn with_max_line_len(mut self, bytes: usize) -> Self {
        self.max_line_len = bytes;
        self
    }

    /// Sets [`Config::max_event_len`].
    pub fn with_max_event_len(mut self, bytes: usize) -> Self {
        self.max_event_len = bytes;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// Why the parser stopped. The stream is well-formed by the specification's rules
/// (every byte sequence is), but it broke a limit the caller set in [`Config`].
///
/// Errors are final: once [`Parser::feed`] has returned one, it returns the same
/// error for every later chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A line longer than [`Config::max_line_len`]. Likely cause: a server that
    /// never ends a line, or a body that is not an event stream at all.
    LineTooLong {
        /// Byte offset where the line starts.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },
    /// An event whose data exceeds [`Config::max_event_len`]. Likely cause: a server
    /// that never sends the blank line that ends an event.
    EventTooLarge {
        /// Byte offset of the `data` line that crossed the limit.
        offset: u64,
        /// The limit in force.
        limit: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::LineTooLong { offset, limit } => write!(
                f,
                "line starting at byte {offset} is longer than the limit of {limit} bytes"
            ),
            Error::EventTooLarge { offset, limit } => write!(
                f,
                "event data reaches past the limit of {limit} bytes at the data line at byte {offset}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// How many lines ended in each way; a probe uses it to flag mixed line endings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEndings {
    /// Lines ended by LF alone.
    pub lf: u64,
    /// Lines ended by CR LF.
    pub crlf: u64,
    /// Lines ended by CR alone.
    pub cr: u64,
}

impl LineEndings {
    /// How many of the three styles occur.
    pub fn styles_used(&self) -> usize {
        [self.lf, self.crlf, self.cr]
            .iter()
            .filter(|n| **n > 0)
            .count()
    }
}

/// The parser's state when the stream ends; see [`Parser::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End<'a> {
    /// The stream's last event ID as set by the last dispatch (WHATWG §9.2.6
    /// dispatch step 1). An `id` field in an unfinished block does not count.
    pub last_event_id: &'a [u8],
    /// The reconnection time set by the last valid `retry` field, if any.
    pub retry_ms: Option<u64>,
    /// The unfinished block discarded at the end, if the stream did not end on a
    /// blank line (WHATWG §9.2.6: "any pending data must be discarded").
    pub discarded: Option<Discarded>,
    /// Total bytes fed.
    pub bytes: u64,
    /// Whether the stream began with a byte-order mark (which was stripped).
    pub bom: bool,
    /// Line-end counts over the whole stream.
    pub line_endings: LineEndings,
}

impl End<'_> {
    /// True when the stream was cut inside an event: the unfinished block had
    /// `data` lines (it would have fired had its blank line arrived), or the stream
    /// stopped in the middle of a line. A block of only comments or fields without
    /// data (a trailing heartbeat, say) does not count; see [`End::discarded`].
    pub fn discarded_partial_event(&self) -> bool {
        self.discarded
            .is_some_and(|d| d.data_lines > 0 || d.partial_line_len > 0)
    }
}

/// What an unfinished final block held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discarded {
    /// Byte offset of the block's first line.
    pub offset: u64,
    /// Complete `data` lines the block had (the event would have fired if > 0).
    pub data_lines: usize,
    /// Bytes of an unterminated last line.
    pub partial_line_len: usize,
}

/// Where a field value lives until dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// Not set, or set to empty.
    Empty,
    /// A range of the chunk being fed.
    Chunk(Range<usize>),
    /// In the slot's owned buffer.
    Owned,
}

impl Slot {
    /// The slot's value.
    #[inline]
    fn text<'a>(&self, chunk: ChunkText<'a>, owned: &'a TextBuf) -> Text<'a> {
        match self {
            Slot::Empty => Text::default(),
            Slot::Chunk(r) => chunk.text(r.clone()),
            Slot::Owned => owned.text(),
        }
    }

    /// Moves a chunk range into `owned` before the chunk goes away.
    #[inline(always)]
    fn spill(&mut self, chunk: ChunkText<'_>, owned: &mut TextBuf) {
        if let Slot::Chunk(r) = self {
            let range = r.clone();
            *self = Slot::Owned;
            owned.clear();
            owned.push_chunk(chunk, range);
        }
    }

    /// Sets the slot from a value on a carried (not in-chunk) line.
    fn set_owned(&mut self, value: &[u8], owned: &mut TextBuf) {
        owned.clear();
        owned.push_bytes(value);
        *self = Slot::Owned;
    }
}

/// Matching of a leading byte-order mark, which may arrive split across chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// This many bytes of the stream so far are a prefix of the BOM.
    Matching(u8),
    /// Decided: the BOM was stripped, or the stream does not start with one.
    Done,
}

/// An incremental, zero-copy parser for one `text/event-stream` (WHATWG §9.2.6).
///
/// Feed it the stream's bytes in chunks of any size with [`Parser::feed`]; it calls
/// you back with each [`Item`] in stream order. When the stream ends, call
/// [`Parser::finish`] for the final state. Parsing never fails on malformed input —
/// the specification gives every byte sequence a meaning — only on the limits in
/// [`Config`].
///
/// ```
/// use pulsecheck_sse::{Item, Parser};
///
/// let mut parser = Parser::new();
/// let mut seen = Vec::new();
/// for chunk in [&b"data: hel"[..], b"lo\r", b"\n\r\n: ping\n"] {
///     parser.feed(chunk, |item| match item {
///         Item::Event(e) => seen.push(e.data.to_str().into_owned()),
///         Item::Comment(c) => seen.push(format!("comment:{}", c.text.to_str())),
///         _ => {}
///     })?;
/// }
/// assert_eq!(seen, ["hello", "comment: ping"]);
/// // The trailing comment opened a block that never ended, but no event was lost.
/// assert!(!parser.finish().discarded_partial_event());
/// # Ok::<(), pulsecheck_sse::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Parser {
    config: Config,
    /// Stream bytes consumed before the current chunk.
    offset: u64,
    bom: BomState,
    bom_stripped: bool,
    /// The previous chunk ended with CR: an LF starting this one belongs to it.
    after_cr: bool,
    /// The unfinished last line of earlier chunks.
    carry: Vec<u8>,
    /// Stream offset where `carry` starts.
    carry_offset: u64,
    /// Stream offset of the first line of the open block, if one is open.
    block_start: Option<u64>,

    event_type: Slot,
    event_type_owned: TextBuf,

    /// Number of `data` lines in the open block.
    data_lines: usize,
    /// Size of the spec's data buffer (values plus one LF each).
    data_len: usize,
    /// In-chunk data lines, while `data_owned` is not in use.
    data_spans: Vec<Range<usize>>,
    /// Data lines joined by LF, once the block has crossed a chunk boundary,
    /// from `data_owned_start` on (a carried line taken over whole keeps its
    /// `data: ` prefix in front).
    data_owned: TextBuf,
    data_owned_start: usize,
    data_is_owned: bool,

    /// The last event ID buffer.
    id_buffer: Slot,
    id_buffer_owned: TextBuf,
    /// The id buffer changed since the last dispatch.
    id_dirty: bool,
    /// The stream's last event ID (set at dispatch).
    last_id: Slot,
    last_id_owned: TextBuf,

    retry_ms: Option<u64>,
    line_endings: LineEndings,
    error: Option<Error>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// A classified non-blank, non-comment line, with positions relative to the line.
struct Field {
    /// End of the name (the first colon, or the line's end).
    name_end: usize,
    /// Start of the value (after the colon and one optional space).
    value_start: usize,
    has_colon: bool,
}

/// Splits a field line into name and value (WHATWG §9.2.6).
#[inline(always)]
fn split_field(line: &[u8]) -> Field {
    // Fast path: most lines of real streams are `data:` lines.
    let colon = if line.starts_with(b"data:") {
        Some(4)
    } else {
        memchr(b':', line)
    };
    match colon {
        // "Collect the characters on the line before the first U+003A COLON
        // character (:), and let field be that string. Collect the characters on
        // the line after the first U+003A COLON character (:), and let value be
        // that string. If value starts with a U+0020 SPACE character, remove it
        // from value."
        Some(colon) => Field {
            name_end: colon,
            value_start: if line.get(colon + 1) == Some(&b' ') {
                colon + 2
            } else {
                colon + 1
            },
            has_colon: true,
        },
        // "Otherwise, the string is not empty but does not contain a U+003A COLON
        // character (:): Process the field using the whole line as the field name,
        // and the empty string as the field value."
        None => Field {
            name_end: line.len(),
            value_start: line.len(),
            has_colon: false,
        },
    }
}

/// The end of the first line of `bytes` (the position of its CR or LF), if any.
#[inline(always)]
fn first_line_end(bytes: &[u8]) -> Option<usize> {
    // An empty line (the end of an event) needs no search.
    match bytes.first() {
        Some(b'\n' | b'\r') => Some(0),
        _ => memchr2(b'\n', b'\r', bytes),
    }
}

/// Parses a `retry` value: `Some` when it is one or more ASCII digits.
#[inline]
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |ms, d| {
        ms.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

impl Parser {
    /// A parser with the default [`Config`].
    pub fn new() -> Self {
        Parser::with_config(Config::DEFAULT)
    }

    /// A parser with the given limits.
    pub fn with_config(config: Config) -> Self {
        Parser {
            config,
            offset: 0,
            bom: BomState::Matching(0),
            bom_stripped: false,
            after_cr: false,
            carry: Vec::new(),
            carry_offset: 0,
            block_start: None,
            event_type: Slot::Empty,
            event_type_owned: TextBuf::default(),
            data_lines: 0,
            data_len: 0,
            data_spans: Vec::new(),
            data_owned: TextBuf::default(),
            data_owned_start: 0,
            data_is_owned: false,
            id_buffer: Slot::Empty,
            id_buffer_owned: TextBuf::default(),
            id_dirty: false,
            last_id: Slot::Empty,
            last_id_owned: TextBuf::default(),
            retry_ms: None,
            line_endings: LineEndings::default(),
            error: None,
        }
    }

    /// The limits this parser enforces.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Returns the parser to its initial state, keeping its buffers' capacity and
    /// its configuration, for the next stream (a reconnection starts a new stream).
    pub fn reset(&mut self) {
        let mut fresh = Parser::with_config(self.config);
        core::mem::swap(&mut fresh.carry, &mut self.carry);
        core::mem::swap(&mut fresh.data_spans, &mut self.data_spans);
        fresh.carry.clear();
        fresh.data_spans.clear();
        fresh.data_owned = self.data_owned.take();
        fresh.event_type_owned = self.event_type_owned.take();
        fresh.id_buffer_owned = self.id_buffer_owned.take();
        fresh.last_id_owned = self.last_id_owned.take();
        *self = fresh;
    }

    /// Feeds the next chunk of the stream, calling `on_item` for every item it
    /// completes, in stream order.
    ///
    /// Items borrow `chunk` or the parser and live for the call of `on_item`.
    /// Returns an error when a [`Config`] limit is exceeded; the items before the
    /// offending line have been delivered, and the parser stays failed.
    pub fn feed<F>(&mut self, chunk: &[u8], mut on_item: F) -> Result<(), Error>
    where
        F: FnMut(Item<'_>),
    {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.feed_chunk(chunk, &mut on_item) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.error = Some(error);
                Err(error)
            }
        }
    }

    /// The final state, once the whole stream has been fed. An unfinished block is
    /// reported in [`End::discarded`] and never dispatched.
    pub fn finish(&self) -> End<'_> {
        let partial_line_len = match self.bom {
            BomState::Matching(n) => usize::from(n),
            BomState::Done => self.carry.len(),
        };
        let discarded = if self.block_start.is_some() || partial_line_len > 0 {
            Some(Discarded {
                offset: self.block_start.unwrap_or(self.carry_offset),
                data_lines: self.data_lines,
                partial_line_len,
            })
        } else {
            None
        };
        End {
            last_event_id: self
                .last_id
                .text(ChunkText::empty(), &self.last_id_owned)
                .as_bytes(),
            retry_ms: self.retry_ms,
            discarded,
            bytes: self.offset,
            bom: self.bom_stripped,
            line_endings: self.line_endings,
        }
    }

    fn feed_chunk<F>(&mut self, chunk: &[u8], on_item: &mut F) -> Result<(), Error>
    where
        F: FnMut(Item<'_>),
    {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut pos = 0;

        // WHATWG §9.2.5: the stream is decoded with "UTF-8 decode", which strips
        // one leading byte-order mark, only at the very start.
        if let BomState::Matching(matched) = self.bom {
            let mut n = usize::from(matched);
            while n < BOM.len() {
                match chunk.get(pos) {
                    None => {
                        // The whole chunk is a BOM prefix; wait for more.
                        self.bom = BomState::Matching(n as u8);
                        self.offset += chunk.len() as u64;
                        return Ok(());
                    }
                    Some(&b) if b == BOM[n] => {
                        n += 1;
                        pos += 1;
                    }
                    Some(_) => break,
                }
            }
            self.bom = BomState::Done;
            if n == BOM.len() {
                self.bom_stripped = true;
            } else if n == pos {
                // The prefix lies in this chunk: it is ordinary content.
                pos = 0;
            } else {
                // Prefix bytes from earlier chunks are the start of the first line.
                self.carry.extend_from_slice(&BOM[..n]);
                self.carry_offset = 0;
            }
        }

        if self.after_cr {
            self.after_cr = false;
            if chunk.get(pos) == Some(&b'\n') {
                pos += 1;
                self.line_endings.cr = self.line_endings.cr.saturating_sub(1);
                self.line_endings.crlf += 1;
            }
        }

        // Fields of a carried line are checked when they are read.
        if !self.carry.is_empty() {
            let rest = chunk.get(pos..).unwrap_or_default();
            match memchr2(b'\n', b'\r', rest) {
                None => {
                    self.check_line_len(self.carry.len() + rest.len(), self.carry_offset)?;
                    self.extend_carry(rest);
                    self.offset += chunk.len() as u64;
                    return Ok(());
                }
                Some(i) => {
                    self.check_line_len(self.carry.len() + i, self.carry_offset)?;
                    self.extend_carry(&rest[..i]);
                    let carried = core::mem::take(&mut self.carry);
                    // Nothing refers to an earlier chunk: `spill` moved it all.
                    self.process_carried_line(ChunkText::empty(), carried, on_item)?;
                    pos = self.consume_line_end(chunk, pos + i);
                }
            }
        }

        // Validate the lines that start and end in this chunk, once: from the
        // first line start (a character split across chunks belongs to the
        // carried line) to the last line end (what follows is carried, and checked
        // when its line is read). A chunk that completes no line of its own (a long
        // line passing through) needs no validation here.
        let lines = chunk.get(pos..).unwrap_or_default();
        let base = self.offset + pos as u64;
        // The last line end: what follows it is carried. One backward search decides
        // both whether the chunk ends a line at all and how much of it to validate at
        // once; the lines before it are found by the forward searches of `feed_lines`,
        // so no byte is searched twice.
        let Some(last_end) = memrchr2(b'\n', b'\r', lines) else {
            // Part of a line that goes on in the next chunk.
            if !lines.is_empty() {
                self.check_line_len(lines.len(), base)?;
                self.carry.extend_from_slice(lines);
                self.carry_offset = base;
            }
            self.spill(ChunkText::empty());
            self.offset += chunk.len() as u64;
            return Ok(());
        };
        let validate_len = Some(last_end).filter(|&end| end >= VALIDATE_CHUNK_MIN);
        let text = ChunkText::new(lines, validate_len);
        let result = self.feed_lines(text, base, on_item);
        // Whatever happened, nothing may keep pointing into the chunk.
        self.spill(text);
        if result.is_ok() {
            self.offset += chunk.len() as u64;
        }
        result
    }

    /// Processes the lines of `text` (the chunk after any carried line; `base` is
    /// its stream offset) and carries its unfinished last line.
    #[inline(always)]
    fn feed_lines<F>(
        &mut self,
        text: ChunkText<'_>,
        base: u64,
        on_item: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(Item<'_>),
    {
        let lines = text.bytes();
        let mut pos = 0;
        loop {
            let rest = lines.get(pos..).unwrap_or_default();
            match first_line_end(rest) {
                Some(i) => {
                    let line_offset = base + pos as u64;
                    self.check_line_len(i, line_offset)?;
                    self.process_line(text, &rest[..i], Some(pos), line_offset, on_item)?;
                    pos = self.consume_line_end(lines, pos + i);
                }
                None => {
                    if !rest.is_empty() {
                        self.check_line_len(rest.len(), base + pos as u64)?;
                        self.carry.extend_from_slice(rest);
                        self.carry_offset = base + pos as u64;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Appends to a line carried over from earlier chunks. A long line (one that spans
    /// many chunks) grows its buffer fourfold instead of doubling it, within the line
    /// limit: a line of n bytes then costs about n/3 bytes of reallocation copies
    /// instead of n, and the extra capacity is never touched, so it costs no memory
    /// until it is used.
    #[inline]
    fn extend_carry(&mut self, bytes: &[u8]) {
        let needed = self.carry.len() + bytes.len();
        if needed > self.carry.capacity() && self.carry.len() >= LONG_LINE {
            let wanted = needed
                .max(self.carry.capacity().saturating_mul(4))
                .min(self.config.max_line_len.max(needed));
            self.carry.reserve_exact(wanted - self.carry.len());
        }
        self.carry.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn check_line_len(&self, len: usize, offset: u64) -> Result<(), Error> {
        if len > self.config.max_line_len {
            return Err(Error::LineTooLong {
                offset,
                limit: self.config.max_line_len,
            });
        }
        Ok(())
    }

    /// Consumes the line end at `at` (a CR or LF) and returns the position after it.
    #[inline(always)]
    fn consume_line_end(&mut self, chunk: &[u8], at: usize) -> usize {
        // WHATWG §9.2.5: end-of-line = ( cr lf / cr / lf )
        if chunk.get(at) == Some(&b'\n') {
            self.line_endings.lf += 1;
            return at + 1;
        }
        match chunk.get(at + 1) {
            Some(b'\n') => {
                self.line_endings.crlf += 1;
                at + 2
            }
            Some(_) => {
                self.line_endings.cr += 1;
                at + 1
            }
            None => {
                // Undecided until the next chunk: counted as CR for now.
                self.line_endings.cr += 1;
                self.after_cr = true;
                at + 1
            }
        }
    }

    /// Processes one complete line (WHATWG §9.2.6). `in_chunk` is the line's start
    /// in `chunk` when it lies there; `None` when it was carried over, in which case
    /// any value kept past this call is copied.
    #[inline(always)]
    fn process_line<F>(
        &mut self,
        chunk: ChunkText<'_>,
        line: &[u8],
        in_chunk: Option<usize>,
        line_offset: u64,
        on_item: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(Item<'_>),
    {
        match line.first() {
            // "If the line is empty (a blank line): Dispatch the event."
            None => {
                self.dispatch(chunk, on_item);
                return Ok(());
            }
            // "If the line starts with a U+003A COLON character (:): Ignore the line."
            Some(b':') => {
                self.block_start.get_or_insert(line_offset);
                let text = match in_chunk {
                    Some(start) => chunk.text(start + 1..start + line.len()),
                    None => Text::from_bytes(line.get(1..).unwrap_or_default()),
                };
                on_item(Item::Comment(Comment {
                    text,
                    offset: line_offset,
                }));
                return Ok(());
            }
            Some(_) => {}
        }
        let Field {
            name_end,
            value_start,
            has_colon,
        } = split_field(line);
        self.block_start.get_or_insert(line_offset);
        let name = line.get(..name_end).unwrap_or_default();
        let value = line.get(value_start..).unwrap_or_default();
        let value_range = in_chunk.map(|start| start + value_start..start + line.len());

        match name {
            b"data" => {
                // "Append the field value to the data buffer, then append a single
                // U+000A LINE FEED (LF) character to the data buffer."
                let grown = self.data_len + value.len() + 1;
                if grown > self.config.max_event_len {
                    return Err(Error::EventTooLarge {
                        offset: line_offset,
                        limit: self.config.max_event_len,
                    });
                }
                self.data_len = grown;
                match value_range {
                    Some(range) if !self.data_is_owned => self.data_spans.push(range),
                    _ => {
                        if !self.data_is_owned {
                            self.own_data(chunk);
                        }
                        if self.data_lines > 0 {
                            self.data_owned.push_lf();
                        }
                        match value_range {
                            Some(range) => self.data_owned.push_chunk(chunk, range),
                            None => self.data_owned.push_bytes(value),
                        }
                    }
                }
                self.data_lines += 1;
            }
            b"event" => match value_range {
                // "Set the event type buffer to the field value."
                Some(range) => self.event_type = Slot::Chunk(range),
                None => self.event_type.set_owned(value, &mut self.event_type_owned),
            },
            b"id" => {
                // "If the field value does not contain U+0000 NULL, then set the last
                // event ID buffer to the field value. Otherwise, ignore the field."
                if memchr(0, value).is_some() {
                    on_item(Item::Ignored(Ignored {
                        reason: IgnoreReason::IdContainsNul,
                        name,
                        value,
                        offset: line_offset,
                    }));
                } else {
                    match value_range {
                        Some(range) => self.id_buffer = Slot::Chunk(range),
                        None => self.id_buffer.set_owned(value, &mut self.id_buffer_owned),
                    }
                    self.id_dirty = true;
                }
            }
            b"retry" => match parse_retry(value) {
                // "If the field value consists of only ASCII digits, then interpret
                // the field value as an integer in base ten, and set the event
                // stream's reconnection time to that integer."
                Some(ms) => {
                    self.retry_ms = Some(ms);
                    on_item(Item::Retry(Retry {
                        ms,
                        offset: line_offset,
                    }));
                }
                None => on_item(Item::Ignored(Ignored {
                    reason: IgnoreReason::InvalidRetry,
                    name,
                    value,
                    offset: line_offset,
                })),
            },
            // "Otherwise: The field is ignored."
            _ => on_item(Item::Ignored(Ignored {
                reason: if has_colon {
                    IgnoreReason::UnknownField
                } else {
                    IgnoreReason::LineWithoutColon
                },
                name,
                value,
                offset: line_offset,
            })),
        }
        Ok(())
    }

    /// Processes the line completed from `carry`, then gives a buffer back to
    /// `carry`. The first `data` line of a block — typically a long line that
    /// spanned many chunks — becomes the data buffer as it is, without a copy.
    fn process_carried_line<F>(
        &mut self,
        chunk: ChunkText<'_>,
        line: Vec<u8>,
        on_item: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(Item<'_>),
    {
        let offset = self.carry_offset;
        if self.data_lines == 0 && !self.data_is_owned && line.starts_with(b"data") {
            let field = split_field(&line);
            if field.name_end == 4 {
                let grown = line.len() - field.value_start + 1;
                if grown > self.config.max_event_len {
                    self.carry = line;
                    self.carry.clear();
                    return Err(Error::EventTooLarge {
                        offset,
                        limit: self.config.max_event_len,
                    });
                }
                self.block_start.get_or_insert(offset);
                self.data_len = grown;
                self.data_lines = 1;
                self.data_is_owned = true;
                self.data_owned_start = field.value_start;
                self.carry = self.data_owned.replace_with_bytes(line);
                return Ok(());
            }
        }
        let result = self.process_line(chunk, &line, None, offset, on_item);
        self.carry = line;
        self.carry.clear();
        result
    }

    /// WHATWG §9.2.6 "dispatch the event", on a blank line.
    #[inline(always)]
    fn dispatch<F>(&mut self, chunk: ChunkText<'_>, on_item: &mut F)
    where
        F: FnMut(Item<'_>),
    {
        // Step 1: "Set the last event ID string of the event source to the value of
        // the last event ID buffer. The buffer does not get reset."
        let sets_id = self.id_dirty;
        if self.id_dirty {
            self.id_dirty = false;
            self.last_id = self.id_buffer.clone();
            if self.last_id == Slot::Owned {
                self.last_id_owned.copy_from(&self.id_buffer_owned);
            }
        }
        let block_start = self.block_start.take();
        // Step 2: "If the data buffer is an empty string, set the data buffer and
        // the event type buffer to the empty string and return."
        if self.data_lines == 0 {
            self.event_type = Slot::Empty;
            return;
        }
        // Steps 3-6: drop the trailing LF (we never stored it); the type is the
        // event type buffer, or "message" when it is empty.
        let mut event_type = self.event_type.text(chunk, &self.event_type_owned);
        if event_type.is_empty() {
            event_type = Text::from(DEFAULT_EVENT_TYPE);
        }
        let data = if self.data_is_owned {
            Data::joined(self.data_owned.text_from(self.data_owned_start))
        } else {
            Data::lines_in(chunk, &self.data_spans)
        };
        on_item(Item::Event(Event {
            event_type,
            data,
            last_event_id: self.last_id.text(chunk, &self.last_id_owned),
            sets_id,
            offset: block_start.unwrap_or(0),
        }));
        // Step 7: "Set the data buffer and the event type buffer to the empty string."
        self.event_type = Slot::Empty;
        self.data_lines = 0;
        self.data_len = 0;
        self.data_spans.clear();
        if self.data_is_owned {
            self.data_owned.clear();
            self.data_owned_start = 0;
            self.data_is_owned = false;
        }
    }

    /// Moves the open block's in-chunk data lines into `data_owned`.
    fn own_data(&mut self, chunk: ChunkText<'_>) {
        if self.data_is_owned {
            return;
        }
        self.data_owned.clear();
        self.data_owned_start = 0;
        for (i, span) in self.data_spans.iter().enumerate() {
            if i > 0 {
                self.data_owned.push_lf();
            }
            self.data_owned.push_chunk(chunk, span.clone());
        }
        self.data_spans.clear();
        self.data_is_owned = true;
    }

    /// Copies everything that still points into `chunk` before it goes away.
    fn spill(&mut self, chunk: ChunkText<'_>) {
        if self.data_lines > 0 {
            self.own_data(chunk);
        }
        self.event_type.spill(chunk, &mut self.event_type_owned);
        self.id_buffer.spill(chunk, &mut self.id_buffer_owned);
        self.last_id.spill(chunk, &mut self.last_id_owned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `stream` fed in `chunk`-sized pieces into readable strings.
    fn parse(stream: &[u8], chunk: usize) -> (Vec<String>, String) {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        for piece in stream.chunks(chunk.max(1)) {
            parser
                .feed(piece, |item| {
                    out.push(match item {
                        Item::Event(e) => format!(
                            "event {} {:?} id={:?}",
                            e.event_type.to_str(),
                            e.data.to_str(),
                            e.last_event_id.to_str()
                        ),
                        Item::Comment(c) => format!("comment {:?}", c.text.to_str()),
                        Item::Retry(r) => format!("retry {}", r.ms),
                        Item::Ignored(i) => format!("ignored {}", i.reason.as_str()),
                    })
                })
                .unwrap();
        }
        let end = parser.finish();
        let end = format!(
            "end id={:?} retry={:?} discarded={}",
            String::from_utf8_lossy(end.last_event_id),
            end.retry_ms,
            end.discarded.is_some()
        );
        (out, end)
    }

    /// Every chunking gives the same result as the whole stream.
    fn check(stream: &[u8], items: &[&str], end: &str) {
        for chunk in 1..=stream.len().max(1) {
            let (got, got_end) = parse(stream, chunk);
            assert_eq!(got, items, "chunk size {chunk}");
            assert_eq!(got_end, end, "chunk size {chunk}");
        }
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        // WHATWG §9.2.6 example: "data: YHOO / data: +2 / data: 10"
        check(
            b"data: YHOO\ndata: +2\ndata: 10\n\n",
            &["event message \"YHOO\\n+2\\n10\" id=\"\""],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        // PROTOCOL.md §1.2: a CRLF split across chunks is one line end, not two.
        check(
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            &["event message \"a\" id=\"\"", "event message \"b\" id=\"\""],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn bom_split_across_chunks_is_stripped_once() {
        check(
            b"\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\n",
            &["event message \"x\" id=\"\"", "ignored unknown-field"],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn bom_prefix_that_is_not_a_bom_is_content() {
        check(
            b"\xEF\xBBdata: x\n\ndata: y\n\n",
            &["ignored unknown-field", "event message \"y\" id=\"\""],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn final_line_ended_by_cr_is_not_lost() {
        check(
            b"data: x\r\r",
            &["event message \"x\" id=\"\""],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn retry_accepts_digits_only() {
        check(
            b"retry: +1000\nretry: 1000 \nretry:\nretry: 0042\n",
            &[
                "ignored invalid-retry",
                "ignored invalid-retry",
                "ignored invalid-retry",
                "retry 42",
            ],
            "end id=\"\" retry=Some(42) discarded=true",
        );
    }

    #[test]
    fn id_only_block_sets_last_event_id_and_bare_id_resets_it() {
        check(
            b"id: 7\n\ndata: a\n\nid\n\ndata: b\n\n",
            &[
                "event message \"a\" id=\"7\"",
                "event message \"b\" id=\"\"",
            ],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn events_say_whether_their_own_block_set_the_id() {
        let mut parser = Parser::new();
        let mut sets = Vec::new();
        parser
            .feed(
                b"id: 1\ndata: a\n\ndata: b\n\nid: 1\ndata: c\n\nid: \0\ndata: d\n\n",
                |item| {
                    if let Item::Event(e) = item {
                        sets.push((e.sets_id, e.last_event_id.to_str().into_owned()));
                    }
                },
            )
            .unwrap();
        let expected = [(true, "1"), (false, "1"), (true, "1"), (false, "1")];
        assert_eq!(sets, expected.map(|(s, id)| (s, id.to_owned())));
    }

    #[test]
    fn id_with_nul_is_ignored() {
        check(
            b"id: 1\n\nid: a\0b\ndata: x\n\n",
            &["ignored id-contains-nul", "event message \"x\" id=\"1\""],
            "end id=\"1\" retry=None discarded=false",
        );
    }

    #[test]
    fn id_in_unfinished_block_does_not_count() {
        check(
            b"id: 1\n\nid: 2\ndata: x\n",
            &[],
            "end id=\"1\" retry=None discarded=true",
        );
    }

    #[test]
    fn one_leading_space_is_removed_and_others_kept() {
        check(
            b"data:  two\ndata:\tTab\n\n",
            &["event message \" two\\n\\tTab\" id=\"\""],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn unknown_and_colonless_lines_are_ignored_not_errors() {
        check(
            b"Data: x\nfoo\ndata\n\n",
            &[
                "ignored unknown-field",
                "ignored line-without-colon",
                "event message \"\" id=\"\"",
            ],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn event_type_resets_after_dispatch_even_without_data() {
        check(
            b"event: a\n\ndata: x\n\n",
            &["event message \"x\" id=\"\""],
            "end id=\"\" retry=None discarded=false",
        );
    }

    #[test]
    fn line_limit_is_enforced_however_chunked() {
        let stream = b"data: ok\n\ndata: this line is too long\n\n";
        let config = Config::default().with_max_line_len(12);
        for chunk in 1..=stream.len() {
            let mut parser = Parser::with_config(config);
            let mut events = 0;
            let mut result = Ok(());
            for piece in stream.chunks(chunk) {
                result = parser.feed(piece, |_| events += 1);
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(events, 1, "chunk size {chunk}");
            assert_eq!(
                result,
                Err(Error::LineTooLong {
                    offset: 10,
                    limit: 12
                }),
                "chunk size {chunk}"
            );
            // The failure is final.
            assert!(parser.feed(b"\n", |_| {}).is_err());
        }
    }

    #[test]
    fn event_limit_is_enforced() {
        let config = Config::default().with_max_event_len(8);
        let mut parser = Parser::with_config(config);
        // "abc\n" + "defg\n" = 9 bytes of data buffer.
        let result = parser.feed(b"data: abc\ndata: defg\n\n", |_| {});
        assert_eq!(
            result,
            Err(Error::EventTooLarge {
                offset: 10,
                limit: 8
            })
        );
    }

    #[test]
    fn in_chunk_event_borrows_the_chunk() {
        let chunk = b"data: a\ndata: b\n\n".to_vec();
        let range = chunk.as_ptr_range();
        let mut parser = Parser::new();
        let mut checked = false;
        parser
            .feed(&chunk, |item| {
                if let Item::Event(e) = item {
                    for line in e.data.lines() {
                        assert!(range.contains(&line.as_ptr()));
                    }
                    assert_eq!(e.data.line_count(), 2);
                    assert_eq!(e.data.len(), 3);
                    checked = true;
                }
            })
            .unwrap();
        assert!(checked);
    }

    #[test]
    fn validated_fields_are_handed_out_as_text_and_invalid_ones_are_not() {
        // A chunk long enough to be validated up front: every field of the event is
        // already text (no second validation), in the chunk and after a spill.
        let stream = "id: 7é\nevent: ünits\ndata: héllo\ndata: wörld\n: ça va\n".as_bytes();
        let mut parser = Parser::new();
        let mut comments = Vec::new();
        parser
            .feed(stream, |item| {
                if let Item::Comment(c) = item {
                    comments.push(c.text.as_str().map(str::to_owned));
                }
            })
            .unwrap();
        assert_eq!(comments, [Some(" ça va".to_owned())]);
        let mut seen = Vec::new();
        parser
            .feed(
                b"data: ! (long enough to be validated)\n\n\xFF: bad\ndata: \xFF\n\n",
                |item| {
                    if let Item::Event(e) = item {
                        seen.push((
                            e.event_type.as_str().map(str::to_owned),
                            e.last_event_id.as_str().map(str::to_owned),
                            e.data
                                .as_contiguous_text()
                                .and_then(|t| t.as_str().map(str::to_owned)),
                            e.data.to_str().into_owned(),
                        ));
                    }
                },
            )
            .unwrap();
        let text = |s: &str| Some(s.to_owned());
        assert_eq!(
            seen,
            [
                (
                    text("ünits"),
                    text("7é"),
                    text("héllo\nwörld\n! (long enough to be validated)"),
                    "héllo\nwörld\n! (long enough to be validated)".to_owned()
                ),
                (text("message"), text("7é"), None, "\u{FFFD}".to_owned()),
            ]
        );
    }

    #[test]
    fn offsets_count_the_bom_and_point_at_block_starts() {
        let mut parser = Parser::new();
        let mut offsets = Vec::new();
        parser
            .feed(b"\xEF\xBB\xBF: hi\ndata: x\n\nretry: 5\n", |item| {
                offsets.push(item.offset())
            })
            .unwrap();
        assert_eq!(offsets, [3, 3, 17]);
        let end = parser.finish();
        assert!(end.bom);
        assert_eq!(end.line_endings.lf, 4);
    }

    #[test]
    fn line_endings_are_counted_once_across_chunks() {
        let mut parser = Parser::new();
        for piece in [&b"a\r"[..], b"\nb\rc\n"] {
            parser.feed(piece, |_| {}).unwrap();
        }
        let end = parser.finish();
        assert_eq!(
            end.line_endings,
            LineEndings {
                lf: 1,
                crlf: 1,
                cr: 1
            }
        );
        assert_eq!(end.line_endings.styles_used(), 3);
    }

    #[test]
    fn reset_starts_a_new_stream() {
        let mut parser = Parser::new();
        parser
            .feed(b"id: 1\ndata: x\n\ndata: partial", |_| {})
            .unwrap();
        parser.reset();
        let end = parser.finish();
        assert_eq!(end.last_event_id, b"");
        assert_eq!(end.discarded, None);
        assert_eq!(end.bytes, 0);
    }
}
