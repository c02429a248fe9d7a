//! Our parser, and the floor, driven through the same work as the peers.
//!
//! [`run_pulsecheck`] feeds the chunks to [`pulsecheck_sse::Parser`] and, for every
//! event, takes its type, data and last event ID as `&str` — validating UTF-8 and
//! joining multi-line data, exactly what the peers hand out as `String`s — and
//! passes them through [`black_box`].
//!
//! [`run_floor`] is the least any SSE parser must do with the same bytes: find
//! every line end and validate the UTF-8. Parsers are measured against it.

use std::hint::black_box;

use pulsecheck_sse::{Item, Parser};

use crate::peers::Summary;

/// Parses `chunks` with our parser, touching every event as text.
pub fn run_pulsecheck(chunks: &[&[u8]]) -> Summary {
    let mut parser = Parser::new();
    let mut summary = Summary::default();
    for chunk in chunks {
        let fed = parser.feed(chunk, |item| {
            if let Item::Event(event) = item {
                // Each field as `&str`, through `black_box` one by one, as the peers'
                // adapters do (a tuple of the three `Cow`s, moved into `black_box` as
                // one value, stalled on store forwarding in the adapter itself: 47–57%
                // of the callback's samples on `tiny/lf/whole`, perf annotate).
                let data = event.data.to_str();
                summary.events += 1;
                summary.data_bytes += data.len();
                black_box(&*event.event_type.to_str());
                black_box(&*data);
                black_box(&*event.last_event_id.to_str());
            }
        });
        if fed.is_err() {
            break;
        }
    }
    summary
}

/// Finds every CR and LF and validates every chunk as UTF-8. Returns the number
/// of line-end bytes, so the work cannot be optimised away.
pub fn run_floor(chunks: &[&[u8]]) -> usize {
    let mut line_ends = 0;
    for chunk in chunks {
        line_ends += memchr::memchr2_iter(b'\n', b'\r', chunk).count();
        black_box(simdutf8::basic::from_utf8(chunk).is_ok());
    }
    line_ends
}
