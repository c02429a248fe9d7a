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

async fn ids_unique(probe: &SseProbe) -> Outcome {
    let c = match stream_with_ids(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = &c.ids;
    if let Some((id, first, offset)) = &ids.repeated {
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
    if ids.count <= IdStats::WINDOW as u64 {
        Outcome::pass(format!("{} events, {} distinct ids", ids.count, ids.count))
    } else {
        Outcome::pass(format!(
            "{} events, no id repeated ({})",
            ids.count,
            ids.judged()
        ))
    }
}

async fn ids_increasing(probe: &SseProbe) -> Outcome {
    let c = match stream_with_ids(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = &c.ids;
    let message = match ids.not_increasing {
        _ if !ids.numeric => "ids are not all numbers".to_owned(),
        None => format!("{} numeric ids, strictly increasing", ids.count),
        Some((before, after)) => format!("numeric ids, not increasing: {before} then {after}"),
    };
    Outcome::info(
        message.clone(),
        evidence(c, "numeric increasing ids", message, None),
    )
}

/// The main capture, if it is an event stream in which some event set an id;
/// otherwise the skip (saying why the observation stopped) or the error.
async fn stream_with_ids(probe: &SseProbe) -> Result<&Capture, Outcome> {
    let c = event_stream(probe).await?;
    if c.ids.count == 0 {
        return Err(no_ids(c));
    }
    Ok(c)
}

/// The skip of a check of ids when no event carried one, with why the
/// observation stopped.
fn no_ids(c: &Capture) -> Outcome {
    Outcome::skipped(match c.counts.events {
        0 => format!("no event came before {}", why_it_stopped(c)),
        n => format!(
            "none of the {n} event(s) carried an id before {}",
            why_it_stopped(c)
        ),
    })
}

async fn ids_cors_safe(probe: &SseProbe) -> Outcome {
    let c = match stream_with_ids(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let ids = &c.ids;
    let message = match &ids.first_cors_unsafe {
        None => format!(
            "all {} ids fit the proposed Last-Event-ID safelist (at most 128 bytes, no CORS-unsafe bytes)",
            ids.count
        ),
        Some(first) => format!(
            "{} ids fall outside the proposed Last-Event-ID safelist (over 128 bytes or a CORS-unsafe byte), e.g. {first:?}",
            ids.cors_unsafe
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
