//! The SSE corpus (`fixtures/sse/*.sse`) decoded as `pulsecheck decode sse --ignored`
//! prints it, stored as insta snapshots in `fixtures/sse/snapshots/` for review.
//!
//! Each file is also decoded in many chunkings, which must all print the same thing
//! (WHATWG §9.2.6 gives a stream one meaning however it arrives). The expectations
//! worked out by hand for each file are checked in `parser/tests/`; this test keeps
//! the user-visible output stable and reviewed.

use pulsecheck::decode::sse::{DecodeOptions, decode_chunked_to_string};

/// Chunkings to try: every size up to 16 and every two-way split for small files;
/// a spread of sizes and split points for large ones.
fn chunk_sizes(len: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (1..=16).collect();
    sizes.extend([17, 31, 64, 100, 1460, 4096]);
    sizes.retain(|&s| s <= len.max(1));
    sizes
}

fn split_points(len: usize) -> Vec<usize> {
    if len <= 4096 {
        (0..=len).collect()
    } else {
        (0..=len).step_by(len / 97 + 1).collect()
    }
}

#[test]
fn sse_corpus_decodes_identically_in_every_chunking() {
    let options = DecodeOptions {
        ignored: true,
        ..DecodeOptions::default()
    };
    insta::glob!("../../fixtures/sse", "*.sse", |path| {
        let bytes = std::fs::read(path).unwrap();
        let whole = decode_chunked_to_string(&bytes, None, &options).unwrap();
        for size in chunk_sizes(bytes.len()) {
            let chunked = decode_chunked_to_string(&bytes, Some(size), &options).unwrap();
            assert_eq!(chunked, whole, "{}: chunk size {size}", path.display());
        }
        for at in split_points(bytes.len()) {
            let (a, b) = bytes.split_at(at);
            let mut joined = Vec::new();
            let mut decoder = pulsecheck::decode::sse::JsonLinesDecoder::new(&mut joined, options);
            decoder.feed(a).unwrap();
            decoder.feed(b).unwrap();
            decoder.finish().unwrap();
            assert_eq!(
                String::from_utf8(joined).unwrap(),
                whole,
                "{}: split at {at}",
                path.display()
            );
        }
        insta::with_settings!({
            snapshot_path => "../../fixtures/sse/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!("decoded", whole);
        });
    });
}
