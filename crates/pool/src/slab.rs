//! [`Slab`]: per-connection state in one vector, with a free list.

/// Values addressed by a `usize` key that stays valid until removed. Freed
/// keys are reused, last freed first, so keys stay small and dense.
#[derive(Debug)]
pub struct Slab<T> {
    entries: Vec<Entry<T>>,
    next_free: usize,
    len: usize,
}

#[derive(Debug)]
enum Entry<T> {
    Full(T),
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
        if key == self.entries.len() {
            self.entries.push(Entry::Full(value));
            self.next_free = key + 1;
        } else {
            match std::mem::replace(&mut self.entries[key], Entry::Full(value)) {
                Entry::Free { next } => self.next_free = next,
                Entry::Full(_) => unreachable!("the free list points at free entries"),
            }
        }
        key
    }

    /// The value at `key`, if any.
    pub fn get(&self, key: usize) -> Option<&T> {
        match self.entries.get(key) {
            Some(Entry::Full(v)) => Some(v),
            _ => None,
        }
    }

    /// The value at `key`, if any, mutably.
    pub fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.get_mut(key) {
            Some(Entry::Full(v)) => Some(v),
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
            Entry::Full(v) => Some(v),
            Entry::Free { .. } => unreachable!("checked above"),
        }
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
                Entry::Full(v) => Some((k, v)),
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
