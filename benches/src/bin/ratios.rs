//! Prints the ratio tables from one criterion run's estimates.
//!
//! Usage: `cargo run -p pulsecheck-benches --bin ratios [CRITERION_DIR]` after
//! `cargo bench -p pulsecheck-benches --bench sse` and/or `--bench ws`. It reads every
//! `<group>/<function>/new/{benchmark,estimates}.json` under CRITERION_DIR
//! (default `target/criterion`), keeps the `sse/...` and `ws/...` groups, and prints
//! Markdown.
//!
//! For SSE: throughput of each implementation, ours against each peer and the fastest
//! peer, the floor against ours, per-event time for tiny events, and the 1 MiB
//! line in 64-byte chunks against the same line whole.
//!
//! For WebSocket (after the SSE tables, when there are `ws/...` results): throughput of
//! each implementation, each of our two variants (`pulsecheck`, in place, and
//! `pulsecheck (copy)`) against each peer and against the floor, and the time per frame
//! of every implementation on `ws/tiny`.
//!
//! Ratios come from one run, side by side, so the shared machine's noise mostly cancels
//! out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pulsecheck_benches::workloads;
use pulsecheck_benches::ws;
use serde_json::Value;

/// Mean time and bytes of one measured function.
#[derive(Debug, Clone, Copy)]
struct Measure {
    mean_ns: f64,
    bytes: f64,
}

impl Measure {
    fn gbps(&self) -> f64 {
        self.bytes / self.mean_ns
    }
}

/// group ("sse/llm/lf/whole", "ws/tiny") -> function ("pulsecheck", "floor", peer name) -> measure
type Results = BTreeMap<String, BTreeMap<String, Measure>>;

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))
}

fn collect(dir: &Path, results: &mut Results) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let bench = path.join("new").join("benchmark.json");
        if bench.is_file() {
            let meta = read_json(&bench)?;
            let estimates = read_json(&path.join("new").join("estimates.json"))?;
            let group = meta["group_id"].as_str().unwrap_or_default().to_owned();
            let function = meta["function_id"].as_str().unwrap_or_default().to_owned();
            let bytes = meta["throughput"]["Bytes"].as_f64();
            let mean_ns = estimates["mean"]["point_estimate"].as_f64();
            let kept = group.starts_with("sse/") || group.starts_with("ws/");
            if let (true, Some(bytes), Some(mean_ns)) = (kept, bytes, mean_ns) {
                results
                    .entry(group)
                    .or_default()
                    .insert(function, Measure { mean_ns, bytes });
            }
        } else {
            collect(&path, results)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let mut results = Results::new();
    if let Err(e) = collect(&dir, &mut results) {
        eprintln!("ratios: {e}");
        return ExitCode::from(2);
    }
    let ws_results: Results = results
        .iter()
        .filter(|(group, _)| group.starts_with("ws/"))
        .map(|(group, fns)| (group.clone(), fns.clone()))
        .collect();
    results.retain(|group, _| group.starts_with("sse/"));
    if results.is_empty() && ws_results.is_empty() {
        eprintln!(
            "ratios: no sse/* or ws/* results under {}; run `cargo bench -p pulsecheck-benches --bench sse` (or `--bench ws`) first",
            dir.display()
        );
        return ExitCode::from(2);
    }
    if !results.is_empty() {
        print_tables(&results);
    }
    if !ws_results.is_empty() {
        if !results.is_empty() {
            println!();
        }
        print_ws_tables(&ws_results);
    }
    ExitCode::SUCCESS
}

