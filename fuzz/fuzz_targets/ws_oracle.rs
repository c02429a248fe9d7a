#![no_main]
//! See `pulsecheck_ws::fuzzing::parser_matches_oracle_input`.
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| pulsecheck_ws::fuzzing::parser_matches_oracle_input(data)
);
