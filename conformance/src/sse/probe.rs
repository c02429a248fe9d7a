//! The SSE probe's context: the target, the client, and the observations that
//! several checks share (one long look at the stream, one with compression
//! offered, one short look with an `Origin`), each made once, on first use.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderName, HeaderValue, Method};
use tokio::sync::OnceCell;
use url::Url;

use crate::http::{Client, ClientError, Next, Response};
use crate::sse::capture::{BodyEnd, Capture};

/// The `Origin` the CORS checks send when `--origin` names none: a made-up
/// origin no server allows by name, so only a server that serves other origins
/// (echoing it, or `*`) answers it with `Access-Control-Allow-Origin`.
pub const PROBE_ORIGIN: &str = "https://pulsecheck.example";

/// How a probe observes a server.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// How long the main observation reads the stream (`--observe`).
    pub observe: Duration,
    /// The most body bytes one observation reads.
    pub max_body_bytes: u64,
    /// Connections opened and dropped by the robustness checks.
    pub burst: usize,
    /// Streams held open at once by the concurrency check.
    pub concurrent_streams: usize,
    /// `--origin`: the serialized origin (`https://app.example`) of a page that
    /// opens the stream from elsewhere. With it the CORS checks judge the server
    /// for that origin; without it they judge only a server that answers
    /// [`PROBE_ORIGIN`] with `Access-Control-Allow-Origin`.
    pub origin: Option<String>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            observe: Duration::from_secs(20),
            max_body_bytes: 16 << 20,
            burst: 20,
            concurrent_streams: 8,
            origin: None,
        }
    }
}

/// Everything the SSE checks run against.
pub struct SseProbe {
    /// The HTTP client (TLS, HTTP/2, `-H` headers).
    pub client: Client,
    /// The event stream's URL.
    pub url: Url,
    /// How to observe.
    pub options: ProbeOptions,
    main: OnceCell<Result<Capture, ClientError>>,
    compressed: OnceCell<Result<Capture, ClientError>>,
    delivery: OnceCell<Result<Delivery, ClientError>>,
    cross_origin: OnceCell<Result<Capture, ClientError>>,
}

/// The delivery observation the `sse/buffering` delivery checks share: several
/// connections to the stream at once, on one clock (made by those checks; the
/// probe only keeps it).
#[derive(Debug)]
pub struct Delivery {
    /// The wall-clock time the observation started (its clock's zero).
    pub started: SystemTime,
    /// The connections, the first one opened at the start.
    pub connections: Vec<Timeline>,
}

/// One connection of a [`Delivery`] observation.
#[derive(Debug)]
pub struct Timeline {
    /// What it showed; its times count from its own request, `opened_at`.
    pub capture: Capture,
    /// When its request was sent, from the start of the observation.
    pub opened_at: Duration,
    /// The `Last-Event-ID` it resumed from, if it sent one.
    pub resumed_from: Option<String>,
}

/// The request headers of an EventSource (WHATWG §9.2.3): `Accept:
/// text/event-stream` and `Cache-Control: no-cache`.
pub fn event_source_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![
        (
            http::header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        ),
        (
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ),
    ]
}

/// A header pair from static strings.
pub fn header(name: &'static str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_static(name),
        HeaderValue::from_str(value).ok()?,
    ))
}

impl SseProbe {
    /// A probe of `url`.
    pub fn new(client: Client, url: Url, options: ProbeOptions) -> Self {
        SseProbe {
            client,
            url,
            options,
            main: OnceCell::new(),
            compressed: OnceCell::new(),
            delivery: OnceCell::new(),
            cross_origin: OnceCell::new(),
        }
    }

    /// Opens a stream like an EventSource would, plus `extra` headers.
    pub async fn open(&self, extra: &[(HeaderName, HeaderValue)]) -> Result<Response, ClientError> {
        let mut headers = event_source_headers();
        headers.extend(extra.iter().cloned());
        self.client.get(&self.url, &headers).await
    }

