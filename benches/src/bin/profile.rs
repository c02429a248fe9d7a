//! Runs one implementation on one workload, for a profiler.
//!
//! Usage:
//!
//! ```text
//! profile sse <workload> <whole|1460|64> <implementation> [iterations]
//! profile ws <workload> <implementation> [iterations]
//! ```
//!
//! `<workload>` is a name from the benchmarks (`llm/lf`, `line1mib/lf`, `64kib-text`,
//! `fragmented-text`, ...); `<implementation>` is `pulsecheck`, `floor`, or a peer, named
//! as in the benchmark tables (a prefix is enough: `sse-stream`, `sockudo-ws (copy)`).
//! Everything but the timed work (generating the workload, the fresh masked copy an in-place
//! WebSocket reader needs) happens outside [`measured`], so a profiler can count only what
//! the benchmark times:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='profile::measured*' \
//!     target/release/profile sse line1mib/lf 1460 pulsecheck 3
//! ```
//!
//! Instruction counts from callgrind do not move with the machine's load, unlike criterion's
//! wall-clock times, so they compare two builds (or ours and a peer) on a shared machine.

use std::cell::RefCell;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pulsecheck_benches::{ours, peers, workloads, ws};

thread_local! {
    /// The wall-clock time of every [`measured`] run, for the summary on stderr.
    static TIMES: RefCell<Vec<Duration>> = const { RefCell::new(Vec::new()) };
}

/// One timed run: what a benchmark iteration does. Never inlined, so a profiler can
/// collect inside it alone. Its wall-clock time is recorded: on a busy machine the
/// fastest runs (the ones no other process interrupted) compare two builds better than
/// criterion's mean.
#[inline(never)]
fn measured<T>(run: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = black_box(run());
    let took = start.elapsed();
    TIMES.with(|t| t.borrow_mut().push(took));
    out
}

/// Prints the minimum, the 10th percentile and the median time of the measured runs.
fn print_times() {
    TIMES.with(|t| {
        let mut times = t.borrow().clone();
        times.sort_unstable();
        let at = |q: usize| {
            times
                .get(times.len() * q / 100)
                .copied()
                .unwrap_or_default()
        };
        if let Some(min) = times.first() {
            eprintln!(
                "measured: {} runs; min {:.1} µs, p10 {:.1} µs, median {:.1} µs",
                times.len(),
                min.as_secs_f64() * 1e6,
                at(10).as_secs_f64() * 1e6,
                at(50).as_secs_f64() * 1e6,
            );
        }
    });
}

fn sse(
    workload: &str,
    chunking: &str,
    implementation: &str,
    iterations: usize,
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
    let expected = peers::Summary::expected(w);
    match implementation {
        "pulsecheck" => {
            for _ in 0..iterations {
                let got = measured(|| ours::run_pulsecheck(&chunks));
                check(got == expected, implementation)?;
            }
        }
        "floor" => {
            for _ in 0..iterations {
                measured(|| ours::run_floor(&chunks));
            }
        }
        name => {
            let peer = peers::all()
                .into_iter()
                .find(|p| p.name.starts_with(name))
                .ok_or_else(|| format!("no SSE peer {name:?}"))?;
            let prepared = (peer.prepare)(&chunks);
            for _ in 0..iterations {
                measured(|| (peer.run)(&prepared));
            }
        }
    }
    Ok(())
}

fn websocket(workload: &str, implementation: &str, iterations: usize) -> Result<(), String> {
    let w = ws::workloads::all()
        .into_iter()
        .find(|w| w.name == workload)
        .ok_or_else(|| format!("no WebSocket workload {workload:?}"))?;
    let name = ws::FUNCTIONS
        .iter()
        .find(|f| **f == implementation)
        .or_else(|| ws::FUNCTIONS.iter().find(|f| f.starts_with(implementation)))
        .ok_or_else(|| format!("no WebSocket implementation {implementation:?}"))?;
    let expected = ws::Summary::expected(&w);
    let bytes = &w.bytes;
    let mut read_buf = bytes::BytesMut::with_capacity(bytes.len());
    let read_source = ws::ReadSource::aligned_to(bytes, &mut read_buf);
    let mut sockudo_buf = bytes::BytesMut::with_capacity(bytes.len());
    let sockudo_source = ws::ReadSource::aligned_to(bytes, &mut sockudo_buf);
    let mut scratch = Vec::new();
    for _ in 0..iterations {
        let got = match *name {
            "pulsecheck" => {
                let mut fresh = bytes.clone();
                measured(|| ws::ours::run_pulsecheck(&mut fresh))
            }
            "pulsecheck (copy)" => {
                measured(|| ws::ours::run_pulsecheck_copy(read_source.bytes(), &mut read_buf))
            }
            "tungstenite" => measured(|| ws::peers::run_tungstenite(bytes)),
            "fastwebsockets" => measured(|| ws::peers::run_fastwebsockets(bytes)),
            "sockudo-ws" => {
                let mut fresh = ws::peers::sockudo_input(bytes);
                measured(|| ws::peers::run_sockudo(&mut fresh))
            }
            "sockudo-ws (copy)" => {
                measured(|| ws::peers::run_sockudo_copy(sockudo_source.bytes(), &mut sockudo_buf))
            }
            "sockudo-ws Protocol (copy)" => measured(|| {
                ws::peers::run_sockudo_protocol_copy(sockudo_source.bytes(), &mut sockudo_buf)
            }),
            "floor (in place)" => {
                let mut fresh = bytes.clone();
                measured(|| ws::ours::run_floor_in_place(&w, &mut fresh))
            }
            _ => measured(|| ws::ours::run_floor(&w, &mut scratch)),
        };
        check(got == expected, name)?;
    }
    Ok(())
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
    let iterations = |arg: Option<&&str>| arg.map_or(Ok(1), |n| n.parse::<usize>());
    let result = match args.as_slice() {
        ["sse", workload, chunking, implementation, rest @ ..] => iterations(rest.first())
            .map_err(|e| format!("iterations: {e}"))
            .and_then(|n| sse(workload, chunking, implementation, n)),
        ["ws", workload, implementation, rest @ ..] => iterations(rest.first())
            .map_err(|e| format!("iterations: {e}"))
            .and_then(|n| websocket(workload, implementation, n)),
        _ => Err("usage: profile sse <workload> <whole|1460|64> <implementation> [iterations]\n       profile ws <workload> <implementation> [iterations]".to_owned()),
    };
    print_times();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("profile: {message}");
            ExitCode::FAILURE
        }
    }
}