fn print_tables(results: &Results) {
    let peers: Vec<String> = {
        let mut names: Vec<String> = results
            .values()
            .flat_map(|fns| fns.keys().cloned())
            .filter(|f| f != "pulsecheck" && f != "floor")
            .collect();
        names.sort();
        names.dedup();
        names
    };

    println!("## Throughput (GB/s, 10^9 bytes per second)\n");
    print!("| workload | chunks | pulsecheck |");
    for p in &peers {
        print!(" {p} |");
    }
    println!(" floor |");
    print!("|---|---|---:|");
    for _ in &peers {
        print!("---:|");
    }
    println!("---:|");
    for (group, fns) in ordered(results) {
        let (workload, chunks) = split_group(group);
        print!(
            "| {workload} | {chunks} | {} |",
            cell(fns.get("pulsecheck"))
        );
        for p in &peers {
            print!(" {} |", cell(fns.get(p)));
        }
        println!(" {} |", cell(fns.get("floor")));
    }

    println!(
        "\n## Ratios (ours ÷ peer: how many times faster; floor ÷ ours: how far from the floor)\n"
    );
    print!("| workload | chunks | vs fastest peer |");
    for p in &peers {
        print!(" vs {p} |");
    }
    println!(" floor ÷ ours |");
    print!("|---|---|---:|");
    for _ in &peers {
        print!("---:|");
    }
    println!("---:|");
    for (group, fns) in ordered(results) {
        let Some(ours) = fns.get("pulsecheck") else {
            continue;
        };
        let (workload, chunks) = split_group(group);
        let fastest = peers
            .iter()
            .filter_map(|p| fns.get(p).map(|m| (p, m)))
            .min_by(|a, b| a.1.mean_ns.total_cmp(&b.1.mean_ns));
        let fastest = match fastest {
            Some((name, m)) => format!("{:.2}x ({name})", m.mean_ns / ours.mean_ns),
            None => "–".to_owned(),
        };
        print!("| {workload} | {chunks} | {fastest} |");
        for p in &peers {
            match fns.get(p) {
                Some(m) => print!(" {:.2}x |", m.mean_ns / ours.mean_ns),
                None => print!(" skipped |"),
            }
        }
        match fns.get("floor") {
            Some(f) => println!(" {:.2}x |", ours.mean_ns / f.mean_ns),
            None => println!(" – |"),
        }
    }

    println!("\n## Per event and long lines\n");
    let events: BTreeMap<String, usize> = workloads::all()
        .into_iter()
        .map(|w| (w.name, w.events))
        .collect();
    for (group, fns) in ordered(results) {
        let (workload, chunks) = split_group(group);
        if !workload.starts_with("tiny/") {
            continue;
        }
        if let (Some(ours), Some(&n)) = (fns.get("pulsecheck"), events.get(workload)) {
            println!(
                "- tiny events, {workload}, {chunks}: {:.1} ns/event ({n} events)",
                ours.mean_ns / n as f64
            );
        }
    }
    for ending in ["lf", "crlf", "cr"] {
        let whole = results
            .get(&format!("sse/line1mib/{ending}/whole"))
            .and_then(|f| f.get("pulsecheck"));
        let small = results
            .get(&format!("sse/line1mib/{ending}/64"))
            .and_then(|f| f.get("pulsecheck"));
        if let (Some(whole), Some(small)) = (whole, small) {
            println!(
                "- 1 MiB line, {ending}: 64-byte chunks take {:.2}x the time of the whole line",
                small.mean_ns / whole.mean_ns
            );
        }
    }
}

/// Groups in a readable order: by workload kind, ending, then chunking.
fn ordered(results: &Results) -> Vec<(&String, &BTreeMap<String, Measure>)> {
    let rank = |group: &str| {
        let kind = ["llm", "tiny", "multiline", "line1mib"]
            .iter()
            .position(|k| group.starts_with(&format!("sse/{k}/")))
            .unwrap_or(9);
        let ending = ["/lf/", "/crlf/", "/cr/"]
            .iter()
            .position(|e| group.contains(e))
            .unwrap_or(9);
        let chunks = ["/whole", "/1460", "/64"]
            .iter()
            .position(|c| group.ends_with(c))
            .unwrap_or(9);
        (kind, ending, chunks)
    };
    let mut groups: Vec<_> = results.iter().collect();
    groups.sort_by_key(|(g, _)| rank(g));
    groups
}

/// "sse/llm/lf/whole" -> ("llm/lf", "whole")
fn split_group(group: &str) -> (&str, &str) {
    let rest = group.strip_prefix("sse/").unwrap_or(group);
    rest.rsplit_once('/').unwrap_or((rest, ""))
}

fn cell(m: Option<&Measure>) -> String {
    m.map_or_else(|| "skipped".to_owned(), |m| format!("{:.2}", m.gbps()))
}

/// Our two WebSocket variants: in place (the fresh masked copy untimed), and with the copy.
const WS_OURS: [&str; 2] = ["pulsecheck", "pulsecheck (copy)"];

