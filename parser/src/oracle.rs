//! A deliberately literal transcription of WHATWG §9.2.6, the reference the fast
//! parser is tested against.
//!
//! It takes the whole stream at once, works on decoded `String`s, and follows the
//! specification's steps in the specification's order, with the specification's
//! words beside them. It is slow and allocates freely; that is the point: it should
//! be obviously right. Property tests and fuzz targets check that [`crate::Parser`],
//! fed the same bytes in any chunking, reports exactly what this reports.
//!
//! One liberty is taken, and tested: the stream is split into lines on bytes
//! before each line is decoded, rather than decoded whole and then split. The two are
//! the same text (see [`crate::decode_utf8_lossy`]), and splitting on bytes lets the
//! oracle report byte offsets.

use crate::IgnoreReason;

/// What the oracle observed, in stream order, in the same terms as [`crate::Item`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OracleItem {
    /// A dispatched event.
    Event {
        /// Event type ("message" by default).
        event_type: String,
        /// Data, trailing LF removed.
        data: String,
        /// The last event ID string at dispatch.
        last_event_id: String,
        /// Whether the event's own block had a valid `id` field.
        sets_id: bool,
        /// Offset of the block's first line.
        offset: u64,
    },
    /// A comment line: the text after the colon.
    Comment {
        /// Text after the colon.
        text: String,
        /// Offset of the line.
        offset: u64,
    },
    /// A valid `retry`.
    Retry {
        /// The reconnection time.
        ms: u64,
        /// Offset of the line.
        offset: u64,
    },
    /// An ignored line.
    Ignored {
        /// Why.
        reason: IgnoreReason,
        /// Offset of the line.
        offset: u64,
    },
}

/// The oracle's final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleEnd {
    /// The last event ID string.
    pub last_event_id: String,
    /// The reconnection time, if a `retry` set it.
    pub retry_ms: Option<u64>,
    /// Whether any line (complete or not) followed the last blank line.
    pub discarded: bool,
}

