//! Property tests: the fast parser against the literal oracle, on arbitrary bytes
//! and arbitrary chunkings; chunking invariance; encoder round trip.

use proptest::prelude::*;

use crate::encode::{OutEvent, encode_event};
use crate::oracle::{OracleItem, cut, interpret, observe_parser};

/// Bytes biased toward what matters to the grammar: field names, colons, spaces,
/// every line end, BOM bytes, NUL, digits, multi-byte and invalid UTF-8.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(&b"data"[..]),
        Just(&b"data:"[..]),
        Just(&b"data: "[..]),
        Just(&b"id"[..]),
        Just(&b"id:"[..]),
        Just(&b"event:"[..]),
        Just(&b"retry:"[..]),
        Just(&b"retry: 1"[..]),
        Just(&b":"[..]),
        Just(&b" "[..]),
        Just(&b"\t"[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\n\n"[..]),
        Just(&b"\xEF\xBB\xBF"[..]),
        Just(&b"\xEF"[..]),
        Just(&b"\xBB"[..]),
        Just(&b"\0"[..]),
        Just(&b"0"[..]),
        Just(&b"9"[..]),
        Just(&b"+"[..]),
        Just("é".as_bytes()),
        Just("😀".as_bytes()),
        Just(&b"\xF0\x9F"[..]),
        Just(&b"\x80"[..]),
        Just(&b"x"[..]),
        Just(&b"Data"[..]),
    ]
    .prop_map(<[u8]>::to_vec);
    // Long streams too: chunks of 256 bytes or more are validated up front, and
    // their fields take the parser's validated (unchecked) path.
    prop_oneof![
        3 => prop::collection::vec(token.clone(), 0..64).prop_map(|ts| ts.concat()),
        2 => prop::collection::vec(token, 64..400).prop_map(|ts| ts.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..1024),
    ]
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The parser, fed in arbitrary chunks, reports exactly what WHATWG §9.2.6
    /// (transcribed literally in the oracle) says, item by item, offsets included.
    #[test]
    fn parser_matches_oracle(stream in stream(), cuts in cuts()) {
        let expected = interpret(&stream);
        let got = observe_parser(cut(&stream, &cuts)).unwrap();
        prop_assert_eq!(got, expected);
    }

    /// Whole, byte-at-a-time and arbitrary chunkings give the same output.
    #[test]
    fn chunking_invariance(stream in stream(), cuts in cuts()) {
        let whole = observe_parser([&stream[..]]).unwrap();
        prop_assert_eq!(&observe_parser(stream.chunks(1)).unwrap(), &whole);
        prop_assert_eq!(&observe_parser(cut(&stream, &cuts)).unwrap(), &whole);
    }

    /// Splitting lines on bytes and then decoding gives the same lines as decoding
    /// the whole stream and then splitting (the oracle's one liberty).
    #[test]
    fn split_then_decode_equals_decode_then_split(stream in stream()) {
        let decoded = String::from_utf8_lossy(&stream);
        let whole: Vec<String> = decoded
            .split(['\r', '\n'])
            .map(str::to_owned)
            .collect();
        let per_line: Vec<String> = stream
            .split(|&b| b == b'\r' || b == b'\n')
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        prop_assert_eq!(whole, per_line);
    }

    /// parse(encode(x)) == x, for arbitrary events (line breaks in data come back
    /// as LF; the last event ID carries over between events as the spec says).
    #[test]
    fn encode_then_parse_round_trips(
        events in prop::collection::vec(
            (
                prop::option::of("[^\r\n]{0,8}"),
                prop::option::of("[^\r\n\0]{0,8}"),
                prop::option::of(any::<u64>()),
                ".{0,40}",
            ),
            0..8,
        ),
        cuts in cuts(),
    ) {
        let mut out = Vec::new();
        let mut expected = Vec::new();
        let mut last_id = String::new();
        for (event_type, id, retry_ms, data) in &events {
            let event = OutEvent {
                event_type: event_type.as_deref(),
                id: id.as_deref(),
                retry_ms: *retry_ms,
                data,
            };
            encode_event(&mut out, &event).unwrap();
            if let Some(id) = id {
                last_id = id.clone();
            }
            if let Some(ms) = retry_ms {
                expected.push(("retry".to_owned(), ms.to_string(), String::new()));
            }
            let event_type = match event_type.as_deref() {
                None | Some("") => "message",
                Some(t) => t,
            };
            expected.push((
                event_type.to_owned(),
                data.replace("\r\n", "\n").replace('\r', "\n"),
                last_id.clone(),
            ));
        }
        let (items, end) = observe_parser(cut(&out, &cuts)).unwrap();
        let got: Vec<_> = items
            .into_iter()
            .map(|item| match item {
                OracleItem::Event { event_type, data, last_event_id, .. } => {
                    (event_type, data, last_event_id)
                }
                OracleItem::Retry { ms, .. } => ("retry".to_owned(), ms.to_string(), String::new()),
                other => panic!("encoder wrote something unexpected: {other:?}"),
            })
            .collect();
        prop_assert_eq!(got, expected);
        prop_assert!(!end.discarded);
        prop_assert_eq!(end.last_event_id, last_id);
    }
}
