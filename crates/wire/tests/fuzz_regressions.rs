//! Replays the fuzz seed corpus and every saved fuzz failure through the
//! fuzz target's driver, so that plain `cargo test` catches a regression.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use netrunner_wire::fuzz::check_request_stream;

/// The files of `dir` (relative to the crate), sorted, `README.md` aside.
fn inputs(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
}

/// Run the fuzz target on each file; name every one that panics.
fn replay(files: &[PathBuf]) {
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = fs::read(path).unwrap();
            panic::catch_unwind(|| check_request_stream(&data)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "the fuzz target panicked on {failed:#?}");
}

#[test]
fn seed_corpus() {
    let files = inputs("fuzz/seeds/request");
    assert!(files.len() >= 10, "seeds missing: {files:?}");
    replay(&files);
}

#[test]
fn saved_fuzz_failures() {
    let files = inputs("test_data/fuzz-failures");
    assert!(!files.is_empty(), "no saved failures found");
    replay(&files);
}
