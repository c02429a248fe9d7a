//! Autobahn|Testsuite's compression cases, groups 12 (90) and 13 (126), as
//! data, written from a reading of Autobahn's `case12_x_x.py` (its message
//! sizes, counts, timeouts and auto-fragment sizes, its offers and its ways of
//! accepting) — the payloads are pulsecheck's own corpora
//! ([`payloads`](crate::ws::autobahn::payloads)).
//!
//! Each case negotiates permessage-deflate, then sends 1000 messages, each the
//! next slice of a corpus, and expects every one echoed unchanged, within the
//! case's time (60–480 s); then the probe closes with 1000. No extension agreed:
//! UNIMPLEMENTED, and the probe closes at once.
//!
//! - 12.j: corpus j of five (JSON, bitmap, prose, HTML, PDF), Autobahn's default
//!   offer, accepted as offered.
//! - 13.j: the JSON corpus under seven parameter sets: what the client asks of
//!   the server (`server_no_context_takeover`, `server_max_window_bits`) and what
//!   the server asks of the client (`client_no_context_takeover`,
//!   `client_max_window_bits`); 13.7 offers three and accepts the first that fits
//!   of three ways.
//! - Subcases 1–18 of each: messages of 16 B to 128 KiB in one frame (1–10),
//!   then 8–128 KiB with the compressed payload cut into frames of 256 B
//!   (11–15), and 128 KiB in frames of 1, 4 and 32 KiB (16–18).

use std::time::Duration;

use pulsecheck_ws::deflate::WindowBits;

use super::super::fuzzer::{Case, Expectation, Step, Timer};
use super::super::handshake::{Accept, DeflateHandshake, Handshake, autobahn_offer};
use super::super::payloads::Corpus;
use super::{NamedCase, c1000};

/// Autobahn's `MSG_SIZES`: (units per message, messages, seconds allowed,
/// fragment size of the compressed payload, 0 for none).
const SIZES: [(usize, usize, u64, usize); 18] = [
    (16, 1000, 60, 0),
    (64, 1000, 60, 0),
    (256, 1000, 120, 0),
    (1024, 1000, 240, 0),
    (4096, 1000, 480, 0),
    (8192, 1000, 480, 0),
    (16384, 1000, 480, 0),
    (32768, 1000, 480, 0),
    (65536, 1000, 480, 0),
    (131_072, 1000, 480, 0),
    (8192, 1000, 480, 256),
    (16384, 1000, 480, 256),
    (32768, 1000, 480, 256),
    (65536, 1000, 480, 256),
    (131_072, 1000, 480, 256),
    (131_072, 1000, 480, 1024),
    (131_072, 1000, 480, 4096),
    (131_072, 1000, 480, 32768),
];

const DATA_REQ: &str = "RFC 7692 §7.2.2: \"An endpoint uses the following algorithm to decompress a message. 1. Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message. 2. Decompress the resulting data using DEFLATE.\" Every compressed message, whatever its content, size and fragmentation, is decompressed and echoed, compressed, to the same bytes.";
const PARAMS_REQ: &str = "RFC 7692 §7.1: the parameters agreed bind both endpoints (context takeover per direction, the LZ77 window per direction, §7.1.1 and §7.1.2): messages compressed under them are decompressed and echoed, compressed under them, to the same bytes.";

/// One of group 13's parameter sets: the offers (what the client asks of the
/// server: no context takeover, window bits) and the ways of accepting (what
/// the server asks of the client).
struct Params {
    /// A name for IDs.
    name: &'static str,
    /// In words, for titles.
    text: &'static str,
    offers: &'static [(bool, Option<u8>)],
    accepts: &'static [(bool, Option<u8>)],
}

