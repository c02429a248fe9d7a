//! Runs implementations on one workload, for a profiler or for an interleaved comparison.
//!
//! Usage:
//!
//! ```text
//! profile sse <workload> <whole|1460|64> <implementations> [iterations]
//! profile ws <workload> <implementations> [iterations]
//! ```
//!
//! `<workload>` is a name from the benchmarks (`llm/lf`, `line1mib/lf`, `64kib-text`,
//! `fragmented-text`, ...); `<implementations>` is one or more of `pulsecheck`, the floors,
//! and the peers, named as in the benchmark tables (a prefix is enough: `sse-stream`,
//! `sockudo-ws (copy)`) and separated by commas. Everything but the timed work (generating
//! the workload, the fresh masked copy an in-place WebSocket reader needs) happens outside
//! [`measured`], so a profiler can count only what the benchmark times:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='profile::measured*' \
//!     target/release/profile sse line1mib/lf 1460 pulsecheck 3
//! ```
//!
//! Instruction counts from callgrind do not move with the machine's load, unlike criterion's
//! wall-clock times, so they compare two builds (or ours and a peer) on a shared machine.
//!
//! # Interleaved comparisons
//!
//! With several implementations, each iteration is a *round* that runs every one of them
//! once, in an order that rotates from round to round, and the summary gives, for each
//! implementation after the first, the median over the rounds of its time divided by the
//! first one's (how many times faster the first is), with the quartiles. A round takes
//! micro- to milliseconds, so a slowdown of the machine that lasts longer (on the shared
//! machine these benchmarks ran on, one of the two virtual CPUs ran memory-bound work 22–57%
//! slower for seconds at a time, for ours and the peers alike: BENCHMARKS.md) hits both sides of a round
//! and cancels out of its ratio. Criterion measures one function for seconds and then the
//! next, so its ratios carry such slowdowns whole; a row within a few percent of 1 there is
//! settled here:
//!
//! ```text
//! profile ws 16mib-binary 'pulsecheck (copy),sockudo-ws (copy)' 300
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pulsecheck_benches::{ours, peers, workloads, ws};

/// One timed run: what a benchmark iteration does. Never inlined, so a profiler can
/// collect inside it alone.
#[inline(never)]
fn measured<T>(run: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = black_box(run());
    (out, start.elapsed())
}

/// Runs one implementation once: its untimed setup, then [`measured`]. Fails when the
/// implementation did not hand out what the workload holds.
type Runner<'a> = Box<dyn FnMut() -> Result<Duration, String> + 'a>;

/// The `q`-th percentile of `sorted`.
fn percentile<T: Copy + Default>(sorted: &[T], q: usize) -> T {
    sorted
        .get(sorted.len() * q / 100)
        .copied()
        .unwrap_or_default()
}

/// Runs `runners` for `rounds` rounds, interleaved, and prints the summary.
fn run_rounds(names: &[&str], mut runners: Vec<Runner<'_>>, rounds: usize) -> Result<(), String> {
    let n = runners.len();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            let took = runners.get_mut(i).map_or(Ok(Duration::ZERO), |run| run())?;
            if let Some(t) = times.get_mut(i) {
                t.push(took);
            }
        }
    }
    for (name, t) in names.iter().zip(&times) {
        let mut sorted = t.clone();
        sorted.sort_unstable();
        if let Some(min) = sorted.first() {
            eprintln!(
                "{name}: {} runs; min {:.1} µs, p10 {:.1} µs, median {:.1} µs",
                sorted.len(),
                min.as_secs_f64() * 1e6,
                percentile(&sorted, 10).as_secs_f64() * 1e6,
                percentile(&sorted, 50).as_secs_f64() * 1e6,
            );
        }
    }
    let (Some(first_name), Some(first)) = (names.first(), times.first()) else {
        return Ok(());
    };
    for (name, t) in names.iter().zip(&times).skip(1) {
        let mut ratios: Vec<f64> = t
            .iter()
            .zip(first)
            .map(|(other, ours)| other.as_secs_f64() / ours.as_secs_f64().max(1e-12))
            .collect();
        ratios.sort_unstable_by(f64::total_cmp);
        eprintln!(
            "{first_name} ÷ {name} (speed, per round): median {:.3}x, quartiles {:.3}x–{:.3}x",
            percentile(&ratios, 50),
            percentile(&ratios, 25),
            percentile(&ratios, 75),
        );
    }
    Ok(())
}

