#![no_main]
//! See `pulsecheck_sse::fuzzing::parse_no_panic`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_sse::fuzzing::parse_no_panic(data));
