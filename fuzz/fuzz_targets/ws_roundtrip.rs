#![no_main]
//! See `pulsecheck_ws::fuzzing::encode_parse_roundtrip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_ws::fuzzing::encode_parse_roundtrip(data));
