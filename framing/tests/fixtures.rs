//! Decodes every frame fixture in `fixtures/ws/` and snapshots a readable description.
//!
//! The fixture format is documented in `fixtures/ws/README.md`. Each file is decoded twice,
//! from one buffer and one byte at a time through a growing buffer, and both descriptions
//! must be identical before the snapshot is compared: how bytes are chunked never changes
//! what the reader reports.

use std::fmt::Write as _;
use std::path::Path;

use pulsecheck_ws::{Assembled, FrameConfig, Role, Rsv, Status, StreamReader, decode_header};

/// Decoder options a fixture sets with `#!key=value` lines.
#[derive(Default)]
struct Options {
    allowed_rsv: Option<Rsv>,
    max_frame_payload: Option<u64>,
    max_message_size: Option<u64>,
}

/// Parses the `.hex` format: `#` comments, `#!key=value` options, hex byte tokens with an
/// optional `*N` repeat, and `"text"` literals.
fn parse_hex(text: &str) -> (Vec<u8>, Options) {
    let mut bytes = Vec::new();
    let mut options = Options::default();
    for line in text.lines() {
        if let Some(option) = line.strip_prefix("#!") {
            let (key, value) = option.split_once('=').expect("option is key=value");
            match key.trim() {
                "allowed_rsv" => {
                    let rsv = value.split('|').fold(Rsv::NONE, |acc, bit| {
                        acc.union(match bit.trim() {
                            "RSV1" => Rsv::RSV1,
                            "RSV2" => Rsv::RSV2,
                            "RSV3" => Rsv::RSV3,
                            other => panic!("unknown RSV bit {other}"),
                        })
                    });
                    options.allowed_rsv = Some(rsv);
                }
                "max_frame_payload" => {
                    options.max_frame_payload = Some(value.trim().parse().unwrap())
                }
                "max_message_size" => {
                    options.max_message_size = Some(value.trim().parse().unwrap())
                }
                other => panic!("unknown option {other}"),
            }
            continue;
        }
        let mut rest = line.split('#').next().unwrap_or("").trim();
        while !rest.is_empty() {
            if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').expect("closing quote");
                bytes.extend_from_slice(&quoted.as_bytes()[..end]);
                rest = quoted[end + 1..].trim_start();
                continue;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let token = &rest[..end];
            rest = rest[end..].trim_start();
            let (hex, count) = match token.split_once('*') {
                Some((hex, n)) => (hex, n.parse::<usize>().expect("repeat count")),
                None => (token, 1),
            };
            assert!(
                hex.len() % 2 == 0 && !hex.is_empty(),
                "bad hex token {token:?}"
            );
            let unit: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
                .collect();
            for _ in 0..count {
                bytes.extend_from_slice(&unit);
            }
        }
    }
    (bytes, options)
}

fn preview(bytes: &[u8]) -> String {
    const MAX_BYTES: usize = 16;
    const MAX_CHARS: usize = 48;
    let shown = &bytes[..bytes.len().min(MAX_BYTES)];
    let more = if bytes.len() > MAX_BYTES { " …" } else { "" };
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => {
            let s: String = s.chars().take(MAX_CHARS).collect();
            let more = if s.len() < bytes.len() { "…" } else { "" };
            format!("{s:?}{more} ({} bytes)", bytes.len())
        }
        _ => {
            let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
            format!("[{}{more}] ({} bytes)", hex.join(" "), bytes.len())
        }
    }
}

