//! The `pulsecheck` binary as a user runs it: output, exit codes and messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn pulsecheck(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulsecheck"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

const STREAM: &[u8] = b"retry: 3000\n: hb\nid: 7\nevent: tick\ndata: a\ndata: b\n\ndata: cut";

#[test]
fn decode_sse_prints_items_in_stream_order_then_end() {
    let out = pulsecheck(&["decode", "sse"], STREAM);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"kind\":\"retry\",\"ms\":3000,\"offset\":0}\n\
         {\"kind\":\"comment\",\"text\":\" hb\",\"offset\":12}\n\
         {\"kind\":\"event\",\"type\":\"tick\",\"data\":\"a\\nb\",\"last_event_id\":\"7\",\"offset\":0}\n\
         {\"kind\":\"end\",\"last_event_id\":\"7\",\"retry_ms\":3000,\"discarded_partial_event\":true,\"bytes\":61}\n"
    );
}

#[test]
fn decode_sse_output_is_the_same_for_every_chunk_size_and_from_a_file() {
    let whole = stdout(&pulsecheck(&["decode", "sse"], STREAM));
    for n in ["1", "2", "5", "64"] {
        let out = pulsecheck(&["decode", "sse", "--chunk-size", n], STREAM);
        assert_eq!(stdout(&out), whole, "--chunk-size {n}");
    }
    let file = std::env::temp_dir().join(format!("pulsecheck-cli-{}.sse", std::process::id()));
    std::fs::write(&file, STREAM).unwrap();
    let out = pulsecheck(&["decode", "sse", file.to_str().unwrap()], b"");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(stdout(&out), whole);
}

#[test]
fn bad_flags_and_unreadable_files_exit_2_with_a_message() {
    for args in [
        &["decode", "sse", "--chunk-size", "0"][..],
        &["decode", "sse", "--chunk-size", "many"],
        &["decode", "sse", "--max-line-bytes", "0"],
        &["decode", "sse", "--nope"],
        &["decode", "sse", "/nonexistent/capture.sse"],
        &["decode", "sse", "/"],
        &["decode", "ws", "--from", "proxy"],
        &["decode", "ws", "/nonexistent/frames.bin"],
        &["decode"],
    ] {
        let out = pulsecheck(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&out).trim().is_empty(), "{args:?} says why");
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}

#[test]
fn a_stream_over_a_limit_exits_1_after_the_items_before_it() {
    let out = pulsecheck(
        &["decode", "sse", "--max-line-bytes", "8"],
        b"data: ok\n\ndata: far too long\n\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("\"data\":\"ok\""));
    assert!(lines[1].starts_with("{\"kind\":\"error\""));
    assert!(stderr(&out).contains("longer than the limit of 8 bytes"));
}

#[test]
fn decode_ws_reads_hex_and_stops_at_the_first_violation() {
    // RFC 6455 §5.7 masked "Hello" from a client, then an unmasked frame.
    let hex = b"81 85 37 fa 21 3d 7f 9f 4d 51 58\n81 01 61\n";
    let out = pulsecheck(&["decode", "ws", "--from", "client", "--hex"], hex);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with(
        "{\"kind\":\"frame\",\"fin\":true,\"rsv\":0,\"opcode\":1,\"masked\":true,\"payload_len\":5,\"payload_hex\":\"48656c6c6f\""
    ));
    assert!(lines[1].starts_with(
        "{\"kind\":\"message\",\"opcode\":1,\"payload_hex\":\"48656c6c6f\",\"text\":\"Hello\""
    ));
    assert!(lines[2].starts_with("{\"kind\":\"error\",\"close_code\":1002,\"offset\":11,"));
    assert!(stderr(&out).contains("client frame is not masked"));
}

#[test]
fn decode_ws_reports_an_unfinished_stream_as_incomplete() {
    let out = pulsecheck(&["decode", "ws", "--chunk-size", "1"], b"\x01\x01a");
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).ends_with(
        "{\"kind\":\"end\",\"complete\":false,\"bytes\":3,\"trailing_bytes\":0,\"close_received\":false}\n"
    ));
    let out = pulsecheck(&["decode", "ws", "--hex"], b"8");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("odd number of hex digits"));
}

