#![no_main]
//! See `pulsecheck_sse::fuzzing::parser_matches_oracle`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| pulsecheck_sse::fuzzing::parser_matches_oracle(data));
