//! `sse/cors/…`
//!
//! # When CORS is judged
//!
//! Most event streams are read by pages of their own origin, which need no CORS
//! header at all, so a missing `Access-Control-Allow-Origin` is no fault by
//! itself. The checks judge CORS only when there is a cross-origin reader to
//! serve: when the user names its origin (`--origin URL`), or when the server
//! shows it serves other origins by answering the probe's made-up origin
//! ([`PROBE_ORIGIN`]) with `Access-Control-Allow-Origin` (that origin, or `*`).
//! Otherwise they report, as information, that the endpoint looks same-origin.
//!
//! # Is a reconnection with Last-Event-ID preflighted? (the preflight check's level)
//!
//! Read in the Fetch Standard (whatwg/fetch `fetch.bs` at 586cd2a, 2 July 2026)
//! and the HTML Standard (§9.2, 2 June 2025):
//!
//! - Fetch §2.2.2, "CORS-safelisted request-header": the safelist is `Accept`,
//!   `Accept-Language`, `Content-Language`, `Content-Type` and `Range` (each with
//!   value rules, and none over 128 bytes); for any other name, "Otherwise: Return
//!   false". `Last-Event-ID` is not safelisted, whatever its value.
//! - Fetch §4.1 "main fetch" makes a CORS-preflight fetch only when the request's
//!   "use-CORS-preflight flag is set", or its "unsafe-request flag is set and
//!   either request's method is not a CORS-safelisted method or CORS-unsafe
//!   request-header names with request's header list is not empty". The
//!   unsafe-request flag "is set by APIs such as fetch() and XMLHttpRequest".
//! - HTML §9.2.2–9.2.3: an `EventSource` request is a "potential-CORS request";
//!   to reestablish the connection the user agent sets (`Last-Event-ID`,
//!   lastEventIDValue) in the request's header list and fetches it again. Neither
//!   flag is ever set.
//!
//! So today a native `EventSource` reconnection is never preflighted, whatever
//! its Last-Event-ID holds (browsers behave so: whatwg/fetch#568, open since
//! 2017, proposes to safelist the header for that reason). Its PR
//! whatwg/fetch#1788 (open) would safelist values of at most 128 bytes without
//! CORS-unsafe bytes, and its test (web-platform-tests/wpt#49257, open) expects
//! an `EventSource` reconnection with an id outside that safelist to be
//! preflighted: `sse/ids/cors-safe` reports which ids would be.
//! A `fetch()`-based SSE client (the usual way to send an `Authorization`
//! header or POST) is preflighted on every cross-origin request that carries
//! `Last-Event-ID`, since the header is not safelisted at all; if the preflight
//! does not allow it, the client can never resume (dunglas/mercure#535 is that
//! bug, reported and fixed). The preflight check therefore stays a SHOULD of
//! practice, for servers that serve other origins: browsers' own EventSource does
//! not need it, so it cannot be a MUST, and fetch-based clients do, so it is more
//! than information.

use super::*;
use crate::sse::probe::PROBE_ORIGIN;

/// The `sse/cors` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/cors/allow-origin",
        "CORS: a cross-origin reader is allowed",
        Source::Practice(
            "Fetch §3.2 CORS protocol: an EventSource is a potential-CORS request (HTML §9.2.2); from another origin it fails unless Access-Control-Allow-Origin allows that origin. Judged for --origin, or when the server answers the probe's Origin"
        ),
        Should,
        "A stream request with the Origin of a page the server serves (the one --origin names, or any, when the server answers a made-up one) gets Access-Control-Allow-Origin with that origin or *.",
        cors_allow_origin
    ),
    check!(
        "sse/cors/preflight",
        "CORS: a preflight allows Last-Event-ID",
        Source::Practice(
            "Fetch §2.2.2 and §4.1: Last-Event-ID is not a CORS-safelisted request-header, so a fetch()-based client resuming cross-origin is preflighted; a native EventSource reconnection is not (HTML §9.2.3; whatwg/fetch#568). Judged for --origin, or when the server answers the probe's Origin"
        ),
        Should,
        "An OPTIONS preflight for GET with Last-Event-ID, from an origin the server serves, is answered with 2xx, that origin allowed and last-event-id in Access-Control-Allow-Headers, so fetch()-based clients can resume.",
        cors_preflight
    ),
];

