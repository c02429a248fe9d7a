//! Autobahn|Testsuite's cases 1–7, 9 and 10 (301 of them) as data: what each
//! sends, with which chopping and timers, and how it is graded. Written from
//! `fixtures/ws/autobahn-cases.md`, which describes every case from a reading of
//! Autobahn's sources (row by row: the tests below check the counts and a sample
//! of bytes against it).

pub mod compression;

use std::time::Duration;

use pulsecheck_ws::{Opcode, Rsv};

use super::fuzzer::{
    Case, Chop, CloseExpectation, Expectation, Expected, Payload, Step, Timer, WaitFor,
};

/// A case with the ID name and area pulsecheck gives it.
#[derive(Debug, Clone)]
pub struct NamedCase {
    /// `ws/<area>/<name>`.
    pub id: String,
    /// A short title.
    pub title: String,
    /// The requirement the case tests, as a sentence.
    pub requirement: &'static str,
    /// The section of [`NamedCase::rfc`] it tests.
    pub section: &'static str,
    /// The RFC: 6455, or 7692 for the compression cases.
    pub rfc: u16,
    /// The case.
    pub case: Case,
}

const HELLO: &str = "Hello, world!";
const LIMITS_TEXT: &[u8] = b"BAsd7&jh23";
const LIMITS_BINARY: &[u8] = &[0x00, 0xfe, 0x23, 0xfa, 0xf0];
/// κόσμε, then U+D800 encoded, then "edited" (6.3.x, 7.5.1).
const P63: &str = "cebae1bdb9cf83cebcceb5eda080656469746564";
/// "Hello-µ@ßöäüàá-UTF-8!!" (6.2.x).
const P621: &str = "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121";
const KOSME: &str = "cebae1bdb9cf83cebcceb5";

const ECHO_REQ: &str = "A data message of any size, in any fragmentation and however TCP delivers it, is received whole and echoed unchanged; the probe's Close 1000 is answered and the server closes TCP.";
const PING_REQ: &str = "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response with identical Application data, unless it already received a Close frame; an unsolicited Pong is not answered.";
const CONTROL_LEN_REQ: &str = "All control frames MUST have a payload length of 125 bytes or less; a longer one fails the connection (1002).";
const RSV_REQ: &str = "RSV1-3 MUST be 0 unless an extension is negotiated that defines them; otherwise the receiving endpoint MUST Fail the WebSocket Connection (1002).";
const OPCODE_REQ: &str = "If an unknown opcode is received, the receiving endpoint MUST Fail the WebSocket Connection (1002).";
const FRAG_REQ: &str = "Fragments of a message arrive in order and control frames may be injected between them; the server answers injected pings at once and echoes the reassembled message.";
const FRAG_BAD_REQ: &str = "Control frames MUST NOT be fragmented, and a continuation frame outside a message or a new data frame inside one is a protocol error: the server fails the connection (1002).";
const UTF8_OK_REQ: &str = "Text messages carry UTF-8; valid UTF-8 (non-characters and specials included) is accepted and echoed unchanged, however it is fragmented.";
const UTF8_BAD_REQ: &str = "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not a valid UTF-8 stream, that endpoint MUST Fail the WebSocket Connection (1007), the server closing first.";
const UTF8_FAST_REQ: &str = "Invalid UTF-8 fails the connection (1007); failing as soon as the invalid byte arrives, before the rest of the message (or frame), is what Autobahn grades OK; failing at the message's end is NON-STRICT.";
const CLOSE_REQ: &str = "After sending a Close frame an endpoint sends no more data; after receiving one it answers with a Close and ignores what follows; the server then closes TCP.";
const CLOSE_BODY_REQ: &str = "A Close body is empty or a 2-byte code followed by a UTF-8 reason, 125 bytes at most; a valid one is answered with a Close (1000 or the code), an invalid one with 1002 (1007 for a bad reason) or a dropped connection.";
const CLOSE_CODE_OK_REQ: &str = "A Close with a code defined in RFC 6455 §7.4.1 or in the 3000-4999 ranges is answered with a Close (1000 or the same code) and a clean close.";
const CLOSE_CODE_BAD_REQ: &str = "A Close with a code that is reserved or not assignable (0-999, 1004-1006, 1016-2999) is a protocol error: answered with 1002 or a dropped connection.";
const CLOSE_OPEN_REQ: &str = "The spec leaves open what happens when a close arrives behind pending data, or with a code above 4999; the result is information.";
const LIMITS_REQ: &str = "Large messages, many fragments, small TCP chops and many round trips are handled: every message is echoed with its type and length.";

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn kill(s: f64) -> Step {
    Step::Timer(Timer::KillAfter(secs(s)))
}

fn close_after(s: f64) -> Step {
    Step::Timer(Timer::CloseAfter(secs(s)))
}

