//! What one connection to an SSE endpoint showed: the response head, the body's
//! bytes with their arrival times, and what a WHATWG client made of them.
//!
//! A [`Capture`] is filled by a probe as chunks arrive and then read by the
//! checks, most of which are pure functions of it. That keeps the checks
//! testable on captures made up in tests, and lets many checks share one
//! connection.
//!
//! # Bounded, whatever the server sends
//!
//! A capture keeps a fixed amount of the stream (see
//! [`budget`](crate::budget)), however much of it arrives: every byte is parsed
//! and judged as it arrives, and what the checks judge is kept as counts,
//! first occurrences and running measures rather than as the items themselves.
//!
//! - **Bytes**: the first [`Capture::MAX_KEPT_BYTES`] (a prefix, for transcripts of
//!   the stream's start), the last few chunks (for how it ended), and a short
//!   excerpt around the first occurrence of each fault found later.
//! - **Items** (events, comments, retries, ignored lines): the first
//!   [`Capture::MAX_KEPT_ITEMS`], always a prefix of the stream; after them only
//!   counts ([`Counts`]) and the first few ignored lines of each kind.
//! - **Ids**: judged by [`IdStats`] in two windows of [`IdStats::WINDOW`] ids.
//! - **Silences**: the longest gap between chunks, measured as they arrive.
//!
//! The kept bytes and items are taken from the run's shared
//! [`PEER_BYTES`] budget, so that many captures at once
//! cannot add up past it; a capture that finds the budget spent keeps less
//! evidence, and judges the same.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use pulsecheck_sse::{Config, IgnoreReason, Item, LineEndings, Parser};

use crate::budget::{Lease, PEER_BYTES};
use crate::check::{Direction, Transcript};

/// How the observed body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyEnd {
    /// The server ended the response.
    Closed,
    /// The probe stopped reading when its observation window ended.
    WindowOver,
    /// The probe stopped reading at its byte limit.
    ByteLimit,
    /// The parser's line or event limit was exceeded.
    ParserLimit(String),
    /// Reading failed (a reset, an HTTP/2 stream error).
    Failed(String),
    /// The body's HTTP/1.1 framing is broken (an invalid chunk, fewer bytes than
    /// announced): the sentence that locates it and quotes the bytes.
    Malformed(String),
}

/// One item the client saw, with the time the chunk that completed it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Time since the request started.
    pub at: Duration,
    /// Byte offset of the item's line in the body.
    pub offset: u64,
    /// What it was.
    pub kind: SeenKind,
}

/// The kinds of [`Seen`] items: the parser's items, owned and decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeenKind {
    /// A dispatched event.
    Event {
        /// Its type.
        event_type: String,
        /// Its data.
        data: String,
        /// The last event ID at dispatch.
        id: String,
        /// Whether this event's own block set the id (rather than inheriting it).
        sets_id: bool,
    },
    /// A comment (heartbeat).
    Comment(String),
    /// A valid `retry`.
    Retry(u64),
    /// An ignored line.
    Ignored {
        /// Why.
        reason: IgnoreReason,
        /// The raw line, decoded.
        line: String,
    },
}

impl SeenKind {
    /// Roughly the memory the item takes, for the budget.
    fn size(&self) -> usize {
        64 + match self {
            SeenKind::Event {
                event_type,
                data,
                id,
                ..
            } => event_type.len() + data.len() + id.len(),
            SeenKind::Comment(c) => c.len(),
            SeenKind::Retry(_) => 0,
            SeenKind::Ignored { line, .. } => line.len(),
        }
    }
}

/// How many of each item the parser reported, kept or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events dispatched.
    pub events: u64,
    /// Comment lines.
    pub comments: u64,
    /// Valid `retry` fields.
    pub retries: u64,
    /// Where the last valid `retry` field was.
    pub last_retry_offset: Option<u64>,
    /// Items not kept in [`Capture::seen`] (counted here only).
    pub not_kept: u64,
    /// How far apart the events came.
    pub event_spacing: Spacing,
    /// How far apart the comments came.
    pub comment_spacing: Spacing,
}

/// How far apart the items of one kind came, measured as they arrive (so it
/// holds for the whole stream, not only the items a capture keeps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spacing {
    last: Option<Duration>,
    longest: Duration,
}

impl Spacing {
    /// Takes an item that arrived at `at`; `from` is when the response head
    /// arrived (the start of the first gap).
    fn record(&mut self, from: Duration, at: Duration) {
        let previous = self.last.unwrap_or(from);
        self.longest = self.longest.max(at.saturating_sub(previous));
        self.last = Some(at.max(previous));
    }