/// Interprets a whole event stream, literally as WHATWG §9.2.6 says.
pub fn interpret(stream: &[u8]) -> (Vec<OracleItem>, OracleEnd) {
    let mut items = Vec::new();

    // §9.2.5: the UTF-8 decode algorithm strips one leading BOM.
    let (mut offset, body) = match stream.strip_prefix(&[0xEF, 0xBB, 0xBF][..]) {
        Some(rest) => (3u64, rest),
        None => (0u64, stream),
    };

    // The buffers of §9.2.6.
    let mut data_buffer = String::new();
    let mut event_type_buffer = String::new();
    let mut last_event_id_buffer = String::new();
    let mut last_event_id_string = String::new();
    let mut reconnection_time: Option<u64> = None;
    let mut block_start: Option<u64> = None;
    // Not in the spec: whether the current block set the last event ID buffer,
    // which the parser reports with each event.
    let mut id_in_block = false;

    // §9.2.5: end-of-line = ( cr lf / cr / lf ). A line runs until the next CR or
    // LF; a CR directly followed by LF is one end of line.
    let mut rest = body;
    loop {
        let Some(end) = rest.iter().position(|&b| b == b'\r' || b == b'\n') else {
            // "Once the end of the file is reached, any pending data must be
            // discarded." (The unterminated last line is pending data.)
            let discarded = block_start.is_some() || !rest.is_empty();
            return (
                items,
                OracleEnd {
                    last_event_id: last_event_id_string,
                    retry_ms: reconnection_time,
                    discarded,
                },
            );
        };
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        let eol_len = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        let line_offset = offset;
        offset += (end + eol_len) as u64;
        rest = &rest[end + eol_len..];

        // "If the line is empty (a blank line) — Dispatch the event, as defined below."
        if line.is_empty() {
            let first_line = block_start.take().unwrap_or(0);
            // 1. "Set the last event ID string of the event source to the value of
            //    the last event ID buffer. The buffer does not get reset."
            last_event_id_string = last_event_id_buffer.clone();
            let sets_id = std::mem::take(&mut id_in_block);
            // 2. "If the data buffer is an empty string, set the data buffer and the
            //    event type buffer to the empty string and return."
            if data_buffer.is_empty() {
                data_buffer.clear();
                event_type_buffer.clear();
                continue;
            }
            // 3. "If the data buffer's last character is a U+000A LINE FEED (LF)
            //    character, then remove the last character from the data buffer."
            if data_buffer.ends_with('\n') {
                data_buffer.pop();
            }
            // 4-5. "Initialize event's type attribute to "message", its data attribute
            //    to data, ... its lastEventId attribute to the last event ID string.
            //    If the event type buffer has a value other than the empty string,
            //    change the type of the newly created event to equal the value of
            //    the event type buffer."
            let event_type = if event_type_buffer.is_empty() {
                "message".to_owned()
            } else {
                event_type_buffer.clone()
            };
            // 6. Dispatch.
            items.push(OracleItem::Event {
                event_type,
                data: data_buffer.clone(),
                last_event_id: last_event_id_string.clone(),
                sets_id,
                offset: first_line,
            });
            // 7. "Set the data buffer and the event type buffer to the empty string."
            data_buffer.clear();
            event_type_buffer.clear();
            continue;
        }
        block_start.get_or_insert(line_offset);

        // "If the line starts with a U+003A COLON character (:) — Ignore the line."
        if let Some(text) = line.strip_prefix(':') {
            items.push(OracleItem::Comment {
                text: text.to_owned(),
                offset: line_offset,
            });
            continue;
        }

        // "If the line contains a U+003A COLON character (:) — Collect the characters
        // on the line before the first U+003A COLON character (:), and let field be
        // that string. Collect the characters on the line after the first U+003A COLON
        // character (:), and let value be that string. If value starts with a U+0020
        // SPACE character, remove it from value."
        // "Otherwise, the string is not empty but does not contain a U+003A COLON
        // character (:) — Process the field using the whole line as the field name,
        // and the empty string as the field value."
        let (field, value, has_colon) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value), true),
            None => (line.as_str(), "", false),
        };

        let ignored = |reason| OracleItem::Ignored {
            reason,
            offset: line_offset,
        };
        match field {
            // "If the field name is "event" — Set the event type buffer to field value."
            "event" => event_type_buffer = value.to_owned(),
            // "If the field name is "data" — Append the field value to the data
            // buffer, then append a single U+000A LINE FEED (LF) character to the
            // data buffer."
            "data" => {
                data_buffer.push_str(value);
                data_buffer.push('\n');
            }
            // "If the field name is "id" — If the field value does not contain U+0000
            // NULL, then set the last event ID buffer to the field value. Otherwise,
            // ignore the field."
            "id" => {
                if value.contains('\u{0}') {
                    items.push(ignored(IgnoreReason::IdContainsNul));
                } else {
                    last_event_id_buffer = value.to_owned();
                    id_in_block = true;
                }
            }
            // "If the field name is "retry" — If the field value consists of only ASCII
            // digits, then interpret the field value as an integer in base ten, and set
            // the event stream's reconnection time to that integer. Otherwise, ignore
            // the field."
            "retry" => {
                if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
                    // Beyond u64, the value saturates (the spec sets no bound).
                    let ms = value
                        .parse::<u128>()
                        .map_or(u64::MAX, |n| u64::try_from(n).unwrap_or(u64::MAX));
                    reconnection_time = Some(ms);
                    items.push(OracleItem::Retry {
                        ms,
                        offset: line_offset,
                    });
                } else {
                    items.push(ignored(IgnoreReason::InvalidRetry));
                }
            }
            // "Otherwise — The field is ignored."
            _ => items.push(ignored(if has_colon {
                IgnoreReason::UnknownField
            } else {
                IgnoreReason::LineWithoutColon
            })),
        }
    }
}

/// Runs the fast [`crate::Parser`] over `chunks` and reports what it saw in the
/// oracle's terms, so the two can be compared.
pub fn observe_parser<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
) -> Result<(Vec<OracleItem>, OracleEnd), crate::Error> {
    use crate::Item;
    let mut parser = crate::Parser::new();
    let mut items = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, |item| {
            items.push(match item {
                Item::Event(e) => OracleItem::Event {
                    event_type: e.event_type.to_str().into_owned(),
                    data: e.data.to_str().into_owned(),
                    last_event_id: e.last_event_id.to_str().into_owned(),
                    sets_id: e.sets_id,
                    offset: e.offset,
                },
                Item::Comment(c) => OracleItem::Comment {
                    text: c.text.to_str().into_owned(),
                    offset: c.offset,
                },
                Item::Retry(r) => OracleItem::Retry {
                    ms: r.ms,
                    offset: r.offset,
                },
                Item::Ignored(i) => OracleItem::Ignored {
                    reason: i.reason,
                    offset: i.offset,
                },
            })
        })?;
    }
    let end = parser.finish();
    Ok((
        items,
        OracleEnd {
            last_event_id: crate::decode_utf8_lossy(end.last_event_id).into_owned(),
            retry_ms: end.retry_ms,
            discarded: end.discarded.is_some(),
        },
    ))
}

/// Cuts `stream` into chunks at the given cut points (taken modulo the stream
/// length, sorted, duplicates giving empty chunks), for chunking-invariance tests.
pub fn cut<'s>(stream: &'s [u8], cuts: &[usize]) -> Vec<&'s [u8]> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            if stream.is_empty() {
                0
            } else {
                c % (stream.len() + 1)
            }
        })
        .collect();
    points.sort_unstable();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for p in points {
        chunks.push(&stream[start..p]);
        start = p;
    }
    chunks.push(&stream[start..]);
    chunks
}