fn hex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .filter_map(|i| h.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

fn repeat(pattern: &'static [u8], len: usize) -> Payload {
    Payload::Repeat { pattern, len }
}

fn frame(opcode: u8, fin: bool, payload: Payload) -> Step {
    Step::Frame {
        opcode: Opcode::from_bits(opcode),
        fin,
        rsv: Rsv::NONE,
        payload,
        chop: Chop::None,
    }
}

fn text(payload: &str) -> Step {
    frame(1, true, Payload::text(payload))
}

fn with_rsv(step: Step, bits: u8) -> Step {
    match step {
        Step::Frame {
            opcode,
            fin,
            payload,
            chop,
            ..
        } => Step::Frame {
            opcode,
            fin,
            // Autobahn's 3-bit number, RSV1 = 4 … RSV3 = 1, as the framing crate counts.
            rsv: Rsv::from_bits(bits),
            payload,
            chop,
        },
        other => other,
    }
}

/// The same frames, each written as `chop` says.
fn chopped(steps: Vec<Step>, how: Chop) -> Vec<Step> {
    steps
        .into_iter()
        .map(|s| match s {
            Step::Frame {
                opcode,
                fin,
                rsv,
                payload,
                ..
            } => Step::Frame {
                opcode,
                fin,
                rsv,
                payload,
                chop: how,
            },
            other => other,
        })
        .collect()
}

fn close(code: u16, reason: &[u8]) -> Step {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(reason);
    Step::Close(body)
}

fn echo(binary: bool, data: Payload) -> Expectation {
    Expectation::Events {
        ok: vec![Expected::Message { binary, data }],
        non_strict: None,
    }
}

fn nothing() -> Expectation {
    Expectation::Events {
        ok: Vec::new(),
        non_strict: None,
    }
}

fn pongs(payloads: &[&[u8]]) -> Expectation {
    Expectation::Events {
        ok: payloads
            .iter()
            .map(|p| Expected::Pong(p.to_vec()))
            .collect(),
        non_strict: None,
    }
}

/// A valid message followed by a violation: echoing it first is OK, failing
/// without echoing it NON-STRICT.
fn echo_then_fail(first: &str) -> Expectation {
    Expectation::Events {
        ok: vec![Expected::Message {
            binary: false,
            data: Payload::text(first),
        }],
        non_strict: Some(Vec::new()),
    }
}

fn by_fuzzer(codes: &[u16], clean: bool) -> CloseExpectation {
    CloseExpectation {
        by_fuzzer: true,
        codes: codes.to_vec(),
        clean,
        wrong_endpoint_fatal: false,
        wrong_code_fatal: false,
    }
}

/// C1000: the probe closes with 1000 and expects a clean close.
fn c1000() -> CloseExpectation {
    by_fuzzer(&[1000], true)
}

/// The server must close (or drop TCP), with one of `codes` if it sends a code.
fn by_server(codes: &[u16]) -> CloseExpectation {
    CloseExpectation {
        by_fuzzer: false,
        codes: codes.to_vec(),
        clean: false,
        wrong_endpoint_fatal: false,
        wrong_code_fatal: false,
    }
}

/// F1007†: invalid UTF-8; the server must close first (else `behavior` fails too).
fn f1007() -> CloseExpectation {
    CloseExpectation {
        wrong_endpoint_fatal: true,
        ..by_server(&[1007])
    }
}

struct Builder {
    cases: Vec<NamedCase>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)] // one argument per column of the catalogue
    fn add(
        &mut self,
        number: &str,
        id: &str,
        title: &str,
        section: &'static str,
        requirement: &'static str,
        steps: Vec<Step>,
        expect: Expectation,
        close: CloseExpectation,
    ) {
        self.cases.push(NamedCase {
            id: format!("ws/{id}"),
            title: title.to_owned(),
            requirement,
            section,
            rfc: 6455,
            case: Case {
                number: number.to_owned(),
                steps,
                expect,
                close,
                auto_close: true,
                handshake: super::handshake::Handshake::Plain,
            },
        });
    }

    /// Group 7: the case sends its own Close; WRONG CODE fails `behavior` too.
    #[allow(clippy::too_many_arguments)] // one argument per column of the catalogue
    fn add_close_case(
        &mut self,
        number: &str,
        id: &str,
        title: &str,
        requirement: &'static str,
        steps: Vec<Step>,
        expect: Expectation,
        close: CloseExpectation,
    ) {
        let auto_close = number == "7.1.1";
        self.add(
            number,
            id,
            title,
            "7.4",
            requirement,
            steps,
            expect,
            CloseExpectation {
                wrong_code_fatal: true,
                ..close
            },
        );
        if let Some(last) = self.cases.last_mut() {
            last.case.auto_close = auto_close;
            if number.starts_with("7.1") {
                last.section = "7.1";
            }
        }
    }
}

/// All 301 cases, in Autobahn's order.
pub fn all() -> Vec<NamedCase> {
    let mut b = Builder { cases: Vec::new() };
    framing(&mut b);
    pings(&mut b);
    reserved_bits(&mut b);
    opcodes(&mut b);
    fragmentation(&mut b);
    utf8(&mut b);
    closing(&mut b);
    limits(&mut b);
    b.add(
        "10.1.1",
        "fragmentation/text-65536-in-1300-byte-frames",
        "Text message of 65536 bytes in 1300-byte frames",
        "5.4",
        ECHO_REQ,
        vec![
            Step::Message {
                opcode: Opcode::TEXT,
                payload: repeat(b"*", 65536),
                fragment_size: Some(1300),
            },
            kill(10.0),
        ],
        echo(false, repeat(b"*", 65536)),
        c1000(),
    );
    b.cases
}

/// Group 1: text and binary messages around the length-encoding boundaries.
fn framing(b: &mut Builder) {
    const NUMBERS: [[&str; 8]; 2] = [
        [
            "1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8",
        ],
        [
            "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.2.7", "1.2.8",
        ],
    ];
    for (numbers, (opcode, pattern)) in NUMBERS.iter().zip([(1u8, b"*"), (2u8, &[0xfe])]) {
        let kind = if opcode == 1 { "text" } else { "binary" };
        for (number, len) in numbers
            .iter()
            .zip([0usize, 125, 126, 127, 128, 65535, 65536])
        {
            let timer = if len > 128 { 10.0 } else { 1.0 };
            b.add(
                number,
                &format!("framing/{kind}-{len}-bytes"),
                &format!("A {kind} message of {len} bytes is echoed"),
                "5.2",
                ECHO_REQ,
                vec![frame(opcode, true, repeat(pattern, len)), kill(timer)],
                echo(opcode == 2, repeat(pattern, len)),
                c1000(),
            );
        }
        b.add(
            numbers[7],
            &format!("framing/{kind}-65536-bytes-in-997-byte-chops"),
            &format!("A {kind} message of 65536 bytes written in 997-byte chops is echoed"),
            "5.2",
            ECHO_REQ,
            vec![
                chopped(
                    vec![frame(opcode, true, repeat(pattern, 65536))],
                    Chop::Octets(997),
                )
                .remove(0),
                kill(10.0),
            ],
            echo(opcode == 2, repeat(pattern, 65536)),
            c1000(),
        );
    }
}

