//! `sse/response/…`

use super::*;

/// The `sse/response` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/response/status",
        "The stream is answered with 200 OK",
        Source::Whatwg("9.2.3"),
        Must,
        "An event stream is opened only by a 200 response; any other status fails the connection and stops reconnection.",
        status
    ),
    check!(
        "sse/response/content-type",
        "Content-Type is text/event-stream",
        Source::Whatwg("9.2.3"),
        Must,
        "A response whose Content-Type is not text/event-stream fails the connection.",
        content_type
    ),
    check!(
        "sse/response/charset",
        "No charset other than UTF-8 is declared",
        Source::Whatwg("9.2.5"),
        Should,
        "Event streams are always decoded as UTF-8; a charset parameter other than utf-8 misleads other tools and proxies.",
        charset
    ),
    check!(
        "sse/response/cache-control",
        "Cache-Control: no-cache",
        Source::Practice(
            "WHATWG HTML §9.2.3 requests no-cache; caches and proxies must not store or hold a live stream"
        ),
        Should,
        "The response carries Cache-Control: no-cache (or no-store) so no cache holds or replays the stream.",
        cache_control
    ),
];

async fn status(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    match c.status {
        200 => Outcome::pass("200 OK"),
        204 => Outcome::fail(
            "204 No Content: clients stop reconnecting",
            evidence(c, "200 OK and a stream", "204 No Content", None),
        ),
        s => Outcome::fail(
            format!("status {s}"),
            evidence(c, "200 OK", format!("status {s}"), None),
        ),
    }
}

async fn content_type(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    let value = c.header("content-type");
    if is_event_stream(value) {
        Outcome::pass(format!("Content-Type: {}", value.unwrap_or_default()))
    } else {
        Outcome::fail(
            format!("Content-Type: {}", value.unwrap_or("(none)")),
            evidence(
                c,
                "text/event-stream",
                value.unwrap_or("no Content-Type"),
                None,
            ),
        )
    }
}

async fn charset(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let value = c.header("content-type").unwrap_or_default();
    let charset = value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    });
    match charset {
        None => Outcome::pass("no charset parameter"),
        Some(cs) if cs.eq_ignore_ascii_case("utf-8") || cs.eq_ignore_ascii_case("utf8") => {
            Outcome::pass(format!("charset={cs}"))
        }
        Some(cs) => Outcome::fail(
            format!("charset={cs}, but the stream is read as UTF-8"),
            evidence(
                c,
                "no charset, or charset=utf-8",
                format!("Content-Type: {value}"),
                None,
            ),
        ),
    }
}

async fn cache_control(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let value = c.header("cache-control");
    let ok = value.is_some_and(|v| {
        v.split(',').any(|d| {
            matches!(
                d.trim().to_ascii_lowercase().as_str(),
                "no-cache" | "no-store"
            )
        })
    });
    if ok {
        Outcome::pass(format!("Cache-Control: {}", value.unwrap_or_default()))
    } else {
        Outcome::fail(
            "the response may be cached or held",
            evidence(
                c,
                "Cache-Control: no-cache",
                value.map_or("no Cache-Control".to_owned(), |v| {
                    format!("Cache-Control: {v}")
                }),
                None,
            ),
        )
    }
}
