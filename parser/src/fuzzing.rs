//! Entry points for the cargo-fuzz targets in `fuzz/`. Each panics only when an
//! invariant of the parser is broken; the fuzz targets are one-line calls.

use crate::encode::{OutEvent, encode_comment, encode_event, encode_retry};
use crate::oracle::{OracleItem, cut, interpret, observe_parser};
use crate::{Config, Item, Parser};

/// Splits fuzz input into (cut points, stream): the first byte says how many
/// cut-point bytes follow.
fn split_input(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 16).min(rest.len());
    let (cuts, stream) = rest.split_at(n);
    (
        cuts.iter().map(|&c| usize::from(c) * 7919).collect(),
        stream,
    )
}

/// Feeds arbitrary bytes in arbitrary chunks, with small limits so limit errors
/// are exercised too. Must never panic.
pub fn parse_no_panic(data: &[u8]) {
    let (cuts, stream) = split_input(data);
    let config = Config::default()
        .with_max_line_len(64)
        .with_max_event_len(256);
    let mut parser = Parser::with_config(config);
    for chunk in cut(stream, &cuts) {
        let result = parser.feed(chunk, |item| {
            if let Item::Event(e) = item {
                let joined = e.data.to_bytes();
                assert_eq!(joined.len(), e.data.len());
                assert!(e.data.len() < 256);
            }
        });
        if result.is_err() {
            break;
        }
    }
    let _ = parser.finish();
}

/// The fast parser, fed in arbitrary chunks, reports exactly what the oracle does.
pub fn parser_matches_oracle(data: &[u8]) {
    let (cuts, stream) = split_input(data);
    let expected = interpret(stream);
    let got = observe_parser(cut(stream, &cuts)).expect("default limits are not reached");
    assert_eq!(got, expected);
}

/// Whole-buffer and byte-at-a-time parsing agree with the arbitrary chunking.
pub fn chunking_invariance(data: &[u8]) {
    let (cuts, stream) = split_input(data);
    let whole = observe_parser([stream]).expect("default limits");
    let bytes = observe_parser(stream.chunks(1)).expect("default limits");
    let chunked = observe_parser(cut(stream, &cuts)).expect("default limits");
    assert_eq!(whole, bytes);
    assert_eq!(whole, chunked);
}

/// Builds events from arbitrary text, encodes them, parses them back.
pub fn encode_parse_roundtrip(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut expected = Vec::new();
    let mut last_id = String::new();
    // Each '\u{1}'-separated piece is "type\u{2}id\u{2}data"; invalid pieces are
    // skipped (the encoder refuses them, and must say so).
    for piece in text.split('\u{1}') {
        let mut parts = piece.splitn(3, '\u{2}');
        let (t, id, d) = (parts.next(), parts.next(), parts.next());
        let event = OutEvent {
            event_type: t.filter(|t| !t.is_empty()),
            id,
            retry_ms: None,
            data: d.unwrap_or(""),
        };
        if encode_event(&mut out, &event).is_err() {
            continue;
        }
        if let Some(id) = id {
            last_id = id.to_owned();
        }
        expected.push(OracleItem::Event {
            event_type: event.event_type.unwrap_or("message").to_owned(),
            data: event.data.replace("\r\n", "\n").replace('\r', "\n"),
            last_event_id: last_id.clone(),
            sets_id: id.is_some(),
            offset: 0,
        });
    }
    let mut comment_out = Vec::new();
    encode_comment(&mut comment_out, "x");
    encode_retry(&mut comment_out, data.len() as u64);
    // A blank line closes the block the comment and retry opened.
    comment_out.push(b'\n');
    out.extend_from_slice(&comment_out);
    let (mut items, end) = observe_parser([&out[..]]).expect("default limits");
    assert!(!end.discarded);
    let tail: Vec<_> = items.split_off(items.len() - 2);
    assert!(matches!(&tail[0], OracleItem::Comment { text, .. } if text == "x"));
    assert!(matches!(&tail[1], OracleItem::Retry { ms, .. } if *ms == data.len() as u64));
    for item in &mut items {
        if let OracleItem::Event { offset, .. } = item {
            *offset = 0;
        }
    }
    assert_eq!(items, expected);
}
