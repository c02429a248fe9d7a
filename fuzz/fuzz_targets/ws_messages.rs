#![no_main]
//! See `pulsecheck_ws::fuzzing::assemble_messages`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_ws::fuzzing::assemble_messages(data));
