//! netrunner-server as a library: the options of CONTRACT.md and the default
//! application, shared by the `netrunner-server` binary and by tests that
//! run the server inside their own process (the allocation count of
//! `tests/alloc.rs`, say).

pub mod app;
pub mod options;