    /// Sends a request with another method (a CORS preflight).
    pub async fn request(
        &self,
        method: Method,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, ClientError> {
        self.client.request(method, &self.url, headers).await
    }

    /// The main observation: one stream read for [`ProbeOptions::observe`].
    pub async fn main(&self) -> Result<&Capture, &ClientError> {
        self.main
            .get_or_init(|| observe(self, &[], self.options.observe))
            .await
            .as_ref()
    }

    /// The delivery observation, made by `observe` on first use.
    pub async fn delivery<F>(&self, observe: impl FnOnce() -> F) -> Result<&Delivery, &ClientError>
    where
        F: Future<Output = Result<Delivery, ClientError>>,
    {
        self.delivery.get_or_init(observe).await.as_ref()
    }

    /// A shorter observation with `Accept-Encoding: gzip, br` offered.
    pub async fn compressed(&self) -> Result<&Capture, &ClientError> {
        self.compressed
            .get_or_init(|| async {
                let accept = header("accept-encoding", "gzip, br");
                let window = self.options.observe.min(Duration::from_secs(6));
                observe(self, accept.as_slice(), window).await
            })
            .await
            .as_ref()
    }
}

impl SseProbe {
    /// The origin the CORS checks send: `--origin`'s, or [`PROBE_ORIGIN`].
    pub fn origin(&self) -> &str {
        self.options.origin.as_deref().unwrap_or(PROBE_ORIGIN)
    }

    /// Whether the user named the origin to judge CORS for (`--origin`).
    pub fn origin_asked(&self) -> bool {
        self.options.origin.is_some()
    }

    /// A short look (200 ms) at the stream requested with `Origin:`
    /// [`SseProbe::origin`], as a page of another origin opens it.
    pub async fn cross_origin(&self) -> Result<&Capture, &ClientError> {
        self.cross_origin
            .get_or_init(|| async {
                let origin = header("origin", self.origin());
                observe(self, origin.as_slice(), Duration::from_millis(200)).await
            })
            .await
            .as_ref()
    }
}

/// Opens a stream with `extra` headers and reads it for `window` (or until the
/// server ends it, or the byte limit), into a [`Capture`].
pub async fn observe(
    probe: &SseProbe,
    extra: &[(HeaderName, HeaderValue)],
    window: Duration,
) -> Result<Capture, ClientError> {
    let started = Instant::now();
    let response = probe.open(extra).await?;
    Ok(read_stream(response, started, window, probe.options.max_body_bytes).await)
}

/// Reads an open response into a capture, for at most `window` since `started`.
pub async fn read_stream(
    response: Response,
    started: Instant,
    window: Duration,
    max_bytes: u64,
) -> Capture {
    read_stream_until(response, started, window, max_bytes, |_| false).await
}

/// Like [`read_stream`], but stops early once `enough` says the capture holds
/// what the caller needs.
pub async fn read_stream_until(
    mut response: Response,
    started: Instant,
    window: Duration,
    max_bytes: u64,
    enough: impl Fn(&Capture) -> bool,
) -> Capture {
    let headers = response
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut capture = Capture::new(
        response.status.as_u16(),
        &format!("{:?}", response.version),
        headers,
        response.timing.head_at,
    );
    let end = loop {
        let remaining = window.saturating_sub(started.elapsed());
        if remaining.is_zero() || enough(&capture) {
            break BodyEnd::WindowOver;
        }
        match response.next_chunk_within(remaining).await {
            Ok(Next::Chunk(chunk)) => {
                if !capture.push(chunk.at, &chunk.bytes) {
                    break BodyEnd::WindowOver; // the capture recorded the parser limit
                }
                if capture.body_bytes >= max_bytes {
                    break BodyEnd::ByteLimit;
                }
            }
            Ok(Next::End) => break BodyEnd::Closed,
            Ok(Next::Idle) => break BodyEnd::WindowOver,
            Err(e @ ClientError::Malformed { .. }) => break BodyEnd::Malformed(e.to_string()),
            Err(e) => break BodyEnd::Failed(e.to_string()),
        }
    };
    capture.finish(
        end,
        started.elapsed().min(window.max(response.timing.head_at)),
    );
    capture
}

/// The serialized origin (`scheme://host[:port]`) of `--origin URL`, as a browser
/// sends it in `Origin`; an error that says why for anything else.
pub fn parse_origin(given: &str) -> Result<String, String> {
    let url = Url::parse(given).map_err(|e| format!("not a URL: {e}"))?;
    let origin = url.origin();
    if !origin.is_tuple() || !matches!(url.scheme(), "http" | "https") {
        return Err(
            "give the http or https URL of the page that opens the stream, e.g. https://app.example"
                .to_owned(),
        );
    }
    Ok(origin.ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_serialized_as_browsers_send_them() {
        assert_eq!(
            parse_origin("https://App.Example/page?q=1").as_deref(),
            Ok("https://app.example")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8080/").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            parse_origin("https://app.example:443").as_deref(),
            Ok("https://app.example")
        );
        for bad in ["app.example", "file:///tmp/x", "data:text/plain,hi", ""] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
