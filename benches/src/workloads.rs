//! Deterministic SSE workloads: the same bytes on every run and every machine.
//!
//! Each generator writes an `text/event-stream` body with one [`LineEnding`]
//! for every line, and counts, while it writes, what a correct WHATWG parser
//! dispatches: the number of events (blocks with a non-empty data buffer) and
//! the total length in bytes of their decoded `data` (lines joined with LF,
//! no trailing LF). Randomness comes from a splitmix64 with a fixed
//! seed per generator, so no `rand` dependency and no drift between versions (see [`crate::rng`]).

use crate::rng::Rng;

/// The line terminator used for every line of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineEnding {
    /// `\n`, what nearly every server sends.
    Lf,
    /// `\r\n`.
    CrLf,
    /// A lone `\r`: legal, rare, and where parsers disagree.
    Cr,
}

impl LineEnding {
    /// Every ending, in the order [`all`] uses.
    pub const ALL: [LineEnding; 3] = [LineEnding::Lf, LineEnding::CrLf, LineEnding::Cr];

    /// The terminator's bytes.
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::Cr => b"\r",
        }
    }

    /// The suffix used in workload names: `lf`, `crlf` or `cr`.
    pub const fn name(self) -> &'static str {
        match self {
            LineEnding::Lf => "lf",
            LineEnding::CrLf => "crlf",
            LineEnding::Cr => "cr",
        }
    }
}

/// One benchmark input and what a correct parser makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `generator/ending`, e.g. `llm/lf`, `tiny/crlf`, `multiline/cr`, `line1mib/lf`.
    pub name: String,
    /// The line ending every line of [`Workload::bytes`] uses.
    pub ending: LineEnding,
    /// The complete stream.
    pub bytes: Vec<u8>,
    /// How many events a WHATWG parser dispatches.
    pub events: usize,
    /// Sum of the decoded `data` lengths (UTF-8 bytes) of those events.
    pub data_bytes: usize,
    /// Decoded `data` length of the final dispatched event (0 if there is none);
    /// lets a test state exactly what a parser that loses the last event reports.
    pub last_data_bytes: usize,
}

/// The size the benchmarks use: every generator aims at about 1 MiB.
pub const DEFAULT_TARGET: usize = 1 << 20;

/// Writes lines with one ending and keeps the WHATWG tally while it does.
struct Writer {
    bytes: Vec<u8>,
    eol: &'static [u8],
    /// Length of the data buffer of the event being written, `None` while it has no data line.
    pending_data: Option<usize>,
    events: usize,
    data_bytes: usize,
    last_data_bytes: usize,
}

