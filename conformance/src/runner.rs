//! Running checks: concurrently, each under its own timeout, within an overall
//! deadline, interruptible with Ctrl-C — and every check accounted for.
//!
//! Whatever happens, every selected check ends up in the results: a check that
//! times out, one still waiting when the deadline passes or Ctrl-C arrives, and one
//! whose code panicked all get a [`Verdict::Error`](crate::check::Verdict::Error)
//! outcome saying so. The runner bounds time, and the size of every result: each
//! outcome is held to the bounds of [`Outcome::bounded`] before it is kept (the
//! memory budget of a run is described in [`budget`](crate::budget)).
//!
//! A check's `--check-timeout` is a bound on time without progress. A check
//! that never says it got anywhere has that long in all, from when it gets its
//! place among the `--jobs` running; one that calls [`made_progress`] (a
//! compression case, on each echo) has that long from its last progress. A
//! case whose length is set by the peer's speed and by what else the peer is
//! serving (1000 messages of 128 KiB, compressed both ways, beside seven other
//! such cases) is not hung while its echoes keep coming, and one whose peer
//! stops answering is still stopped `--check-timeout` after the last answer.
//! Time a check spends waiting for its turn at a resource the run shares
//! ([`waiting_for_turn`]: a case waits for one of the few compression slots)
//! is not counted either: the peer has not been asked anything yet.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::check::{Outcome, Transcript};
use crate::registry::Check;
use crate::report::CheckResult;

/// How to run a selection of checks.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Checks in flight at once (at least 1).
    pub jobs: usize,
    /// Time one check may take.
    pub check_timeout: Duration,
    /// Time the whole run may take.
    pub deadline: Duration,
    /// Whether SHOULD failures are failures.
    pub strict: bool,
    /// Show a progress bar on stderr (when it is a terminal).
    pub progress: bool,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// One result per selected check, in selection order.
    pub results: Vec<CheckResult>,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
    /// The overall deadline stopped the run.
    pub deadline_reached: bool,
    /// How long the run took.
    pub elapsed: Duration,
}

/// The overall deadline of a whole probe, shared by every phase of it (the first
/// connection, each suite's run): when it passes, and the limit it came from (for
/// the messages that name `--deadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the deadline passes.
    pub at: Instant,
    /// The limit as given (`--deadline`), measured from when the probe started.
    pub limit: Duration,
}

impl Deadline {
    /// A deadline `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Deadline {
            at: Instant::now() + limit,
            limit,
        }
    }

    /// The time left; zero once the deadline has passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The sentence for a check the deadline stopped.
    pub fn unfinished(&self) -> String {
        format!(
            "not finished before the overall deadline of {} s (--deadline)",
            self.limit.as_secs_f64()
        )
    }
}

enum Stop {
    Deadline,
    Interrupted,
}

/// Runs `checks` against `ctx`, within `options.deadline` from now.
pub async fn run<Ctx>(ctx: Arc<Ctx>, checks: &[Check<Ctx>], options: RunOptions) -> RunResult
where
    Ctx: Send + Sync + 'static,
{
    run_until(ctx, checks, options, Deadline::after(options.deadline)).await
}

