//! Entry points for fuzz targets and property tests.
//!
//! Each function accepts any bytes and panics only when an invariant of the crate is
//! broken, so a fuzz target is one line: `fuzz_target!(|data: &[u8]| frames_no_panic(data));`.
//! `parser_matches_oracle` needs the `oracle` feature.

use crate::Status;
use crate::close::parse_close_body;
use crate::encode::encode_frame;
use crate::error::{ProtocolError, Violation};
use crate::handshake::{ClientRequest, validate_client_request, validate_server_response};
use crate::header::{
    FrameConfig, FrameHeader, LengthEncoding, Role, decode_header, parse_frame, parse_header,
};
use crate::mask::unmask_naive;
use crate::message::{Assembled, MessageKind};
use crate::opcode::{Opcode, Rsv};
use crate::reader::StreamReader;
use crate::utf8::Utf8Validator;

/// The configurations the entry points cycle through, chosen by one byte: sender role, RSV1
/// allowed or not, default or tiny limits.
#[must_use]
pub fn config_from_byte(b: u8) -> FrameConfig {
    let sender = if b & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let mut config = FrameConfig::new(sender);
    if b & 2 != 0 {
        config.allowed_rsv = Rsv::RSV1;
    }
    if b & 4 != 0 {
        config.max_frame_payload = u64::from(b >> 3) * 4;
        config.max_message_size = u64::from(b >> 3) * 9;
    }
    config
}

/// Runs every parser of the crate over `data` and checks the invariants that hold for any
/// input: the raw decoder is lossless, the fail-fast and the after-the-fact validators
/// agree, the stream reader's offsets add up, and incremental UTF-8 agrees with std.
pub fn frames_no_panic(data: &[u8]) {
    for b in [0u8, 1, 2, 3, 0x2D, 0x2C] {
        let config = config_from_byte(b);
        check_header(data, &config);
        let mut copy = data.to_vec();
        check_stream(&mut copy, config);
    }
    let mut copy = data.to_vec();
    if let Ok(Status::Complete((frame, n))) =
        parse_frame(&mut copy, &FrameConfig::new(Role::Client))
    {
        assert_eq!(frame.payload.len() as u64, frame.header.payload_len);
        assert!(n <= data.len());
    }
    let _ = parse_close_body(data);
    let _ = validate_client_request(data);
    let request = ClientRequest::new("example.com", "/", [7; 16]);
    let _ = validate_server_response(data, &request);
    // Incremental UTF-8 over two fragments agrees with std on the whole.
    let cut = data
        .first()
        .map_or(0, |&c| usize::from(c) % (data.len() + 1));
    check_utf8_split(data, &[cut]);
    check_utf8_fast_paths(data);
}

/// The whole-buffer checks (`str_from_utf8`, and the in-place unmask-and-validate every
/// masked text frame goes through, keyed by the first four bytes) agree with
/// `std::str::from_utf8`, and the unmasking with [`unmask_naive`].
pub fn check_utf8_fast_paths(data: &[u8]) {
    assert_eq!(crate::str_from_utf8(data), std::str::from_utf8(data).ok());
    let key = match data {
        [a, b, c, d, ..] => [*a, *b, *c, *d],
        _ => [0x5a; 4],
    };
    let mut masked = data.to_vec();
    unmask_naive(&mut masked, key, 0);
    let (payload, text) = crate::fast_utf8::unmask_to_str(&mut masked, key);
    assert_eq!(payload, data);
    assert_eq!(text, std::str::from_utf8(data).ok());
}

fn check_header(data: &[u8], config: &FrameConfig) {
    let parsed = parse_header(data, config);
    match decode_header(data) {
        Status::Complete((header, n)) => {
            assert_eq!(n, header.header_len());
            // Lossless: writing the decoded header gives back the same bytes.
            let mut out = Vec::new();
            header
                .write(&mut out)
                .expect("a decoded header is encodable");
            assert_eq!(out, data[..n]);
            // Fail-fast parsing and after-the-fact validation agree.
            match config.validate(&header) {
                Ok(()) => assert_eq!(parsed, Ok(Status::Complete((header, n)))),
                Err(e) => assert_eq!(parsed, Err(e)),
            }
        }
        Status::Partial => assert!(!matches!(parsed, Ok(Status::Complete(_)))),
    }
}

