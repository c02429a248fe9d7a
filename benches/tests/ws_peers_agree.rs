//! Every WebSocket implementation in the benchmark hands out the same messages on every
//! workload (small versions), the workloads are what their documentation says, and every
//! implementation really validates UTF-8 (it stops at invalid text).

use pulsecheck_benches::ws::workloads::{self, FrameInfo, NAMES, Workload};
use pulsecheck_benches::ws::{FUNCTIONS, Summary, peers, run_by_name};
use pulsecheck_ws::{FrameHeader, LengthEncoding, Opcode, Status, decode_header, unmask_naive};

/// A deliberately plain reader of the generated streams: the header by hand, the payload
/// unmasked byte by byte, text checked with std once the message is complete. Returns the
/// summary and the frames it saw.
fn reference(bytes: &[u8]) -> (Summary, Vec<FrameInfo>) {
    let mut summary = Summary::default();
    let mut frames = Vec::new();
    let mut at = 0;
    let mut message: Option<(bool, Vec<u8>)> = None;
    while at < bytes.len() {
        let b0 = bytes[at];
        let b1 = bytes[at + 1];
        assert_eq!(b0 & 0x70, 0, "no RSV bits");
        assert_eq!(b1 & 0x80, 0x80, "client frames are masked");
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        let (len, mut p) = match b1 & 0x7F {
            126 => (
                u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]) as usize,
                at + 4,
            ),
            127 => (
                u64::from_be_bytes(bytes[at + 2..at + 10].try_into().unwrap()) as usize,
                at + 10,
            ),
            n => (n as usize, at + 2),
        };
        let mask: [u8; 4] = bytes[p..p + 4].try_into().unwrap();
        p += 4;
        let mut payload = bytes[p..p + len].to_vec();
        unmask_naive(&mut payload, mask, 0);
        let text = match (opcode, &mut message) {
            (1 | 2, None) => {
                message = Some((opcode == 1, payload));
                opcode == 1
            }
            (0, Some((text, data))) => {
                data.extend_from_slice(&payload);
                *text
            }
            other => panic!("unexpected frame sequence {other:?} at {at}"),
        };
        frames.push(FrameInfo {
            payload: p..p + len,
            mask,
            text,
            fin,
        });
        if fin {
            let (text, data) = message.take().unwrap();
            if text {
                summary.text_bytes += std::str::from_utf8(&data).expect("valid text").len();
            }
            summary.messages += 1;
            summary.message_bytes += data.len();
        }
        at = p + len;
    }
    assert!(message.is_none(), "stream ends inside a message");
    (summary, frames)
}