    /// The longest gap between the response head (`from`), the items, and the
    /// end of the observation (`end`).
    pub fn longest(&self, from: Duration, end: Duration) -> Duration {
        self.longest
            .max(end.saturating_sub(self.last.unwrap_or(from)))
    }
}

/// The lines ignored for one reason: how many, and the first few.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IgnoredLines {
    reason: IgnoreReason,
    count: u64,
    first: Vec<Seen>,
}

/// The explicit event ids of a stream (ids an event's own block set), judged as
/// they arrive, in memory that does not grow with the stream.
///
/// **Uniqueness** is exact for the first [`IdStats::WINDOW`] ids: each is
/// compared with every one before it. After that, each id is compared with the
/// first [`IdStats::WINDOW`] ids and with the [`IdStats::WINDOW`] ids before it
/// (ids are kept as 64-bit keyed hashes, so a false repeat has a chance of about
/// one in 10^10 per run). A stream whose ids are all strictly increasing numbers
/// is unique by construction, whatever its length, and is reported so.
/// [`IdStats::judged`] says which of these applied.
#[derive(Debug, Clone)]
pub struct IdStats {
    /// Events whose own block set an id.
    pub count: u64,
    /// The first id set twice: the id, the offset of its first and of its second
    /// event.
    pub repeated: Option<(String, u64, u64)>,
    /// Whether every id was a number (fitting 128 bits).
    pub numeric: bool,
    /// The first two numeric ids in a row that did not increase.
    pub not_increasing: Option<(u128, u128)>,
    /// Ids a cross-origin reconnection could not send without a preflight (over
    /// 128 bytes, or with a CORS-unsafe byte).
    pub cors_unsafe: u64,
    /// The first such id (cut at 200 bytes).
    pub first_cors_unsafe: Option<String>,
    last_number: Option<u128>,
    hasher: RandomState,
    /// Hash → offset of the first [`IdStats::WINDOW`] distinct ids.
    first: HashMap<u64, u64>,
    /// The last [`IdStats::WINDOW`] ids (hash, offset), and how often each hash
    /// occurs among them with the offset of its latest occurrence.
    recent: VecDeque<u64>,
    recent_index: HashMap<u64, (u32, u64)>,
}

impl Default for IdStats {
    fn default() -> Self {
        IdStats {
            count: 0,
            repeated: None,
            numeric: true,
            not_increasing: None,
            cors_unsafe: 0,
            first_cors_unsafe: None,
            last_number: None,
            hasher: RandomState::new(),
            first: HashMap::new(),
            recent: VecDeque::new(),
            recent_index: HashMap::new(),
        }
    }
}

/// Fetch's CORS-unsafe request-header bytes.
fn cors_unsafe(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7F || b"\"():<>?@[\\]{}".contains(&b)
}

impl IdStats {
    /// The ids compared exactly, and the size of the window after them.
    pub const WINDOW: usize = 16_384;

    /// Takes the id an event's block set, at `offset`.
    pub fn record(&mut self, id: &str, offset: u64) {
        self.count += 1;
        if id.len() > 128 || id.bytes().any(cors_unsafe) {
            self.cors_unsafe += 1;
            if self.first_cors_unsafe.is_none() {
                let mut shown = id.to_owned();
                crate::budget::truncate(&mut shown, 200);
                self.first_cors_unsafe = Some(shown);
            }
        }
        let number = id.parse::<u128>().ok();
        match (number, self.last_number) {
            (Some(n), Some(last)) if n <= last && self.not_increasing.is_none() => {
                self.not_increasing = Some((last, n));
            }
            _ => {}
        }
        self.numeric &= number.is_some();
        self.last_number = number;
        let hash = self.hasher.hash_one(id);
        if self.repeated.is_none() && !self.increasing_numbers() {
            let before = self
                .first
                .get(&hash)
                .copied()
                .or_else(|| self.recent_index.get(&hash).map(|&(_, at)| at));
            if let Some(first) = before {
                let mut shown = id.to_owned();
                crate::budget::truncate(&mut shown, 200);
                self.repeated = Some((shown, first, offset));
            }
        }
        self.remember(hash, offset);
    }

    /// Keeps the id in the windows (also while ids increase, so that a stream
    /// that stops increasing is still compared with its recent past).
    fn remember(&mut self, hash: u64, offset: u64) {
        if self.first.len() < Self::WINDOW {
            self.first.entry(hash).or_insert(offset);
        }
        self.recent.push_back(hash);
        let slot = self.recent_index.entry(hash).or_insert((0, offset));
        *slot = (slot.0 + 1, offset);
        if self.recent.len() > Self::WINDOW
            && let Some(old) = self.recent.pop_front()
            && let Some(slot) = self.recent_index.get_mut(&old)
        {
            slot.0 -= 1;
            if slot.0 == 0 {
                self.recent_index.remove(&old);
            }
        }
    }

