//! `sse/robustness/…`

use super::*;

/// The `sse/robustness` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[
    check!(
        "sse/robustness/dropped-burst",
        "Abruptly dropped connections leave the server working",
        Source::Practice("servers release a stream's resources when its client goes away"),
        Should,
        "After a burst of connections dropped without notice, a new stream is still served.",
        dropped_burst
    ),
    check!(
        "sse/robustness/concurrent-streams",
        "Concurrent streams are all served",
        Source::Practice("an SSE endpoint holds one long-lived stream per client"),
        Should,
        "Every one of a bounded number of concurrent streams gets 200 and its first bytes within 5 s.",
        concurrent_streams
    ),
];

/// Opens a stream and waits for its first body bytes (within 5 s).
async fn served(probe: &SseProbe) -> Result<Duration, String> {
    let started = Instant::now();
    let mut r = probe.open(&[]).await.map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("status {}", r.status));
    }
    match r.next_chunk_within(Duration::from_secs(5)).await {
        Ok(Next::Chunk(_)) => Ok(started.elapsed()),
        Ok(Next::End) => Err("the stream ended without a byte".into()),
        Ok(Next::Idle) => Err("no body bytes within 5 s".into()),
        Err(e) => Err(e.to_string()),
    }
}

async fn dropped_burst(probe: &SseProbe) -> Outcome {
    let opened = futures::future::join_all((0..probe.options.burst).map(|_| probe.open(&[]))).await;
    let count = opened.iter().filter(|r| r.is_ok()).count();
    drop(opened);
    tokio::time::sleep(Duration::from_millis(100)).await;
    match served(probe).await {
        Ok(took) => Outcome::pass(format!(
            "{count} connections dropped; a new stream was served after {} ms",
            took.as_millis()
        )),
        Err(why) => Outcome::fail(
            format!("after {count} dropped connections: {why}"),
            Evidence {
                expected: "a new stream served".into(),
                actual: why,
                transcript: Transcript::default(),
            },
        ),
    }
}

async fn concurrent_streams(probe: &SseProbe) -> Outcome {
    let n = probe.options.concurrent_streams;
    let results = futures::future::join_all((0..n).map(|_| served(probe))).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Outcome::pass(format!("{n} concurrent streams all served"))
    } else {
        Outcome::fail(
            format!(
                "{} of {n} concurrent streams not served: {}",
                failures.len(),
                failures[0]
            ),
            Evidence {
                expected: format!("{n} streams served"),
                actual: failures.join("; "),
                transcript: Transcript::default(),
            },
        )
    }
}