/// Whether `peer` does the same kind of work as our variant `ours`: in place against in
/// place, copying against copying (see `pulsecheck_benches::ws`).
fn ws_like_for_like(ours: &str, peer: &str) -> bool {
    let copies = |name: &str| name != "pulsecheck" && name != "sockudo-ws";
    copies(ours) == copies(peer)
}

fn print_ws_tables(results: &Results) {
    // Every function measured, in the benchmark's order, then any unknown ones.
    let mut functions: Vec<String> = ws::FUNCTIONS.iter().map(|f| (*f).to_owned()).collect();
    let mut extra: Vec<String> = results
        .values()
        .flat_map(|fns| fns.keys().cloned())
        .filter(|f| !functions.contains(f))
        .collect();
    extra.sort();
    extra.dedup();
    functions.extend(extra);
    functions.retain(|f| results.values().any(|fns| fns.contains_key(f)));
    let peers: Vec<&String> = functions
        .iter()
        .filter(|f| !WS_OURS.contains(&f.as_str()) && !f.starts_with("floor"))
        .collect();
    let groups = ws_ordered(results);

    println!("## WebSocket throughput (GB/s, 10^9 input bytes per second)\n");
    print!("| workload |");
    for f in &functions {
        print!(" {f} |");
    }
    println!();
    print!("|---|");
    for _ in &functions {
        print!("---:|");
    }
    println!();
    for (group, fns) in &groups {
        print!("| {} |", ws_workload(group));
        for f in &functions {
            print!(" {} |", cell(fns.get(f)));
        }
        println!();
    }

    println!(
        "\n## WebSocket ratios (ours ÷ peer: how many times faster; floor ÷ ours: how far from the floor)\n"
    );
    println!(
        "`pulsecheck` and `sockudo-ws` unmask in place and their input copy is untimed; the \
         others copy the input inside the timed loop. Like-for-like pairs are in bold. The \
         last column compares `pulsecheck` with `floor (in place)` and `pulsecheck (copy)` \
         with `floor` (below 1: faster than that floor).\n"
    );
    print!("| workload | ours |");
    for p in &peers {
        print!(" vs {p} |");
    }
    println!(" floor ÷ ours |");
    print!("|---|---|");
    for _ in &peers {
        print!("---:|");
    }
    println!("---:|");
    for (group, fns) in &groups {
        for ours_name in WS_OURS {
            let Some(ours) = fns.get(ours_name) else {
                continue;
            };
            print!("| {} | {ours_name} |", ws_workload(group));
            for p in &peers {
                match fns.get(p.as_str()) {
                    Some(m) if ws_like_for_like(ours_name, p) => {
                        print!(" **{:.2}x** |", m.mean_ns / ours.mean_ns);
                    }
                    Some(m) => print!(" {:.2}x |", m.mean_ns / ours.mean_ns),
                    None => print!(" skipped |"),
                }
            }
            // Each of ours against the floor of its kind: in place, or copying.
            let floor = if ws_like_for_like(ours_name, "floor") {
                "floor"
            } else {
                "floor (in place)"
            };
            match fns.get(floor) {
                Some(f) => println!(" {:.2}x |", ours.mean_ns / f.mean_ns),
                None => println!(" – |"),
            }
        }
    }

    if let Some(fns) = results.get("ws/tiny") {
        let frames = ws::workloads::tiny(ws::workloads::TINY_TARGET).frames.len();
        println!("\n## WebSocket time per frame (ws/tiny: {frames} text frames of 0–125 bytes)\n");
        for f in &functions {
            if let Some(m) = fns.get(f) {
                println!("- {f}: {:.1} ns/frame", m.mean_ns / frames as f64);
            }
        }
    }
}

/// The ws groups in the order of the workloads, unknown ones last.
fn ws_ordered(results: &Results) -> Vec<(&String, &BTreeMap<String, Measure>)> {
    let rank = |group: &str| {
        ws::workloads::NAMES
            .iter()
            .position(|name| ws_workload(group) == *name)
            .unwrap_or(usize::MAX)
    };
    let mut groups: Vec<_> = results.iter().collect();
    groups.sort_by_key(|(g, _)| rank(g));
    groups
}

/// "ws/64kib-text" -> "64kib-text"
fn ws_workload(group: &str) -> &str {
    group.strip_prefix("ws/").unwrap_or(group)
}