    /// Whether every id so far is a number greater than the one before.
    pub fn increasing_numbers(&self) -> bool {
        self.numeric && self.not_increasing.is_none()
    }

    /// How uniqueness was judged, for reports.
    pub fn judged(&self) -> String {
        if self.count <= Self::WINDOW as u64 {
            "every id compared with every other".to_owned()
        } else if self.increasing_numbers() {
            "strictly increasing numbers, so all distinct".to_owned()
        } else {
            format!(
                "each id compared with the first {} and with the {} before it",
                Self::WINDOW,
                Self::WINDOW
            )
        }
    }
}

/// Everything one connection showed.
#[derive(Debug)]
pub struct Capture {
    /// Status code.
    pub status: u16,
    /// `HTTP/1.1`, `HTTP/2`.
    pub version: String,
    /// Response headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// When the response head arrived.
    pub head_at: Duration,
    /// The first body chunks (up to [`Capture::MAX_KEPT_BYTES`]), with arrival
    /// times: a prefix of the body.
    pub chunks: Vec<(Duration, Vec<u8>)>,
    /// When the first body byte arrived.
    pub first_byte_at: Option<Duration>,
    /// All body bytes received, kept or not.
    pub body_bytes: u64,
    /// The first items the parser reported (up to [`Capture::MAX_KEPT_ITEMS`]), in
    /// order: a prefix of the stream's items; [`Capture::counts`] counts them all.
    pub seen: Vec<Seen>,
    /// How many of each item the parser reported.
    pub counts: Counts,
    /// The explicit event ids, judged.
    pub ids: IdStats,
    /// Line-end counts.
    pub line_endings: LineEndings,
    /// Whether the body began with a byte-order mark.
    pub bom_at_start: bool,
    /// Offsets of the first byte-order marks after the start of the body (at most
    /// 16), and [`Capture::boms_elsewhere`] counts them all.
    pub bom_elsewhere: Vec<u64>,
    /// How many byte-order marks came after the start of the body.
    pub boms_elsewhere: u64,
    /// Offset of the first byte that is not valid UTF-8, if any.
    pub invalid_utf8_at: Option<u64>,
    /// The unfinished block at the end: `Some` when the body ended inside an event
    /// (data lines or a partial line), counted only when the server closed.
    pub ended_inside_event: bool,
    /// Where the unfinished block the server closed the stream in began (comments
    /// and fields without data count), if it did.
    pub closed_inside_block: Option<u64>,
    /// The last event ID at the end.
    pub last_event_id: String,
    /// How the body ended.
    pub end: BodyEnd,
    /// How long the probe observed.
    pub observed_for: Duration,
    parser: Parser,
    /// Up to 3 trailing bytes of the previous chunk, for BOM and UTF-8 checks
    /// across chunk boundaries.
    tail: Vec<u8>,
    utf8_checked: u64,
    ignored: Vec<IgnoredLines>,
    /// The last chunks (body offset, arrival, bytes), for how the stream ended.
    last_chunks: VecDeque<(u64, Duration, Vec<u8>)>,
    /// Excerpts (body offset, arrival, bytes) around first occurrences found past
    /// the kept prefix.
    excerpts: Vec<(u64, Duration, Vec<u8>)>,
    kept_bytes: usize,
    /// Roughly the memory the kept items take.
    seen_bytes: usize,
    /// Whether the items stopped being kept (they stay a prefix).
    items_full: bool,
    /// The longest gap between chunks so far, and when it began.
    longest_gap: (Duration, Duration),
    last_chunk_at: Duration,
    /// What the kept bytes and items hold of the shared budget.
    lease: Lease,
}

/// The parser limits of a probe: lines and events past them are a failure in
/// themselves (`sse/format/line-length`), and they bound the parser's memory
/// whatever the server sends.
pub fn probe_parser() -> Parser {
    Parser::with_config(
        Config::default()
            .with_max_line_len(1 << 20)
            .with_max_event_len(4 << 20),
    )
}

impl Capture {
    /// Body bytes kept as a prefix for transcripts; the rest is parsed, judged and
    /// counted.
    pub const MAX_KEPT_BYTES: usize = 256 << 10;

    /// Items kept in [`Capture::seen`], at most [`Capture::MAX_KEPT_ITEM_BYTES`] of
    /// them; the rest is counted.
    pub const MAX_KEPT_ITEMS: usize = 4096;

    /// The most memory the kept items take.
    pub const MAX_KEPT_ITEM_BYTES: usize = 512 << 10;

    /// The last chunks kept, at most this many bytes.
    const LAST_CHUNKS_BYTES: usize = 32 << 10;

    /// First occurrences past the prefix shown with this many bytes either side.
    const EXCERPT_RADIUS: u64 = 256;

