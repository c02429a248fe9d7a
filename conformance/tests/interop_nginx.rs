//! Interop: real nginx (Debian's `nginx-light`, installed on first use) in front
//! of pulsecheck's reference SSE server, on loopback, with the configuration in
//! `conformance/tests/interop/nginx/nginx.conf`:
//!
//! - `/buffered/`: nginx's default `proxy_buffering on`, for an app that sends no
//!   `X-Accel-Buffering: no`. The delivery checks (`sse/buffering/held-events`,
//!   `sse/buffering/lag`) and `sse/buffering/x-accel-buffering` must flag it;
//!   `sse/buffering/first-bytes` passes, as it did for the reporter.
//! - `/unbuffered/`: `proxy_buffering off`. The delivery checks pass.
//! - `/header/`: the defaults, and nginx obeys the app's `X-Accel-Buffering: no`.
//!   The delivery checks pass.
//!
//! nginx removes `X-Accel-*` headers from what it forwards, so
//! `sse/buffering/x-accel-buffering` warns behind every location (the README
//! says why).
//!
//! The reference server makes an event every 10 ms, about 4 KiB a second: nginx
//! releases a buffered response only when its 4 KiB buffer page is full, so
//! `/buffered/` delivers a page about once a second, each event up to a second
//! late and a hundred together, as the issue describes for a Flask app whose
//! larger events arrived a second late and in pairs. What nginx does with the
//! bytes was measured first (a raw socket read of `/buffered/events`: 4154,
//! 4104, 4104 … byte reads about 1.08 s apart; the head comes with the first).

#[path = "interop/harness.rs"]
#[allow(
    dead_code,
    reason = "this test uses the install and runtime helpers, not the rendering"
)]
mod harness;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{ensure, scripts};
use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Pattern, select};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::sse::{SseServerConfig, start};
use pulsecheck::sse::checks::CHECKS;
use pulsecheck::sse::probe::{ProbeOptions, SseProbe};
use url::Url;

/// Debian's nginx binary.
const NGINX: &str = "/usr/sbin/nginx";
/// How long each location is observed (`--observe`).
const OBSERVE: Duration = Duration::from_secs(10);
/// The reference server's time between events.
const EVENT_INTERVAL: Duration = Duration::from_millis(10);

/// nginx running in the foreground from a prefix directory of its own; dropping
/// it kills nginx and removes the directory.
struct Nginx {
    child: Child,
    prefix: PathBuf,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Nginx {
    /// Starts nginx with `nginx.conf`, proxying to `upstream`; tries another port
    /// if the one it picked was taken in between.
    fn start(upstream: SocketAddr) -> Nginx {
        let template = std::fs::read_to_string(scripts().join("nginx/nginx.conf"))
            .expect("conformance/tests/interop/nginx/nginx.conf");
        let mut last_error = String::new();
        for attempt in 0..3 {
            let prefix = std::env::temp_dir()
                .join(format!("pulsecheck-nginx-{}-{attempt}", std::process::id()));
            let _ = std::fs::remove_dir_all(&prefix);
            std::fs::create_dir_all(&prefix).expect("a temporary directory");
            let port = free_port();
            let conf = template
                .replace("@PREFIX@", &prefix.display().to_string())
                .replace("@PORT@", &port.to_string())
                .replace("@UPSTREAM@", &upstream.to_string());
            let conf_path = prefix.join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("the configuration is written");
            let error_log = prefix.join("error.log");
            let child = Command::new(NGINX)
                .arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(&error_log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {NGINX}: {e}"));
            let mut nginx = Nginx {
                child,
                prefix,
                port,
            };
            match nginx.wait_until_it_answers() {
                Ok(()) => return nginx,
                Err(e) => last_error = e,
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    fn wait_until_it_answers(&mut self) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default();
                return Err(format!("it exited ({status}); its error log:\n{log}"));
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("nothing listens on {addr} after 20 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, location: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}/{location}/events", self.port)).expect("a URL")
    }
}

/// Runs the `sse/buffering` checks against `url`, as `pulsecheck probe URL
/// --only 'sse/buffering/*' --observe 10` does.
async fn probe(url: Url) -> Vec<CheckResult> {
    let client = Client::new(ClientConfig::default()).expect("a client");
    let options = ProbeOptions {
        observe: OBSERVE,
        ..ProbeOptions::default()
    };
    let probe = Arc::new(SseProbe::new(client, url, options));
    let only = [Pattern::new("sse/buffering/*").expect("a pattern")];
    let selected: Vec<_> = select(CHECKS, &only, &[]).into_iter().copied().collect();
    run(
        probe,
        &selected,
        RunOptions {
            jobs: 8,
            check_timeout: Duration::from_secs(40),
            deadline: Duration::from_secs(60),
            strict: false,
            progress: false,
        },
    )
    .await
    .results
}

#[test]
fn nginx_proxy_buffering_is_caught_and_its_cures_pass() {
    ensure("nginx");
    let runtime = harness::runtime();
    let server = runtime
        .block_on(start(SseServerConfig {
            event_interval: EVENT_INTERVAL,
            ..SseServerConfig::default()
        }))
        .expect("the reference server starts");
    let nginx = Nginx::start(server.local_addr());
    let locations = ["buffered", "unbuffered", "header"];
    let results = runtime.block_on(futures::future::join_all(
        locations.map(|location| probe(nginx.url(location))),
    ));
    let mut text = String::new();
    for (location, results) in locations.iter().zip(&results) {
        for r in results {
            text.push_str(&format!(
                "/{location}/ {} {} {}\n",
                r.id, r.verdict, r.message
            ));
        }
    }
    eprintln!("{text}");
    let verdict = |location: &str, id: &str| {
        let at = locations
            .iter()
            .position(|l| *l == location)
            .expect("a location");
        results[at]
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.verdict)
            .unwrap_or_else(|| panic!("{id} did not run against /{location}/"))
    };
    let expected = [
        ("buffered", "sse/buffering/first-bytes", Verdict::Pass),
        ("buffered", "sse/buffering/held-events", Verdict::Warn),
        ("buffered", "sse/buffering/lag", Verdict::Warn),
        ("buffered", "sse/buffering/x-accel-buffering", Verdict::Warn),
        ("unbuffered", "sse/buffering/first-bytes", Verdict::Pass),
        ("unbuffered", "sse/buffering/held-events", Verdict::Pass),
        ("unbuffered", "sse/buffering/lag", Verdict::Pass),
        (
            "unbuffered",
            "sse/buffering/x-accel-buffering",
            Verdict::Warn,
        ),
        ("header", "sse/buffering/first-bytes", Verdict::Pass),
        ("header", "sse/buffering/held-events", Verdict::Pass),
        ("header", "sse/buffering/lag", Verdict::Pass),
        ("header", "sse/buffering/x-accel-buffering", Verdict::Warn),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(location, id, want)| verdict(location, id) != *want)
        .map(|(location, id, want)| {
            format!(
                "/{location}/ {id}: {} (expected {want})",
                verdict(location, id)
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{}\n\nEvery result:\n{text}",
        wrong.join("\n")
    );
    // Passes that judged something: the events were dated, not skipped.
    for location in ["unbuffered", "header"] {
        for id in ["sse/buffering/held-events", "sse/buffering/lag"] {
            let at = locations
                .iter()
                .position(|l| *l == location)
                .expect("a location");
            let r = results[at].iter().find(|r| r.id == id).expect("ran");
            assert!(
                r.message.contains("ids matched"),
                "/{location}/ {id}: {}",
                r.message
            );
        }
    }
    drop(nginx);
    runtime.block_on(server.shutdown());
}
