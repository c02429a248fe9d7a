//! What one connection to an SSE endpoint showed: the response head, the body's
//! bytes with their arrival times, and what a WHATWG client made of them.
//!
//! A [`Capture`] is filled by a probe as chunks arrive (bounded: bytes past
//! [`Capture::MAX_KEPT_BYTES`] are counted, parsed, and dropped) and then read by
//! the checks, most of which are pure functions of it. That keeps the checks
//! testable on captures made up in tests, and lets many checks share one
//! connection.

use std::time::Duration;

use pulsecheck_sse::{Config, IgnoreReason, Item, LineEndings, Parser};

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

/// Everything one connection showed.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Status code.
    pub status: u16,
    /// `HTTP/1.1`, `HTTP/2`.
    pub version: String,
    /// Response headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// When the response head arrived.
    pub head_at: Duration,
    /// The body chunks kept (up to [`Capture::MAX_KEPT_BYTES`]), with arrival times.
    pub chunks: Vec<(Duration, Vec<u8>)>,
    /// All body bytes received, kept or not.
    pub body_bytes: u64,
    /// Everything the parser reported, in order.
    pub seen: Vec<Seen>,
    /// Line-end counts.
    pub line_endings: LineEndings,
    /// Whether the body began with a byte-order mark.
    pub bom_at_start: bool,
    /// Offsets of byte-order marks after the start of the body.
    pub bom_elsewhere: Vec<u64>,
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
}

impl Capture {
    /// Body bytes kept for transcripts and checks; the rest is parsed and counted.
    pub const MAX_KEPT_BYTES: usize = 1 << 20;

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
            body_bytes: 0,
            seen: Vec::new(),
            line_endings: LineEndings::default(),
            bom_at_start: false,
            bom_elsewhere: Vec::new(),
            invalid_utf8_at: None,
            ended_inside_event: false,
            closed_inside_block: None,
            last_event_id: String::new(),
            end: BodyEnd::WindowOver,
            observed_for: head_at,
            // Lines and events past these limits are a failure in themselves, and
            // the limits bound the probe's memory whatever the server sends.
            parser: Parser::with_config(
                Config::default()
                    .with_max_line_len(1 << 20)
                    .with_max_event_len(4 << 20),
            ),
            tail: Vec::new(),
            utf8_checked: 0,
        }
    }

    /// The first value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Records a body chunk that arrived at `at`. Returns `false` when the parser's
    /// limits stopped the capture (see [`Capture::end`]).
    pub fn push(&mut self, at: Duration, chunk: &[u8]) -> bool {
        let start = self.body_bytes;
        self.check_bytes(start, chunk);
        self.body_bytes += chunk.len() as u64;
        let kept: usize = self.chunks.iter().map(|(_, c)| c.len()).sum();
        if kept < Self::MAX_KEPT_BYTES {
            let room = Self::MAX_KEPT_BYTES - kept;
            self.chunks.push((
                at,
                chunk
                    .get(..room.min(chunk.len()))
                    .unwrap_or_default()
                    .to_vec(),
            ));
        }
        let seen = &mut self.seen;
        let fed = self.parser.feed(chunk, |item| {
            let kind = match item {
                Item::Event(e) => SeenKind::Event {
                    event_type: e.event_type.to_str().into_owned(),
                    data: e.data.to_str().into_owned(),
                    id: e.last_event_id.to_str().into_owned(),
                    sets_id: e.sets_id,
                },
                Item::Comment(c) => SeenKind::Comment(c.text.to_str().into_owned()),
                Item::Retry(r) => SeenKind::Retry(r.ms),
                Item::Ignored(i) => SeenKind::Ignored {
                    reason: i.reason,
                    line: format!(
                        "{}{}",
                        String::from_utf8_lossy(i.name),
                        if i.value.is_empty() && i.reason == IgnoreReason::LineWithoutColon {
                            String::new()
                        } else {
                            format!(": {}", String::from_utf8_lossy(i.value))
                        }
                    ),
                },
                _ => return,
            };
            seen.push(Seen {
                at,
                offset: item.offset(),
                kind,
            });
        });
        match fed {
            Ok(()) => true,
            Err(e) => {
                self.end = BodyEnd::ParserLimit(e.to_string());
                false
            }
        }
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
                self.bom_elsewhere.push(offset);
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

    /// The ignored lines with the given reason.
    pub fn ignored(&self, reason: IgnoreReason) -> impl Iterator<Item = (&Seen, &str)> {
        self.seen.iter().filter_map(move |s| match &s.kind {
            SeenKind::Ignored { reason: r, line } if *r == reason => Some((s, line.as_str())),
            _ => None,
        })
    }

    /// The longest time without any body byte arriving, from the response head to
    /// the end of the observation, and when that silence began.
    pub fn longest_silence(&self) -> (Duration, Duration) {
        let mut last = self.head_at;
        let mut longest = (Duration::ZERO, self.head_at);
        for (at, _) in &self.chunks {
            let gap = at.saturating_sub(last);
            if gap > longest.0 {
                longest = (gap, last);
            }
            last = *at;
        }
        let gap = self.observed_for.saturating_sub(last);
        if gap > longest.0 {
            longest = (gap, last);
        }
        longest
    }

    /// A transcript of the response head and the body bytes around `offset`
    /// (the chunk holding it and its neighbours), or of the start of the body.
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
        let mut start = 0u64;
        let target = offset.unwrap_or(0);
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
        t
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
}