    /// At most this many excerpts.
    const MAX_EXCERPTS: usize = 8;

    /// Ignored lines of each kind kept as examples.
    const IGNORED_EXAMPLES: usize = 3;

    /// A capture of a response with this head; feed it the body with
    /// [`Capture::push`] and close it with [`Capture::finish`].
    pub fn new(
        status: u16,
        version: &str,
        headers: Vec<(String, String)>,
        head_at: Duration,
    ) -> Self {
        Capture {
            status,
            version: version.to_owned(),
            headers,
            head_at,
            chunks: Vec::new(),
            first_byte_at: None,
            body_bytes: 0,
            seen: Vec::new(),
            counts: Counts::default(),
            ids: IdStats::default(),
            line_endings: LineEndings::default(),
            bom_at_start: false,
            bom_elsewhere: Vec::new(),
            boms_elsewhere: 0,
            invalid_utf8_at: None,
            ended_inside_event: false,
            closed_inside_block: None,
            last_event_id: String::new(),
            end: BodyEnd::WindowOver,
            observed_for: head_at,
            parser: probe_parser(),
            tail: Vec::new(),
            utf8_checked: 0,
            ignored: Vec::new(),
            last_chunks: VecDeque::new(),
            excerpts: Vec::new(),
            kept_bytes: 0,
            seen_bytes: 0,
            items_full: false,
            longest_gap: (Duration::ZERO, head_at),
            last_chunk_at: head_at,
            lease: Lease::empty(),
        }
    }

    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Takes `bytes` from the shared budget for what this capture keeps.
    fn take(&mut self, bytes: usize) -> bool {
        match PEER_BYTES.try_take(bytes) {
            Some(lease) => {
                self.lease.merge(lease);
                true
            }
            None => false,
        }
    }

    /// Records a body chunk that arrived at `at`. Returns `false` when the parser's
    /// limits stopped the capture (see [`Capture::end`]).
    pub fn push(&mut self, at: Duration, chunk: &[u8]) -> bool {
        if chunk.is_empty() {
            return true;
        }
        let start = self.body_bytes;
        self.first_byte_at.get_or_insert(at);
        let gap = at.saturating_sub(self.last_chunk_at);
        if gap > self.longest_gap.0 {
            self.longest_gap = (gap, self.last_chunk_at);
        }
        self.last_chunk_at = at;
        let firsts_before = self.firsts();
        self.check_bytes(start, chunk);
        self.body_bytes += chunk.len() as u64;
        self.keep_chunk(start, at, chunk);
        let fed = self.parse(at, chunk);
        if self.firsts() != firsts_before {
            self.keep_excerpt(start, at, chunk);
        }
        match fed {
            Ok(()) => true,
            Err(e) => {
                self.end = BodyEnd::ParserLimit(e.to_string());
                false
            }
        }
    }

    /// The number of first occurrences found so far (a new one adds an excerpt).
    fn firsts(&self) -> usize {
        usize::from(self.invalid_utf8_at.is_some())
            + self.bom_elsewhere.len().min(1)
            + usize::from(self.ids.repeated.is_some())
            + usize::from(self.ids.not_increasing.is_some())
            + usize::from(self.ids.first_cors_unsafe.is_some())
            + self.ignored.len()
    }

    /// Keeps the chunk in the prefix while there is room, and among the last
    /// chunks.
    fn keep_chunk(&mut self, start: u64, at: Duration, chunk: &[u8]) {
        if self.kept_bytes < Self::MAX_KEPT_BYTES && self.chunks.len() < Self::MAX_KEPT_ITEMS {
            let room = Self::MAX_KEPT_BYTES - self.kept_bytes;
            let kept = chunk.get(..room.min(chunk.len())).unwrap_or_default();
            // The first chunk is kept whatever the budget says: promptness and
            // transcripts of the stream's start depend on it.
            if self.chunks.is_empty() || self.take(kept.len()) {
                self.kept_bytes += kept.len();
                self.chunks.push((at, kept.to_vec()));
            } else {
                self.kept_bytes = Self::MAX_KEPT_BYTES;
            }
        }
        let last = chunk
            .get(chunk.len().saturating_sub(Self::LAST_CHUNKS_BYTES)..)
            .unwrap_or(chunk);
        let offset = start + (chunk.len() - last.len()) as u64;
        self.last_chunks.push_back((offset, at, last.to_vec()));
        let mut held: usize = self.last_chunks.iter().map(|(_, _, b)| b.len()).sum();
        while held > Self::LAST_CHUNKS_BYTES
            && let Some((_, _, old)) = self.last_chunks.pop_front()
        {
            held -= old.len();
        }
    }

