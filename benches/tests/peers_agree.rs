//! Every peer adapter, on every workload and chunking, reports what a WHATWG
//! parser dispatches, except where a deviation is documented in `peers.rs`;
//! those are asserted as known, so a peer that gets fixed fails here too.

use pulsecheck_benches::peers::{self, Summary};
use pulsecheck_benches::workloads::{self, LineEnding, Workload};

/// Small enough for debug builds; names and shapes are those of the 1 MiB runs.
const TEST_TARGET: usize = 24 * 1024;

const CHUNKINGS: [Option<usize>; 3] = [None, Some(1460), Some(64)];

/// An independent, deliberately plain WHATWG event-stream interpreter, used to
/// check the counts the generators keep while they write.
fn reference(bytes: &[u8]) -> (Summary, usize) {
    let mut summary = Summary::default();
    let mut last = 0;
    let mut data: Option<Vec<u8>> = None;
    let mut rest = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
        let line = &rest[..end];
        let skip = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            if let Some(mut d) = data.take() {
                d.pop(); // the LF after the last data line
                summary.events += 1;
                summary.data_bytes += d.len();
                last = d.len();
            }
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (
                &line[..i],
                line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..]),
            ),
            None => (line, &b""[..]),
        };
        if name == b"data" {
            let d = data.get_or_insert_with(Vec::new);
            d.extend_from_slice(value);
            d.push(b'\n');
        }
    }
    (summary, last)
}

#[test]
fn generators_count_what_a_whatwg_parser_dispatches() {
    for w in workloads::all_sized(TEST_TARGET) {
        let (summary, last) = reference(&w.bytes);
        assert_eq!(summary, Summary::expected(&w), "{}", w.name);
        assert_eq!(last, w.last_data_bytes, "{}", w.name);
        assert!(w.events > 0 && w.data_bytes > 0, "{} is empty", w.name);
        assert!(
            std::str::from_utf8(&w.bytes).is_ok(),
            "{} is not UTF-8",
            w.name
        );
    }
}

#[test]
fn full_size_workloads_have_the_promised_shape() {
    let all = workloads::all();
    let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
    let mut expected = Vec::new();
    for kind in ["llm", "tiny", "multiline", "line1mib"] {
        for ending in LineEnding::ALL {
            expected.push(format!("{kind}/{}", ending.name()));
        }
    }
    assert_eq!(names, expected);
    for w in &all {
        let size = w.bytes.len();
        assert!(
            (workloads::DEFAULT_TARGET..workloads::DEFAULT_TARGET + 64 * 1024).contains(&size)
                || (w.name.starts_with("llm/") && size + 1024 > workloads::DEFAULT_TARGET),
            "{}: {size} bytes",
            w.name
        );
        let eol = w.ending.as_bytes();
        assert!(
            w.bytes.ends_with(&[eol, eol].concat()),
            "{} ends with a blank line",
            w.name
        );
        match w.ending {
            LineEnding::Lf => assert!(!w.bytes.contains(&b'\r'), "{}", w.name),
            LineEnding::Cr => assert!(!w.bytes.contains(&b'\n'), "{}", w.name),
            LineEnding::CrLf => {}
        }
    }
    // The LLM stream: ~180-byte events, some non-ASCII, keepalives and ids.
    let llm = &all[0];
    let text = std::str::from_utf8(&llm.bytes).expect("UTF-8");
    let per_event = llm.bytes.len() / llm.events;
    assert!(
        (170..=200).contains(&per_event),
        "llm: {per_event} bytes per event"
    );
    let keepalives = text.matches(": keepalive").count();
    let ids = text.matches("\nid: ").count();
    let non_ascii = text
        .lines()
        .filter(|l| l.starts_with("data: ") && !l.is_ascii())
        .count();
    assert!(
        keepalives * 70 > llm.events && keepalives * 35 < llm.events,
        "{keepalives} keepalives"
    );
    assert!(ids * 15 > llm.events && ids * 7 < llm.events, "{ids} ids");
    assert!(
        non_ascii * 30 > llm.events && non_ascii * 12 < llm.events,
        "{non_ascii} non-ASCII"
    );
    assert_eq!(all[9].events, 1, "line1mib is one event");
    assert_eq!(all[9].data_bytes, 1 << 20, "line1mib's data is 1 MiB");
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(
        workloads::all_sized(TEST_TARGET),
        workloads::all_sized(TEST_TARGET)
    );
}

