//! The `pulsecheck` binary as a user runs it: output, exit codes and messages.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
        catalogue_size(),
        "every SSE check, WebSocket check and Autobahn case"
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
    let size = catalogue_size();
    let text = stdout(&human);
    assert!(
        text.contains(&format!("\n{size} checks: ")),
        "{size} checks: {}",
        text.lines().last().unwrap_or_default()
    );
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
        (&["probe", "--deadline", "soon"], "--deadline"),
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
    assert!(list.len() > 350, "{}", list.len());
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

/// How many checks `pulsecheck list` knows of servers.
fn catalogue_size() -> usize {
    let out = pulsecheck(&["list", "--json", "--suite", "sse", "--suite", "ws"], b"");
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    list.as_array().unwrap().len()
}

/// A server on loopback that answers every connection with `answer` (after reading
/// the client's first bytes), then holds the connection for `hold`. An empty answer
/// with a long hold is a server that accepts and never says anything.
fn raw_server(answer: Vec<u8>, hold: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(&answer);
                std::thread::sleep(hold);
            });
        }
    });
    port
}

/// The bytes of an event stream head, chunked, with an optional Cache-Control.
fn stream_head(cache_control: bool) -> Vec<u8> {
    let mut head =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            .to_vec();
    if cache_control {
        head.extend_from_slice(b"Cache-Control: no-cache\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn durations_take_units_and_bad_ones_state_the_range() {
    // Accepted (the run stops at the --only check that follows them).
    for value in ["35s", "2m", "500ms", "1.5s", "86400", "1m30s"] {
        let out = pulsecheck(
            &["probe", "--observe", value, "--only", "sse/nothing/*"],
            b"",
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("matches no check"),
            "--observe {value}: {}",
            stderr(&out)
        );
    }
    for (flag, value, says) in [
        (
            "--observe",
            "35x",
            "a number with a unit (500ms, 35s, 1.5s, 2m, 1h, 1m30s)",
        ),
        (
            "--observe",
            "86401",
            "must be a duration above 0 and at most 24 h",
        ),
        ("--observe", "0", "not zero"),
        ("--check-timeout", "-5s", "cannot be negative"),
        ("--deadline", "1e3", "a plain number of seconds"),
    ] {
        let out = pulsecheck(&["probe", flag, value], b"");
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = stderr(&out);
        assert!(
            err.contains(flag) && err.contains(says),
            "{flag} {value}: {err}"
        );
        assert!(!err.contains("float"), "{err}");
    }
    // The reference servers' millisecond flags take units too.
    let out = pulsecheck(&["serve", "sse", "--heartbeat-ms", "20s"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--heartbeat-ms must be under 15 s for a clean server (got 20 s)"),
        "{}",
        stderr(&out)
    );
    let out = pulsecheck(&["serve", "ws", "--ping-interval", "soon"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("plain number of milliseconds"));
}

#[test]
fn compression_faults_of_serve_ws_need_deflate() {
    let out = pulsecheck(&["serve", "ws", "--fault", "keeps-context"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--fault keeps-context is a permessage-deflate fault: add --deflate"),
        "{}",
        stderr(&out)
    );
    let out = pulsecheck(
        &["serve", "ws", "--deflate", "--fault", "enables-deflate"],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("without --deflate"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn numbers_state_their_range_and_negative_ones_get_a_plain_message() {
    for (args, says) in [
        (
            &["probe", "--jobs", "-1"][..],
            "must be a whole number from 1 to 1024; it cannot be negative",
        ),
        (
            &["probe", "--jobs", "2000"],
            "must be a whole number from 1 to 1024",
        ),
        (
            &["probe", "-j", "many"],
            "must be a whole number from 1 to 1024",
        ),
        (
            &["decode", "sse", "--chunk-size", "-4"],
            "cannot be negative",
        ),
        (&["decode", "sse", "--chunk-size", "0"], "at least 1"),
        (&["decode", "ws", "--max-frame-bytes", "0"], "at least 1"),
        (
            &["serve", "sse", "--event-interval-ms", "-5"],
            "cannot be negative",
        ),
    ] {
        let out = pulsecheck(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("'-- "), "{args:?} gets clap's tip: {err}");
    }
}

#[test]
fn an_unwritable_output_file_is_refused_before_the_run() {
    let started = Instant::now();
    let out = pulsecheck(&["probe", "-o", "/nonexistent-dir/report.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot write the report to /nonexistent-dir/report.json"),
        "{}",
        stderr(&out)
    );
    // Refused at once: no probe ran (a probe of the reference servers takes seconds
    // and announces them).
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        !stderr(&out).contains("reference server"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["serve", "sse", "--list-faults"],
        &["serve", "ws", "--list-faults"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pulsecheck"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: read one line, then close the pipe.
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}");
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn a_baseline_of_another_target_or_protocol_is_refused_unless_asked() {
    let dir = std::env::temp_dir().join(format!("pulsecheck-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("base.json");
    let report = serde_json::json!({
        "tool": "pulsecheck 0.1.0",
        "target": "http://127.0.0.1:9/events",
        "strict": false,
        "summary": {"pass": 1, "fail": 0, "warn": 0, "info": 0, "skipped": 0, "error": 0},
        "checks": [{
            "id": "sse/response/status", "aliases": [], "title": "t", "level": "MUST",
            "source": "WHATWG HTML §9.2.3", "requirement": "r", "verdict": "pass",
            "message": "200 OK", "duration_ms": 1
        }],
        "duration_ms": 1
    });
    std::fs::write(&path, report.to_string()).unwrap();
    let base = path.to_str().unwrap();
    for (url, says) in [
        (
            "http://127.0.0.1:1/events",
            "it is a report of http://127.0.0.1:9/events, not of http://127.0.0.1:1/events",
        ),
        (
            "ws://127.0.0.1:9/events",
            "it holds event-stream (sse/…) checks, and this run is WebSocket (ws/…)",
        ),
    ] {
        let out = pulsecheck(&["probe", url, "--baseline", base], b"");
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = stderr(&out);
        assert!(
            err.contains("does not fit this run") && err.contains(says),
            "{url}: {err}"
        );
        assert!(err.contains("--baseline-any-target"), "{err}");
        // Asked for: the run goes ahead (and finds the port closed).
        let out = pulsecheck(
            &["probe", url, "--baseline", base, "--baseline-any-target"],
            b"",
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    }
    // The same URL, written differently, fits.
    let out = pulsecheck(
        &["probe", "HTTP://127.0.0.1:9/events", "--baseline", base],
        b"",
    );
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_target_that_does_not_speak_the_protocol_is_unusable_in_one_line() {
    let ssh = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(), Duration::from_secs(1));
    let refuses = raw_server(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        Duration::from_secs(1),
    );
    for (url, says) in [
        (
            format!("http://127.0.0.1:{ssh}/"),
            "the server does not speak HTTP: it answered with \"SSH-2.0-OpenSSH_9.6\\r\\n\"",
        ),
        (
            format!("ws://127.0.0.1:{ssh}/"),
            "the server does not speak HTTP: it answered with \"SSH-2.0-OpenSSH_9.6\\r\\n\"",
        ),
        (
            format!("https://127.0.0.1:{ssh}/"),
            "the server does not speak TLS: it answered the handshake with \"SSH-2.0-OpenSSH_9.6\\r\\n\"",
        ),
        (
            format!("wss://127.0.0.1:{ssh}/"),
            "the server does not speak TLS: it answered the handshake with \"SSH-2.0-OpenSSH_9.6\\r\\n\"",
        ),
        (
            format!("ws://127.0.0.1:{refuses}/"),
            "the server does not speak WebSocket there: it answered the opening handshake with 404 Not Found, not 101 Switching Protocols",
        ),
    ] {
        let out = pulsecheck(&["probe", &url], b"");
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{url}: one line: {err}");
        assert!(
            err.starts_with(&format!("pulsecheck: unusable target {url}: ")),
            "{err}"
        );
        assert!(err.contains(says), "{url}: {err}");
        assert_eq!(stdout(&out), "", "{url}");
    }
}

#[test]
fn the_deadline_bounds_the_whole_run_and_names_what_did_not_finish() {
    // Accepts, reads the request, and never answers: no response head, and no TLS
    // handshake either.
    let silent = raw_server(Vec::new(), Duration::from_secs(60));
    let runs: Vec<_> = [
        (
            "http",
            "the server at http://127.0.0.1:{p}/ had not sent its response head",
        ),
        (
            "https",
            "the TLS handshake with https://127.0.0.1:{p}/ was still under way",
        ),
        (
            "ws",
            "the server at ws://127.0.0.1:{p}/ had not sent its response head",
        ),
        (
            "wss",
            "the TLS handshake with wss://127.0.0.1:{p}/ was still under way",
        ),
    ]
    .into_iter()
    .map(|(scheme, says)| {
        std::thread::spawn(move || {
            let url = format!("{scheme}://127.0.0.1:{silent}/");
            let started = Instant::now();
            let out = pulsecheck(&["probe", &url, "--deadline", "2"], b"");
            (
                url,
                says.replace("{p}", &silent.to_string()),
                started.elapsed(),
                out,
            )
        })
    })
    .collect();
    for run in runs {
        let (url, says, took, out) = run.join().unwrap();
        assert!(
            took < Duration::from_millis(3500),
            "{url}: --deadline 2 took {took:?}"
        );
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!(
                "not finished before the overall deadline of 2 s (--deadline): {says}"
            )),
            "{url}: {text}"
        );
        assert!(
            stderr(&out).contains("the overall deadline of 2 s (--deadline) passed"),
            "{url}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn invalid_chunked_framing_fails_the_response() {
    for (size, says) in [
        (
            "zz",
            "the chunk size line does not begin with a hexadecimal digit",
        ),
        (
            "-5",
            "the chunk size line does not begin with a hexadecimal digit",
        ),
        (
            "1ffffffffffffffff",
            "the chunk size does not fit in 64 bits",
        ),
    ] {
        let mut answer = stream_head(true);
        answer.extend_from_slice(b"9\r\ndata: a\n\n\r\n");
        answer.extend_from_slice(format!("{size}\r\ndata: b\n\n\r\n").as_bytes());
        let port = raw_server(answer, Duration::from_secs(10));
        let url = format!("http://127.0.0.1:{port}/");
        let out = pulsecheck(
            &[
                "probe",
                &url,
                "--observe",
                "2",
                "--only",
                "sse/http1/*",
                "--only",
                "sse/format/event-termination",
            ],
            b"",
        );
        assert_eq!(out.status.code(), Some(1), "{size}: {}", stdout(&out));
        let text = stdout(&out);
        let framing = text
            .lines()
            .find(|l| l.contains("sse/http1/framing"))
            .expect("the framing check ran");
        assert!(framing.starts_with("  FAIL    MUST"), "{framing}");
        assert!(framing.contains(says), "{framing}");
        assert!(
            framing.contains(&format!("\"{size}\\r\\ndata: b")),
            "{framing}"
        );
        // No longer "kept the stream open": the stream broke.
        assert!(!text.contains("kept the stream open"), "{text}");
    }
}

#[test]
fn the_summary_line_says_what_warnings_do() {
    // A stream without Cache-Control: a SHOULD is not met.
    let mut answer = stream_head(false);
    answer.extend_from_slice(b"9\r\ndata: a\n\n\r\n");
    let port = raw_server(answer, Duration::from_secs(10));
    let url = format!("http://127.0.0.1:{port}/");
    let only = ["--only", "sse/response/*", "--observe", "1"];
    let lenient = pulsecheck(&[&["probe", &url][..], &only].concat(), b"");
    assert_eq!(lenient.status.code(), Some(0), "{}", stdout(&lenient));
    assert!(
        stdout(&lenient).contains(" 1 warn (do not fail the run without --strict), "),
        "{}",
        stdout(&lenient)
    );
    // Under --strict the SHOULD not met is a failure, and the run fails.
    let strict = pulsecheck(&[&["probe", &url, "--strict"][..], &only].concat(), b"");
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        stdout(&strict).contains(" 1 fail, 0 warn, "),
        "{}",
        stdout(&strict)
    );
}