    /// Keeps a short excerpt of `chunk` around the newest first occurrence, when
    /// the kept prefix does not show it.
    fn keep_excerpt(&mut self, start: u64, at: Duration, chunk: &[u8]) {
        if start < self.kept_bytes as u64 || self.excerpts.len() >= Self::MAX_EXCERPTS {
            return;
        }
        let end = start + chunk.len() as u64;
        let offset = [
            self.invalid_utf8_at,
            self.bom_elsewhere.first().copied(),
            self.ids.repeated.as_ref().map(|r| r.2),
            self.ignored
                .last()
                .and_then(|i| i.first.first())
                .map(|s| s.offset),
        ]
        .into_iter()
        .flatten()
        .filter(|&o| o < end)
        .max()
        .unwrap_or(start)
        .max(start);
        let from = offset.saturating_sub(Self::EXCERPT_RADIUS).max(start);
        let to = (offset + Self::EXCERPT_RADIUS).min(end);
        let bytes = chunk
            .get((from - start) as usize..(to - start) as usize)
            .unwrap_or_default();
        self.excerpts.push((from, at, bytes.to_vec()));
    }

    /// Feeds the parser and records what it reports.
    fn parse(&mut self, at: Duration, chunk: &[u8]) -> Result<(), pulsecheck_sse::Error> {
        let head_at = self.head_at;
        let Capture {
            parser,
            counts,
            ids,
            ignored,
            items_full,
            ..
        } = self;
        let mut wanted: Vec<Seen> = Vec::new();
        let fed = parser.feed(chunk, |item| {
            let offset = item.offset();
            let kind = match item {
                Item::Event(e) => {
                    counts.events += 1;
                    counts.event_spacing.record(head_at, at);
                    let id = e.last_event_id.to_str();
                    if e.sets_id {
                        ids.record(&id, offset);
                    }
                    if *items_full {
                        counts.not_kept += 1;
                        return;
                    }
                    SeenKind::Event {
                        event_type: e.event_type.to_str().into_owned(),
                        data: e.data.to_str().into_owned(),
                        id: id.into_owned(),
                        sets_id: e.sets_id,
                    }
                }
                Item::Comment(c) => {
                    counts.comments += 1;
                    counts.comment_spacing.record(head_at, at);
                    if *items_full {
                        counts.not_kept += 1;
                        return;
                    }
                    SeenKind::Comment(c.text.to_str().into_owned())
                }
                Item::Retry(r) => {
                    counts.retries += 1;
                    counts.last_retry_offset = Some(offset);
                    if *items_full {
                        counts.not_kept += 1;
                        return;
                    }
                    SeenKind::Retry(r.ms)
                }
                Item::Ignored(i) => {
                    let line = format!(
                        "{}{}",
                        String::from_utf8_lossy(i.name),
                        if i.value.is_empty() && i.reason == IgnoreReason::LineWithoutColon {
                            String::new()
                        } else {
                            format!(": {}", String::from_utf8_lossy(i.value))
                        }
                    );
                    let kind = SeenKind::Ignored {
                        reason: i.reason,
                        line,
                    };
                    let lines = match ignored.iter_mut().find(|l| l.reason == i.reason) {
                        Some(lines) => lines,
                        None => {
                            ignored.push(IgnoredLines {
                                reason: i.reason,
                                count: 0,
                                first: Vec::new(),
                            });
                            let Some(lines) = ignored.last_mut() else {
                                return;
                            };
                            lines
                        }
                    };
                    lines.count += 1;
                    if lines.first.len() < Self::IGNORED_EXAMPLES {
                        let mut example = Seen {
                            at,
                            offset,
                            kind: kind.clone(),
                        };
                        if let SeenKind::Ignored { line, .. } = &mut example.kind {
                            crate::budget::truncate(line, 200);
                        }
                        lines.first.push(example);
                    }
                    if *items_full {
                        counts.not_kept += 1;
                        return;
                    }
                    kind
                }
                _ => return,
            };
            wanted.push(Seen { at, offset, kind });
        });
        // Keep the items while there is room (in this capture and in the shared
        // budget); from the first that does not fit on, only count.
        for item in wanted {
            let size = item.kind.size();
            let fits = !self.items_full
                && self.seen.len() < Self::MAX_KEPT_ITEMS
                && self.seen_bytes + size <= Self::MAX_KEPT_ITEM_BYTES
                && self.take(size);
            if fits {
                self.seen_bytes += size;
                self.seen.push(item);
            } else {
                self.items_full = true;
                self.counts.not_kept += 1;
            }
        }
        fed
    }

