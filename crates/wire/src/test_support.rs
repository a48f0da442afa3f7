//! Helpers for the unit tests: the ways a byte stream can arrive.

/// Every way the unit tests deliver `input`: whole, cut in two at each byte
/// offset (`0..=len`), and one byte at a time. Each comes with a name for
/// assertion messages.
///
/// Inputs longer than 1 KiB (the cases at the default limits, 8 KiB and
/// more) are cut at every offset of their first and last 128 bytes and at
/// about 64 offsets spread between, so that the suite stays fast in debug
/// builds.
pub(crate) fn arrivals(input: &[u8]) -> Vec<(String, Vec<&[u8]>)> {
    let mut out = vec![("whole".to_owned(), vec![input])];
    let len = input.len();
    let spread = len / 64 + 1;
    let every = |cut: &usize| len <= 1024 || *cut < 128 || len - cut < 128 || cut % spread == 0;
    for cut in (0..=len).filter(every) {
        out.push((
            format!("split at {cut}"),
            vec![&input[..cut], &input[cut..]],
        ));
    }
    out.push(("one byte at a time".to_owned(), input.chunks(1).collect()));
    out
}
