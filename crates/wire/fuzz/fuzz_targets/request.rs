//! Fuzz target: a request stream parses alike whole, split in two, and one
//! byte at a time (see `netrunner_wire::fuzz::check_request_stream`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netrunner_wire::fuzz::check_request_stream(data));
