//! The streaming reader against the byte-at-a-time oracle: the same frames (payloads
//! put back together from their pieces), the same messages, the same first violation
//! at the same byte, reported as soon as that byte is revealed.

use proptest::prelude::*;

use super::oracle_props::stream;
use crate::Status;
use crate::encode::encode_frame;
use crate::fuzzing::config_from_byte;
use crate::header::{FrameConfig, FrameHeader, Role};
use crate::message::Assembled;
use crate::opcode::Opcode;
use crate::oracle::{self, OracleEvent, OracleItem, OracleOutcome};
use crate::streaming::{FrameStream, Piece};

/// Feeds `data` to a [`FrameStream`], revealing it up to each point of `reveal` in turn,
/// and rebuilds what the oracle reports from the pieces; also where the violation was
/// reported.
fn run_streaming(
    config: &FrameConfig,
    data: &[u8],
    reveal: &[usize],
) -> (OracleOutcome, Option<usize>) {
    let mut points: Vec<usize> = reveal.iter().map(|&r| r.min(data.len())).collect();
    points.push(data.len());
    points.sort_unstable();
    let mut reader = FrameStream::new(*config);
    let mut buf = Vec::new();
    let mut items = Vec::new();
    let mut frame: Option<(u64, FrameHeader, Vec<u8>)> = None;
    let mut message = Vec::new();
    let mut fed = 0;
    let mut reported_at = None;
    'outer: for point in points {
        buf.extend_from_slice(&data[fed..point]);
        fed = point;
        let mut start = 0;
        loop {
            match reader.read(&mut buf[start..]) {
                Ok(Status::Complete((piece, used))) => {
                    match piece {
                        Piece::Header { offset, header } => {
                            assert!(frame.is_none(), "a header inside a frame");
                            frame = Some((offset, header, Vec::new()));
                        }
                        Piece::Payload(bytes) => {
                            assert!(!bytes.is_empty(), "an empty piece");
                            let (_, _, payload) =
                                frame.as_mut().expect("a payload outside a frame");
                            payload.extend_from_slice(bytes);
                            message.extend_from_slice(bytes);
                        }
                        Piece::End(end) => {
                            assert_eq!(used, 0);
                            let (offset, header, payload) =
                                frame.take().expect("an end outside a frame");
                            assert_eq!(payload.len() as u64, header.payload_len);
                            assert_eq!(
                                end.offset,
                                offset + header.header_len() as u64 + header.payload_len
                            );
                            let event = match end.message {
                                None => OracleEvent::Fragment,
                                Some(m) => {
                                    let data = std::mem::take(&mut message);
                                    assert_eq!(m.len, data.len() as u64);
                                    OracleEvent::Message {
                                        kind: m.kind,
                                        rsv: m.rsv,
                                        data,
                                        text: m.text,
                                        frames: m.frames,
                                    }
                                }
                            };
                            items.push(OracleItem {
                                offset,
                                header,
                                payload,
                                event,
                            });
                        }
                        Piece::Control {
                            offset,
                            header,
                            payload,
                            event,
                        } => {
                            let event = match event {
                                Assembled::Ping(p) => OracleEvent::Ping(p.to_vec()),
                                Assembled::Pong(p) => OracleEvent::Pong(p.to_vec()),
                                Assembled::Close(c) => OracleEvent::Close {
                                    code: c.code,
                                    reason: c.reason.to_owned(),
                                },
                                other => panic!("{other:?} as a control frame"),
                            };
                            items.push(OracleItem {
                                offset,
                                header,
                                payload: payload.to_vec(),
                                event,
                            });
                        }
                    }
                    start += used;
                }
                Ok(Status::Partial) => break,
                Err(_) => {
                    reported_at = Some(point);
                    break 'outer;
                }
            }
        }
        buf.drain(..start);
    }
    let end = reader.finish(&buf);
    let outcome = OracleOutcome {
        items,
        violation: end.violation,
        consumed: end.offset,
        message_in_progress: end.message_in_progress,
        close_received: end.close_received,
    };
    (outcome, reported_at)
}

