#![no_main]
//! See `pulsecheck_ws::fuzzing_deflate::deflate_no_panic`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_ws::fuzzing_deflate::deflate_no_panic(data));