    /// Tracks byte-order marks after the start and the first invalid UTF-8 byte,
    /// across chunk boundaries.
    fn check_bytes(&mut self, start: u64, chunk: &[u8]) {
        let mut joined = std::mem::take(&mut self.tail);
        let joined_start = start - joined.len() as u64;
        joined.extend_from_slice(chunk);
        for at in memchr::memmem::find_iter(&joined, b"\xEF\xBB\xBF") {
            let offset = joined_start + at as u64;
            if offset == 0 {
                self.bom_at_start = true;
            } else if offset + 3 > start && !self.bom_elsewhere.contains(&offset) {
                self.boms_elsewhere += 1;
                if self.bom_elsewhere.len() < 16 {
                    self.bom_elsewhere.push(offset);
                }
            }
        }
        if self.invalid_utf8_at.is_none() {
            // Validate from the first byte not yet validated; a character cut by the
            // chunk's end is carried over.
            let from = (self.utf8_checked.saturating_sub(joined_start)) as usize;
            let rest = joined.get(from..).unwrap_or_default();
            match simdutf8::compat::from_utf8(rest) {
                Ok(_) => self.utf8_checked = joined_start + joined.len() as u64,
                Err(e) => match e.error_len() {
                    Some(_) => {
                        self.invalid_utf8_at = Some(joined_start + (from + e.valid_up_to()) as u64)
                    }
                    None => self.utf8_checked = joined_start + (from + e.valid_up_to()) as u64,
                },
            }
        }
        let keep = joined.len().min(3);
        self.tail = joined.split_off(joined.len() - keep);
    }

    /// Closes the capture: how the body ended and how long it was observed.
    pub fn finish(&mut self, end: BodyEnd, observed_for: Duration) {
        if matches!(self.end, BodyEnd::ParserLimit(_)) {
            self.observed_for = observed_for;
            return;
        }
        if end == BodyEnd::Closed
            && self.invalid_utf8_at.is_none()
            && self.utf8_checked < self.body_bytes
        {
            // The body ended inside a character.
            self.invalid_utf8_at = Some(self.utf8_checked);
        }
        let state = self.parser.finish();
        self.line_endings = state.line_endings;
        self.last_event_id = String::from_utf8_lossy(state.last_event_id).into_owned();
        self.ended_inside_event = end == BodyEnd::Closed && state.discarded_partial_event();
        self.closed_inside_block = state
            .discarded
            .filter(|_| end == BodyEnd::Closed)
            .map(|d| d.offset);
        self.end = end;
        self.observed_for = observed_for;
    }

    /// The first ignored lines with the given reason (at most 3), with the line.
    pub fn ignored(&self, reason: IgnoreReason) -> impl Iterator<Item = (&Seen, &str)> {
        self.ignored
            .iter()
            .filter(move |l| l.reason == reason)
            .flat_map(|l| &l.first)
            .filter_map(|s| match &s.kind {
                SeenKind::Ignored { line, .. } => Some((s, line.as_str())),
                _ => None,
            })
    }

    /// How many lines were ignored with the given reason.
    pub fn ignored_count(&self, reason: IgnoreReason) -> u64 {
        self.ignored
            .iter()
            .find(|l| l.reason == reason)
            .map_or(0, |l| l.count)
    }

    /// The longest time without any body byte arriving, from the response head to
    /// the end of the observation, and when that silence began.
    pub fn longest_silence(&self) -> (Duration, Duration) {
        let gap = self.observed_for.saturating_sub(self.last_chunk_at);
        if gap > self.longest_gap.0 {
            (gap, self.last_chunk_at)
        } else {
            self.longest_gap
        }
    }