/// Runs `checks` against `ctx` until `deadline` (which may have begun before this
/// run: one deadline bounds a whole probe); `options.deadline` is not used. A
/// deadline that has already passed starts nothing and marks every check as not
/// finished.
pub async fn run_until<Ctx>(
    ctx: Arc<Ctx>,
    checks: &[Check<Ctx>],
    options: RunOptions,
    deadline: Deadline,
) -> RunResult
where
    Ctx: Send + Sync + 'static,
{
    let started = Instant::now();
    if deadline.passed() {
        return RunResult {
            results: not_run(checks, &deadline.unfinished(), options.strict),
            interrupted: false,
            deadline_reached: true,
            elapsed: started.elapsed(),
        };
    }
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut set = JoinSet::new();
    let mut outcomes: Vec<Option<(Outcome, Duration)>> = vec![None; checks.len()];
    let progress = progress_bar(options.progress, checks.len());

    for (index, check) in checks.iter().copied().enumerate() {
        let ctx = Arc::clone(&ctx);
        let permits = Arc::clone(&permits);
        let timeout = options.check_timeout;
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let begun = Instant::now();
            let outcome = timed(timeout, (check.run)(&ctx, &check.info)).await;
            (index, outcome, begun.elapsed())
        });
    }

    let deadline_passes = tokio::time::sleep_until(deadline.at.into());
    tokio::pin!(deadline_passes);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut stop = None;
    while !set.is_empty() {
        tokio::select! {
            joined = set.join_next() => {
                // A panicking check (Err) is a harness bug; its slot is filled below.
                if let Some(Ok((index, outcome, took))) = joined {
                    if let Some(slot) = outcomes.get_mut(index) {
                        *slot = Some((outcome, took));
                    }
                    if let Some(bar) = &progress {
                        bar.inc(1);
                    }
                }
            }
            _ = &mut deadline_passes => {
                stop = Some(Stop::Deadline);
                break;
            }
            _ = &mut ctrl_c => {
                stop = Some(Stop::Interrupted);
                break;
            }
        }
    }
    set.abort_all();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let unfinished = match stop {
        Some(Stop::Deadline) => deadline.unfinished(),
        Some(Stop::Interrupted) => "interrupted (Ctrl-C) before it finished".to_owned(),
        None => PANICKED.to_owned(),
    };
    let results = checks
        .iter()
        .zip(outcomes)
        .map(|(check, done)| {
            let (outcome, took) = done.unwrap_or_else(|| {
                (
                    Outcome::error(unfinished.clone(), Transcript::default()),
                    Duration::ZERO,
                )
            });
            let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
            CheckResult::new(
                &check.info,
                outcome.bounded().graded(check.info.level, options.strict),
                ms,
            )
        })
        .collect();
    RunResult {
        results,
        interrupted: matches!(stop, Some(Stop::Interrupted)),
        deadline_reached: matches!(stop, Some(Stop::Deadline)),
        elapsed: started.elapsed(),
    }
}

/// The message of a check whose code panicked.
const PANICKED: &str = "the check's code panicked: a bug in pulsecheck, please report it";

tokio::task_local! {
    /// The progress of the check running on this task.
    static PROGRESS: Arc<Progress>;
}

/// When a check began and when it last made progress.
#[derive(Debug)]
struct Progress {
    begun: Instant,
    /// Milliseconds from `begun` to the last progress; 0 while there was none.
    last_ms: AtomicU64,
    /// Waits for a turn in progress ([`waiting_for_turn`]): the timeout does
    /// not run.
    waiting: AtomicU64,
}

impl Progress {
    fn new() -> Self {
        Progress {
            begun: Instant::now(),
            last_ms: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.begun.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms.max(1), Ordering::Relaxed);
    }

    /// The last progress, if any.
    fn last(&self) -> Option<Instant> {
        match self.last_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.begun + Duration::from_millis(ms)),
        }
    }

    /// When a check without progress since the last is stopped.
    fn due(&self, timeout: Duration) -> Instant {
        self.last().unwrap_or(self.begun) + timeout
    }
}

/// Tells the runner that the check running on this task got somewhere (an
/// answer it waits for arrived): its `--check-timeout` counts from now. Does
/// nothing outside a check run by [`run_until`] or [`run_one`].
pub fn made_progress() {
    let _ = PROGRESS.try_with(|p| p.touch());
}