/// The streaming reader equals the oracle on `data` revealed at the points `cuts`
/// describes (the first byte picks the configuration), and reports a violation at the
/// first reveal point past its deciding byte.
fn streaming_matches_oracle(data: &[u8], cuts: &[u8]) {
    let config = config_from_byte(cuts.first().copied().unwrap_or(0));
    let mut reveal = Vec::new();
    let mut at = 0usize;
    for &c in cuts.iter().skip(1) {
        at += usize::from(c);
        reveal.push(at);
    }
    let expected = oracle::run(&config, data);
    let (got, reported_at) = run_streaming(&config, data, &reveal);
    assert_eq!(got, expected, "config {config:?}");
    if let (Some(v), Some(at)) = (expected.violation, reported_at) {
        let mut points: Vec<usize> = reveal.iter().map(|&r| r.min(data.len())).collect();
        points.push(data.len());
        points.sort_unstable();
        let first = points.into_iter().find(|&p| p as u64 > v.offset);
        assert_eq!(Some(at), first, "violation {v:?} reported late");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::cases(512)))]

    /// RFC 6455 §5.2/§5.4: the streaming reader equals the oracle on generated frame
    /// streams (valid and broken) under arbitrary chunkings.
    #[test]
    fn rfc6455_5_2_streaming_reader_equals_oracle_on_frame_streams(
        (config, data) in stream(),
        cuts in prop::collection::vec(0u8..40, 0..12),
    ) {
        let mut c = vec![config];
        c.extend(cuts);
        streaming_matches_oracle(&data, &c);
    }

    /// The same on arbitrary bytes.
    #[test]
    fn rfc6455_5_2_streaming_reader_equals_oracle_on_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        streaming_matches_oracle(&data, &cuts);
    }
}

/// Large frames with the 16- and 64-bit lengths, masked and not, text cut at every
/// kind of boundary, fed in pieces of many sizes: the pieces put back together are the
/// payload, and the result equals the oracle.
#[test]
fn rfc6455_5_2_large_frames_in_pieces_equal_the_oracle() {
    for len in [0usize, 125, 126, 65535, 65536, 200_003] {
        for (role_byte, mask) in [(0u8, None), (1, Some([9, 8, 7, 6]))] {
            let config = config_from_byte(role_byte);
            let text: Vec<u8> = "aé€😀".bytes().cycle().take(len).collect();
            let mut h = FrameHeader::new(Opcode::BINARY, len as u64);
            h.mask = mask;
            let mut data = Vec::new();
            encode_frame(&mut data, &h, &text).unwrap();
            for step in [1usize, 3, 997, 65536] {
                if step == 1 && len > 70_000 {
                    continue;
                }
                let reveal: Vec<usize> = (0..data.len()).step_by(step).collect();
                let (got, reported) = run_streaming(&config, &data, &reveal);
                assert_eq!(reported, None);
                assert_eq!(got, oracle::run(&config, &data), "len {len} step {step}");
            }
        }
    }
}

/// What the stream reader needs a whole frame for, the streaming reader does without:
/// a frame announcing more than the buffer will ever hold is read in pieces, and a
/// message past the limit fails at its header, before any of its payload.
#[test]
fn announced_lengths_cost_nothing_until_the_limit() {
    let mut config = FrameConfig::new(Role::Server);
    config.max_frame_payload = u64::MAX >> 1;
    config.max_message_size = 1 << 40;
    let mut reader = FrameStream::new(config);
    let mut head = Vec::new();
    FrameHeader::new(Opcode::BINARY, 1 << 40)
        .write(&mut head)
        .unwrap();
    let mut buf = head.clone();
    let Ok(Status::Complete((Piece::Header { header, .. }, used))) = reader.read(&mut buf) else {
        panic!("a header")
    };
    assert_eq!((header.payload_len, used), (1 << 40, head.len()));
    let mut chunk = vec![7u8; 4096];
    for _ in 0..100 {
        let Ok(Status::Complete((Piece::Payload(p), n))) = reader.read(&mut chunk) else {
            panic!("a piece")
        };
        assert_eq!((p.len(), n), (4096, 4096));
    }
    assert_eq!(reader.message_len(), 409_600);
    // A continuation pushing the message past the limit fails at its last length byte.
    let mut small = FrameConfig::new(Role::Server);
    small.max_message_size = 10;
    let mut data = Vec::new();
    let mut first = FrameHeader::new(Opcode::TEXT, 6);
    first.fin = false;
    encode_frame(&mut data, &first, b"abcdef").unwrap();
    FrameHeader::new(Opcode::CONTINUATION, 5)
        .write(&mut data)
        .unwrap();
    let (got, reported) = run_streaming(&small, &data, &[]);
    let v = got.violation.expect("too big");
    assert_eq!((v.frame_offset, v.offset), (8, 9));
    assert_eq!(reported, Some(data.len()));
}
