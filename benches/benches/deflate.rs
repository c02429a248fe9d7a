//! permessage-deflate throughput of pulsecheck-ws (flate2 on zlib-rs, level 6).
//!
//! Each group is one workload, `Throughput::Bytes` of the *uncompressed* messages, so
//! criterion reports message bytes per second:
//!
//! - `deflate/json-1000x128B`: 1000 small JSON-like text messages, as an echo test sends;
//! - `deflate/json-16KiB`, `deflate/text-128KiB`: single large compressible messages;
//! - `deflate/random-16KiB`: incompressible bytes.
//!
//! Functions: `compress` and `decompress`, each with context takeover (`takeover`) and
//! with a reset after every message (`no-takeover`), window 15; `compress w9` with window
//! 9. Every decompression is checked against the input before timing. Each timed
//! iteration is one connection's worth: it creates the compressor or decompressor (zlib
//! state and window allocations included) and runs every message of the workload through
//! it.
//!
//! Run `cargo bench -p pulsecheck-benches --bench deflate`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pulsecheck_benches::rng::Rng;
use pulsecheck_ws::deflate::{CodecConfig, Compressor, Decompressor, WindowBits};

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "connection",
    "message",
    "frame",
    "server",
    "client",
    "window",
    "compress",
    "payload",
    "extension",
    "negotiation",
    "context",
    "deflate",
    "sliding",
];

fn json(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = String::from("[");
    while out.len() < len {
        let id = rng.below(100_000);
        let word = rng.pick(WORDS);
        let score = rng.below(1000);
        out.push_str(&format!(
            r#"{{"id": {id}, "name": "{word}", "score": {score}.{}, "ok": true}}, "#,
            rng.below(10)
        ));
    }
    out.truncate(len);
    out.into_bytes()
}

fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = String::new();
    while out.len() < len {
        let word: &&str = rng.pick(WORDS);
        out.push_str(word);
        out.push(if rng.below(12) == 0 { '\n' } else { ' ' });
    }
    out.truncate(len);
    out.into_bytes()
}

fn random(rng: &mut Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

fn workloads() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut rng = Rng(0x7692);
    vec![
        (
            "json-1000x128B",
            (0..1000).map(|_| json(&mut rng, 128)).collect(),
        ),
        ("json-16KiB", vec![json(&mut rng, 16 << 10)]),
        ("text-128KiB", vec![text(&mut rng, 128 << 10)]),
        ("random-16KiB", vec![random(&mut rng, 16 << 10)]),
    ]
}

fn compress_all(config: CodecConfig, messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut compressor = Compressor::new(config);
    messages
        .iter()
        .map(|m| {
            let mut out = Vec::new();
            compressor.compress(m, &mut out).expect("compresses");
            out
        })
        .collect()
}

fn decompress_all(config: CodecConfig, payloads: &[Vec<u8>], out: &mut Vec<u8>) -> usize {
    let mut decompressor = Decompressor::new(config);
    let mut total = 0;
    for payload in payloads {
        out.clear();
        decompressor.decompress(payload, out).expect("decompresses");
        total += out.len();
    }
    total
}

fn deflate(c: &mut Criterion) {
    let w9 = WindowBits::new(9).expect("9 is a window");
    for (name, messages) in workloads() {
        let bytes: usize = messages.iter().map(Vec::len).sum();
        let mut group = c.benchmark_group(format!("deflate/{name}"));
        group.throughput(Throughput::Bytes(bytes as u64));
        for (label, reset) in [("takeover", false), ("no-takeover", true)] {
            let config = CodecConfig::new().with_no_context_takeover(reset);
            let payloads = compress_all(config, &messages);
            let compressed: usize = payloads.iter().map(Vec::len).sum();
            eprintln!("deflate/{name} {label}: {bytes} B -> {compressed} B");
            // Equal work: the payloads decompress to the messages.
            let mut decompressor = Decompressor::new(config);
            for (payload, message) in payloads.iter().zip(&messages) {
                let mut out = Vec::new();
                decompressor
                    .decompress(payload, &mut out)
                    .expect("decompresses");
                assert_eq!(&out, message);
            }
            group.bench_function(format!("compress {label}"), |b| {
                b.iter(|| compress_all(config, black_box(&messages)))
            });
            let mut out = Vec::new();
            group.bench_function(format!("decompress {label}"), |b| {
                b.iter(|| decompress_all(config, black_box(&payloads), &mut out))
            });
        }
        let config = CodecConfig::new().with_window_bits(w9);
        group.bench_function("compress w9", |b| {
            b.iter(|| compress_all(config, black_box(&messages)))
        });
        group.finish();
    }
}

criterion_group!(benches, deflate);
criterion_main!(benches);
