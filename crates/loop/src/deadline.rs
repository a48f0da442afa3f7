//! [`Deadlines`]: when each connection must next be looked at.
//!
//! Every deadline of one kind has the same length, so the deadlines of a kind
//! come due in the order they were set: a FIFO holds them, and setting one
//! is a push at the back. An entry is only a hint: when it comes due, the
//! loop asks the connection for its real deadline, so a deadline that moved
//! or a connection that left costs nothing but the stale entry.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A FIFO of `(due, key)` for deadlines of one length.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    queue: VecDeque<(Instant, usize)>,
}

impl Deadlines {
    /// Record that `key` is due at `at`. Calls must come in order of `at`,
    /// which holds when every deadline is "now plus the same length".
    pub(crate) fn push(&mut self, at: Instant, key: usize) {
        debug_assert!(self.queue.back().is_none_or(|&(last, _)| last <= at));
        self.queue.push_back((at, key));
    }

    /// How long until the first entry is due (zero if it is), or `None`.
    pub(crate) fn timeout(&self, now: Instant) -> Option<Duration> {
        self.queue
            .front()
            .map(|&(at, _)| at.saturating_duration_since(now))
    }

    /// Take the next entry that is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<usize> {
        match self.queue.front() {
            Some(&(at, _)) if at <= now => self.queue.pop_front().map(|(_, key)| key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_due_in_order() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        assert_eq!(d.timeout(t0), None);
        d.push(t0 + Duration::from_millis(10), 1);
        d.push(t0 + Duration::from_millis(20), 2);
        assert_eq!(d.timeout(t0), Some(Duration::from_millis(10)));
        assert_eq!(d.pop_due(t0), None);
        assert_eq!(d.pop_due(t0 + Duration::from_millis(15)), Some(1));
        assert_eq!(d.pop_due(t0 + Duration::from_millis(15)), None);
        assert_eq!(
            d.timeout(t0 + Duration::from_millis(30)),
            Some(Duration::ZERO)
        );
        assert_eq!(d.pop_due(t0 + Duration::from_millis(30)), Some(2));
        assert_eq!(d.timeout(t0), None);
    }
}
