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

/// The longest silence a stream may keep.
const MAX_SILENCE: Duration = Duration::from_secs(15);

async fn heartbeat(probe: &SseProbe) -> Outcome {
    let c = match event_stream(probe).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let (silence, from) = c.longest_silence();
    let secs = silence.as_secs_f64();
    if silence > MAX_SILENCE {
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
    // Measured over the whole stream as it arrived, not only the items kept.
    let observed = c.observed_for;
    let event_gap = c.counts.event_spacing.longest(c.head_at, observed);
    let comments = c.counts.comments;
    let comment_gap = c.counts.comment_spacing.longest(c.head_at, observed);
    let over = format!(
        "longest silence {secs:.1} s over {:.1} s",
        observed.as_secs_f64()
    );
    if observed < MAX_SILENCE {
        // Too short for a 15 s silence: only a heartbeat seen says the server has one.
        return if comments > 0 {
            Outcome::pass(format!(
                "{over}; heartbeat comments kept it alive: {comments} in {:.1} s, at most {:.1} s apart",
                observed.as_secs_f64(),
                comment_gap.as_secs_f64()
            ))
        } else {
            let advice = match c.end {
                BodyEnd::Closed => "a stream that ends this soon needs no heartbeat",
                BodyEnd::WindowOver => "observe at least 16 s (--observe) to judge",
                _ => "nothing to judge",
            };
            Outcome::skipped(format!(
                "{}, too soon for a 15 s silence, and no heartbeat comment came; {advice}",
                why_it_stopped(c)
            ))
        };
    }
    let kept_alive = if event_gap <= MAX_SILENCE {
        let also = if comments > 0 {
            format!(", and {comments} heartbeat comment(s) came too")
        } else {
            "; no heartbeat comment came, so a pause in events would leave it silent".to_owned()
        };
        format!(
            "events kept it alive (never more than {:.1} s apart){also}",
            event_gap.as_secs_f64()
        )
    } else if comments > 0 {
        format!(
            "heartbeat comments kept it alive ({comments}, at most {:.1} s apart; events alone left {:.1} s)",
            comment_gap.as_secs_f64(),
            event_gap.as_secs_f64()
        )
    } else {
        format!(
            "lines that are neither events nor comments kept it alive (events alone left {:.1} s)",
            event_gap.as_secs_f64()
        )
    };
    Outcome::pass(format!("{over}; {kept_alive}"))
}
