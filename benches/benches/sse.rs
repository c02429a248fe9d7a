//! SSE parsing throughput: pulsecheck-sse beside the peer crates and the floor.
//!
//! One criterion group per workload and chunking, named
//! `sse/<workload>/<whole|1460|64>`, with `Throughput::Bytes` so criterion reports
//! bytes per second; every function in a group parses the same bytes. Run
//! `cargo bench -p pulsecheck-benches --bench sse`, then
//! `cargo run -p pulsecheck-benches --bin ratios` for the ratio table.
//! A filter narrows the run: `cargo bench -p pulsecheck-benches --bench sse -- llm/lf`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pulsecheck_benches::ours::{run_floor, run_pulsecheck};
use pulsecheck_benches::peers::{self, Summary};
use pulsecheck_benches::workloads::{self, chunked};

/// The chunkings every workload is fed in.
const CHUNKINGS: [(Option<usize>, &str); 3] =
    [(None, "whole"), (Some(1460), "1460"), (Some(64), "64")];

fn sse(c: &mut Criterion) {
    for workload in workloads::all() {
        for (chunk, label) in CHUNKINGS {
            let chunks = chunked(&workload.bytes, chunk);
            let expected = Summary::expected(&workload);
            assert_eq!(run_pulsecheck(&chunks), expected, "{}", workload.name);

            let mut group = c.benchmark_group(format!("sse/{}/{label}", workload.name));
            group.throughput(Throughput::Bytes(workload.bytes.len() as u64));
            group.bench_function("pulsecheck", |b| {
                b.iter(|| run_pulsecheck(black_box(&chunks)))
            });
            for peer in peers::all() {
                if let Some(why) = (peer.pathological)(&workload, chunk) {
                    eprintln!("skipping {} on {}/{label}: {why}", peer.name, workload.name);
                    continue;
                }
                let prepared = (peer.prepare)(&chunks);
                group.bench_function(peer.name, |b| b.iter(|| (peer.run)(black_box(&prepared))));
            }
            group.bench_function("floor", |b| b.iter(|| run_floor(black_box(&chunks))));
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = sse
}
criterion_main!(benches);