fn sse(
    workload: &str,
    chunking: &str,
    implementations: &[&str],
    rounds: usize,
) -> Result<(), String> {
    let all = workloads::all();
    let w = all
        .iter()
        .find(|w| w.name == workload)
        .ok_or_else(|| format!("no SSE workload {workload:?}"))?;
    let chunk = match chunking {
        "whole" => None,
        n => Some(
            n.parse::<usize>()
                .map_err(|e| format!("chunking {n:?}: {e}"))?,
        ),
    };
    let chunks = workloads::chunked(&w.bytes, chunk);
    let chunks = &chunks;
    let expected = peers::Summary::expected(w);
    let mut names = Vec::new();
    let mut runners: Vec<Runner<'_>> = Vec::new();
    for &implementation in implementations {
        let runner: Runner<'_> = match implementation {
            "pulsecheck" => Box::new(move || {
                let (got, took) = measured(|| ours::run_pulsecheck(chunks));
                check(got == expected, "pulsecheck").map(|()| took)
            }),
            "floor" => Box::new(move || Ok(measured(|| ours::run_floor(chunks)).1)),
            name => {
                let peer = peers::all()
                    .into_iter()
                    .find(|p| p.name.starts_with(name))
                    .ok_or_else(|| format!("no SSE peer {name:?}"))?;
                let prepared = (peer.prepare)(chunks);
                Box::new(move || Ok(measured(|| (peer.run)(&prepared)).1))
            }
        };
        names.push(implementation);
        runners.push(runner);
    }
    run_rounds(&names, runners, rounds)
}

fn websocket(workload: &str, implementations: &[&str], rounds: usize) -> Result<(), String> {
    let w = ws::workloads::all()
        .into_iter()
        .find(|w| w.name == workload)
        .ok_or_else(|| format!("no WebSocket workload {workload:?}"))?;
    let w = &w;
    let expected = ws::Summary::expected(w);
    let bytes = &w.bytes;
    let mut names = Vec::new();
    let mut runners: Vec<Runner<'_>> = Vec::new();
    for &implementation in implementations {
        let name = *ws::FUNCTIONS
            .iter()
            .find(|f| **f == implementation)
            .or_else(|| ws::FUNCTIONS.iter().find(|f| f.starts_with(implementation)))
            .ok_or_else(|| format!("no WebSocket implementation {implementation:?}"))?;
        let done =
            move |(got, took): (ws::Summary, Duration)| check(got == expected, name).map(|()| took);
        let runner: Runner<'_> = if let Some(run) = ws::read_loop(name) {
            // Its buffer, and its input placed like it (see `ws::ReadSource`).
            let mut buf = bytes::BytesMut::with_capacity(bytes.len());
            let source = ws::ReadSource::aligned_to(bytes, &mut buf);
            Box::new(move || done(measured(|| run(source.bytes(), &mut buf))))
        } else {
            match name {
                "pulsecheck" => Box::new(move || {
                    let mut fresh = bytes.clone();
                    done(measured(|| ws::ours::run_pulsecheck(&mut fresh)))
                }),
                "tungstenite" => {
                    Box::new(move || done(measured(|| ws::peers::run_tungstenite(bytes))))
                }
                "fastwebsockets" => {
                    Box::new(move || done(measured(|| ws::peers::run_fastwebsockets(bytes))))
                }
                "sockudo-ws" => Box::new(move || {
                    let mut fresh = ws::peers::sockudo_input(bytes);
                    done(measured(|| ws::peers::run_sockudo(&mut fresh)))
                }),
                "floor (in place)" => Box::new(move || {
                    let mut fresh = bytes.clone();
                    done(measured(|| ws::ours::run_floor_in_place(w, &mut fresh)))
                }),
                "floor" => {
                    let mut scratch = Vec::new();
                    Box::new(move || done(measured(|| ws::ours::run_floor(w, &mut scratch))))
                }
                other => return Err(format!("the profile driver cannot run {other:?} yet")),
            }
        };
        names.push(name);
        runners.push(runner);
    }
    run_rounds(&names, runners, rounds)
}

/// The comma-separated names in `arg`.
fn list(arg: &str) -> Vec<&str> {
    arg.split(',').map(str::trim).collect()
}

fn check(ok: bool, implementation: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{implementation} did not hand out what the workload holds"
        ))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rounds = |arg: Option<&&str>| {
        arg.map_or(Ok(1), |n| n.parse::<usize>())
            .map_err(|e| format!("iterations: {e}"))
    };
    let result = match args.as_slice() {
        ["sse", workload, chunking, implementations, rest @ ..] => rounds(rest.first())
            .and_then(|n| sse(workload, chunking, &list(implementations), n)),
        ["ws", workload, implementations, rest @ ..] => {
            rounds(rest.first()).and_then(|n| websocket(workload, &list(implementations), n))
        }
        _ => Err("usage: profile sse <workload> <whole|1460|64> <implementations> [iterations]\n       profile ws <workload> <implementations> [iterations]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("profile: {message}");
            ExitCode::FAILURE
        }
    }
}