#[test]
fn probe_without_a_url_checks_the_reference_server_in_every_format() {
    let dir = std::env::temp_dir().join(format!("pulsecheck-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json_path = dir.join("report.json");
    let out = pulsecheck(
        &[
            "probe",
            "--observe",
            "2",
            "--format",
            "json",
            "-o",
            json_path.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(
        checks.len(),
        356,
        "32 SSE checks, 23 WebSocket checks and 301 Autobahn cases"
    );
    assert!(
        checks
            .iter()
            .all(|c| c["verdict"] != "fail" && c["verdict"] != "error")
    );
    assert_eq!(report["summary"]["fail"], 0);

    let junit = pulsecheck(
        &[
            "probe",
            "--observe",
            "1",
            "--format",
            "junit",
            "--only",
            "sse/response/*",
        ],
        b"",
    );
    assert_eq!(junit.status.code(), Some(0), "{}", stderr(&junit));
    assert!(stdout(&junit).contains("<testsuite name=\"sse\" tests=\"4\" failures=\"0\""));

    // The saved report is a baseline: the same server gives no regression.
    let human = pulsecheck(
        &[
            "probe",
            "--observe",
            "2",
            "--baseline",
            json_path.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    assert!(stdout(&human).contains("356 checks: "));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn probe_usage_errors_and_unreachable_targets_exit_2() {
    for (args, says) in [
        (
            &["probe", "--only", "sse/nothing/*"][..],
            "matches no check",
        ),
        (&["probe", "--observe", "0"], "--observe"),
        (&["probe", "--jobs", "0"], "--jobs"),
        (&["probe", "-H", "no colon"], "header"),
        (
            &["probe", "--baseline", "/nonexistent/base.json"],
            "baseline",
        ),
        (&["probe", "ftp://127.0.0.1/events"], "http"),
        (&["probe", "http://127.0.0.1:1/events"], "cannot reach"),
        (
            &["serve", "sse", "--fault", "no-such-fault"],
            "no-such-fault",
        ),
    ] {
        let out = pulsecheck(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).to_lowercase().contains(&says.to_lowercase()),
            "{args:?} says {:?}",
            stderr(&out)
        );
    }
}

#[test]
fn list_prints_every_check_with_its_requirement() {
    let out = pulsecheck(&["list", "--json"], b"");
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 356);
    assert!(
        list.iter()
            .all(|c| !c["requirement"].as_str().unwrap().is_empty())
    );
}

#[test]
fn format_autobahn_writes_an_index_json_of_the_parity_cases() {
    let out = pulsecheck(
        &[
            "probe",
            "--only",
            "6.4.*",
            "--only",
            "7.13.1",
            "--only",
            "ws/handshake/accept",
            "--format",
            "autobahn",
            "--agent",
            "reference",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let index: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let cases = index["reference"].as_object().expect("one agent");
    // Only Autobahn cases, in Autobahn's order; the handshake check is not one.
    let numbers: Vec<&str> = cases.keys().map(String::as_str).collect();
    assert_eq!(numbers, ["6.4.1", "6.4.2", "6.4.3", "6.4.4", "7.13.1"]);
    for number in ["6.4.1", "6.4.2", "6.4.3", "6.4.4"] {
        let case = &cases[number];
        assert_eq!(case["behavior"], "OK", "{number}: {case}");
        assert_eq!(case["behaviorClose"], "OK", "{number}: {case}");
        assert_eq!(case["remoteCloseCode"], 1007, "{number}: {case}");
        // Fail-fast: the server closes at the invalid byte, about 1 s in.
        let ms = case["duration"].as_u64().unwrap();
        assert!((900..1900).contains(&ms), "{number}: {ms} ms");
    }
    assert_eq!(cases["7.13.1"]["behavior"], "INFORMATIONAL");
    assert_eq!(cases["7.13.1"]["remoteCloseCode"], 1002);
}
