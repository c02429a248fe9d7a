//! Interop: the Autobahn parity cases against an echo server built on
//! tokio-tungstenite, written the way tungstenite's own Autobahn server example
//! is (echo text and binary messages; on any error, including a protocol
//! violation, end the task and so drop the connection), must give tungstenite's
//! published Autobahn baseline: 296 OK, NON-STRICT for 6.4.3 and 6.4.4 (tungstenite
//! validates UTF-8 per complete frame, not inside a frame still arriving), and
//! INFORMATIONAL for 7.1.6, 7.13.1 and 7.13.2 (cases Autobahn never grades).
//! `behaviorClose` must be OK wherever `behavior` is graded.
//!
//! The server runs in this process on 127.0.0.1; nothing is installed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::ws::autobahn;
use pulsecheck::ws::checks::WsProbe;
use tokio::net::TcpListener;
use url::Url;

/// The echo server of tungstenite's Autobahn example, in our words.
async fn echo<S>(stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Some(message) = ws.next().await {
        let Ok(message) = message else {
            // Protocol errors, bad UTF-8, a closed connection: the example ends the
            // task, which drops TCP without a Close.
            return;
        };
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}

async fn start_server() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(echo(stream));
        }
    });
    Url::parse(&format!("ws://{addr}/")).expect("a URL")
}

/// tungstenite's published results for groups 1-7, 9 and 10, other than OK.
const NOT_OK: &[(&str, &str)] = &[
    ("6.4.3", "NON-STRICT"),
    ("6.4.4", "NON-STRICT"),
    ("7.1.6", "INFORMATIONAL"),
    ("7.13.1", "INFORMATIONAL"),
    ("7.13.2", "INFORMATIONAL"),
];

fn options() -> RunOptions {
    RunOptions {
        jobs: 32,
        check_timeout: Duration::from_secs(60),
        deadline: Duration::from_secs(300),
        strict: false,
        progress: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_gets_its_published_autobahn_baseline() {
    let url = start_server().await;
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(5)));
    let checks = autobahn::checks();
    assert_eq!(checks.len(), 301);
    let started = Instant::now();
    let result = run(probe, &checks, options()).await;
    let took = started.elapsed();

    let expected: BTreeMap<&str, &str> = NOT_OK.iter().copied().collect();
    let mut counts = BTreeMap::new();
    let mut differences = Vec::new();
    for r in &result.results {
        let number = r.aliases.first().map(String::as_str).unwrap_or("?");
        let behavior = r
            .grades
            .map_or("none".to_owned(), |g| g.behavior.to_string());
        let close = r
            .grades
            .map_or("none".to_owned(), |g| g.behavior_close.to_string());
        *counts.entry(behavior.clone()).or_insert(0) += 1;
        let want = expected.get(number).copied().unwrap_or("OK");
        let want_close = if want == "INFORMATIONAL" {
            "INFORMATIONAL"
        } else {
            "OK"
        };
        if behavior != want || close != want_close {
            differences.push(format!(
                "{number} ({}): behavior {behavior}, close {close}; tungstenite's baseline: {want}, {want_close} — {}",
                r.id,
                r.evidence
                    .as_ref()
                    .map(|e| e.actual.as_str())
                    .unwrap_or(&r.message)
            ));
        }
        let verdict_ok = match want {
            "OK" => r.verdict == Verdict::Pass,
            "NON-STRICT" => r.verdict == Verdict::Warn,
            _ => r.verdict == Verdict::Info,
        };
        assert!(
            verdict_ok || behavior != want,
            "{number}: verdict {} for {behavior}",
            r.verdict
        );
    }
    assert!(
        differences.is_empty(),
        "{} cases differ from tungstenite's baseline (in {took:?}):\n{}",
        differences.len(),
        differences.join("\n")
    );
    let counts: Vec<(String, usize)> = counts.into_iter().collect();
    assert_eq!(
        counts,
        [
            ("INFORMATIONAL".to_owned(), 3),
            ("NON-STRICT".to_owned(), 2),
            ("OK".to_owned(), 296)
        ]
    );
    eprintln!("301 Autobahn cases against tokio-tungstenite in {took:?}");
}

#[path = "support/pki.rs"]
mod pki;

/// The same server behind TLS (rustls, a test CA): `wss://` runs the whole
/// WebSocket suite — the checks beyond Autobahn and the 301 cases — with the
/// same Autobahn grades as over plain TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_wss_the_whole_suite_runs_with_the_same_grades() {
    let pki = pki::Pki::new();
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server_config(&[b"http/1.1"]));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    echo(tls).await;
                }
            });
        }
    });
    let url = Url::parse(&format!("wss://localhost:{port}/")).expect("a URL");
    let client = Client::new(ClientConfig {
        ca_certs: vec![pki.ca_file.clone()],
        ..ClientConfig::default()
    })
    .expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(5)));
    let checks = pulsecheck::ws::all_checks();
    let result = run(probe, checks, options()).await;
    assert_eq!(result.results.len(), checks.len());
    let expected: BTreeMap<&str, &str> = NOT_OK.iter().copied().collect();
    let mut problems = Vec::new();
    for r in &result.results {
        if r.aliases.is_empty() && r.verdict != Verdict::Pass {
            eprintln!("{} {}: {}", r.id, r.verdict, r.message);
        }
        if r.verdict == Verdict::Error {
            problems.push(format!("{}: error: {}", r.id, r.message));
        }
        if let Some(number) = r.aliases.first() {
            let behavior = r.grades.map(|g| g.behavior.to_string());
            // The echo server does not compress: Autobahn's compression cases
            // (groups 12 and 13) are UNIMPLEMENTED, a skip.
            let compression = number.starts_with("12.") || number.starts_with("13.");
            let otherwise = if compression { "UNIMPLEMENTED" } else { "OK" };
            let want = expected.get(number.as_str()).copied().unwrap_or(otherwise);
            if behavior.as_deref() != Some(want) {
                problems.push(format!("{number}: {behavior:?}, not {want}: {}", r.message));
            }
        }
    }
    assert!(problems.is_empty(), "over wss: {problems:#?}");
}