fn check_stream(data: &mut [u8], config: FrameConfig) {
    let mut reader = StreamReader::new(config);
    let mut start = 0usize;
    loop {
        let before = reader.offset();
        match reader.read(&mut data[start..]) {
            Ok(Status::Complete((frame, n))) => {
                assert_eq!(frame.offset, before);
                assert_eq!(frame.payload.len() as u64, frame.header.payload_len);
                assert_eq!(frame.header.header_len() + frame.payload.len(), n);
                start += n;
                assert_eq!(reader.offset(), start as u64);
            }
            Ok(Status::Partial) => break,
            Err(v) => {
                assert!(v.offset >= v.frame_offset);
                assert!(v.offset < data.len() as u64);
                assert_eq!(v.frame_offset, reader.offset());
                break;
            }
        }
    }
    let end = reader.finish(&data[start..]);
    assert_eq!(end.offset, start as u64);
}

/// Validates `data` split at `cuts` and compares with `std::str::from_utf8` of the whole:
/// same verdict, same position, and the error is reported by the fragment holding the byte
/// that proves it.
pub fn check_utf8_split(data: &[u8], cuts: &[usize]) {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    bounds.push(0);
    bounds.push(data.len());
    bounds.sort_unstable();
    let mut v = Utf8Validator::new();
    // The same fragments fed in one buffer (as the message buffer does): the same
    // verdict and the same state after every fragment.
    let mut in_buffer = Utf8Validator::new();
    let mut result = Ok(());
    let mut failed_in = None;
    for (i, w) in bounds.windows(2).enumerate() {
        let fed = v.feed(&data[w[0]..w[1]]);
        assert_eq!(in_buffer.feed_in_buffer(&data[..w[1]], w[0]), fed);
        assert_eq!(in_buffer, v);
        if let Err(e) = fed {
            result = Err(e);
            failed_in = Some((w[0], w[1], i));
            break;
        }
    }
    if result.is_ok() {
        result = v.finish();
    }
    match (std::str::from_utf8(data), result) {
        (Ok(_), Ok(())) => {}
        (Err(std_err), Err(ours)) => {
            assert_eq!(ours.valid_up_to, std_err.valid_up_to() as u64);
            assert_eq!(ours.error_len.map(usize::from), std_err.error_len());
            if let Some((from, to, _)) = failed_in {
                // Failed fast: in the fragment that holds the rejecting byte.
                assert!(
                    (from as u64..to as u64).contains(&ours.rejected_at),
                    "{ours:?} in {from}..{to}"
                );
            } else {
                assert_eq!(ours.error_len, None);
            }
        }
        (std_result, ours) => panic!("std says {std_result:?}, validator says {ours:?}"),
    }
}

/// Encodes a frame described by `data` (header fields from the first bytes, the rest as
/// payload) and checks that decoding gives back the header and the payload.
pub fn encode_parse_roundtrip(data: &[u8]) {
    let [b0, b1, k0, k1, k2, k3, payload @ ..] = data else {
        return;
    };
    let mut header = FrameHeader::new(Opcode::from_bits(*b0), payload.len() as u64);
    header.fin = b0 & 0x80 != 0;
    header.rsv = Rsv::from_bits(b0 >> 4);
    header.mask = (b1 & 0x80 != 0).then_some([*k0, *k1, *k2, *k3]);
    let forced = match b1 & 0b11 {
        1 => LengthEncoding::Extended16,
        2 => LengthEncoding::Extended64,
        _ => header.length_encoding,
    };
    if forced.can_hold(header.payload_len) {
        header.length_encoding = forced;
    }
    let mut wire = Vec::new();
    let n = encode_frame(&mut wire, &header, payload).expect("length fits");
    assert_eq!(n, wire.len());
    assert_eq!(
        decode_header(&wire),
        Status::Complete((header, header.header_len()))
    );

    let sender = if header.mask.is_some() {
        Role::Client
    } else {
        Role::Server
    };
    let config = FrameConfig::new(sender).with_allowed_rsv(Rsv::ALL);
    let valid = config.validate(&header);
    let mut parsed = wire.clone();
    match parse_frame(&mut parsed, &config) {
        Ok(Status::Complete((frame, used))) => {
            assert_eq!(valid, Ok(()));
            assert_eq!(used, wire.len());
            assert_eq!(frame.header, header);
            assert_eq!(frame.payload, payload);
        }
        Ok(Status::Partial) => panic!("a whole frame is never partial"),
        Err(e) => assert_eq!(valid, Err(e)),
    }

    // A header that lies about its length (announcing more than is sent) stays partial.
    if header.length_encoding == LengthEncoding::Extended64 && valid.is_ok() {
        let mut liar = header;
        liar.payload_len = header.payload_len + 1;
        let mut wire = Vec::new();
        encode_frame(&mut wire, &liar, payload).expect("64-bit holds any length");
        assert!(matches!(
            parse_frame(&mut wire, &config),
            Ok(Status::Partial)
        ));
    }
}