/// Group 2: pings and pongs.
fn pings(b: &mut Builder) {
    let ping = |p: &[u8]| frame(9, true, Payload::Bytes(p.to_vec()));
    let binary = hex("00fffefdfcfb00ff");
    let fe125 = vec![0xfe; 125];
    for (number, id, title, payload) in [
        (
            "2.1",
            "ping/empty",
            "A ping without payload gets a pong",
            &b""[..],
        ),
        (
            "2.2",
            "ping/text-payload",
            "A ping with a text payload gets its pong",
            HELLO.as_bytes(),
        ),
        (
            "2.3",
            "ping/binary-payload",
            "A ping with a binary payload gets its pong",
            &binary[..],
        ),
        (
            "2.4",
            "ping/payload-125-bytes",
            "A ping with 125 bytes gets its pong",
            &fe125[..],
        ),
    ] {
        b.add(
            number,
            id,
            title,
            "5.5.2",
            PING_REQ,
            vec![ping(payload), close_after(1.0)],
            pongs(&[payload]),
            c1000(),
        );
    }
    b.add(
        "2.5",
        "ping/payload-126-bytes-refused",
        "A ping with 126 bytes fails the connection",
        "5.5",
        CONTROL_LEN_REQ,
        vec![ping(&[0xfe; 126]), kill(1.0)],
        nothing(),
        by_server(&[1002]),
    );
    b.add(
        "2.6",
        "ping/payload-125-bytes-octet-chops",
        "A 125-byte ping written byte by byte gets its pong",
        "5.5.2",
        PING_REQ,
        vec![
            chopped(vec![ping(&fe125)], Chop::Octets(1)).remove(0),
            close_after(2.0),
        ],
        pongs(&[&fe125]),
        c1000(),
    );
    let unsolicited = b"unsolicited pong payload";
    b.add(
        "2.7",
        "ping/unsolicited-pong-empty",
        "An unsolicited empty pong is not answered",
        "5.5.3",
        PING_REQ,
        vec![
            frame(10, true, Payload::empty()),
            close(1000, b""),
            close_after(1.0),
        ],
        nothing(),
        c1000(),
    );
    b.add(
        "2.8",
        "ping/unsolicited-pong-payload",
        "An unsolicited pong with payload is not answered",
        "5.5.3",
        PING_REQ,
        vec![
            frame(10, true, Payload::Bytes(unsolicited.to_vec())),
            close(1000, b""),
            close_after(1.0),
        ],
        nothing(),
        c1000(),
    );
    b.add(
        "2.9",
        "ping/unsolicited-pong-then-ping",
        "An unsolicited pong, then a ping: only the ping is answered",
        "5.5.3",
        PING_REQ,
        vec![
            frame(10, true, Payload::Bytes(unsolicited.to_vec())),
            ping(b"ping payload"),
            close_after(1.0),
        ],
        pongs(&[b"ping payload"]),
        c1000(),
    );
    let payloads: Vec<Vec<u8>> = (0..10)
        .map(|i| format!("payload-{i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    for (number, id, title, chop) in [
        (
            "2.10",
            "ping/ten-pings",
            "Ten pings get ten pongs, in order",
            Chop::None,
        ),
        (
            "2.11",
            "ping/ten-pings-octet-chops",
            "Ten pings written byte by byte get ten pongs, in order",
            Chop::Octets(1),
        ),
    ] {
        let mut steps = chopped(refs.iter().map(|p| ping(p)).collect(), chop);
        steps.push(close_after(3.0));
        b.add(
            number,
            id,
            title,
            "5.5.2",
            PING_REQ,
            steps,
            pongs(&refs),
            c1000(),
        );
    }
}

/// Group 3: reserved bits without an extension.
fn reserved_bits(b: &mut Builder) {
    b.add(
        "3.1",
        "reserved-bits/rsv3-text",
        "A text frame with RSV3 fails the connection",
        "5.2",
        RSV_REQ,
        vec![with_rsv(text(HELLO), 1), kill(1.0)],
        nothing(),
        by_server(&[1002]),
    );
    for (number, id, title, rsv, chop) in [
        (
            "3.2",
            "reserved-bits/rsv2-after-a-message",
            "A text frame with RSV2 after a valid message fails the connection",
            2,
            Chop::None,
        ),
        (
            "3.3",
            "reserved-bits/rsv2-rsv3-after-a-message-frame-chops",
            "RSV2+RSV3 after a valid message, frame by frame, fails the connection",
            3,
            Chop::Frame,
        ),
        (
            "3.4",
            "reserved-bits/rsv1-after-a-message-octet-chops",
            "RSV1 after a valid message, byte by byte, fails the connection",
            4,
            Chop::Octets(1),
        ),
    ] {
        let steps = chopped(
            vec![
                text(HELLO),
                with_rsv(text(HELLO), rsv),
                frame(9, true, Payload::empty()),
            ],
            chop,
        );
        b.add(
            number,
            id,
            title,
            "5.2",
            RSV_REQ,
            [steps, vec![kill(1.0)]].concat(),
            echo_then_fail(HELLO),
            by_server(&[1002]),
        );
    }
    b.add(
        "3.5",
        "reserved-bits/rsv1-rsv3-binary",
        "A binary frame with RSV1+RSV3 fails the connection",
        "5.2",
        RSV_REQ,
        vec![
            with_rsv(frame(2, true, Payload::Bytes(hex("00fffefdfcfb00ff"))), 5),
            kill(1.0),
        ],
        nothing(),
        by_server(&[1002]),
    );
    b.add(
        "3.6",
        "reserved-bits/rsv1-rsv2-binary",
        "A binary frame with RSV1+RSV2 fails the connection",
        "5.2",
        RSV_REQ,
        vec![with_rsv(frame(2, true, Payload::text(HELLO)), 6), kill(1.0)],
        nothing(),
        by_server(&[1002]),
    );
    b.add(
        "3.7",
        "reserved-bits/all-rsv-close",
        "A close frame with all RSV bits fails the connection",
        "5.2",
        RSV_REQ,
        vec![with_rsv(frame(8, true, Payload::empty()), 7), kill(1.0)],
        nothing(),
        by_server(&[1002]),
    );
}

/// Group 4: reserved opcodes.
fn opcodes(b: &mut Builder) {
    for (group, [alone, with_payload, after_1, after_2, after_3]) in
        [("4.1", [3u8, 4, 5, 6, 7]), ("4.2", [11, 12, 13, 14, 15])]
    {
        let kind = if group == "4.1" {
            "non-control"
        } else {
            "control"
        };
        let n = |i: u8| format!("{group}.{i}");
        b.add(
            &n(1),
            &format!("opcodes/reserved-{alone}"),
            &format!("Reserved {kind} opcode {alone} fails the connection"),
            "5.2",
            OPCODE_REQ,
            vec![frame(alone, true, Payload::empty()), kill(1.0)],
            nothing(),
            by_server(&[1002]),
        );
        b.add(
            &n(2),
            &format!("opcodes/reserved-{with_payload}-with-payload"),
            &format!("Reserved {kind} opcode {with_payload} with a payload fails the connection"),
            "5.2",
            OPCODE_REQ,
            vec![
                frame(with_payload, true, Payload::text("reserved opcode payload")),
                kill(1.0),
            ],
            nothing(),
            by_server(&[1002]),
        );
        for (i, (opcode, payload, chop)) in [
            (after_1, "", Chop::None),
            (after_2, HELLO, Chop::None),
            (after_3, HELLO, Chop::Octets(1)),
        ]
        .into_iter()
        .enumerate()
        {
            let chops = if chop == Chop::None {
                ""
            } else {
                "-octet-chops"
            };
            let steps = chopped(
                vec![
                    text(HELLO),
                    frame(opcode, true, Payload::text(payload)),
                    frame(9, true, Payload::empty()),
                ],
                chop,
            );
            b.add(
                &n(3 + i as u8),
                &format!("opcodes/reserved-{opcode}-after-a-message{chops}"),
                &format!(
                    "Reserved {kind} opcode {opcode} after a valid message fails the connection"
                ),
                "5.2",
                OPCODE_REQ,
                [steps, vec![kill(1.0)]].concat(),
                echo_then_fail(HELLO),
                by_server(&[1002]),
            );
        }
    }
}

/// Group 5: fragmentation.
fn fragmentation(b: &mut Builder) {
    let t = Payload::text;
    for (number, id, title, opcode) in [
        (
            "5.1",
            "fragmentation/fragmented-ping",
            "A fragmented ping fails the connection",
            9u8,
        ),
        (
            "5.2",
            "fragmentation/fragmented-pong",
            "A fragmented pong fails the connection",
            10,
        ),
    ] {
        b.add(
            number,
            id,
            title,
            "5.5",
            FRAG_BAD_REQ,
            vec![
                frame(opcode, false, t("fragment1")),
                frame(0, true, t("fragment2")),
                kill(1.0),
            ],
            nothing(),
            by_server(&[1002]),
        );
    }
    let two = || {
        vec![
            frame(1, false, t("fragment1")),
            frame(0, true, t("fragment2")),
        ]
    };
    let with_ping = || {
        vec![
            frame(1, false, t("fragment1")),
            frame(9, true, t("ping payload")),
            frame(0, true, t("fragment2")),
        ]
    };
    for (i, chop) in [Chop::None, Chop::Frame, Chop::Octets(1)]
        .into_iter()
        .enumerate()
    {
        let suffix = ["", "-frame-chops", "-octet-chops"][i];
        let how = ["", ", frame by frame", ", byte by byte"][i];
        let n = |k: usize| -> &'static str {
            [
                "5.3", "5.4", "5.5", "5.6", "5.7", "5.8", "5.9", "5.10", "5.11", "5.12", "5.13",
                "5.14",
            ][k]
        };
        b.add(
            n(i),
            &format!("fragmentation/text-in-two-fragments{suffix}"),
            &format!("A text message in two fragments{how} is echoed whole"),
            "5.4",
            FRAG_REQ,
            [chopped(two(), chop), vec![close_after(1.0)]].concat(),
            echo(false, t("fragment1fragment2")),
            c1000(),
        );
        b.add(
            n(3 + i),
            &format!("fragmentation/ping-between-fragments{suffix}"),
            &format!("A ping between two fragments{how} is answered before the echo"),
            "5.4",
            FRAG_REQ,
            [chopped(with_ping(), chop), vec![close_after(1.0)]].concat(),
            Expectation::Events {
                ok: vec![
                    Expected::Pong(b"ping payload".to_vec()),
                    Expected::Message {
                        binary: false,
                        data: t("fragment1fragment2"),
                    },
                ],
                non_strict: None,
            },
            c1000(),
        );
        for (k, fin, what) in [(6, true, "final "), (9, false, "")] {
            let kind = if fin {
                "stray-final-continuation"
            } else {
                "stray-continuation"
            };
            b.add(
                n(k + i),
                &format!("fragmentation/{kind}{suffix}"),
                &format!(
                    "A {what}continuation frame with nothing to continue{how} fails the connection"
                ),
                "5.4",
                FRAG_BAD_REQ,
                [
                    chopped(
                        vec![frame(0, fin, t("non-continuation payload")), text(HELLO)],
                        chop,
                    ),
                    vec![kill(1.0)],
                ]
                .concat(),
                nothing(),
                by_server(&[1002]),
            );
        }
    }
    b.add(
        "5.15",
        "fragmentation/stray-continuation-after-a-message",
        "A stray continuation after a fragmented message fails the connection",
        "5.4",
        FRAG_BAD_REQ,
        vec![
            frame(1, false, t("fragment1")),
            frame(0, true, t("fragment2")),
            frame(0, false, t("fragment3")),
            frame(1, true, t("fragment4")),
            kill(1.0),
        ],
        Expectation::Events {
            ok: vec![Expected::Message {
                binary: false,
                data: t("fragment1fragment2"),
            }],
            non_strict: Some(Vec::new()),
        },
        by_server(&[1002]),
    );
    for (number, id, title, fin) in [
        (
            "5.16",
            "fragmentation/stray-continuation-twice",
            "Twice a stray continuation then a fragmented message fails the connection",
            false,
        ),
        (
            "5.17",
            "fragmentation/stray-final-continuation-twice",
            "Twice a stray final continuation then a fragmented message fails the connection",
            true,
        ),
    ] {
        let round = || {
            vec![
                frame(0, fin, t("fragment1")),
                frame(1, false, t("fragment2")),
                frame(0, true, t("fragment3")),
            ]
        };
        b.add(
            number,
            id,
            title,
            "5.4",
            FRAG_BAD_REQ,
            [round(), round(), vec![kill(1.0)]].concat(),
            nothing(),
            by_server(&[1002]),
        );
    }
    b.add(
        "5.18",
        "fragmentation/text-opcode-in-a-continuation",
        "A second text frame inside a fragmented message fails the connection",
        "5.4",
        FRAG_BAD_REQ,
        vec![
            frame(1, false, t("fragment1")),
            frame(1, true, t("fragment2")),
            kill(1.0),
        ],
        nothing(),
        by_server(&[1002]),
    );
    for (number, id, title, chop) in [
        (
            "5.19",
            "fragmentation/pings-during-a-paused-message",
            "Pings inside a fragmented message paused for 1 s are answered at once",
            Chop::None,
        ),
        (
            "5.20",
            "fragmentation/pings-during-a-paused-message-frame-chops",
            "As 5.19, frame by frame",
            Chop::Frame,
        ),
    ] {
        let before = chopped(
            vec![
                frame(1, false, t("fragment1")),
                frame(0, false, t("fragment2")),
                frame(9, true, t("pongme 1!")),
            ],
            chop,
        );
        let after = chopped(
            vec![
                frame(0, false, t("fragment3")),
                frame(0, false, t("fragment4")),
                frame(9, true, t("pongme 2!")),
                frame(0, true, t("fragment5")),
            ],
            chop,
        );
        b.add(
            number,
            id,
            title,
            "5.4",
            FRAG_REQ,
            [
                before,
                // The pause is there for pong 1: it ends when pong 1 is in.
                vec![Step::Wait {
                    after: secs(1.0),
                    tag: None,
                    until: WaitFor::Answers(1),
                }],
                after,
                vec![close_after(1.0)],
            ]
            .concat(),
            Expectation::Events {
                ok: vec![
                    Expected::Pong(b"pongme 1!".to_vec()),
                    Expected::Pong(b"pongme 2!".to_vec()),
                    Expected::Message {
                        binary: false,
                        data: t("fragment1fragment2fragment3fragment4fragment5"),
                    },
                ],
                non_strict: None,
            },
            c1000(),
        );
    }
}