/// Decodes `data`, revealing it `chunk` bytes at a time, and describes every frame, the
/// first violation and the end of the stream.
fn describe(config: FrameConfig, data: &[u8], chunk: usize) -> String {
    let mut out = String::new();
    let mut reader = StreamReader::new(config);
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    'feed: while fed < data.len() || fed == 0 {
        let next = (fed + chunk).min(data.len());
        buf.extend_from_slice(&data[fed..next]);
        fed = next;
        let mut start = 0;
        loop {
            match reader.read(&mut buf[start..]) {
                Ok(Status::Complete((frame, used))) => {
                    writeln!(out, "frame @{}: {}", frame.offset, frame.header).unwrap();
                    if !frame.payload.is_empty() {
                        let unmasked = if frame.header.mask.is_some() {
                            " (unmasked)"
                        } else {
                            ""
                        };
                        writeln!(out, "  payload{unmasked}: {}", preview(frame.payload)).unwrap();
                    }
                    let event = match frame.event {
                        Assembled::Fragment => "fragment (message continues)".to_owned(),
                        Assembled::Message(m) => {
                            let content = match m.text() {
                                Some(text) => preview(text.as_bytes()),
                                None => preview(m.data()),
                            };
                            let encoded = if m.rsv().is_empty() {
                                String::new()
                            } else {
                                format!(", extension-encoded ({}), not validated", m.rsv())
                            };
                            format!(
                                "{} message in {} frame(s){encoded}: {content}",
                                m.kind(),
                                m.frames()
                            )
                        }
                        Assembled::Ping(p) => format!("ping: {}", preview(p)),
                        Assembled::Pong(p) => format!("pong: {}", preview(p)),
                        Assembled::Close(c) => match c.code {
                            Some(code) => format!("close: code {code}, reason {:?}", c.reason),
                            None => "close: no code (1005 to the application)".to_owned(),
                        },
                    };
                    writeln!(out, "  => {event}").unwrap();
                    start += used;
                }
                Ok(Status::Partial) => break,
                Err(v) => {
                    writeln!(
                        out,
                        "violation at byte {} (frame @{}): {}",
                        v.offset, v.frame_offset, v.error
                    )
                    .unwrap();
                    writeln!(
                        out,
                        "  rule: {}: \"{}\"",
                        v.error.section(),
                        v.error.requirement()
                    )
                    .unwrap();
                    writeln!(out, "  close with: {}", v.close_code()).unwrap();
                    let frame = &data[usize::try_from(v.frame_offset).unwrap()..];
                    match decode_header(frame) {
                        Status::Complete((header, _)) => {
                            writeln!(out, "  raw header: {header}").unwrap()
                        }
                        Status::Partial => writeln!(out, "  raw header: incomplete").unwrap(),
                    }
                    break 'feed;
                }
            }
        }
        buf.drain(..start);
        if data.is_empty() {
            break;
        }
    }
    // Everything the reader never consumed, revealed or not (after a violation, the rest of
    // the stream is not read).
    let consumed = usize::try_from(reader.offset()).unwrap();
    let end = reader.finish(&data[consumed..]);
    if end.violation.is_none() && !end.at_frame_boundary() {
        match decode_header(&data[consumed..]) {
            Status::Complete((header, len)) => {
                let got = data.len() - consumed - len;
                writeln!(
                    out,
                    "partial frame @{consumed}: {header}; {got} payload bytes received"
                )
                .unwrap();
            }
            Status::Partial => {
                writeln!(out, "partial frame @{consumed}: header incomplete").unwrap()
            }
        }
    }
    let in_progress = end
        .message_in_progress
        .map_or("none".to_owned(), |k| k.to_string());
    writeln!(
        out,
        "end: offset={} trailing_bytes={} message_in_progress={} close_received={} clean={}",
        end.offset,
        end.trailing_bytes,
        in_progress,
        end.close_received,
        end.is_clean()
    )
    .unwrap();
    out
}

fn config_for(path: &Path, options: &Options) -> FrameConfig {
    let name = path.file_name().unwrap().to_string_lossy();
    // The side that sent the bytes: the server, unless the file name says client.
    let sender = if name.contains("client") {
        Role::Client
    } else {
        Role::Server
    };
    let mut config = FrameConfig::new(sender);
    if let Some(rsv) = options.allowed_rsv {
        config.allowed_rsv = rsv;
    }
    if let Some(max) = options.max_frame_payload {
        config.max_frame_payload = max;
    }
    if let Some(max) = options.max_message_size {
        config.max_message_size = max;
    }
    config
}

#[test]
fn ws_fixtures() {
    insta::glob!("../../fixtures/ws", "*.{hex,bin}", |path| {
        let (data, options) = if path.extension().is_some_and(|e| e == "bin") {
            (std::fs::read(path).unwrap(), Options::default())
        } else {
            parse_hex(&std::fs::read_to_string(path).unwrap())
        };
        let config = config_for(path, &options);
        let mut description = format!(
            "sender: {}, allowed RSV: {}, max frame: {}, max message: {}\nbytes: {}\n",
            config.sender,
            config.allowed_rsv,
            config.max_frame_payload,
            config.max_message_size,
            data.len()
        );
        let whole = describe(config, &data, data.len().max(1));
        let bytewise = describe(config, &data, 1);
        assert_eq!(
            whole,
            bytewise,
            "chunking changed the result for {}",
            path.display()
        );
        description.push_str(&whole);
        insta::with_settings!({
            snapshot_path => "../../fixtures/ws/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(description);
        });
    });
}

#[test]
fn hex_format_parses_repeats_literals_and_options() {
    let (bytes, options) = parse_hex(
        "#!max_message_size=7\n# c\n81 05 \"Hé\" # x\n0102*2 aa\n#!allowed_rsv=RSV1|RSV3\n",
    );
    assert_eq!(bytes, [0x81, 0x05, b'H', 0xC3, 0xA9, 1, 2, 1, 2, 0xAA]);
    assert_eq!(options.max_message_size, Some(7));
    assert_eq!(options.allowed_rsv, Some(Rsv::RSV1.union(Rsv::RSV3)));
}