    /// A transcript of the response head and the body bytes around `offset` (the
    /// kept chunks near it, or the excerpt or last chunk nearest it), or of the
    /// start of the body.
    pub fn transcript_around(&self, offset: Option<u64>) -> Transcript {
        let mut t = Transcript::default();
        t.note(
            self.head_at,
            format!(
                "{} {}{}",
                self.version,
                self.status,
                self.headers
                    .iter()
                    .map(|(n, v)| format!("; {n}: {v}"))
                    .collect::<String>()
            ),
        );
        let target = offset.unwrap_or(0);
        if offset.is_none() || target < self.kept_bytes as u64 {
            let mut start = 0u64;
            let mut shown = 0;
            for (i, (at, bytes)) in self.chunks.iter().enumerate() {
                let end = start + bytes.len() as u64;
                let near = end + 512 >= target && start <= target + 512;
                if near || (offset.is_none() && i < 4) {
                    t.bytes(*at, Direction::Received, bytes);
                    shown += 1;
                    if shown >= 6 {
                        break;
                    }
                }
                start = end;
            }
        } else {
            // Past the kept prefix: the excerpt or last chunk nearest the offset.
            let distance = |from: u64, len: usize| {
                if target < from {
                    from - target
                } else {
                    target.saturating_sub(from + len as u64)
                }
            };
            let nearest = self
                .excerpts
                .iter()
                .chain(self.last_chunks.iter())
                .min_by_key(|(from, _, bytes)| distance(*from, bytes.len()));
            if let Some((from, at, bytes)) = nearest {
                t.note(*at, format!("body bytes from byte {from}:"));
                t.bytes(*at, Direction::Received, bytes);
            }
        }
        if self.counts.not_kept > 0 {
            let items = self.counts.events + self.counts.comments + self.counts.retries;
            t.note(
                self.observed_for,
                format!(
                    "{} bytes, {} items in all; {} items not recorded",
                    self.body_bytes,
                    crate::budget::count(items),
                    crate::budget::count(self.counts.not_kept)
                ),
            );
        }
        t
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #[test]
    fn spacing_counts_from_the_head_to_the_end_of_the_observation() {
        let ms = Duration::from_millis;
        let spaced = |times: &[u64]| {
            let mut spacing = Spacing::default();
            for &t in times {
                spacing.record(ms(5), ms(t));
            }
            spacing
        };
        assert_eq!(spaced(&[100, 300]).longest(ms(5), ms(310)), ms(200));
        assert_eq!(spaced(&[]).longest(ms(5), ms(900)), ms(895));
        assert_eq!(spaced(&[10]).longest(ms(5), ms(700)), ms(690));
    }

    use super::*;

    /// A capture of `chunks` arriving at the given milliseconds, closed by the server.
    pub(crate) fn capture(
        headers: &[(&str, &str)],
        chunks: &[(u64, &[u8])],
        end: BodyEnd,
    ) -> Capture {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let mut c = Capture::new(200, "HTTP/1.1", headers, Duration::from_millis(5));
        let mut last = Duration::from_millis(5);
        for (ms, bytes) in chunks {
            last = Duration::from_millis(*ms);
            c.push(last, bytes);
        }
        c.finish(end, last + Duration::from_millis(10));
        c
    }

    #[test]
    fn items_are_timed_by_the_chunk_that_completed_them() {
        let c = capture(
            &[],
            &[(10, b"data: a\n"), (20, b"\n: hb\n"), (30, b"retry: 5\n\n")],
            BodyEnd::Closed,
        );
        let kinds: Vec<(u64, &SeenKind)> = c
            .seen
            .iter()
            .map(|s| (s.at.as_millis() as u64, &s.kind))
            .collect();
        assert_eq!(kinds.len(), 3);
        assert_eq!(kinds[0].0, 20);
        assert!(matches!(kinds[0].1, SeenKind::Event { data, .. } if data == "a"));
        assert_eq!(kinds[2], (30, &SeenKind::Retry(5)));
        assert!(!c.ended_inside_event);
    }

    #[test]
    fn boms_and_invalid_utf8_are_found_across_chunk_boundaries() {
        let c = capture(
            &[],
            &[
                (1, b"\xEF\xBB\xBFdata: a\n\n\xEF"),
                (2, b"\xBB\xBFdata: \xC3"),
                (3, b"\xA9 \xFF\n\n"),
            ],
            BodyEnd::Closed,
        );
        assert!(c.bom_at_start);
        assert_eq!(c.bom_elsewhere, [12]);
        assert_eq!(c.invalid_utf8_at, Some(24));
    }

    #[test]
    fn a_body_cut_inside_an_event_or_a_character_is_noticed_when_the_server_closes() {
        let cut = capture(&[], &[(1, b"data: a\n\ndata: b\n")], BodyEnd::Closed);
        assert!(cut.ended_inside_event);
        let window = capture(&[], &[(1, b"data: a\n\ndata: b\n")], BodyEnd::WindowOver);
        assert!(!window.ended_inside_event);
        let char_cut = capture(&[], &[(1, b"data: \xC3")], BodyEnd::Closed);
        assert_eq!(char_cut.invalid_utf8_at, Some(6));
    }

    #[test]
    fn longest_silence_counts_the_end_of_the_window() {
        let c = capture(
            &[],
            &[(100, b": hb\n"), (300, b": hb\n")],
            BodyEnd::WindowOver,
        );
        // head at 5 ms, chunks at 100 and 300 ms, window until 310 ms.
        assert_eq!(
            c.longest_silence(),
            (Duration::from_millis(200), Duration::from_millis(100))
        );
    }
    #[test]
    fn a_flood_keeps_a_prefix_of_items_and_counts_them_all() {
        let mut c = Capture::new(200, "HTTP/1.1", Vec::new(), Duration::ZERO);
        let chunk = b": hb\ndata: x\n\nretry: 5\n".repeat(1000);
        for i in 0..100 {
            c.push(Duration::from_millis(i), &chunk);
        }
        c.finish(BodyEnd::WindowOver, Duration::from_millis(200));
        assert_eq!(c.counts.events, 100_000);
        assert_eq!(c.counts.comments, 100_000);
        assert_eq!(c.counts.retries, 100_000);
        assert_eq!(c.seen.len(), Capture::MAX_KEPT_ITEMS);
        assert_eq!(c.counts.not_kept, 300_000 - Capture::MAX_KEPT_ITEMS as u64);
        // The kept items are the stream's first ones, in order.
        assert!(matches!(c.seen[0].kind, SeenKind::Comment(_)));
        assert!(matches!(c.seen[1].kind, SeenKind::Event { .. }));
        let kept: usize = c.chunks.iter().map(|(_, b)| b.len()).sum();
        assert!(kept <= Capture::MAX_KEPT_BYTES);
        assert_eq!(c.body_bytes, 100 * chunk.len() as u64);
        let t = c.transcript_around(None);
        assert!(
            t.entries
                .iter()
                .any(|e| e.text.contains("items not recorded")),
            "{t:?}"
        );
    }

    #[test]
    fn silences_and_faults_past_the_kept_prefix_are_still_seen() {
        let mut c = Capture::new(200, "HTTP/1.1", Vec::new(), Duration::ZERO);
        let filler = b"data: x\n\n".repeat(10_000);
        let mut at = 0;
        while (c.body_bytes as usize) < 2 * Capture::MAX_KEPT_BYTES {
            at += 1;
            c.push(Duration::from_millis(at), &filler);
        }
        let bad_at = c.body_bytes + 6;
        c.push(
            Duration::from_millis(at + 20_000),
            b"data: \xff\n\nbogus: 1\n\n",
        );
        c.finish(BodyEnd::WindowOver, Duration::from_millis(at + 20_010));
        assert_eq!(c.invalid_utf8_at, Some(bad_at));
        assert_eq!(c.ignored_count(IgnoreReason::UnknownField), 1);
        assert_eq!(
            c.longest_silence(),
            (Duration::from_secs(20), Duration::from_millis(at))
        );
        // The evidence shows the bytes around the fault, not the stream's start.
        let t = c.transcript_around(Some(bad_at));
        assert!(
            t.entries.iter().any(|e| e.text.contains("data: \\xff")),
            "{t:?}"
        );
    }

    fn ids(list: impl IntoIterator<Item = String>) -> IdStats {
        let mut stats = IdStats::default();
        for (i, id) in list.into_iter().enumerate() {
            stats.record(&id, i as u64 * 10);
        }
        stats
    }

    #[test]
    fn ids_are_judged_exactly_up_to_the_window_and_in_windows_after() {
        // A repeat among the first ids is found, with both offsets.
        let small = ids(["a", "b", "a"].map(String::from));
        assert_eq!(small.repeated, Some(("a".to_owned(), 0, 20)));
        assert_eq!(small.judged(), "every id compared with every other");
        assert!(!small.numeric);
        // Far past the window: a repeat of one of the first ids, and a repeat of
        // a recent one, are both found.
        let n = 3 * IdStats::WINDOW;
        let of_first = ids((0..n).map(|i| format!("x{i}")).chain(["x5".to_owned()]));
        assert_eq!(
            of_first.repeated,
            Some(("x5".to_owned(), 50, n as u64 * 10))
        );
        let of_recent = ids((0..n)
            .map(|i| format!("x{i}"))
            .chain([format!("x{}", n - 9)]));
        assert!(of_recent.repeated.is_some());
        // What neither window holds is not compared, and the report says so.
        let between = ids((0..n)
            .map(|i| format!("x{i}"))
            .chain([format!("x{}", IdStats::WINDOW + 7)]));
        assert_eq!(between.repeated, None);
        assert!(
            between.judged().contains("the first 16384"),
            "{}",
            between.judged()
        );
    }

    #[test]
    fn increasing_numeric_ids_are_unique_by_construction_at_any_length() {
        let stats = ids((0..200_000u64).map(|i| (i * 3).to_string()));
        assert_eq!(stats.count, 200_000);
        assert!(stats.increasing_numbers() && stats.repeated.is_none());
        assert_eq!(
            stats.judged(),
            "strictly increasing numbers, so all distinct"
        );
        let back = ids(["1", "2", "2", "3"].map(String::from));
        assert_eq!(back.not_increasing, Some((2, 2)));
        assert_eq!(back.repeated, Some(("2".to_owned(), 10, 20)));
        let unsafe_ids = ids(["ok", "a:b", &"z".repeat(200)].map(String::from));
        assert_eq!(unsafe_ids.cors_unsafe, 2);
        assert_eq!(unsafe_ids.first_cors_unsafe.as_deref(), Some("a:b"));
    }
}
