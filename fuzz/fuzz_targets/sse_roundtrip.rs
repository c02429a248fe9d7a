#![no_main]
//! See `pulsecheck_sse::fuzzing::encode_parse_roundtrip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_sse::fuzzing::encode_parse_roundtrip(data));