/// The generated UTF-8 vectors of 6.5–6.23: (case, payload in hex).
const VECTORS: &[(&str, &str)] = &[
    // 6.5 Some valid UTF-8 sequences
    ("6.5.1", "68656c6c6f24776f726c64"),
    ("6.5.2", "68656c6c6fc2a2776f726c64"),
    ("6.5.3", "68656c6c6fe282ac776f726c64"),
    ("6.5.4", "68656c6c6ff0a4ada2776f726c64"),
    ("6.5.5", "cebae1bdb9cf83cebcceb5"),
    // 6.6 All prefixes of a valid UTF-8 string with multi-byte code points
    ("6.6.1", "ce"),
    ("6.6.2", "ceba"),
    ("6.6.3", "cebae1"),
    ("6.6.4", "cebae1bd"),
    ("6.6.5", "cebae1bdb9"),
    ("6.6.6", "cebae1bdb9cf"),
    ("6.6.7", "cebae1bdb9cf83"),
    ("6.6.8", "cebae1bdb9cf83ce"),
    ("6.6.9", "cebae1bdb9cf83cebc"),
    ("6.6.10", "cebae1bdb9cf83cebcce"),
    ("6.6.11", "cebae1bdb9cf83cebcceb5"),
    // 6.7 First possible sequence of a certain length
    ("6.7.1", "00"),
    ("6.7.2", "c280"),
    ("6.7.3", "e0a080"),
    ("6.7.4", "f0908080"),
    // 6.8 First possible sequence length 5/6 (invalid code points)
    ("6.8.1", "f888808080"),
    ("6.8.2", "fc8480808080"),
    // 6.9 Last possible sequence of a certain length
    ("6.9.1", "7f"),
    ("6.9.2", "dfbf"),
    ("6.9.3", "efbfbf"),
    ("6.9.4", "f48fbfbf"),
    // 6.10 Last possible sequence length 4/5/6 (invalid code points)
    ("6.10.1", "f7bfbfbf"),
    ("6.10.2", "fbbfbfbfbf"),
    ("6.10.3", "fdbfbfbfbfbf"),
    // 6.11 Other boundary conditions
    ("6.11.1", "ed9fbf"),
    ("6.11.2", "ee8080"),
    ("6.11.3", "efbfbd"),
    ("6.11.4", "f48fbfbf"),
    ("6.11.5", "f4908080"),
    // 6.12 Unexpected continuation bytes
    ("6.12.1", "80"),
    ("6.12.2", "bf"),
    ("6.12.3", "80bf"),
    ("6.12.4", "80bf80"),
    ("6.12.5", "80bf80bf"),
    ("6.12.6", "80bf80bf80"),
    ("6.12.7", "80bf80bf80bf"),
    (
        "6.12.8",
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe",
    ),
    // 6.13 Lonely start characters
    (
        "6.13.1",
        "c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20ce20cf20d020d120d220d320d420d520d620d720d820d920da20db20dc20dd20de20",
    ),
    (
        "6.13.2",
        "e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20ee20",
    ),
    ("6.13.3", "f020f120f220f320f420f520f620"),
    ("6.13.4", "f820f920fa20"),
    ("6.13.5", "fc20"),
    // 6.14 Sequences with last continuation byte missing
    ("6.14.1", "c0"),
    ("6.14.2", "e080"),
    ("6.14.3", "f08080"),
    ("6.14.4", "f8808080"),
    ("6.14.5", "fc80808080"),
    ("6.14.6", "df"),
    ("6.14.7", "efbf"),
    ("6.14.8", "f7bfbf"),
    ("6.14.9", "fbbfbfbf"),
    ("6.14.10", "fdbfbfbfbf"),
    // 6.15 Concatenation of incomplete sequences
    (
        "6.15.1",
        "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf",
    ),
    // 6.16 Impossible bytes
    ("6.16.1", "fe"),
    ("6.16.2", "ff"),
    ("6.16.3", "fefeffff"),
    // 6.17 Examples of an overlong ASCII character
    ("6.17.1", "c0af"),
    ("6.17.2", "e080af"),
    ("6.17.3", "f08080af"),
    ("6.17.4", "f8808080af"),
    ("6.17.5", "fc80808080af"),
    // 6.18 Maximum overlong sequences
    ("6.18.1", "c1bf"),
    ("6.18.2", "e09fbf"),
    ("6.18.3", "f08fbfbf"),
    ("6.18.4", "f887bfbfbf"),
    ("6.18.5", "fc83bfbfbfbf"),
    // 6.19 Overlong representation of the NUL character
    ("6.19.1", "c080"),
    ("6.19.2", "e08080"),
    ("6.19.3", "f0808080"),
    ("6.19.4", "f880808080"),
    ("6.19.5", "fc8080808080"),
    // 6.20 Single UTF-16 surrogates
    ("6.20.1", "eda080"),
    ("6.20.2", "edadbf"),
    ("6.20.3", "edae80"),
    ("6.20.4", "edafbf"),
    ("6.20.5", "edb080"),
    ("6.20.6", "edbe80"),
    ("6.20.7", "edbfbf"),
    // 6.21 Paired UTF-16 surrogates
    ("6.21.1", "eda080edb080"),
    ("6.21.2", "eda080edbfbf"),
    ("6.21.3", "edadbfedb080"),
    ("6.21.4", "edadbfedbfbf"),
    ("6.21.5", "edae80edb080"),
    ("6.21.6", "edae80edbfbf"),
    ("6.21.7", "edafbfedb080"),
    ("6.21.8", "edafbfedbfbf"),
    // 6.22 Non-character code points (valid UTF-8)
    ("6.22.1", "efbfbe"),
    ("6.22.2", "efbfbf"),
    ("6.22.3", "f09fbfbe"),
    ("6.22.4", "f09fbfbf"),
    ("6.22.5", "f0afbfbe"),
    ("6.22.6", "f0afbfbf"),
    ("6.22.7", "f0bfbfbe"),
    ("6.22.8", "f0bfbfbf"),
    ("6.22.9", "f18fbfbe"),
    ("6.22.10", "f18fbfbf"),
    ("6.22.11", "f19fbfbe"),
    ("6.22.12", "f19fbfbf"),
    ("6.22.13", "f1afbfbe"),
    ("6.22.14", "f1afbfbf"),
    ("6.22.15", "f1bfbfbe"),
    ("6.22.16", "f1bfbfbf"),
    ("6.22.17", "f28fbfbe"),
    ("6.22.18", "f28fbfbf"),
    ("6.22.19", "f29fbfbe"),
    ("6.22.20", "f29fbfbf"),
    ("6.22.21", "f2afbfbe"),
    ("6.22.22", "f2afbfbf"),
    ("6.22.23", "f2bfbfbe"),
    ("6.22.24", "f2bfbfbf"),
    ("6.22.25", "f38fbfbe"),
    ("6.22.26", "f38fbfbf"),
    ("6.22.27", "f39fbfbe"),
    ("6.22.28", "f39fbfbf"),
    ("6.22.29", "f3afbfbe"),
    ("6.22.30", "f3afbfbf"),
    ("6.22.31", "f3bfbfbe"),
    ("6.22.32", "f3bfbfbf"),
    ("6.22.33", "f48fbfbe"),
    ("6.22.34", "f48fbfbf"),
    // 6.23 Unicode specials (i.e. replacement char)
    ("6.23.1", "efbfb9"),
    ("6.23.2", "efbfba"),
    ("6.23.3", "efbfbb"),
    ("6.23.4", "efbfbc"),
    ("6.23.5", "efbfbd"),
    ("6.23.6", "efbfbe"),
    ("6.23.7", "efbfbf"),
];

