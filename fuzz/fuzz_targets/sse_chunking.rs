#![no_main]
//! See `pulsecheck_sse::fuzzing::chunking_invariance`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_sse::fuzzing::chunking_invariance(data));