/// Whether, and for which origin, the CORS checks judge the server.
enum Scope {
    /// Judge for this origin.
    Judge(String),
    /// Do not judge: the outcome says why.
    NotJudged(Outcome),
}

/// Decides the scope from `--origin` and from the server's answer to a stream
/// request with an `Origin`.
async fn scope(probe: &SseProbe) -> Scope {
    if probe.origin_asked() {
        return Scope::Judge(probe.origin().to_owned());
    }
    let c = match probe.cross_origin().await {
        Ok(c) => c,
        Err(e) => return Scope::NotJudged(unavailable(&e.to_string())),
    };
    match c.header("access-control-allow-origin") {
        Some(allowed) if allowed == "*" || allowed == PROBE_ORIGIN => {
            Scope::Judge(PROBE_ORIGIN.to_owned())
        }
        Some(other) => Scope::NotJudged(Outcome::info(
            format!(
                "Access-Control-Allow-Origin: {other} for Origin {PROBE_ORIGIN}: the server allows origins of its own choosing; pass --origin {other} to judge CORS for it"
            ),
            evidence(
                c,
                format!(
                    "Access-Control-Allow-Origin: {PROBE_ORIGIN} or *, to judge CORS without --origin"
                ),
                format!("Access-Control-Allow-Origin: {other}"),
                None,
            ),
        )),
        None => Scope::NotJudged(Outcome::info(
            format!(
                "no Access-Control-Allow-Origin for Origin {PROBE_ORIGIN}: the endpoint looks same-origin, so CORS is not judged; pass --origin URL to judge it for a page of another origin"
            ),
            evidence(
                c,
                "Access-Control-Allow-Origin, from a server that serves other origins",
                "no Access-Control-Allow-Origin: a same-origin endpoint",
                None,
            ),
        )),
    }
}

async fn cors_allow_origin(probe: &SseProbe) -> Outcome {
    let origin = match scope(probe).await {
        Scope::Judge(origin) => origin,
        Scope::NotJudged(outcome) => return outcome,
    };
    let c = match probe.cross_origin().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    let allowed = c.header("access-control-allow-origin");
    match allowed {
        Some(value) if value == "*" || value == origin => Outcome::pass(format!(
            "Origin {origin}: Access-Control-Allow-Origin: {value}"
        )),
        other => Outcome::fail(
            format!(
                "Origin {origin}: Access-Control-Allow-Origin: {}; a page of that origin cannot read the stream",
                other.unwrap_or("(none)")
            ),
            evidence(
                c,
                format!("Access-Control-Allow-Origin: {origin} or *"),
                other.map_or("no Access-Control-Allow-Origin".to_owned(), |v| {
                    format!("Access-Control-Allow-Origin: {v}")
                }),
                None,
            ),
        ),
    }
}

async fn cors_preflight(probe: &SseProbe) -> Outcome {
    let origin = match scope(probe).await {
        Scope::Judge(origin) => origin,
        Scope::NotJudged(outcome) => return outcome,
    };
    let headers: Vec<_> = [
        header("origin", &origin),
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
    let origin_ok = allow_origin == "*" || allow_origin == origin;
    let actual = format!(
        "status {}, Access-Control-Allow-Origin {allow_origin:?}, Access-Control-Allow-Headers {allow_headers:?}",
        response.status
    );
    if response.status.is_success() && origin_ok && headers_ok {
        Outcome::pass(format!("Origin {origin}: {actual}"))
    } else {
        Outcome::fail(
            format!(
                "Origin {origin}: the preflight does not allow Last-Event-ID, so fetch()-based clients cannot resume cross-origin: {actual}"
            ),
            Evidence {
                expected: format!(
                    "2xx, Access-Control-Allow-Origin {origin} or *, last-event-id in Access-Control-Allow-Headers"
                ),
                actual,
                transcript: Transcript::default(),
            },
        )
    }
}
