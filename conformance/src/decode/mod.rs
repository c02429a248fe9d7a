//! Decoders that turn a captured byte stream into JSON Lines, one object per item
//! the parser saw, in stream order — the output of `pulsecheck decode`.

pub mod sse;
pub mod ws;