/// The families of 6.5–6.23: section, ID name, title.
const FAMILIES: &[(&str, &str, &str)] = &[
    ("6.5", "valid-sequence", "Valid UTF-8"),
    ("6.6", "prefix", "A prefix of κόσμε"),
    ("6.7", "first-of-length", "The first sequence of a length"),
    (
        "6.8",
        "first-of-length-5-6",
        "The first 5 or 6-byte sequence (invalid)",
    ),
    ("6.9", "last-of-length", "The last sequence of a length"),
    (
        "6.10",
        "last-of-length-4-6",
        "The last 4, 5 or 6-byte sequence beyond U+10FFFF",
    ),
    ("6.11", "boundary", "A boundary condition"),
    ("6.12", "lone-continuation", "Unexpected continuation bytes"),
    ("6.13", "lonely-start", "Lonely start bytes"),
    (
        "6.14",
        "missing-last-byte",
        "A sequence missing its last byte",
    ),
    (
        "6.15",
        "concatenated-incomplete",
        "Incomplete sequences concatenated",
    ),
    ("6.16", "impossible-bytes", "Impossible bytes"),
    ("6.17", "overlong-ascii", "An overlong ASCII character"),
    ("6.18", "overlong-maximum", "A maximum overlong sequence"),
    ("6.19", "overlong-nul", "An overlong NUL"),
    ("6.20", "single-surrogate", "A single UTF-16 surrogate"),
    ("6.21", "paired-surrogates", "Paired UTF-16 surrogates"),
    ("6.22", "noncharacter", "A non-character (valid)"),
    ("6.23", "special", "A Unicode special (valid)"),
];