#[test]
fn generators_record_what_a_plain_reader_sees() {
    for w in workloads::small() {
        let (summary, frames) = reference(&w.bytes);
        assert_eq!(summary, Summary::expected(&w), "{}", w.name);
        assert_eq!(frames, w.frames, "{}", w.name);
        assert!(w.messages > 0, "{} is empty", w.name);
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(workloads::small(), workloads::small());
    let names: Vec<&str> = workloads::small().iter().map(|w| w.name).collect();
    assert_eq!(names, NAMES);
}

/// Share of non-ASCII characters in `text`.
fn non_ascii_share(text: &str) -> f64 {
    let chars = text.chars().count();
    text.chars().filter(|c| !c.is_ascii()).count() as f64 / chars as f64
}

fn unmasked_payload(w: &Workload, f: &FrameInfo) -> Vec<u8> {
    let mut p = w.bytes[f.payload.clone()].to_vec();
    unmask_naive(&mut p, f.mask, 0);
    p
}

#[test]
fn full_size_workloads_have_the_promised_shape() {
    let all = workloads::all();
    let names: Vec<&str> = all.iter().map(|w| w.name).collect();
    assert_eq!(names, NAMES);
    let mib = |w: &Workload| w.bytes.len() as f64 / (1 << 20) as f64;
    for w in &all {
        // Every frame is masked and minimally encoded.
        let mut at = 0;
        for f in &w.frames {
            let Status::Complete((h, n)) = decode_header(&w.bytes[at..]) else {
                panic!("{}: truncated", w.name)
            };
            assert!(h.mask.is_some() && h.is_minimal_length(), "{}", w.name);
            assert_eq!(at + n, f.payload.start, "{}", w.name);
            at = f.payload.end;
        }
        assert_eq!(at, w.bytes.len(), "{}", w.name);
    }

    // tiny: 0–125 B text, median about 20 B, about 1 MiB.
    let tiny = &all[0];
    let mut lens: Vec<usize> = tiny.frames.iter().map(|f| f.payload.len()).collect();
    lens.sort_unstable();
    let median = lens[lens.len() / 2];
    assert!((16..=24).contains(&median), "tiny median {median}");
    assert!(*lens.last().unwrap() <= 125 && lens[0] == 0);
    assert!((1.0..1.01).contains(&mib(tiny)), "tiny {} MiB", mib(tiny));
    assert!(tiny.frames.iter().all(|f| f.text && f.fin));

    // Fixed sizes: 1 MiB of 1 KiB frames, 4 MiB of 64 KiB frames, one 16 MiB frame.
    for (i, len, count, text) in [
        (1, 1024, 1024, true),
        (2, 1024, 1024, false),
        (3, 65536, 64, true),
        (4, 65536, 64, false),
        (5, 16 << 20, 1, false),
    ] {
        let w = &all[i];
        assert_eq!(w.frames.len(), count, "{}", w.name);
        assert!(
            w.frames
                .iter()
                .all(|f| f.payload.len() == len && f.text == text && f.fin)
        );
        let header = FrameHeader::new(Opcode::BINARY, len as u64);
        let expect = match header.length_encoding {
            LengthEncoding::Short => 6,
            LengthEncoding::Extended16 => 8,
            LengthEncoding::Extended64 => 14,
        };
        assert_eq!(w.bytes.len(), count * (len + expect), "{}", w.name);
    }

    // Text is 5–10% non-ASCII characters.
    for i in [0, 1, 3, 6] {
        let w = &all[i];
        let text: Vec<u8> = w
            .frames
            .iter()
            .flat_map(|f| unmasked_payload(w, f))
            .collect();
        let share = non_ascii_share(std::str::from_utf8(&text).unwrap());
        assert!((0.05..=0.10).contains(&share), "{}: {share}", w.name);
    }

    // Fragmented: 48 messages of 64 KiB, fragments of 1–4096 B, first a text frame with
    // FIN clear, then continuations, the last with FIN set; boundaries cut characters.
    let fragmented = &all[6];
    assert_eq!(fragmented.messages, 48);
    assert_eq!(fragmented.message_bytes, 48 << 16);
    let mut at = 0;
    let mut first = true;
    let mut cuts = 0;
    let mut boundaries = 0;
    for (i, f) in fragmented.frames.iter().enumerate() {
        assert!((1..=4096).contains(&f.payload.len()), "{}", f.payload.len());
        let Status::Complete((h, _)) = decode_header(&fragmented.bytes[at..]) else {
            panic!()
        };
        let opcode = if first {
            Opcode::TEXT
        } else {
            Opcode::CONTINUATION
        };
        assert_eq!((h.opcode, h.fin), (opcode, f.fin));
        if !f.fin {
            boundaries += 1;
            // The next fragment starts with a continuation byte: the boundary cut a character.
            if unmasked_payload(fragmented, &fragmented.frames[i + 1])[0] & 0xC0 == 0x80 {
                cuts += 1;
            }
        }
        first = f.fin;
        at = f.payload.end;
    }
    assert!(
        cuts * 10 > boundaries * 9,
        "{cuts} of {boundaries} cut a character"
    );
    assert!((2.5..3.5).contains(&mib(fragmented)));
}

#[test]
fn every_implementation_hands_out_the_same_messages() {
    let mut problems = Vec::new();
    for w in workloads::small() {
        let expected = Summary::expected(&w);
        for name in FUNCTIONS {
            assert_eq!(peers::skip(name, &w), None, "nothing is skipped");
            let got = run_by_name(name, &w).expect(name);
            if got != expected {
                problems.push(format!(
                    "{name} on {}: got {got:?}, expected {expected:?}",
                    w.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_copy_variants_can_be_run_again_with_the_same_scratch() {
    use pulsecheck_benches::ws::ours::run_pulsecheck_copy;
    let mut scratch = bytes::BytesMut::new();
    let mut sockudo_scratch = bytes::BytesMut::new();
    for w in workloads::small() {
        for _ in 0..3 {
            let expected = Summary::expected(&w);
            assert_eq!(run_pulsecheck_copy(&w.bytes, &mut scratch), expected);
            assert_eq!(
                peers::run_sockudo_copy(&w.bytes, &mut sockudo_scratch),
                expected
            );
            assert_eq!(
                peers::run_sockudo_protocol_copy(&w.bytes, &mut sockudo_scratch),
                expected
            );
        }
    }
}

/// A stream of masked frames `(opcode, fin, payload)`, as a [`Workload`] (its counts are
/// left at zero: the tests state what they expect).
fn stream(frames: &[(Opcode, bool, &[u8])]) -> Workload {
    let mut w = Workload {
        name: "handmade",
        bytes: Vec::new(),
        frames: Vec::new(),
        messages: 0,
        message_bytes: 0,
        text_bytes: 0,
    };
    let mut text = false;
    for (i, &(opcode, fin, payload)) in frames.iter().enumerate() {
        if opcode != Opcode::CONTINUATION {
            text = opcode == Opcode::TEXT;
        }
        let mut h = FrameHeader::new(opcode, payload.len() as u64);
        h.fin = fin;
        let mask = [0x11, 0x22, 0x33, i as u8];
        h.mask = Some(mask);
        pulsecheck_ws::encode_frame(&mut w.bytes, &h, payload).unwrap();
        let end = w.bytes.len();
        w.frames.push(FrameInfo {
            payload: end - payload.len()..end,
            mask,
            text,
            fin,
        });
    }
    w
}

fn summary(messages: usize, message_bytes: usize, text_bytes: usize) -> Summary {
    Summary {
        messages,
        message_bytes,
        text_bytes,
    }
}

#[test]
fn every_implementation_stops_at_invalid_utf8() {
    let (t, c, b) = (Opcode::TEXT, Opcode::CONTINUATION, Opcode::BINARY);
    let ok = "ok λ".as_bytes();
    let cases: [(&str, Workload); 4] = [
        (
            "invalid byte in a single-frame text message",
            stream(&[
                (t, true, ok),
                (t, true, b"bad \xff here"),
                (b, true, b"\xff"),
            ]),
        ),
        (
            "overlong sequence inside a text message",
            stream(&[(t, true, ok), (t, true, b"\xc0\xafx"), (t, true, ok)]),
        ),
        (
            "invalid byte in a middle fragment",
            stream(&[
                (t, true, ok),
                (t, false, b"ab\xce"),
                (c, false, b"\xbbcd\xff"),
                (c, true, b"ef"),
                (t, true, ok),
            ]),
        ),
        (
            "a character cut by a fragment boundary and never completed",
            stream(&[
                (t, true, ok),
                (t, false, b"ab\xce"),
                (c, true, b"A"),
                (t, true, ok),
            ]),
        ),
    ];
    // A valid fragmented message cut inside a character is accepted by all.
    let valid = stream(&[(t, false, b"ab\xce"), (c, false, b"\xbb"), (c, true, b"!")]);
    for name in FUNCTIONS {
        assert_eq!(run_by_name(name, &valid), Some(summary(1, 5, 5)), "{name}");
    }
    let mut problems = Vec::new();
    for (what, w) in &cases {
        for name in FUNCTIONS {
            let got = run_by_name(name, w).unwrap();
            if got != summary(1, ok.len(), ok.len()) {
                problems.push(format!("{name}, {what}: {got:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn fastwebsockets_accepts_a_text_message_ending_inside_a_character() {
    // Documented at `peers::run_fastwebsockets`: its FragmentCollector never checks that
    // the final fragment completes the last character. Every other implementation stops.
    let (t, c) = (Opcode::TEXT, Opcode::CONTINUATION);
    let w = stream(&[(t, false, b"ab"), (c, true, b"cd\xce"), (t, true, b"ok")]);
    for name in FUNCTIONS {
        let got = run_by_name(name, &w).unwrap();
        let expected = if name == "fastwebsockets" {
            summary(2, 6, 6) // "abcd" without the cut character, then "ok"
        } else {
            summary(0, 0, 0)
        };
        assert_eq!(got, expected, "{name}");
    }
}
