#![no_main]
//! See `pulsecheck_ws::fuzzing_deflate::deflate_roundtrip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_ws::fuzzing_deflate::deflate_roundtrip(data));
