//! WebSocket framing throughput: pulsecheck-ws beside the peer crates and the floor.
//!
//! One criterion group per workload, named `ws/<workload>` (see
//! `pulsecheck_benches::ws::workloads`), with `Throughput::Bytes` of the whole input, so
//! criterion reports input bytes per second; every function in a group reads the same
//! masked client frames and hands out the same messages (checked before timing):
//!
//! - `pulsecheck`, `sockudo-ws`: parse and unmask in place. Each iteration gets a fresh
//!   masked copy of the input from `iter_batched_ref`'s setup, which is NOT timed
//!   (`BatchSize::LargeInput`: at these sizes one input per timed call, so the copy is also
//!   the freshest data in the cache, as a socket read would leave it).
//! - `pulsecheck (copy)`, `sockudo-ws (copy)`: the same parsers in a server's read loop,
//!   with the copy timed: 128 KiB at a time appended to a read buffer reused across
//!   iterations, every complete frame parsed in place, the incomplete tail kept (less what
//!   our reader already copied of an incomplete text frame: `StreamReader::release`).
//! - `tungstenite`, `fastwebsockets`: read the input through `Read` / `AsyncRead` into
//!   their own buffers, a copy that is timed (it is how they work).
//! - `floor`: copy + unmask every payload + validate every text message, frame boundaries
//!   known in advance; `floor (in place)`: the same without the copy (each iteration gets a
//!   fresh masked copy, untimed, as the in-place readers do), the bound of `pulsecheck` and
//!   `sockudo-ws`.
//!
//! Run `cargo bench -p pulsecheck-benches --bench ws`, then
//! `cargo run -p pulsecheck-benches --bin ratios` for the ratio tables. A filter narrows
//! the run: `cargo bench -p pulsecheck-benches --bench ws -- ws/tiny`.

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pulsecheck_benches::ws::ours::{run_floor, run_floor_in_place, run_pulsecheck};
use pulsecheck_benches::ws::peers::{
    run_fastwebsockets, run_sockudo, run_tungstenite, skip, sockudo_input,
};
use pulsecheck_benches::ws::{FUNCTIONS, ReadSource, Summary, read_loop, run_by_name, workloads};

fn ws(c: &mut Criterion) {
    for w in workloads::all() {
        let expected = Summary::expected(&w);
        let mut group = c.benchmark_group(format!("ws/{}", w.name));
        group.throughput(Throughput::Bytes(w.bytes.len() as u64));
        for name in FUNCTIONS {
            if let Some(why) = skip(name, &w) {
                eprintln!("skipping {name} on ws/{}: {why}", w.name);
                continue;
            }
            // Equal work: every implementation hands out the same messages.
            assert_eq!(
                run_by_name(name, &w),
                Some(expected),
                "{name} on {}",
                w.name
            );
            let bytes = &w.bytes;
            if let Some(run) = read_loop(name) {
                let mut buf = BytesMut::with_capacity(bytes.len());
                let source = ReadSource::aligned_to(bytes, &mut buf);
                group.bench_function(name, |b| {
                    b.iter(|| run(black_box(source.bytes()), &mut buf))
                });
                continue;
            }
            match name {
                "pulsecheck" => group.bench_function(name, |b| {
                    b.iter_batched_ref(
                        || bytes.clone(),
                        |buf| run_pulsecheck(buf),
                        BatchSize::LargeInput,
                    )
                }),
                "tungstenite" => {
                    group.bench_function(name, |b| b.iter(|| run_tungstenite(black_box(bytes))))
                }
                "fastwebsockets" => {
                    group.bench_function(name, |b| b.iter(|| run_fastwebsockets(black_box(bytes))))
                }
                "sockudo-ws" => group.bench_function(name, |b| {
                    b.iter_batched_ref(|| sockudo_input(bytes), run_sockudo, BatchSize::LargeInput)
                }),
                "floor" => {
                    let mut scratch = Vec::new();
                    group
                        .bench_function(name, |b| b.iter(|| run_floor(black_box(&w), &mut scratch)))
                }
                "floor (in place)" => group.bench_function(name, |b| {
                    b.iter_batched_ref(
                        || bytes.clone(),
                        |buf| run_floor_in_place(&w, buf),
                        BatchSize::LargeInput,
                    )
                }),
                other => unreachable!("no benchmark for {other}"),
            };
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = ws
}
criterion_main!(benches);