/// Group 6: UTF-8 handling.
fn utf8(b: &mut Builder) {
    let t = |h: &str| Payload::Bytes(hex(h));
    let text_echo = |h: &str| echo(false, t(h));
    b.add(
        "6.1.1",
        "utf8/empty",
        "An empty text message is echoed",
        "5.6",
        UTF8_OK_REQ,
        vec![frame(1, true, Payload::empty()), close_after(1.0)],
        text_echo(""),
        c1000(),
    );
    b.add(
        "6.1.2",
        "utf8/three-empty-fragments",
        "A text message of three empty fragments is echoed",
        "5.4",
        UTF8_OK_REQ,
        vec![
            frame(1, false, Payload::empty()),
            frame(0, false, Payload::empty()),
            frame(0, true, Payload::empty()),
            close_after(1.0),
        ],
        text_echo(""),
        c1000(),
    );
    b.add(
        "6.1.3",
        "utf8/empty-first-and-last-fragments",
        "A text message with empty first and last fragments is echoed",
        "5.4",
        UTF8_OK_REQ,
        vec![
            frame(1, false, Payload::empty()),
            frame(0, false, Payload::text("middle frame payload")),
            frame(0, true, Payload::empty()),
            close_after(1.0),
        ],
        echo(false, Payload::text("middle frame payload")),
        c1000(),
    );
    b.add(
        "6.2.1",
        "utf8/valid-in-one-frame",
        "Valid UTF-8 in one frame is echoed",
        "8.1",
        UTF8_OK_REQ,
        vec![frame(1, true, t(P621)), close_after(1.0)],
        text_echo(P621),
        c1000(),
    );
    let (head, tail) = P621.split_at(30);
    b.add(
        "6.2.2",
        "utf8/valid-split-at-a-code-point",
        "Valid UTF-8 split between code points is echoed",
        "8.1",
        UTF8_OK_REQ,
        vec![
            frame(1, false, t(head)),
            frame(0, true, t(tail)),
            close_after(1.0),
        ],
        text_echo(P621),
        c1000(),
    );
    for (number, id, title, payload) in [
        (
            "6.2.3",
            "utf8/valid-in-1-byte-fragments",
            "Valid UTF-8 in 1-byte fragments (splitting code points) is echoed",
            P621,
        ),
        (
            "6.2.4",
            "utf8/kosme-in-1-byte-fragments",
            "κόσμε in 1-byte fragments is echoed",
            KOSME,
        ),
    ] {
        b.add(
            number,
            id,
            title,
            "8.1",
            UTF8_OK_REQ,
            vec![
                Step::Message {
                    opcode: Opcode::TEXT,
                    payload: t(payload),
                    fragment_size: Some(1),
                },
                close_after(1.0),
            ],
            text_echo(payload),
            c1000(),
        );
    }
    b.add(
        "6.3.1",
        "utf8/invalid-in-one-frame",
        "Invalid UTF-8 (a surrogate) in one frame fails the connection",
        "8.1",
        UTF8_BAD_REQ,
        vec![frame(1, true, t(P63)), kill(1.0)],
        nothing(),
        f1007(),
    );
    b.add(
        "6.3.2",
        "utf8/invalid-in-1-byte-fragments",
        "Invalid UTF-8 in 1-byte fragments fails the connection",
        "8.1",
        UTF8_BAD_REQ,
        vec![
            Step::Message {
                opcode: Opcode::TEXT,
                payload: t(P63),
                fragment_size: Some(1),
            },
            kill(1.0),
        ],
        nothing(),
        f1007(),
    );
    let fail_fast = || Expectation::Events {
        ok: vec![Expected::Timeout("A")],
        non_strict: Some(vec![Expected::Timeout("A"), Expected::Timeout("B")]),
    };
    // Whether the server fails within each pause is what the case grades.
    let wait = |tag| Step::Wait {
        after: secs(1.0),
        tag: Some(tag),
        until: WaitFor::Time,
    };
    // 6.4.1/6.4.2 send three frames; 6.4.3/6.4.4 send one frame in three parts
    // (Autobahn's streaming API), then an empty final continuation.
    for (number, id, title, parts, inside_a_frame) in [
        (
            "6.4.1",
            "utf8/fail-fast-in-a-fragment",
            "Invalid UTF-8 in the second of three fragments fails the connection at once",
            [KOSME, "f4908080", "656469746564"],
            false,
        ),
        (
            "6.4.2",
            "utf8/fail-fast-at-the-invalid-byte",
            "A fragment that is just the invalidating byte fails the connection at once",
            ["cebae1bdb9cf83cebcceb5f4", "90", "8080656469746564"],
            false,
        ),
        (
            "6.4.3",
            "utf8/fail-fast-inside-a-frame",
            "Invalid UTF-8 inside a frame still arriving fails the connection at once",
            [KOSME, "f4908080", "656469746564"],
            true,
        ),
        (
            "6.4.4",
            "utf8/fail-fast-at-the-invalid-byte-inside-a-frame",
            "The invalidating byte inside a frame still arriving fails the connection at once",
            ["cebae1bdb9cf83cebcceb5f4", "90", "8080656469746564"],
            true,
        ),
    ] {
        let steps = if inside_a_frame {
            vec![
                Step::BeginFrame {
                    opcode: Opcode::TEXT,
                    fin: false,
                    len: 21,
                },
                Step::FrameData(hex(parts[0])),
                wait("A"),
                Step::FrameData(hex(parts[1])),
                wait("B"),
                Step::FrameData(hex(parts[2])),
                frame(0, true, Payload::empty()),
                kill(1.0),
            ]
        } else {
            vec![
                frame(1, false, t(parts[0])),
                wait("A"),
                frame(0, false, t(parts[1])),
                wait("B"),
                frame(0, true, t(parts[2])),
                kill(1.0),
            ]
        };
        b.add(
            number,
            id,
            title,
            "8.1",
            UTF8_FAST_REQ,
            steps,
            fail_fast(),
            f1007(),
        );
    }
    for (number, payload) in VECTORS {
        let section = number.rsplit_once('.').map_or("", |(s, _)| s);
        let index = number.rsplit_once('.').map_or("", |(_, i)| i);
        let (_, name, family) = FAMILIES
            .iter()
            .find(|(s, ..)| *s == section)
            .copied()
            .unwrap_or(("", "vector", "A vector"));
        let bytes = hex(payload);
        let valid = std::str::from_utf8(&bytes).is_ok();
        let verdict = if valid {
            "is echoed"
        } else {
            "fails the connection"
        };
        let steps = vec![frame(1, true, Payload::Bytes(bytes)), kill(0.5)];
        let title = format!("{family}: {payload} {verdict}");
        if valid {
            b.add(
                number,
                &format!("utf8/{name}-{index}"),
                &title,
                "8.1",
                UTF8_OK_REQ,
                steps,
                text_echo(payload),
                c1000(),
            );
        } else {
            b.add(
                number,
                &format!("utf8/{name}-{index}"),
                &title,
                "8.1",
                UTF8_BAD_REQ,
                steps,
                nothing(),
                f1007(),
            );
        }
    }
}

