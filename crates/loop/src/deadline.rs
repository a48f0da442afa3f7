//! [`Deadlines`]: when each connection must next be looked at.
//!
//! A connection has at most one deadline at a time, of one [`Kind`]. Every
//! deadline of a kind has the same length ("now plus the header timeout"),
//! so within a kind they come due in the order they were set: each kind is
//! a FIFO, a doubly linked list threaded through one node per connection
//! key. Setting, moving or clearing a deadline is O(1); finding the next
//! one to come due looks at the head of each list; nothing scans every
//! connection.

use std::time::{Duration, Instant};

/// What a deadline is for; each kind has its own length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request head must be complete (or a new connection must send one).
    Header,
    /// More body bytes must arrive.
    Body,
    /// A keep-alive connection may wait this long for its next request.
    Idle,
    /// The client must take some of the response it owes us room for.
    Write,
    /// A lingering close ends.
    Linger,
}

pub(crate) const KINDS: usize = 5;
const NIL: usize = usize::MAX;

impl Kind {
    pub(crate) fn index(self) -> usize {
        match self {
            Kind::Header => 0,
            Kind::Body => 1,
            Kind::Idle => 2,
            Kind::Write => 3,
            Kind::Linger => 4,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// The deadline, when the key is in a list.
    due: Option<(Kind, Instant)>,
    prev: usize,
    next: usize,
}

const UNLINKED: Node = Node {
    due: None,
    prev: NIL,
    next: NIL,
};

#[derive(Debug, Clone, Copy)]
struct List {
    head: usize,
    tail: usize,
}

/// The deadlines of one loop's connections, by connection key.
#[derive(Debug)]
pub(crate) struct Deadlines {
    lists: [List; KINDS],
    nodes: Vec<Node>,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            lists: [List {
                head: NIL,
                tail: NIL,
            }; KINDS],
            nodes: Vec::new(),
        }
    }
}

impl Deadlines {
    /// The deadline of `key`, if it has one.
    pub(crate) fn get(&self, key: usize) -> Option<(Kind, Instant)> {
        self.nodes.get(key).and_then(|n| n.due)
    }

    /// Give `key` the deadline `due`, replacing any it had. A deadline
    /// must not come before the others of its kind already set; that holds
    /// when each is "now plus the kind's length".
    pub(crate) fn set(&mut self, key: usize, kind: Kind, at: Instant) {
        self.clear(key);
        if self.nodes.len() <= key {
            self.nodes.resize(key + 1, UNLINKED);
        }
        let list = &mut self.lists[kind.index()];
        debug_assert!(
            list.tail == NIL
                || self.nodes[list.tail]
                    .due
                    .is_some_and(|(_, last)| last <= at),
            "deadlines of one kind are set in order"
        );
        let node = &mut self.nodes[key];
        node.due = Some((kind, at));
        node.prev = list.tail;
        node.next = NIL;
        if list.tail == NIL {
            list.head = key;
        } else {
            self.nodes[list.tail].next = key;
        }
        list.tail = key;
    }

    /// Make `timer` the deadline of `key` (none for `None`), doing
    /// nothing when it already is.
    #[inline(always)]
    pub(crate) fn update(&mut self, key: usize, timer: Option<(Kind, Instant)>) {
        if self.get(key) != timer {
            match timer {
                Some((kind, at)) => self.set(key, kind, at),
                None => self.clear(key),
            }
        }
    }

    /// Take away the deadline of `key`, if any.
    pub(crate) fn clear(&mut self, key: usize) {
        let Some(&Node {
            due: Some((kind, _)),
            prev,
            next,
        }) = self.nodes.get(key)
        else {
            return;
        };
        let list = &mut self.lists[kind.index()];
        if prev == NIL {
            list.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            list.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.nodes[key] = UNLINKED;
    }

    /// How long until the next deadline (zero if one has passed), or `None`.
    pub(crate) fn timeout(&self, now: Instant) -> Option<Duration> {
        // The earliest head first (comparing instants is cheap), then one
        // subtraction.
        self.lists
            .iter()
            .filter(|l| l.head != NIL)
            .filter_map(|l| self.nodes[l.head].due)
            .map(|(_, at)| at)
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    /// Take out a deadline that has come due at `now`, with its key.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(usize, Kind)> {
        for i in 0..KINDS {
            let head = self.lists[i].head;
            if head == NIL {
                continue;
            }
            if let Some((kind, at)) = self.nodes[head].due {
                if at <= now {
                    self.clear(head);
                    return Some((head, kind));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_kind_comes_due_in_order() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        assert_eq!(d.timeout(t0), None);
        d.set(3, Kind::Idle, t0 + ms(30));
        d.set(1, Kind::Header, t0 + ms(10));
        d.set(2, Kind::Header, t0 + ms(20));
        assert_eq!(d.timeout(t0), Some(ms(10)));
        assert_eq!(d.pop_due(t0), None);
        assert_eq!(d.pop_due(t0 + ms(25)), Some((1, Kind::Header)));
        assert_eq!(d.pop_due(t0 + ms(25)), Some((2, Kind::Header)));
        assert_eq!(d.pop_due(t0 + ms(25)), None);
        assert_eq!(d.timeout(t0 + ms(40)), Some(Duration::ZERO));
        assert_eq!(d.pop_due(t0 + ms(40)), Some((3, Kind::Idle)));
        assert_eq!(d.timeout(t0), None);
    }

    #[test]
    fn moving_a_deadline_to_the_back_and_clearing() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        for key in 0..4 {
            d.set(key, Kind::Body, t0 + ms(key as u64));
        }
        // Touch key 1: it moves to the back of its list.
        d.set(1, Kind::Body, t0 + ms(10));
        d.clear(2);
        d.clear(2);
        assert_eq!(d.get(2), None);
        // Key 3 switches to another kind.
        d.set(3, Kind::Write, t0 + ms(5));
        assert_eq!(d.pop_due(t0 + ms(9)), Some((0, Kind::Body)));
        assert_eq!(d.pop_due(t0 + ms(9)), Some((3, Kind::Write)));
        assert_eq!(d.pop_due(t0 + ms(9)), None);
        assert_eq!(d.timeout(t0 + ms(9)), Some(ms(1)));
        assert_eq!(d.pop_due(t0 + ms(10)), Some((1, Kind::Body)));
        assert_eq!(d.timeout(t0), None);
    }

    #[test]
    fn many_keys_keep_their_lists_consistent() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        let mut at = 0u64;
        for round in 0..50u64 {
            for key in (0..40usize).filter(|k| (*k as u64 + round) % 3 != 0) {
                at += 1;
                d.set(key, Kind::Idle, t0 + ms(at));
            }
            for key in (0..40usize).filter(|k| (*k as u64 * 7 + round) % 5 == 0) {
                d.clear(key);
            }
        }
        let expected: Vec<(usize, Instant)> = (0..40)
            .filter_map(|k| d.get(k).map(|(_, due)| (k, due)))
            .collect();
        let mut popped = Vec::new();
        while let Some((key, kind)) = d.pop_due(t0 + ms(at)) {
            assert_eq!(kind, Kind::Idle);
            assert!(d.get(key).is_none(), "popped deadlines are cleared");
            popped.push(key);
        }
        assert_eq!(
            popped.len(),
            expected.len(),
            "every deadline comes due once"
        );
        let dues: Vec<Instant> = popped
            .iter()
            .map(|k| expected.iter().find(|(e, _)| e == k).unwrap().1)
            .collect();
        assert!(
            dues.windows(2).all(|w| w[0] <= w[1]),
            "in order of due time"
        );
        assert_eq!(d.timeout(t0), None);
    }
}