/// Builds a stream of unmasked data and ping frames from `data` (per frame: one byte of
/// opcode and FIN, one byte of length, then the payload) and checks the reader's messages
/// against a plain model: concatenated fragments, §5.4 sequencing, and
/// `std::str::from_utf8` of each whole text message, failing in the frame that holds the
/// byte proving it invalid.
pub fn assemble_messages(data: &[u8]) {
    struct Planned {
        opcode: Opcode,
        fin: bool,
        payload: Vec<u8>,
    }
    let mut frames = Vec::new();
    let mut rest = data;
    while let [kind, len, tail @ ..] = rest {
        let opcode = match kind & 0b11 {
            0 => Opcode::CONTINUATION,
            1 => Opcode::TEXT,
            2 => Opcode::BINARY,
            _ => Opcode::PING,
        };
        let fin = opcode == Opcode::PING || kind & 0x80 != 0;
        let n = usize::from(*len % 16).min(tail.len());
        frames.push(Planned {
            opcode,
            fin,
            payload: tail[..n].to_vec(),
        });
        rest = &tail[n..];
    }
    let mut wire = Vec::new();
    for f in &frames {
        let mut h = FrameHeader::new(f.opcode, f.payload.len() as u64);
        h.fin = f.fin;
        encode_frame(&mut wire, &h, &f.payload).expect("minimal length");
    }

    // The model: what should happen, frame by frame.
    enum Expect {
        Fragment,
        Ping,
        Message(MessageKind, Vec<u8>),
        Error(ProtocolError),
    }
    let mut expected = Vec::new();
    let mut message: Option<(MessageKind, Vec<u8>)> = None;
    for f in &frames {
        if f.opcode == Opcode::PING {
            expected.push(Expect::Ping);
            continue;
        }
        let (kind, mut so_far) = match (f.opcode, message.take()) {
            (Opcode::CONTINUATION, None) => {
                expected.push(Expect::Error(ProtocolError::UnexpectedContinuation));
                break;
            }
            (Opcode::CONTINUATION, Some(m)) => m,
            (opcode, Some(_)) => {
                expected.push(Expect::Error(ProtocolError::ExpectedContinuation {
                    opcode,
                }));
                break;
            }
            (opcode, None) => {
                let kind = if opcode == Opcode::TEXT {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                (kind, Vec::new())
            }
        };
        so_far.extend_from_slice(&f.payload);
        // A broken sequence (error_len is Some) is proven by a byte already received, so by
        // this frame or an earlier one; a sequence merely cut short only at the message's end.
        let invalid = match std::str::from_utf8(&so_far) {
            Err(e) if kind == MessageKind::Text && (e.error_len().is_some() || f.fin) => Some(e),
            _ => None,
        };
        if let Some(e) = invalid {
            expected.push(Expect::Error(ProtocolError::InvalidUtf8 {
                valid_up_to: e.valid_up_to() as u64,
                error_len: e.error_len().map(|n| n as u8),
            }));
            break;
        }
        if f.fin {
            expected.push(Expect::Message(kind, so_far));
        } else {
            expected.push(Expect::Fragment);
            message = Some((kind, so_far));
        }
    }

    let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
    let mut start = 0;
    let mut seen = 0;
    for expect in &expected {
        let got = reader.read(&mut wire[start..]);
        seen += 1;
        match (expect, got) {
            (Expect::Fragment, Ok(Status::Complete((d, n)))) => {
                assert_eq!(d.event, Assembled::Fragment);
                start += n;
            }
            (Expect::Ping, Ok(Status::Complete((d, n)))) => {
                assert!(matches!(d.event, Assembled::Ping(_)));
                start += n;
            }
            (Expect::Message(kind, data), Ok(Status::Complete((d, n)))) => {
                let Assembled::Message(m) = d.event else {
                    panic!("expected a message, got {:?}", d.event)
                };
                assert_eq!(m.kind(), *kind);
                assert_eq!(m.data(), &data[..]);
                assert_eq!(m.text().is_some(), *kind == MessageKind::Text);
                start += n;
            }
            (Expect::Error(e), Err(Violation { error, .. })) => assert_eq!(error, *e),
            (_, got) => panic!("frame {seen}: expected something else, got {got:?}"),
        }
    }
    if !matches!(expected.last(), Some(Expect::Error(_))) {
        assert_eq!(reader.read(&mut wire[start..]), Ok(Status::Partial));
        assert_eq!(start, wire.len());
    }
}

/// Feeds `data` to a [`StreamReader`] through a growing buffer, revealing it up to each of
/// `reveal` (sorted, then the end), and returns the outcome in the oracle's terms plus how
/// many bytes had been revealed when the violation (if any) was returned. With `release`,
/// the loop drops what [`StreamReader::release`] took after every `Partial`.
#[cfg(any(test, feature = "oracle"))]
#[must_use]
pub fn run_chunked(
    config: &FrameConfig,
    data: &[u8],
    reveal: &[usize],
    release: bool,
) -> (crate::oracle::OracleOutcome, Option<usize>) {
    use crate::oracle::{OracleItem, OracleOutcome};
    let mut points: Vec<usize> = reveal.iter().map(|&r| r.min(data.len())).collect();
    points.push(data.len());
    points.sort_unstable();
    let mut reader = StreamReader::new(*config);
    let mut buf = Vec::new();
    let mut items = Vec::new();
    let mut fed = 0;
    let mut reported_at = None;
    'outer: for point in points {
        buf.extend_from_slice(&data[fed..point]);
        fed = point;
        let mut start = 0;
        loop {
            match reader.read(&mut buf[start..]) {
                Ok(Status::Complete((d, n))) => {
                    items.push(OracleItem::from(&d));
                    start += n;
                }
                Ok(Status::Partial) => {
                    if release {
                        start += reader.release();
                    }
                    break;
                }
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

/// Runs the fast reader over `data`, revealed at cut points taken from `cuts`, and the
/// oracle over the whole, with a configuration chosen by `cuts[0]`; panics if they differ
/// in any frame, event, violation or end state, or if the reader reported a violation later
/// than the first reveal containing the byte that decided it.
#[cfg(any(test, feature = "oracle"))]
pub fn parser_matches_oracle(data: &[u8], cuts: &[u8]) {
    let config = config_from_byte(cuts.first().copied().unwrap_or(0));
    let mut reveal = Vec::new();
    let mut at = 0usize;
    for &c in cuts.iter().skip(1) {
        at += usize::from(c);
        reveal.push(at);
    }
    let expected = crate::oracle::run(&config, data);
    // A read loop that keeps every unconsumed byte, and one that drops what the reader
    // took of an incomplete frame.
    for release in [false, true] {
        let (got, reported_at) = run_chunked(&config, data, &reveal, release);
        assert_eq!(got, expected, "config {config:?}, release {release}");
        if let (Some(v), Some(at)) = (expected.violation, reported_at) {
            // Fail fast: reported at the first reveal point past the deciding byte.
            let mut points: Vec<usize> = reveal.iter().map(|&r| r.min(data.len())).collect();
            points.push(data.len());
            points.sort_unstable();
            let first = points.into_iter().find(|&p| p as u64 > v.offset);
            assert_eq!(
                Some(at),
                first,
                "violation {v:?} reported late (release {release})"
            );
        }
    }
}

/// [`parser_matches_oracle`] on one fuzz input: the first byte says how many of the
/// next bytes (up to 15) are cut points; the first cut byte picks the configuration
/// (bit 0: the client sent the bytes); the rest is the stream.
#[cfg(any(test, feature = "oracle"))]
pub fn parser_matches_oracle_input(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16).min(rest.len());
    let (cuts, stream) = rest.split_at(n);
    parser_matches_oracle(stream, cuts);
}