#[test]
fn chunked_keeps_every_byte_in_order() {
    let bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(workloads::chunked(&bytes, None), vec![&bytes[..]]);
    let pieces = workloads::chunked(&bytes, Some(100));
    assert_eq!(
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [100, 100, 56]
    );
    assert_eq!(pieces.concat(), bytes);
    assert_eq!(workloads::chunked(&bytes, Some(0)).len(), 256);
}

#[test]
fn prepare_keeps_chunk_boundaries() {
    let w = workloads::tiny_events(LineEnding::CrLf, 4096);
    let chunks = workloads::chunked(&w.bytes, Some(100));
    for peer in peers::all() {
        let prepared = (peer.prepare)(&chunks);
        let got: Vec<&[u8]> = prepared.chunks.iter().map(|c| &c[..]).collect();
        assert_eq!(got, chunks, "{}", peer.name);
    }
}

fn check(peer: &peers::Peer, w: &Workload, chunk: Option<usize>, problems: &mut Vec<String>) {
    let chunks = workloads::chunked(&w.bytes, chunk);
    let prepared = (peer.prepare)(&chunks);
    let got = (peer.run)(&prepared);
    let expected = Summary::expected(w);
    let at = format!("{} on {} chunk {chunk:?}", peer.name, w.name);
    match (peer.known_deviation)(w) {
        None if got != expected => {
            problems.push(format!("{at}: got {got:?}, WHATWG says {expected:?}"));
        }
        None => {}
        Some(known) if got == expected => problems.push(format!(
            "{at}: now matches WHATWG; remove the known deviation ({})",
            known.reason
        )),
        Some(known) if got != known.summary => problems.push(format!(
            "{at}: got {got:?}, neither WHATWG {expected:?} nor the known {:?} ({})",
            known.summary, known.reason
        )),
        Some(_) => {}
    }
}

#[test]
fn every_peer_agrees_with_whatwg_or_a_known_deviation() {
    let all = workloads::all_sized(TEST_TARGET);
    let mut problems = Vec::new();
    let mut known = 0;
    for peer in peers::all() {
        for w in &all {
            if (peer.known_deviation)(w).is_some() {
                known += 1;
            }
            for chunk in CHUNKINGS {
                assert_eq!((peer.pathological)(w, chunk), None, "test sizes are benign");
                check(&peer, w, chunk, &mut problems);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // eventsource-stream on the four `*/cr` workloads.
    assert_eq!(known, 4, "number of (peer, workload) known deviations");
}

#[test]
fn one_byte_chunks_on_small_inputs() {
    // The harshest split, on inputs small enough for every peer.
    let mut problems = Vec::new();
    for ending in LineEnding::ALL {
        for w in [
            workloads::llm_tokens(ending, 2048),
            workloads::tiny_events(ending, 512),
            workloads::large_multiline(ending, 1024),
            workloads::one_mib_line(ending, 1024),
        ] {
            for peer in peers::all() {
                check(&peer, &w, Some(1), &mut problems);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn only_the_measured_pathologies_are_flagged_at_full_size() {
    let mut flagged = Vec::new();
    for w in workloads::all() {
        for peer in peers::all() {
            for chunk in CHUNKINGS {
                if (peer.pathological)(&w, chunk).is_some() {
                    flagged.push(format!("{} {} {chunk:?}", peer.name, w.name));
                }
            }
        }
    }
    let mut expected = Vec::new();
    for (kind, chunk) in [("tiny", None), ("line1mib", Some(64))] {
        for ending in LineEnding::ALL {
            expected.push(format!(
                "eventsource-stream 0.2.3 {kind}/{} {chunk:?}",
                ending.name()
            ));
        }
    }
    assert_eq!(flagged, expected);
}
