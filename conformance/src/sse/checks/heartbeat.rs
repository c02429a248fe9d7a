//! `sse/heartbeat/…`

use super::*;

/// The `sse/heartbeat` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[check!(
    "sse/heartbeat/interval",
    "A heartbeat at least every 15-30 s",
    Source::Practice(
        "proxies and load balancers drop connections idle for 30-60 s; servers send a comment line every 15-30 s"
    ),
    Should,
    "The stream is never silent for more than 15 s (a comment line keeps it alive).",
    heartbeat
)];

async fn heartbeat(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (silence, from) = c.longest_silence();
    let comments = c.counts.comments;
    let secs = silence.as_secs_f64();
    if silence > Duration::from_secs(15) {
        let mut ev = evidence(
            c,
            "no silence longer than 15 s",
            format!("{secs:.1} s without a byte"),
            None,
        );
        ev.transcript.note(from, "silence begins");
        return Outcome::fail(
            format!("silent for {secs:.1} s (from {:.1} s)", from.as_secs_f64()),
            ev,
        );
    }
    if c.observed_for >= Duration::from_secs(15) || comments > 0 {
        Outcome::pass(format!(
            "longest silence {secs:.1} s over {:.1} s; {comments} heartbeat comment(s)",
            c.observed_for.as_secs_f64()
        ))
    } else {
        Outcome::skipped(format!(
            "no heartbeat in a {:.1} s observation; observe at least 16 s (--observe) to judge",
            c.observed_for.as_secs_f64()
        ))
    }
}
