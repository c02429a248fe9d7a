//! Autobahn's cases played as the server against a real client: tokio-tungstenite
//! as tungstenite's `autobahn-client` example uses it (echo every message). Its
//! published client baseline for groups 1–10: every case OK but 6.4.3 and 6.4.4
//! (NON-STRICT: it validates UTF-8 at the message's end) and the three cases
//! Autobahn leaves open (7.1.6, 7.13.1, 7.13.2: INFORMATIONAL).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use pulsecheck::host::ws::autobahn::checks;
use pulsecheck::host::ws::session::ClientSession;
use pulsecheck::registry::Check;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[path = "support/case_host.rs"]
mod case_host;

use case_host::{grade_words, serve_cases};

/// Serves each case on its own connection; sends each case's (number,
/// behavior, behaviorClose).
async fn host(
    cases: Arc<Vec<Check<ClientSession>>>,
) -> (
    String,
    tokio::sync::mpsc::Receiver<(String, String, String)>,
) {
    let (url, mut outcomes) = serve_cases(cases, "tungstenite").await;
    let (tx, rx) = tokio::sync::mpsc::channel(512);
    tokio::spawn(async move {
        while let Some((number, outcome)) = outcomes.recv().await {
            let (behavior, close) = grade_words(&outcome);
            if tx.send((number, behavior, close)).await.is_err() {
                return;
            }
        }
    });
    (url, rx)
}

/// The client under test: echoes every message until the connection ends
/// (`faithful` false: text comes back as binary, the fault the echo cases
/// exist for).
async fn echo_client(url: String, faithful: bool) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let Ok((mut socket, _)) =
        tokio_tungstenite::connect_async_with_config(url, Some(config), false).await
    else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        match message {
            Message::Text(_) | Message::Binary(_) => {
                let echo = match message {
                    Message::Text(text) if !faithful => Message::Binary(text.into()),
                    other => other,
                };
                if socket.send(echo).await.is_err() {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// Plays every case against the client; returns each case's (behavior,
/// behaviorClose).
async fn play_all(faithful: bool) -> BTreeMap<String, (String, String)> {
    let cases = Arc::new(checks());
    assert_eq!(cases.len(), 301);
    let numbers: Vec<String> = cases.iter().map(|c| c.info.aliases[0].to_owned()).collect();
    let (url, mut results) = host(Arc::clone(&cases)).await;
    let started = Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    for number in &numbers {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let url = format!("{url}/{number}");
        tokio::spawn(async move {
            echo_client(url, faithful).await;
            drop(permit);
        });
    }
    let mut grades = BTreeMap::new();
    while grades.len() < numbers.len() {
        let (n, b, c) = tokio::time::timeout(Duration::from_secs(120), results.recv())
            .await
            .expect("every case ends")
            .unwrap();
        grades.insert(n, (b, c));
    }
    eprintln!("301 cases in {:.1} s", started.elapsed().as_secs_f64());
    grades
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_as_a_client_gets_its_published_baseline() {
    let grades = play_all(true).await;
    let mut departures = Vec::new();
    for (n, (b, c)) in &grades {
        let expected = match n.as_str() {
            "6.4.3" | "6.4.4" => ("NON-STRICT", "OK"),
            "7.1.6" | "7.13.1" | "7.13.2" => ("INFORMATIONAL", "INFORMATIONAL"),
            _ => ("OK", "OK"),
        };
        if (b.as_str(), c.as_str()) != expected {
            departures.push(format!("{n}: {b} / {c}, baseline {expected:?}"));
        }
    }
    assert!(departures.is_empty(), "{}", departures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_echoes_text_as_binary_fails_every_text_echo_case() {
    let grades = play_all(false).await;
    // Text echoes of framing, fragmentation, UTF-8 and limits cases.
    for n in ["1.1.1", "1.1.8", "5.3", "6.2.1", "9.1.6", "9.7.6", "10.1.1"] {
        assert_eq!(grades[n].0, "FAILED", "{n}: {:?}", grades[n]);
    }
    // Binary echoes and cases that expect no echo are not failed by it.
    for n in ["1.2.1", "9.2.6", "2.1", "3.1", "4.1.1", "7.3.1"] {
        assert_eq!(grades[n].0, "OK", "{n}: {:?}", grades[n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --release --test host_autobahn -- --ignored --nocapture"]
async fn one_case_at_a_time_as_a_client_drives_them() {
    let cases = Arc::new(checks());
    let numbers: Vec<String> = cases.iter().map(|c| c.info.aliases[0].to_owned()).collect();
    let (url, mut results) = host(Arc::clone(&cases)).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for number in &numbers {
        let one = Instant::now();
        echo_client(format!("{url}/{number}"), true).await;
        let _ = results.recv().await;
        slow.push((one.elapsed(), number.clone()));
    }
    slow.sort();
    slow.reverse();
    eprintln!(
        "301 cases one at a time in {:.2} s; slowest:",
        started.elapsed().as_secs_f64()
    );
    for (d, n) in slow.iter().take(25) {
        eprintln!("  {n}: {:.3} s", d.as_secs_f64());
    }
}
