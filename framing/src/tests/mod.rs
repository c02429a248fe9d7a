//! Property tests: every fast path against its naive reference.
//!
//! - the stream reader against the byte-at-a-time oracle (RFC 6455 §5.2, §5.4), on
//!   arbitrary bytes and on generated frame streams, under arbitrary chunkings;
//! - the streaming reader (payloads in pieces) against the same oracle;
//! - encode then parse, for arbitrary frames;
//! - `unmask` and `copy_unmask` against `unmask_naive`;
//! - incremental UTF-8 against `std::str::from_utf8` of the whole message.

mod oracle_props;
mod roundtrip_props;
mod simple_props;
mod streaming_props;

/// The number of cases for the heavier properties: `default`, or `PROPTEST_CASES` when set
/// (for long local runs).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