impl Writer {
    fn new(ending: LineEnding, capacity: usize) -> Self {
        Writer {
            bytes: Vec::with_capacity(capacity),
            eol: ending.as_bytes(),
            pending_data: None,
            events: 0,
            data_bytes: 0,
            last_data_bytes: 0,
        }
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    /// `name: value` + EOL. `value` must hold no CR or LF.
    fn field(&mut self, name: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(b": ");
        self.bytes.extend_from_slice(value);
        self.bytes.extend_from_slice(self.eol);
    }

    /// A `data:` line; `value` must not start with a space (it would be kept).
    fn data(&mut self, value: &[u8]) {
        self.field(b"data", value);
        self.pending_data = Some(match self.pending_data {
            None => value.len(),
            Some(n) => n + 1 + value.len(),
        });
    }

    /// `:text` + EOL.
    fn comment(&mut self, text: &[u8]) {
        self.bytes.push(b':');
        self.bytes.extend_from_slice(text);
        self.bytes.extend_from_slice(self.eol);
    }

    /// The blank line that ends a block; counts an event if the block had data.
    fn dispatch(&mut self) {
        self.bytes.extend_from_slice(self.eol);
        if let Some(n) = self.pending_data.take() {
            self.events += 1;
            self.data_bytes += n;
            self.last_data_bytes = n;
        }
    }

    fn finish(self, kind: &str, ending: LineEnding) -> Workload {
        debug_assert!(self.pending_data.is_none(), "every event is terminated");
        Workload {
            name: format!("{kind}/{}", ending.name()),
            ending,
            bytes: self.bytes,
            events: self.events,
            data_bytes: self.data_bytes,
            last_data_bytes: self.last_data_bytes,
        }
    }
}

/// ASCII tokens, already JSON-escaped (`\n`, `\"` appear as two characters).
const ASCII_TOKENS: &[&str] = &[
    " the", " a", " of", " and", " to", " in", " is", " that", " for", " it", " with", " as",
    " on", " model", " token", " stream", " data", " server", " event", " parser", " Rust",
    " bytes", " fast", " line", " each", " we", " can", "ing", "ed", "er", "ly", "s", ".", ",",
    ":", " (", ")", " 42", "\\n", "\\n\\n", " \\\"", "\\\"", " -", " 2024",
];

/// Non-ASCII tokens: 2-, 3- and 4-byte UTF-8 sequences.
const UNICODE_TOKENS: &[&str] = &[
    "é", " café", "ü", " über", " naïve", "ñ", "—", "中文", "你好", "世界", "🙂", "🚀", " 👍",
];

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// An LLM token stream of about `target` bytes.
///
/// Each event is one `data: {json}` line of about 180 bytes in the shape of an
/// OpenAI `chat.completion.chunk`, one token per event (about 5% of tokens are
/// non-ASCII), then a blank line. About 1 event in 10 carries an `id:` line
/// before its data, about 1 in 50 is preceded by a `: keepalive` block (the
/// comment, then a blank line, which dispatches nothing), and the stream ends
/// with `data: [DONE]`.
pub fn llm_tokens(ending: LineEnding, target: usize) -> Workload {
    let mut rng = Rng(0x5EED_0001_11A7_0C3E);
    let mut w = Writer::new(ending, target + 512);
    let mut completion_id = [0u8; 29];
    let mut created: u64 = 1_718_000_000;
    let mut left_in_completion = 0usize;
    let mut event_id: u64 = 0;
    let mut json = Vec::with_capacity(256);
    // Leave room for the final `[DONE]` event.
    while w.len() + 200 < target || w.events == 0 {
        if left_in_completion == 0 {
            left_in_completion = rng.between(100, 400);
            for b in &mut completion_id {
                *b = *rng.pick(ALNUM);
            }
            created += 1 + rng.below(5) as u64;
        }
        left_in_completion -= 1;

        if rng.below(50) == 0 {
            w.comment(b" keepalive");
            w.dispatch();
        }
        event_id += 1;
        if rng.below(10) == 0 {
            w.field(b"id", event_id.to_string().as_bytes());
        }
        let token = if rng.below(20) == 0 {
            rng.pick(UNICODE_TOKENS)
        } else {
            rng.pick(ASCII_TOKENS)
        };
        json.clear();
        json.extend_from_slice(b"{\"id\":\"chatcmpl-");
        json.extend_from_slice(&completion_id);
        json.extend_from_slice(b"\",\"object\":\"chat.completion.chunk\",\"created\":");
        json.extend_from_slice(created.to_string().as_bytes());
        json.extend_from_slice(
            b",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"",
        );
        json.extend_from_slice(token.as_bytes());
        json.extend_from_slice(b"\"}}]}");
        w.data(&json);
        w.dispatch();
    }
    w.data(b"[DONE]");
    w.dispatch();
    w.finish("llm", ending)
}

/// About `target` bytes of tiny events: `data: N` (N is 1 to 8 digits), blank line.
pub fn tiny_events(ending: LineEnding, target: usize) -> Workload {
    let mut rng = Rng(0x5EED_0002_0000_71A7);
    let mut w = Writer::new(ending, target + 32);
    let mut digits = [0u8; 8];
    while w.len() < target || w.events == 0 {
        let n = rng.between(1, 8);
        for d in &mut digits[..n] {
            *d = b'0' + rng.below(10) as u8;
        }
        w.data(&digits[..n]);
        w.dispatch();
    }
    w.finish("tiny", ending)
}

/// Printable ASCII for multi-line and long-line payloads (no CR, LF).
const TEXT: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_/=+()[]{}<>#@!?*&%$";

/// About `target` bytes of big events: `event: log`, then 20 to 200 data lines
/// of 40 to 120 bytes each, then a blank line.
pub fn large_multiline(ending: LineEnding, target: usize) -> Workload {
    let mut rng = Rng(0x5EED_0003_00D1_11E5);
    let mut w = Writer::new(ending, target + 200 * 130);
    let mut line = Vec::with_capacity(128);
    while w.len() < target || w.events == 0 {
        w.field(b"event", b"log");
        for _ in 0..rng.between(20, 200) {
            let len = rng.between(40, 120);
            line.clear();
            // A letter first, so no line starts with the space the parser strips.
            line.push(*rng.pick(&ALNUM[..52]));
            for _ in 1..len {
                line.push(*rng.pick(TEXT));
            }
            w.data(&line);
        }
        w.dispatch();
    }
    w.finish("multiline", ending)
}

/// A single event whose one data line is `target` bytes of ASCII, then the blank line.
pub fn one_mib_line(ending: LineEnding, target: usize) -> Workload {
    let mut rng = Rng(0x5EED_0004_0001_1FE5);
    let mut w = Writer::new(ending, target + 16);
    let mut line = Vec::with_capacity(target);
    // A letter first, so the line does not start with the space the parser strips.
    line.push(*rng.pick(&ALNUM[..52]));
    while line.len() < target {
        line.push(*rng.pick(TEXT));
    }
    w.data(&line);
    w.dispatch();
    w.finish("line1mib", ending)
}

/// Every generator × every ending, at [`DEFAULT_TARGET`] (about 1 MiB each).
pub fn all() -> Vec<Workload> {
    all_sized(DEFAULT_TARGET)
}

/// Every generator × every ending, each aiming at about `target` bytes
/// (tests use a smaller size to stay fast in debug builds). Names do not
/// depend on the size: `line1mib/*` is `target` bytes long here.
pub fn all_sized(target: usize) -> Vec<Workload> {
    let generators: [fn(LineEnding, usize) -> Workload; 4] =
        [llm_tokens, tiny_events, large_multiline, one_mib_line];
    let mut out = Vec::with_capacity(generators.len() * LineEnding::ALL.len());
    for generate in generators {
        for ending in LineEnding::ALL {
            out.push(generate(ending, target));
        }
    }
    out
}

/// Splits `bytes` into the chunks a network read would hand over:
/// `None` is the whole buffer as one chunk, `Some(n)` is chunks of `n` bytes
/// (the last one shorter). `Some(0)` is taken as `Some(1)`.
pub fn chunked(bytes: &[u8], chunk: Option<usize>) -> Vec<&[u8]> {
    match chunk {
        None => vec![bytes],
        Some(n) => bytes.chunks(n.max(1)).collect(),
    }
}
