//! A pulsecheck `host sse` driver for reqwest-eventsource.
//!
//! Opens `EventSource::get(PULSECHECK_URL)` and lets the library do the rest:
//! reconnection (its default retry policy, which takes `retry` from the
//! stream), Last-Event-ID, statuses, Content-Type, redirects (reqwest's
//! default policy follows up to 10). Prints each message it yields, and each
//! error, as one JSON line (the driver contract,
//! `pulsecheck::host::sse::driver`). It never closes the source itself (the
//! crate's README example closes on the first error, which would leave
//! reconnection untested): the library decides whether to retry. It runs
//! until the host ends it.

use std::io::Write as _;

use futures_util::StreamExt as _;
use reqwest_eventsource::{Event, EventSource};
use serde_json::json;

fn print(line: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(url) = std::env::var("PULSECHECK_URL") else {
        eprintln!("PULSECHECK_URL is not set: run me under pulsecheck host sse");
        std::process::exit(2);
    };
    let mut source = EventSource::get(url);
    while let Some(event) = source.next().await {
        match event {
            Ok(Event::Open) => {}
            Ok(Event::Message(message)) => print(&json!({
                "kind": "event",
                "type": message.event,
                "data": message.data,
                "last_event_id": message.id,
            })),
            Err(error) => print(&json!({"kind": "error", "error": error.to_string()})),
        }
    }
    // The library gave up: stay until the host ends the case.
    print(&json!({"kind": "end"}));
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}
