//! `sse/cors/…`

use super::*;

/// The `sse/cors` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/cors/allow-origin",
        "CORS: the origin is allowed",
        Source::Practice(
            "Fetch CORS protocol: an EventSource from another origin needs Access-Control-Allow-Origin"
        ),
        Should,
        "A request with an Origin header gets Access-Control-Allow-Origin with that origin or *.",
        cors_allow_origin
    ),
    check!(
        "sse/cors/preflight",
        "CORS: a preflight allows Last-Event-ID",
        Source::Practice(
            "Fetch CORS protocol: a non-safelisted Last-Event-ID makes the reconnection preflighted"
        ),
        Should,
        "An OPTIONS preflight for GET with Last-Event-ID is answered with 2xx, Access-Control-Allow-Origin and last-event-id allowed.",
        cors_preflight
    ),
];

const PROBE_ORIGIN: &str = "https://pulsecheck.example";

async fn cors_allow_origin(probe: &SseProbe) -> Outcome {
    let origin = header("origin", PROBE_ORIGIN);
    let started = Instant::now();
    let response = match probe.open(origin.as_slice()).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e.to_string()),
    };
    let allowed = response
        .headers
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let c = read_stream(response, started, Duration::from_millis(200), 4096).await;
    match allowed.as_deref() {
        Some("*") | Some(PROBE_ORIGIN) => Outcome::pass(format!(
            "Access-Control-Allow-Origin: {}",
            allowed.unwrap_or_default()
        )),
        other => Outcome::fail(
            format!("Access-Control-Allow-Origin: {}", other.unwrap_or("(none)")),
            evidence(
                &c,
                format!("Access-Control-Allow-Origin: {PROBE_ORIGIN} or *"),
                other.unwrap_or("no Access-Control-Allow-Origin"),
                None,
            ),
        ),
    }
}

async fn cors_preflight(probe: &SseProbe) -> Outcome {
    let headers: Vec<_> = [
        header("origin", PROBE_ORIGIN),
        header("access-control-request-method", "GET"),
        header("access-control-request-headers", "last-event-id"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let response = match probe.request(Method::OPTIONS, &headers).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e.to_string()),
    };
    let get = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let allow_origin = get("access-control-allow-origin");
    let allow_headers = get("access-control-allow-headers").to_ascii_lowercase();
    let headers_ok = allow_headers
        .split(',')
        .any(|h| matches!(h.trim(), "last-event-id" | "*"));
    let origin_ok = allow_origin == "*" || allow_origin == PROBE_ORIGIN;
    let actual = format!(
        "status {}, Access-Control-Allow-Origin {allow_origin:?}, Access-Control-Allow-Headers {allow_headers:?}",
        response.status
    );
    if response.status.is_success() && origin_ok && headers_ok {
        Outcome::pass(actual)
    } else {
        Outcome::fail(
            format!("the preflight does not allow Last-Event-ID: {actual}"),
            Evidence {
                expected: "2xx, the origin allowed, last-event-id in Access-Control-Allow-Headers"
                    .into(),
                actual,
                transcript: Transcript::default(),
            },
        )
    }
}