/// Autobahn's `DEFLATE_PARAMS`, 13.1 to 13.7.
const PARAMS: [Params; 7] = [
    Params {
        name: "default",
        text: "the default offer, accepted as offered",
        offers: &[(false, None)],
        accepts: &[(false, None)],
    },
    Params {
        name: "no-context-takeover",
        text: "no context takeover asked both ways",
        offers: &[(true, None)],
        accepts: &[(true, None)],
    },
    Params {
        name: "window-9",
        text: "window bits 9 asked both ways",
        offers: &[(false, Some(9))],
        accepts: &[(false, Some(9))],
    },
    Params {
        name: "window-15",
        text: "window bits 15 asked both ways",
        offers: &[(false, Some(15))],
        accepts: &[(false, Some(15))],
    },
    Params {
        name: "no-context-takeover-window-9",
        text: "no context takeover and window bits 9 asked both ways",
        offers: &[(true, Some(9))],
        accepts: &[(true, Some(9))],
    },
    Params {
        name: "no-context-takeover-window-15",
        text: "no context takeover and window bits 15 asked both ways",
        offers: &[(true, Some(15))],
        accepts: &[(true, Some(15))],
    },
    Params {
        name: "offer-list",
        text: "three offers in order of preference, the first that fits accepted",
        offers: &[(true, Some(9)), (true, None), (false, None)],
        accepts: &[(true, Some(9)), (true, None), (false, None)],
    },
];

impl Params {
    fn handshake(&self) -> DeflateHandshake {
        DeflateHandshake {
            offers: self
                .offers
                .iter()
                .map(|&(reset, bits)| autobahn_offer(reset, bits.and_then(WindowBits::new)))
                .collect(),
            accepts: self
                .accepts
                .iter()
                .map(|&(reset, bits)| Accept {
                    client_no_context_takeover: reset,
                    client_max_window_bits: bits.and_then(WindowBits::new),
                })
                .collect(),
        }
    }
}

/// `16b`, `8kib`, `128kib`.
fn size_name(n: usize) -> String {
    if n >= 1024 {
        format!("{}kib", n / 1024)
    } else {
        format!("{n}b")
    }
}

/// `16 B`, `8 KiB`.
fn size_text(n: usize) -> String {
    if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} B")
    }
}

/// The 18 subcases of one corpus under one handshake.
fn subcases(
    group: &str,
    prefix: &str,
    corpus: Corpus,
    handshake: &DeflateHandshake,
    what: &str,
    section: &'static str,
    requirement: &'static str,
) -> Vec<NamedCase> {
    SIZES
        .iter()
        .enumerate()
        .map(|(i, &(len, count, secs, fragment))| {
            let fragment_size = (fragment > 0).then_some(fragment);
            let frames =
                fragment_size.map_or(String::new(), |f| format!("-in-{}-frames", size_name(f)));
            let frames_text = fragment_size.map_or(String::new(), |f| {
                format!(", the compressed payload in frames of {}", size_text(f))
            });
            NamedCase {
                id: format!(
                    "ws/compression/{prefix}{}-{}{frames}",
                    corpus.name(),
                    size_name(len)
                ),
                title: format!(
                    "{count} compressed messages of {} from the {}{frames_text}, echoed ({what})",
                    size_text(len),
                    corpus.description()
                ),
                requirement,
                section,
                rfc: 7692,
                case: Case {
                    number: format!("{group}.{}", i + 1),
                    steps: vec![
                        Step::Timer(Timer::CloseAfter(Duration::from_secs(secs))),
                        Step::Echoes {
                            corpus,
                            len,
                            count,
                            fragment_size,
                        },
                    ],
                    expect: Expectation::Echoes,
                    close: c1000(),
                    auto_close: false,
                    handshake: Handshake::Deflate(handshake.clone()),
                },
            }
        })
        .collect()
}

