//! `pulsecheck decode sse`: an event stream as JSON Lines.
//!
//! # Output format
//!
//! One JSON object per line, in stream order. Strings are the decoded text
//! (invalid UTF-8 becomes U+FFFD). `offset` is the byte offset in the input of the
//! line that produced the item (for an event, the first line of its block). Keys
//! may be added in later versions; none will be removed or change meaning.
//!
//! | `kind` | keys | when |
//! |---|---|---|
//! | `comment` | `text`, `offset` | a line starting with `:`; `text` is everything after the colon, unmodified |
//! | `retry` | `ms`, `offset` | a `retry` field whose value is one or more ASCII digits |
//! | `event` | `type`, `data`, `last_event_id`, `offset` | the blank line that dispatches an event; `type` is `message` when none was set |
//! | `ignored` | `reason`, `name`, `value`, `offset` | only with `--ignored`: a line the algorithm ignores; `reason` is one of `unknown-field`, `line-without-colon`, `invalid-retry`, `id-contains-nul` |
//! | `end` | `last_event_id`, `retry_ms`, `discarded_partial_event`, `bytes` | last, when the input ended: the last event ID as set at the last dispatch, the reconnection time (`null` if never set), whether an event with data was cut off, and the input's length |
//! | `error` | `error`, `offset` | instead of `end`, when a size limit was exceeded |

use std::borrow::Cow;
use std::io::{self, Write};

use pulsecheck_sse::{Config, End, Error, Item, Parser, decode_utf8_lossy};
use serde::Serialize;
use serde_json::{Value, json};

/// What to print, and the parser's limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    /// Also print `ignored` lines.
    pub ignored: bool,
    /// The parser's limits.
    pub config: Config,
}

/// The JSON object for one item, or `None` for an item not printed.
pub fn item_json(item: &Item<'_>, options: &DecodeOptions) -> Option<Value> {
    item_line(item, options).and_then(|line| serde_json::to_value(line).ok())
}

/// One output line, borrowing the parser's text: written without a copy of an
/// event's data (which may be as large as the event limit).
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Line<'a> {
    Event {
        #[serde(rename = "type")]
        event_type: Cow<'a, str>,
        data: Cow<'a, str>,
        last_event_id: Cow<'a, str>,
        offset: u64,
    },
    Comment {
        text: Cow<'a, str>,
        offset: u64,
    },
    Retry {
        ms: u64,
        offset: u64,
    },
    Ignored {
        reason: &'static str,
        name: Cow<'a, str>,
        value: Cow<'a, str>,
        offset: u64,
    },
}

/// The line for one item, or `None` for an item not printed.
fn item_line<'a>(item: &Item<'a>, options: &DecodeOptions) -> Option<Line<'a>> {
    Some(match item {
        Item::Event(e) => Line::Event {
            event_type: e.event_type.to_str(),
            data: e.data.to_str(),
            last_event_id: e.last_event_id.to_str(),
            offset: e.offset,
        },
        Item::Comment(c) => Line::Comment {
            text: c.text.to_str(),
            offset: c.offset,
        },
        Item::Retry(r) => Line::Retry {
            ms: r.ms,
            offset: r.offset,
        },
        Item::Ignored(i) if options.ignored => Line::Ignored {
            reason: i.reason.as_str(),
            name: decode_utf8_lossy(i.name),
            value: decode_utf8_lossy(i.value),
            offset: i.offset,
        },
        _ => return None,
    })
}

/// The closing `end` object.
pub fn end_json(end: &End<'_>) -> Value {
    json!({
        "kind": "end",
        "last_event_id": decode_utf8_lossy(end.last_event_id),
        "retry_ms": end.retry_ms,
        "discarded_partial_event": end.discarded_partial_event(),
        "bytes": end.bytes,
    })
}

/// The `error` object printed when a limit stops the parser.
pub fn error_json(error: &Error) -> Value {
    let offset = match error {
        Error::LineTooLong { offset, .. } | Error::EventTooLarge { offset, .. } => *offset,
        _ => 0,
    };
    json!({"kind": "error", "error": error.to_string(), "offset": offset})
}

/// Feeds chunks to a parser and writes JSON Lines to `out`.
pub struct JsonLinesDecoder<W: Write> {
    parser: Parser,
    options: DecodeOptions,
    out: W,
}

/// Why decoding stopped early.
#[derive(Debug)]
pub enum DecodeError {
    /// The stream exceeded a parser limit; the `error` line has been written.
    Limit(Error),
    /// Writing the output failed.
    Io(io::Error),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Limit(e) => write!(f, "stream rejected: {e}"),
            DecodeError::Io(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl<W: Write> JsonLinesDecoder<W> {
    /// A decoder writing to `out`.
    pub fn new(out: W, options: DecodeOptions) -> Self {
        JsonLinesDecoder {
            parser: Parser::with_config(options.config),
            options,
            out,
        }
    }

    /// Feeds one chunk, writing a line per item it completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        let mut write_result = Ok(());
        let (out, options) = (&mut self.out, &self.options);
        let fed = self.parser.feed(chunk, |item| {
            if write_result.is_ok()
                && let Some(line) = item_line(&item, options)
            {
                write_result = serde_json::to_writer(&mut *out, &line)
                    .map_err(io::Error::other)
                    .and_then(|()| out.write_all(b"\n"));
            }
        });
        write_result.map_err(DecodeError::Io)?;
        if let Err(error) = fed {
            writeln!(self.out, "{}", error_json(&error)).map_err(DecodeError::Io)?;
            return Err(DecodeError::Limit(error));
        }
        Ok(())
    }

    /// Flushes the output (so a live stream shows up as it arrives).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Writes the closing `end` line and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        writeln!(self.out, "{}", end_json(&self.parser.finish()))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Decodes a whole input fed in one chunk, for tests and examples.
pub fn decode_to_string(input: &[u8], options: &DecodeOptions) -> Result<String, Error> {
    decode_chunked_to_string(input, None, options)
}

/// Decodes an input fed `chunk_size` bytes at a time (whole when `None`). On a
/// limit error the output so far, including the `error` line, is discarded and the
/// error returned.
pub fn decode_chunked_to_string(
    input: &[u8],
    chunk_size: Option<usize>,
    options: &DecodeOptions,
) -> Result<String, Error> {
    let mut decoder = JsonLinesDecoder::new(Vec::new(), *options);
    let size = chunk_size.unwrap_or(input.len()).max(1);
    for chunk in input.chunks(size) {
        match decoder.feed(chunk) {
            Ok(()) => {}
            Err(DecodeError::Limit(e)) => return Err(e),
            // Writing to a Vec cannot fail.
            Err(DecodeError::Io(_)) => {}
        }
    }
    let out = decoder.finish().unwrap_or_default();
    Ok(String::from_utf8(out).unwrap_or_default())
}