/// Waits for `turn` (a share of something the run's checks take turns at,
/// not an answer from the peer) with the check's timeout stopped; it counts
/// again from when the turn comes. Outside a check run by [`run_until`] or
/// [`run_one`], just waits.
pub async fn waiting_for_turn<T>(turn: impl Future<Output = T>) -> T {
    /// Ends the wait even when the check is dropped while waiting.
    struct Waiting(Option<Arc<Progress>>);
    impl Drop for Waiting {
        fn drop(&mut self) {
            if let Some(p) = &self.0 {
                p.touch();
                p.waiting.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
    let progress = PROGRESS.try_with(Arc::clone).ok();
    if let Some(p) = &progress {
        p.waiting.fetch_add(1, Ordering::Relaxed);
    }
    let _waiting = Waiting(progress);
    turn.await
}

/// Runs `check` until it finishes or `timeout` passes without progress (see
/// the module docs).
async fn timed(timeout: Duration, check: impl Future<Output = Outcome>) -> Outcome {
    let progress = Arc::new(Progress::new());
    let watched = Arc::clone(&progress);
    PROGRESS
        .scope(watched, async move {
            tokio::pin!(check);
            loop {
                let due = progress.due(timeout);
                tokio::select! {
                    outcome = &mut check => return outcome,
                    () = tokio::time::sleep_until(due.into()) => {
                        if progress.waiting.load(Ordering::Relaxed) > 0 {
                            // Waiting for its turn: not the peer's time.
                            progress.touch();
                        } else if progress.due(timeout) <= Instant::now() {
                            return timed_out(timeout, &progress);
                        }
                    }
                }
            }
        })
        .await
}

/// The outcome of a check stopped by its timeout.
fn timed_out(timeout: Duration, progress: &Progress) -> Outcome {
    let mut transcript = Transcript::default();
    let elapsed = progress.begun.elapsed();
    transcript.note(elapsed, "check timeout reached");
    let secs = timeout.as_secs_f64();
    let message = match progress.last() {
        None => format!("the check did not finish within {secs} s (--check-timeout)"),
        Some(last) => format!(
            "the check made no progress for {secs} s (--check-timeout): its last progress (an answer it waited for, or its turn to run) came {:.1} s into it",
            last.duration_since(progress.begun).as_secs_f64()
        ),
    };
    Outcome::error(message, transcript)
}

/// Runs one check against `ctx` as [`run_until`] runs each of its checks: on a
/// task of its own, under `timeout`, its outcome bounded and graded. A check
/// that does not finish in time, or whose code panics, gets an error result
/// saying so. Dropping the returned future stops the check.
pub async fn run_one<Ctx>(
    ctx: Arc<Ctx>,
    check: Check<Ctx>,
    timeout: Duration,
    strict: bool,
) -> CheckResult
where
    Ctx: Send + Sync + 'static,
{
    /// Aborts the check's task when the caller stops waiting for it.
    struct AbortOnDrop(tokio::task::JoinHandle<Outcome>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let begun = Instant::now();
    let mut task = AbortOnDrop(tokio::spawn(async move {
        timed(timeout, (check.run)(&ctx, &check.info)).await
    }));
    let outcome = (&mut task.0)
        .await
        .unwrap_or_else(|_| Outcome::error(PANICKED, Transcript::default()));
    let ms = u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX);
    CheckResult::new(
        &check.info,
        outcome.bounded().graded(check.info.level, strict),
        ms,
    )
}

/// Results for checks that were never started (the deadline passed before their
/// suite began, or the target could not be probed at all): each an error that says
/// `reason`.
pub fn not_run<Ctx>(checks: &[Check<Ctx>], reason: &str, strict: bool) -> Vec<CheckResult> {
    checks
        .iter()
        .map(|check| {
            CheckResult::new(
                &check.info,
                Outcome::error(reason.to_owned(), Transcript::default())
                    .graded(check.info.level, strict),
                0,
            )
        })
        .collect()
}

fn progress_bar(wanted: bool, len: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} checks {msg}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckInfo, Evidence, Level, Source, Verdict};

    fn check(
        id: &'static str,
        level: Level,
        run: for<'a> fn(&'a (), &'a CheckInfo) -> crate::registry::CheckFuture<'a>,
    ) -> Check<()> {
        Check {
            info: CheckInfo {
                id,
                aliases: &[],
                title: "t",
                source: Source::Whatwg("9.2"),
                requirement: "r",
                level,
            },
            run,
        }
    }

    fn options(jobs: usize) -> RunOptions {
        RunOptions {
            jobs,
            check_timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(5),
            strict: false,
            progress: false,
        }
    }

    #[tokio::test]
    async fn every_check_is_accounted_for_and_graded() {
        let checks = [
            check("t/a/pass", Level::Must, |_, _| {
                Box::pin(async { Outcome::pass("ok") })
            }),
            check("t/a/should", Level::Should, |_, _| {
                Box::pin(async { Outcome::fail("no", Evidence::default()) })
            }),
            check("t/a/slow", Level::Must, |_, _| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Outcome::pass("never")
                })
            }),
            check("t/a/panics", Level::Must, |_, _| {
                Box::pin(async { panic!("bug in a check") })
            }),
        ];
        let run = run(Arc::new(()), &checks, options(2)).await;
        let verdicts: Vec<Verdict> = run.results.iter().map(|r| r.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Pass, Verdict::Warn, Verdict::Error, Verdict::Error]
        );
        assert!(run.results[2].message.contains("--check-timeout"));
        assert!(run.results[3].message.contains("panicked"));
        assert!(!run.interrupted && !run.deadline_reached);
    }

    #[tokio::test]
    async fn one_check_alone_is_timed_graded_and_survives_a_panic() {
        let slow = check("t/a/slow", Level::Must, |_, _| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Outcome::pass("never")
            })
        });
        let result = run_one(Arc::new(()), slow, Duration::from_millis(50), false).await;
        assert_eq!(result.verdict, Verdict::Error);
        assert!(
            result.message.contains("--check-timeout"),
            "{}",
            result.message
        );

        let panics = check("t/a/panics", Level::Must, |_, _| {
            Box::pin(async { panic!("bug in a check") })
        });
        let result = run_one(Arc::new(()), panics, Duration::from_secs(5), false).await;
        assert_eq!(result.verdict, Verdict::Error);
        assert!(result.message.contains("panicked"));

        let should = check("t/a/should", Level::Should, |_, _| {
            Box::pin(async { Outcome::fail("no", Evidence::default()) })
        });
        let result = run_one(Arc::new(()), should, Duration::from_secs(5), false).await;
        assert_eq!(result.verdict, Verdict::Warn);
        let result = run_one(Arc::new(()), should, Duration::from_secs(5), true).await;
        assert_eq!(result.verdict, Verdict::Fail);
    }

    #[tokio::test]
    async fn the_deadline_stops_the_run_and_marks_what_did_not_finish() {
        let checks = [
            check("t/a/fast", Level::Must, |_, _| {
                Box::pin(async { Outcome::pass("ok") })
            }),
            check("t/a/slow", Level::Must, |_, _| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Outcome::pass("never")
                })
            }),
        ];
        let mut opts = options(4);
        opts.check_timeout = Duration::from_secs(60);
        opts.deadline = Duration::from_millis(100);
        let started = Instant::now();
        let run = run(Arc::new(()), &checks, opts).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(run.deadline_reached);
        assert_eq!(run.results[0].verdict, Verdict::Pass);
        assert_eq!(run.results[1].verdict, Verdict::Error);
        assert!(run.results[1].message.contains("--deadline"));
    }

    #[tokio::test]
    async fn one_deadline_bounds_runs_that_start_late() {
        let checks = [check("t/a/slow", Level::Must, |_, _| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Outcome::pass("never")
            })
        })];
        let mut opts = options(1);
        opts.check_timeout = Duration::from_secs(60);
        let deadline = Deadline::after(Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let first = run_until(Arc::new(()), &checks, opts, deadline).await;
        // Only what was left of the 300 ms, not 300 ms more.
        assert!(started.elapsed() < Duration::from_millis(250));
        assert!(first.deadline_reached);
        assert_eq!(
            first.results[0].message,
            "not finished before the overall deadline of 0.3 s (--deadline)"
        );
        // A run that begins after the deadline starts nothing.
        let second = run_until(Arc::new(()), &checks, opts, deadline).await;
        assert!(second.deadline_reached);
        assert!(second.elapsed < Duration::from_millis(50));
        assert_eq!(second.results[0].verdict, Verdict::Error);
        assert!(second.results[0].message.contains("--deadline"));
    }

    #[tokio::test]
    async fn a_check_that_keeps_making_progress_outlives_its_timeout() {
        // 200 ms of timeout, 600 ms of work with progress every 50 ms.
        let steady = check("t/a/steady", Level::Must, |_, _| {
            Box::pin(async {
                for _ in 0..12 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    made_progress();
                }
                Outcome::pass("done")
            })
        });
        let run = run(Arc::new(()), &[steady], options(1)).await;
        assert_eq!(
            run.results[0].verdict,
            Verdict::Pass,
            "{}",
            run.results[0].message
        );
        let result = run_one(Arc::new(()), steady, Duration::from_millis(200), false).await;
        assert_eq!(result.verdict, Verdict::Pass, "{}", result.message);
    }

    #[tokio::test]
    async fn a_check_whose_progress_stops_is_stopped_a_timeout_later() {
        // Progress for 300 ms, then none: stopped about 200 ms after the last.
        let stalls = check("t/a/stalls", Level::Must, |_, _| {
            Box::pin(async {
                for _ in 0..6 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    made_progress();
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
                Outcome::pass("never")
            })
        });
        let started = Instant::now();
        let run = run(Arc::new(()), &[stalls], options(1)).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(3),
            "{took:?}"
        );
        let result = &run.results[0];
        assert_eq!(result.verdict, Verdict::Error);
        assert!(
            result
                .message
                .contains("no progress for 0.2 s (--check-timeout)"),
            "{}",
            result.message
        );
        let alone = run_one(Arc::new(()), stalls, Duration::from_millis(200), false).await;
        assert_eq!(alone.verdict, Verdict::Error);
        assert!(alone.message.contains("no progress"), "{}", alone.message);
        // Outside a run, progress goes nowhere (and does not panic).
        made_progress();
    }

    #[tokio::test]
    async fn waiting_for_a_turn_does_not_count() {
        // 500 ms waiting for a turn, then 150 ms of work: within 200 ms.
        let queued = check("t/a/queued", Level::Must, |_, _| {
            Box::pin(async {
                waiting_for_turn(tokio::time::sleep(Duration::from_millis(500))).await;
                tokio::time::sleep(Duration::from_millis(150)).await;
                Outcome::pass("done")
            })
        });
        let run = run(Arc::new(()), &[queued], options(1)).await;
        assert_eq!(
            run.results[0].verdict,
            Verdict::Pass,
            "{}",
            run.results[0].message
        );
        // But the work after the turn is bounded as any.
        let hangs = check("t/a/hangs", Level::Must, |_, _| {
            Box::pin(async {
                waiting_for_turn(tokio::time::sleep(Duration::from_millis(300))).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                Outcome::pass("never")
            })
        });
        let started = Instant::now();
        let result = run_one(Arc::new(()), hangs, Duration::from_millis(200), false).await;
        assert_eq!(result.verdict, Verdict::Error);
        assert!(started.elapsed() < Duration::from_secs(3));
        // Outside a run it just waits.
        assert_eq!(waiting_for_turn(async { 7 }).await, 7);
    }

    #[tokio::test]
    async fn jobs_bound_the_checks_in_flight() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let body: for<'a> fn(&'a (), &'a CheckInfo) -> crate::registry::CheckFuture<'a> = |_, _| {
            Box::pin(async {
                let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
                PEAK.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                Outcome::pass("ok")
            })
        };
        let checks: Vec<Check<()>> = (0..8).map(|_| check("t/a/b", Level::Must, body)).collect();
        let run = run(Arc::new(()), &checks, options(3)).await;
        assert_eq!(run.results.len(), 8);
        assert!(PEAK.load(Ordering::SeqCst) <= 3);
    }
}
