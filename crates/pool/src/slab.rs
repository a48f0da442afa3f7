//! [`Slab`]: per-connection state in one vector, with a free list and an
//! idle mark per entry.

/// Values addressed by a `usize` key that stays valid until removed. Freed
/// keys are reused, last freed first, so keys stay small and dense.
///
/// Each value carries an idle mark (a keep-alive connection with no request
/// in progress) so that a graceful shutdown can take every idle connection
/// out at once with [`Slab::close_idle`].
#[derive(Debug)]
pub struct Slab<T> {
    entries: Vec<Entry<T>>,
    next_free: usize,
    len: usize,
}

#[derive(Debug)]
enum Entry<T> {
    Full { value: T, idle: bool },
    Free { next: usize },
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Slab<T> {
        Slab {
            entries: Vec::new(),
            next_free: 0,
            len: 0,
        }
    }

    /// Store `value`; returns its key.
    pub fn insert(&mut self, value: T) -> usize {
        self.len += 1;
        let key = self.next_free;
        let entry = Entry::Full { value, idle: false };
        if key == self.entries.len() {
            self.entries.push(entry);
            self.next_free = key + 1;
        } else {
            match std::mem::replace(&mut self.entries[key], entry) {
                Entry::Free { next } => self.next_free = next,
                Entry::Full { .. } => unreachable!("the free list points at free entries"),
            }
        }
        key
    }

    /// The value at `key`, if any.
    pub fn get(&self, key: usize) -> Option<&T> {
        match self.entries.get(key) {
            Some(Entry::Full { value, .. }) => Some(value),
            _ => None,
        }
    }

    /// The value at `key`, if any, mutably.
    pub fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.get_mut(key) {
            Some(Entry::Full { value, .. }) => Some(value),
            _ => None,
        }
    }

    /// The value at `key`, if any, mutably, with its idle mark: what a
    /// caller that acts on a value and then marks it needs, in one lookup.
    pub fn get_mut_marked(&mut self, key: usize) -> Option<(&mut T, &mut bool)> {
        match self.entries.get_mut(key) {
            Some(Entry::Full { value, idle }) => Some((value, idle)),
            _ => None,
        }
    }

    /// Take the value at `key` out, freeing the key.
    pub fn remove(&mut self, key: usize) -> Option<T> {
        let entry = self.entries.get_mut(key)?;
        if let Entry::Free { .. } = entry {
            return None;
        }
        let old = std::mem::replace(
            entry,
            Entry::Free {
                next: self.next_free,
            },
        );
        self.next_free = key;
        self.len -= 1;
        match old {
            Entry::Full { value, .. } => Some(value),
            Entry::Free { .. } => unreachable!("checked above"),
        }
    }

    /// Mark the value at `key` idle or busy; a new value is busy.
    pub fn set_idle(&mut self, key: usize, idle: bool) {
        if let Some(Entry::Full { idle: mark, .. }) = self.entries.get_mut(key) {
            *mark = idle;
        }
    }

    /// Whether the value at `key` is marked idle.
    pub fn is_idle(&self, key: usize) -> bool {
        matches!(self.entries.get(key), Some(Entry::Full { idle: true, .. }))
    }

    /// Take out every value marked idle, with its key. Dropping a
    /// connection closes it, so this is how a shutdown closes the idle ones
    /// at once. O(capacity), for a shutdown, not a request path.
    pub fn close_idle(&mut self) -> Vec<(usize, T)> {
        let idle: Vec<usize> = (0..self.entries.len())
            .filter(|&key| self.is_idle(key))
            .collect();
        idle.into_iter()
            .filter_map(|key| self.remove(key).map(|value| (key, value)))
            .collect()
    }

    /// Values stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every key with its value.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(k, e)| match e {
                Entry::Full { value, .. } => Some((k, value)),
                Entry::Free { .. } => None,
            })
    }

    /// Every key stored now.
    pub fn keys(&self) -> Vec<usize> {
        self.iter().map(|(k, _)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_reuse() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        let c = slab.insert("c");
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(slab.remove(b), Some("b"));
        assert_eq!(slab.remove(b), None, "a key is freed once");
        assert_eq!(slab.get(b), None);
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.insert("d"), b, "freed keys are reused");
        assert_eq!(slab.get(b), Some(&"d"));
        *slab.get_mut(a).unwrap() = "A";
        assert_eq!(slab.keys(), vec![0, 1, 2]);
        assert_eq!(slab.get(a), Some(&"A"));
        assert_eq!(slab.remove(99), None);
    }

    #[test]
    fn close_idle_takes_out_the_idle_ones_only() {
        let mut slab = Slab::new();
        let keys: Vec<usize> = (0..6).map(|i| slab.insert(i)).collect();
        for &k in &keys {
            slab.set_idle(k, k % 2 == 0);
        }
        slab.set_idle(4, false);
        assert!(slab.is_idle(2) && !slab.is_idle(4));
        assert_eq!(slab.close_idle(), vec![(0, 0), (2, 2)]);
        assert_eq!(slab.keys(), vec![1, 3, 4, 5]);
        assert!(slab.close_idle().is_empty());
        // A reused key starts busy.
        let k = slab.insert(10);
        assert!(!slab.is_idle(k));
    }

    #[test]
    fn a_value_and_its_idle_mark_in_one_lookup() {
        let mut slab = Slab::new();
        let k = slab.insert(1);
        let (value, idle) = slab.get_mut_marked(k).expect("present");
        *value += 1;
        *idle = true;
        assert_eq!(slab.get(k), Some(&2));
        assert!(slab.is_idle(k));
        slab.remove(k);
        assert!(slab.get_mut_marked(k).is_none());
        assert!(slab.get_mut_marked(99).is_none());
    }

    #[test]
    fn free_list_is_last_in_first_out() {
        let mut slab = Slab::new();
        for i in 0..5 {
            slab.insert(i);
        }
        slab.remove(1);
        slab.remove(3);
        assert_eq!(slab.insert(10), 3);
        assert_eq!(slab.insert(11), 1);
        assert_eq!(slab.insert(12), 5);
        assert_eq!(slab.len(), 6);
    }
}
