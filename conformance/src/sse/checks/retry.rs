//! `sse/retry/…`

use super::*;

/// The `sse/retry` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/retry/digits",
        "retry values are ASCII digits only",
        Source::Whatwg("9.2.6"),
        Must,
        "If the field value consists of only ASCII digits, set the reconnection time; otherwise the field is ignored.",
        retry_digits
    ),
    check!(
        "sse/retry/kept",
        "retry is sent in a block that ends",
        Source::Practice(
            "client libraries that apply fields at dispatch drop a retry in a block the stream never ends"
        ),
        Should,
        "Every retry field is followed by the blank line that ends its block.",
        retry_kept
    ),
];

async fn retry_digits(probe: &SseProbe) -> Outcome {
    match event_stream(probe).await {
        Ok(c) => no_ignored(
            c,
            IgnoreReason::InvalidRetry,
            "invalid retry values",
            "retry: followed by ASCII digits only",
        ),
        Err(o) => o,
    }
}

async fn retry_kept(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let Some(last) = c.counts.last_retry_offset else {
        return Outcome::skipped("the server sent no retry field");
    };
    match c.closed_inside_block {
        Some(block) if last >= block => Outcome::fail(
            format!("the retry at byte {last} is in a block the stream never ended"),
            evidence(
                c,
                "a blank line after the retry field",
                "the stream closed before its block ended",
                Some(last),
            ),
        ),
        _ => Outcome::pass(format!(
            "{} retry field(s), each in a block that ended",
            c.counts.retries
        )),
    }
}
