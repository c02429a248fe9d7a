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
        "retry is sent in a block that clients keep",
        Source::Practice(
            "WHATWG HTML §9.2.6 applies retry as soon as it is read, but clients that apply fields only when they dispatch an event drop a block without data or one the stream never ends, and the retry in it: Rust's eventsource-stream (EventBuilder::dispatch returns nothing for empty data) and the clients built on it, LaunchDarkly's Rust client"
        ),
        Should,
        "Every retry field is sent in the block of an event (with data), and that block ends with a blank line.",
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

/// Where a `retry` field was, as a client that applies fields at dispatch sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryBlock {
    /// In the block of a dispatched event: every client keeps it.
    WithEvent,
    /// In a block that ended without data: no event, so such clients drop it.
    WithoutData,
    /// In the block the server closed the stream in, unfinished.
    NeverEnded,
    /// Undecided: no event followed before the probe stopped reading.
    Undecided,
}

/// The block of every valid `retry` in the capture, with its offset. An event's
/// offset is its block's first line, so a retry belongs to the next event whose
/// block began at or before it; a later block means the retry's block ended
/// without one.
fn retry_blocks(c: &Capture) -> Vec<(u64, RetryBlock)> {
    let mut found = Vec::new();
    for (i, seen) in c.seen.iter().enumerate() {
        if !matches!(seen.kind, SeenKind::Retry(_)) {
            continue;
        }
        let next_event = c.seen[i + 1..]
            .iter()
            .find(|s| matches!(s.kind, SeenKind::Event { .. }));
        let block = match next_event {
            Some(event) if event.offset <= seen.offset => RetryBlock::WithEvent,
            Some(_) => RetryBlock::WithoutData,
            None => match c.closed_inside_block {
                Some(start) if start <= seen.offset => RetryBlock::NeverEnded,
                // The server closed after the retry's block ended, without data.
                _ if c.end == BodyEnd::Closed => RetryBlock::WithoutData,
                _ => RetryBlock::Undecided,
            },
        };
        found.push((seen.offset, block));
    }
    found
}

async fn retry_kept(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let blocks = retry_blocks(c);
    if blocks.is_empty() {
        return Outcome::skipped(format!(
            "the server sent no retry field before {}",
            why_it_stopped(c)
        ));
    }
    if let Some(&(offset, _)) = blocks.iter().find(|(_, b)| *b == RetryBlock::NeverEnded) {
        return Outcome::fail(
            format!("the retry at byte {offset} is in a block the stream never ended"),
            evidence(
                c,
                "a blank line after the retry's block",
                "the stream closed before the retry's block ended; clients discard the block, retry and all",
                Some(offset),
            ),
        );
    }
    if let Some(&(offset, _)) = blocks.iter().find(|(_, b)| *b == RetryBlock::WithoutData) {
        return Outcome::fail(
            format!(
                "the retry at byte {offset} is in a block without data: browsers apply it, but clients that apply fields when they dispatch an event (eventsource-stream, LaunchDarkly's Rust client) drop it; send the retry in the same block as the first event"
            ),
            evidence(
                c,
                "retry in the block of an event, e.g. retry: 3000\\nid: 1\\ndata: ...\\n\\n",
                "a block with retry and no data, e.g. retry: 3000\\n\\n",
                Some(offset),
            ),
        );
    }
    let kept = blocks
        .iter()
        .filter(|(_, b)| *b == RetryBlock::WithEvent)
        .count();
    let undecided = blocks.len() - kept;
    Outcome::pass(if undecided == 0 {
        format!("{kept} retry field(s), each sent with an event in a block that ended")
    } else {
        format!(
            "{kept} retry field(s) sent with an event in a block that ended; {undecided} with no event after it before {}",
            why_it_stopped(c)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::capture::tests::capture;

    fn blocks(chunks: &[(u64, &[u8])], end: BodyEnd) -> Vec<(u64, RetryBlock)> {
        retry_blocks(&capture(&[], chunks, end))
    }

    #[test]
    fn a_retry_belongs_to_the_event_of_its_block() {
        let with_event = blocks(
            &[(1, b"retry: 3000\nid: 1\ndata: a\n\n")],
            BodyEnd::WindowOver,
        );
        assert_eq!(with_event, [(0, RetryBlock::WithEvent)]);
        // A comment line before it starts the same block.
        let after_comment = blocks(
            &[(1, b": hi\nretry: 3000\ndata: a\n\n")],
            BodyEnd::WindowOver,
        );
        assert_eq!(after_comment, [(5, RetryBlock::WithEvent)]);
    }

    #[test]
    fn a_retry_only_block_is_found_by_the_event_after_it() {
        let alone = blocks(
            &[(1, b"retry: 3000\n\n"), (2, b"id: 1\ndata: a\n\n")],
            BodyEnd::WindowOver,
        );
        assert_eq!(alone, [(0, RetryBlock::WithoutData)]);
        // With an id but no data, the block dispatches no event either.
        let id_only = blocks(
            &[(1, b"retry: 3000\nid: 0\n\ndata: a\n\n")],
            BodyEnd::WindowOver,
        );
        assert_eq!(id_only, [(0, RetryBlock::WithoutData)]);
    }

    #[test]
    fn the_end_of_the_stream_decides_a_retry_with_no_event_after_it() {
        let closed = blocks(&[(1, b"data: a\n\nretry: 5\n\n")], BodyEnd::Closed);
        assert_eq!(closed, [(9, RetryBlock::WithoutData)]);
        let cut = blocks(&[(1, b"data: a\n\nretry: 5\n")], BodyEnd::Closed);
        assert_eq!(cut, [(9, RetryBlock::NeverEnded)]);
        // Still reading when the observation ended: what comes next decides.
        for tail in [&b"data: a\n\nretry: 5\n"[..], b"data: a\n\nretry: 5\n\n"] {
            let undecided = blocks(&[(1, tail)], BodyEnd::WindowOver);
            assert_eq!(undecided, [(9, RetryBlock::Undecided)]);
        }
    }
}
