//! `sse/http2/…`

use super::*;

/// The `sse/http2` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[check!(
    "sse/http2/connection-headers",
    "No connection-specific headers on HTTP/2",
    Source::Rfc(9113, "8.2.2"),
    Must,
    "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific header fields.",
    http2_connection_headers
)];

async fn http2_connection_headers(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    if !c.version.contains('2') {
        return Outcome::skipped(format!(
            "the server answered over {}; use https (ALPN) or --http2-prior-knowledge to test HTTP/2",
            c.version
        ));
    }
    let forbidden = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ];
    match c
        .headers
        .iter()
        .find(|(n, _)| forbidden.contains(&n.as_str()))
    {
        None => Outcome::pass("no connection-specific header fields"),
        Some((n, v)) => Outcome::fail(
            format!("{n}: {v} on HTTP/2"),
            evidence(
                c,
                "no Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding or Upgrade",
                format!("{n}: {v}"),
                None,
            ),
        ),
    }
}
