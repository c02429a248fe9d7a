//! `sse/ids/…`

use super::*;

/// The `sse/ids` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/ids/no-nul",
        "Event ids contain no NUL",
        Source::Whatwg("9.2.6"),
        Must,
        "If the field value does not contain U+0000 NULL, set the last event ID buffer; otherwise the field is ignored.",
        id_no_nul
    ),
    check!(
        "sse/ids/unique",
        "Event ids are unique",
        Source::Practice("Last-Event-ID resumption needs each id to name one event"),
        Should,
        "No two events set the same id.",
        ids_unique
    ),
    check!(
        "sse/ids/increasing",
        "Event ids increase",
        Source::Practice("numeric, increasing ids make resumption and de-duplication simple"),
        Info,
        "Numeric ids increase from event to event.",
        ids_increasing
    ),
    check!(
        "sse/ids/cors-safe",
        "Event ids fit the proposed CORS safelist for Last-Event-ID",
        Source::Practice(
            "Fetch §2.2.2 does not safelist Last-Event-ID (a native EventSource reconnection is never preflighted, HTML §9.2.3; a fetch()-based one always is); whatwg/fetch#1788 (open) would safelist values of at most 128 bytes without CORS-unsafe bytes"
        ),
        Info,
        "Ids are at most 128 bytes and free of \"():<>?@[\\]{} and control bytes, the values the proposed safelisting of Last-Event-ID would let fetch()-based clients resend cross-origin without a preflight.",
        ids_cors_safe
    ),
];

async fn id_no_nul(probe: &SseProbe) -> Outcome {
    match event_stream(probe).await {
        Ok(c) => no_ignored(
            c,
            IgnoreReason::IdContainsNul,
            "ids containing NUL",
            "ids without U+0000",
        ),
        Err(o) => o,
    }
}

/// Ids of the events whose own block set one, with their offsets.
fn explicit_ids(c: &Capture) -> Vec<(u64, &str)> {
    c.seen
        .iter()
        .filter_map(|s| match &s.kind {
            SeenKind::Event {
                id, sets_id: true, ..
            } => Some((s.offset, id.as_str())),
            _ => None,
        })
        .collect()
}

async fn ids_unique(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = explicit_ids(c);
    if ids.is_empty() {
        return no_ids(c);
    }
    let mut seen = std::collections::HashMap::new();
    for (offset, id) in &ids {
        if let Some(first) = seen.insert(*id, *offset) {
            return Outcome::fail(
                format!("id {id:?} used twice (bytes {first} and {offset})"),
                evidence(
                    c,
                    "each id names one event",
                    format!("two events with id {id:?}"),
                    Some(*offset),
                ),
            );
        }
    }
    Outcome::pass(format!("{} events, {} distinct ids", ids.len(), seen.len()))
}

async fn ids_increasing(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = explicit_ids(c);
    if ids.is_empty() {
        return no_ids(c);
    }
    let numbers: Option<Vec<u128>> = ids.iter().map(|(_, id)| id.parse().ok()).collect();
    let message = match numbers {
        None => "ids are not all numbers".to_owned(),
        Some(n) if n.windows(2).all(|w| w[0] < w[1]) => {
            format!("{} numeric ids, strictly increasing", n.len())
        }
        Some(n) => {
            let at = n.windows(2).position(|w| w[0] >= w[1]).unwrap_or(0);
            format!("numeric ids, not increasing: {} then {}", n[at], n[at + 1])
        }
    };
    Outcome::info(
        message.clone(),
        evidence(c, "numeric increasing ids", message, None),
    )
}

/// The skip of a check of ids when no event carried one, with why the
/// observation stopped.
fn no_ids(c: &Capture) -> Outcome {
    let events = c
        .seen
        .iter()
        .filter(|s| matches!(s.kind, SeenKind::Event { .. }))
        .count();
    Outcome::skipped(match events {
        0 => format!("no event came before {}", why_it_stopped(c)),
        n => format!(
            "none of the {n} event(s) carried an id before {}",
            why_it_stopped(c)
        ),
    })
}

/// Fetch's CORS-unsafe request-header bytes.
fn cors_unsafe(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7F || b"\"():<>?@[\\]{}".contains(&b)
}

async fn ids_cors_safe(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = explicit_ids(c);
    if ids.is_empty() {
        return no_ids(c);
    }
    let unsafe_ids: Vec<&str> = ids
        .iter()
        .map(|(_, id)| *id)
        .filter(|id| id.len() > 128 || id.bytes().any(cors_unsafe))
        .collect();
    let message = match unsafe_ids.first() {
        None => format!(
            "all {} ids fit the proposed Last-Event-ID safelist (at most 128 bytes, no CORS-unsafe bytes)",
            ids.len()
        ),
        Some(first) => format!(
            "{} ids fall outside the proposed Last-Event-ID safelist (over 128 bytes or a CORS-unsafe byte), e.g. {first:?}",
            unsafe_ids.len()
        ),
    };
    Outcome::info(
        message.clone(),
        evidence(
            c,
            "ids of at most 128 bytes, none CORS-unsafe",
            message,
            None,
        ),
    )
}