/// Group 7: the closing handshake.
fn closing(b: &mut Builder) {
    let t = Payload::text;
    b.add_close_case(
        "7.1.1",
        "close/after-a-message",
        "A message is echoed, then the Close is answered",
        CLOSE_REQ,
        vec![text("Hello World!"), kill(1.0)],
        echo(false, t("Hello World!")),
        c1000(),
    );
    b.add_close_case(
        "7.1.2",
        "close/second-close-ignored",
        "A second Close after the first is ignored",
        CLOSE_REQ,
        vec![
            close(1000, b""),
            frame(8, true, Payload::empty()),
            kill(1.0),
        ],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.1.3",
        "close/ping-after-close-ignored",
        "A ping after a Close is not answered",
        CLOSE_REQ,
        vec![
            close(1000, b""),
            frame(9, true, Payload::empty()),
            kill(1.0),
        ],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.1.4",
        "close/text-after-close-ignored",
        "A message after a Close is not echoed",
        CLOSE_REQ,
        vec![close(1000, b""), text("Hello World!"), kill(1.0)],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.1.5",
        "close/fragment-close-fragment",
        "A Close between two fragments ends the connection; the message is not echoed",
        CLOSE_REQ,
        vec![
            frame(1, false, t("fragment1")),
            close(1000, b""),
            frame(0, true, t("fragment2")),
            kill(1.0),
        ],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.1.6",
        "close/behind-a-large-message",
        "A Close and a ping right behind a 256 KiB message and a small one (information)",
        CLOSE_OPEN_REQ,
        vec![
            frame(1, true, repeat(LIMITS_TEXT, 262_144)),
            text("Hello World!"),
            close(1000, b""),
            frame(9, true, Payload::empty()),
            kill(1.0),
        ],
        Expectation::Informational,
        c1000(),
    );
    b.add_close_case(
        "7.3.1",
        "close/empty-body",
        "A Close with an empty body is answered",
        CLOSE_BODY_REQ,
        vec![Step::Close(Vec::new()), kill(1.0)],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.3.2",
        "close/one-byte-body",
        "A Close with a 1-byte body is a protocol error",
        CLOSE_BODY_REQ,
        vec![Step::Close(b"a".to_vec()), kill(1.0)],
        nothing(),
        by_fuzzer(&[1002], false),
    );
    b.add_close_case(
        "7.3.3",
        "close/code-only",
        "A Close with a code only is answered",
        CLOSE_BODY_REQ,
        vec![close(1000, b""), kill(1.0)],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.3.4",
        "close/code-and-reason",
        "A Close with a code and a reason is answered",
        CLOSE_BODY_REQ,
        vec![close(1000, b"Hello World!"), kill(1.0)],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.3.5",
        "close/reason-123-bytes",
        "A Close with a 123-byte reason (125-byte body) is answered",
        CLOSE_BODY_REQ,
        vec![close(1000, &[b'*'; 123]), kill(1.0)],
        nothing(),
        c1000(),
    );
    b.add_close_case(
        "7.3.6",
        "close/reason-124-bytes",
        "A Close with a 124-byte reason (126-byte body) is a protocol error",
        CLOSE_BODY_REQ,
        vec![close(1000, &[b'*'; 124]), kill(1.0)],
        nothing(),
        by_fuzzer(&[1002], false),
    );
    b.add_close_case(
        "7.5.1",
        "close/invalid-utf8-reason",
        "A Close whose reason is invalid UTF-8 is a protocol error",
        CLOSE_BODY_REQ,
        vec![close(1000, &hex(P63)), kill(1.0)],
        nothing(),
        by_fuzzer(&[1002, 1007], false),
    );
    let valid = [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ];
    for (i, code) in valid.into_iter().enumerate() {
        b.add_close_case(
            &format!("7.7.{}", i + 1),
            &format!("close/valid-code-{code}"),
            &format!("A Close with code {code} is answered"),
            CLOSE_CODE_OK_REQ,
            vec![close(code, b""), kill(1.0)],
            nothing(),
            by_fuzzer(&[1000, code], true),
        );
    }
    let invalid = [0u16, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
    for (i, code) in invalid.into_iter().enumerate() {
        b.add_close_case(
            &format!("7.9.{}", i + 1),
            &format!("close/invalid-code-{code}"),
            &format!("A Close with code {code} is a protocol error"),
            CLOSE_CODE_BAD_REQ,
            vec![close(code, b""), kill(1.0)],
            nothing(),
            by_fuzzer(&[1002], false),
        );
    }
    for (number, code) in [("7.13.1", 5000u16), ("7.13.2", 65535)] {
        b.add_close_case(
            number,
            &format!("close/code-{code}"),
            &format!("A Close with code {code}, beyond every range (information)"),
            CLOSE_OPEN_REQ,
            vec![close(code, b""), kill(1.0)],
            Expectation::Informational,
            by_fuzzer(&[1000, code, 1002], false),
        );
    }
}

/// Group 9: limits and performance.
fn limits(b: &mut Builder) {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    let sizes = [64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB];
    let size_name = |n: usize| {
        if n >= MIB {
            format!("{}mib", n / MIB)
        } else {
            format!("{}kib", n / KIB)
        }
    };
    for (group, binary, pattern, waits) in [
        (
            "9.1",
            false,
            LIMITS_TEXT,
            [10.0, 10.0, 100.0, 100.0, 100.0, 100.0],
        ),
        (
            "9.2",
            true,
            LIMITS_BINARY,
            [10.0, 10.0, 10.0, 10.0, 100.0, 100.0],
        ),
    ] {
        let kind = if binary { "binary" } else { "text" };
        for (i, (len, wait)) in sizes.into_iter().zip(waits).enumerate() {
            b.add(
                &format!("{group}.{}", i + 1),
                &format!("limits/{kind}-{}", size_name(len)),
                &format!(
                    "A {kind} message of {} is echoed",
                    size_name(len)
                        .replace("ib", "iB")
                        .to_uppercase()
                        .replace("IB", "iB")
                ),
                "10.4",
                LIMITS_REQ,
                vec![
                    frame(if binary { 2 } else { 1 }, true, repeat(pattern, len)),
                    close_after(wait),
                ],
                Expectation::Length { binary, len },
                c1000(),
            );
        }
    }
    let fragments = [
        64usize,
        256,
        KIB,
        4 * KIB,
        16 * KIB,
        64 * KIB,
        256 * KIB,
        MIB,
        4 * MIB,
    ];
    for (group, binary) in [("9.3", false), ("9.4", true)] {
        let kind = if binary { "binary" } else { "text" };
        for (i, size) in fragments.into_iter().enumerate() {
            let pattern: &'static [u8] = if binary && i == 0 { &[0xfe] } else { b"*" };
            let size_text = if size >= KIB {
                size_name(size)
            } else {
                format!("{size}b")
            };
            b.add(
                &format!("{group}.{}", i + 1),
                &format!("limits/{kind}-4mib-in-{size_text}-fragments"),
                &format!("A 4 MiB {kind} message in fragments of {size_text} is echoed"),
                "10.4",
                LIMITS_REQ,
                vec![
                    Step::Message {
                        opcode: if binary { Opcode::BINARY } else { Opcode::TEXT },
                        payload: repeat(pattern, 4 * MIB),
                        fragment_size: Some(size),
                    },
                    close_after(100.0),
                ],
                Expectation::Length {
                    binary,
                    len: 4 * MIB,
                },
                c1000(),
            );
        }
    }
    for (group, binary, pattern) in [("9.5", false, LIMITS_TEXT), ("9.6", true, LIMITS_BINARY)] {
        let kind = if binary { "binary" } else { "text" };
        for (i, chop) in [64usize, 128, 256, 512, 1024, 2048].into_iter().enumerate() {
            b.add(
                &format!("{group}.{}", i + 1),
                &format!("limits/{kind}-1mib-in-{chop}-byte-chops"),
                &format!("A 1 MiB {kind} frame written in {chop}-byte chops is echoed"),
                "10.4",
                LIMITS_REQ,
                vec![
                    chopped(
                        vec![frame(
                            if binary { 2 } else { 1 },
                            true,
                            repeat(pattern, MIB),
                        )],
                        Chop::Octets(chop),
                    )
                    .remove(0),
                    close_after(1000.0),
                ],
                Expectation::Length { binary, len: MIB },
                c1000(),
            );
        }
    }
    for (group, binary, pattern) in [("9.7", false, &b"*"[..]), ("9.8", true, &[0xfe][..])] {
        let kind = if binary { "binary" } else { "text" };
        for (i, (len, wait)) in [0usize, 16, 64, 256, 1024, 4096]
            .into_iter()
            .zip([60.0, 60.0, 60.0, 120.0, 240.0, 480.0])
            .enumerate()
        {
            b.add(
                &format!("{group}.{}", i + 1),
                &format!("limits/1000-{kind}-round-trips-of-{len}-bytes"),
                &format!("1000 {kind} messages of {len} bytes, one at a time, are echoed"),
                "10.4",
                LIMITS_REQ,
                vec![
                    Step::RoundTrips {
                        opcode: if binary { Opcode::BINARY } else { Opcode::TEXT },
                        payload: repeat(pattern, len),
                        count: 1000,
                    },
                    close_after(wait),
                ],
                Expectation::RoundTrips,
                c1000(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(number: &str) -> &str {
        number.split('.').next().unwrap_or("")
    }

    #[test]
    fn there_are_301_cases_in_autobahns_groups() {
        let cases = all();
        assert_eq!(cases.len(), 301);
        for (g, n) in [
            ("1", 16),
            ("2", 11),
            ("3", 7),
            ("4", 10),
            ("5", 20),
            ("6", 145),
            ("7", 37),
            ("9", 54),
            ("10", 1),
        ] {
            assert_eq!(
                cases.iter().filter(|c| group(&c.case.number) == g).count(),
                n,
                "group {g}"
            );
        }
    }

    #[test]
    fn numbers_and_ids_are_unique() {
        let cases = all();
        let numbers: std::collections::BTreeSet<_> =
            cases.iter().map(|c| c.case.number.clone()).collect();
        let ids: std::collections::BTreeSet<_> = cases.iter().map(|c| c.id.clone()).collect();
        assert_eq!(numbers.len(), 301);
        assert_eq!(ids.len(), 301);
    }

    #[test]
    fn the_catalogue_lists_every_case() {
        let catalogue = include_str!("../../../../fixtures/ws/autobahn-cases.md");
        for c in all() {
            assert!(
                catalogue.contains(&format!("| {} |", c.case.number)),
                "{} is not in the catalogue",
                c.case.number
            );
        }
    }

    #[test]
    fn generated_vectors_match_the_catalogue_rows() {
        let catalogue = include_str!("../../../../fixtures/ws/autobahn-cases.md");
        for (number, payload) in VECTORS {
            let row = catalogue
                .lines()
                .find(|l| l.starts_with(&format!("| {number} |")))
                .unwrap_or_default();
            assert!(row.contains(&format!("`{payload}`")), "{number}: {row}");
            let valid = std::str::from_utf8(&hex(payload)).is_ok();
            assert_eq!(row.contains("| valid,"), valid, "{number}: validity");
        }
    }

    #[test]
    fn invalid_utf8_cases_expect_the_server_to_close_first() {
        let invalid_vectors = VECTORS
            .iter()
            .filter(|(_, h)| std::str::from_utf8(&hex(h)).is_err())
            .count();
        let cases = all();
        let invalid: Vec<_> = cases
            .iter()
            .filter(|c| c.requirement == UTF8_BAD_REQ)
            .collect();
        // 6.3.1, 6.3.2 and every invalid vector of 6.5-6.23: none slipped through.
        assert_eq!(invalid.len(), 2 + invalid_vectors);
        assert!(invalid_vectors > 60, "{invalid_vectors}");
        for c in invalid {
            assert!(
                c.case.close.wrong_endpoint_fatal && !c.case.close.by_fuzzer,
                "{}",
                c.case.number
            );
            assert_eq!(c.case.close.codes, [1007]);
        }
    }
}