/// The 216 cases of groups 12 and 13, in Autobahn's order.
pub fn all() -> Vec<NamedCase> {
    let mut cases = Vec::with_capacity(216);
    let default = PARAMS[0].handshake();
    for (j, corpus) in Corpus::ALL.into_iter().enumerate() {
        cases.extend(subcases(
            &format!("12.{}", j + 1),
            "",
            corpus,
            &default,
            "the default offer",
            "7.2",
            DATA_REQ,
        ));
    }
    for (j, params) in PARAMS.iter().enumerate() {
        cases.extend(subcases(
            &format!("13.{}", j + 1),
            &format!("{}/", params.name),
            Corpus::Json,
            &params.handshake(),
            params.text,
            "7.1",
            PARAMS_REQ,
        ));
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::autobahn::fuzzer::Step;

    #[test]
    fn there_are_90_and_126_cases_with_unique_numbers_and_ids() {
        let cases = all();
        assert_eq!(cases.len(), 216);
        let in_group = |g: &str| {
            cases
                .iter()
                .filter(|c| c.case.number.starts_with(g))
                .count()
        };
        assert_eq!((in_group("12."), in_group("13.")), (90, 126));
        let numbers: std::collections::BTreeSet<_> = cases.iter().map(|c| &c.case.number).collect();
        let ids: std::collections::BTreeSet<_> = cases.iter().map(|c| &c.id).collect();
        assert_eq!((numbers.len(), ids.len()), (216, 216));
        // And none is shared with groups 1-10.
        for other in super::super::all() {
            assert!(!numbers.contains(&other.case.number) && !ids.contains(&other.id));
        }
    }

    #[test]
    fn subcases_follow_autobahns_sizes_timeouts_and_fragments() {
        let cases = all();
        let find = |n: &str| cases.iter().find(|c| c.case.number == n).unwrap();
        let echoes = |n: &str| match &find(n).case.steps[..] {
            [
                Step::Timer(Timer::CloseAfter(d)),
                Step::Echoes {
                    corpus,
                    len,
                    count,
                    fragment_size,
                },
            ] => (*corpus, *len, *count, *fragment_size, d.as_secs()),
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(echoes("12.1.1"), (Corpus::Json, 16, 1000, None, 60));
        assert_eq!(
            echoes("12.2.10"),
            (Corpus::Bitmap, 131_072, 1000, None, 480)
        );
        assert_eq!(echoes("12.5.11"), (Corpus::Pdf, 8192, 1000, Some(256), 480));
        assert_eq!(
            echoes("12.4.18"),
            (Corpus::Html, 131_072, 1000, Some(32768), 480)
        );
        assert_eq!(echoes("13.7.3"), (Corpus::Json, 256, 1000, None, 120));
        assert_eq!(find("12.3.4").id, "ws/compression/prose-1kib");
        assert_eq!(
            find("13.3.16").id,
            "ws/compression/window-9/json-128kib-in-1kib-frames"
        );
    }

    #[test]
    fn group_13_negotiates_autobahns_seven_parameter_sets() {
        let cases = all();
        let handshake = |n: &str| match &cases
            .iter()
            .find(|c| c.case.number == n)
            .unwrap()
            .case
            .handshake
        {
            Handshake::Deflate(h) => h.clone(),
            Handshake::Plain => panic!("{n} negotiates"),
        };
        let offer = |n: &str| handshake(n).offer_header();
        assert_eq!(
            offer("12.1.1"),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        );
        assert_eq!(offer("13.1.1"), offer("12.1.1"));
        assert!(offer("13.2.1").contains("server_no_context_takeover"));
        assert!(offer("13.3.1").contains("server_max_window_bits=9"));
        assert!(offer("13.6.1").contains("server_no_context_takeover"));
        assert_eq!(offer("13.7.1").matches("permessage-deflate").count(), 3);
        // The server side of 13.5: asks the client for both.
        let accepted = handshake("13.5.1")
            .accept(["permessage-deflate; client_max_window_bits"])
            .unwrap()
            .unwrap();
        assert!(accepted.agreement.client_no_context_takeover);
        assert_eq!(accepted.agreement.client_max_window_bits.get(), 9);
        // 13.3 cannot limit a client that did not offer client_max_window_bits.
        assert_eq!(
            handshake("13.3.1").accept(["permessage-deflate"]).unwrap(),
            None
        );
    }
}
