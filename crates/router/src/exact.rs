//! The exact-path table: the router's answer to each method, worked out
//! once at build time, for every path that a pattern of literal segments
//! only matches (`/plaintext`, `/`, `/json/echo`).
//!
//! A request for one of those paths then costs a hash of its length and
//! first and last bytes and an integer compare or two, instead of a tree
//! walk. Every answer in the table is the tree's own: for each method the
//! entry records what the tree's lookup gives for that path, which is one
//! of
//!
//! - the route of the literal pattern (no parameters to find), kept here;
//! - no route for the method: `405`, or `204` for `OPTIONS`, with `Allow`
//!   gathered, as the tree does, from every pattern matching the path,
//!   parameters and tails included;
//! - a route with parameters, which happens when the literal pattern lacks
//!   the method and `/{x}` or a tail has it: the router walks the tree for
//!   the values, as if the table were not there.
//!
//! `HEAD` through `GET`, literal before parameter before tail, and the
//! `Allow` set therefore cannot differ from the tree's answer.

use netrunner_wire::Method;

use crate::methods::{MethodSet, ORDER};
use crate::tree::Node;

/// Every method: the routable ones, then [`Method::Other`]. An entry keeps
/// the answer for `method` at index `method as usize`; a method missing
/// here (one added to [`Method`] later) finds no slot or an unset one, and
/// so walks the tree.
fn methods() -> impl Iterator<Item = Method> {
    ORDER.into_iter().chain([Method::Other])
}

/// How many [`methods`] there are.
const METHODS: usize = ORDER.len() + 1;

/// What the router does with one method on one path of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer<T> {
    /// Call this route: the literal pattern's, with no parameters.
    Route(T),
    /// No route answers the method: `405 Method Not Allowed`, or `204 No
    /// Content` for `OPTIONS`, with `Allow` from [`Entry::allowed`].
    Refuse,
    /// A route with parameters answers: walk the tree for their values.
    Tree,
}

/// The answers for one path, one per method, and its `Allow` set.
pub(crate) struct Entry<T> {
    path: Box<str>,
    answers: [Answer<T>; METHODS],
    allowed: MethodSet,
}

impl<T> Entry<T> {
    /// What to do with a `method` request for this path.
    pub(crate) fn answer(&self, method: Method) -> Answer<&T> {
        match self.answers.get(method as usize) {
            Some(Answer::Route(value)) => Answer::Route(value),
            Some(Answer::Refuse) => Answer::Refuse,
            Some(Answer::Tree) | None => Answer::Tree,
        }
    }

    /// The methods of every pattern matching this path: what `Allow`
    /// lists.
    pub(crate) fn allowed(&self) -> MethodSet {
        self.allowed
    }
}

/// Paths up to this many bytes are wholly in their [`Key`].
const WHOLE: usize = 16;

/// A path as three integers: its length, and its first and last 8 bytes
/// (fewer, and overlapping, when it is shorter). Finding a path in the
/// table hashes and compares keys, not bytes, so a lookup makes no
/// `memcmp` call.
///
/// For paths up to [`WHOLE`] bytes the key is the path: every byte is in
/// `head` or `tail`, at a place fixed by the length, so two such paths
/// with equal keys are equal. Longer paths with equal keys are compared
/// byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    len: usize,
    head: u64,
    tail: u64,
}

impl Key {
    fn of(path: &str) -> Key {
        let b = path.as_bytes();
        let (head, tail) = if let (Some(h), Some(t)) = (b.first_chunk(), b.last_chunk()) {
            (u64::from_le_bytes(*h), u64::from_le_bytes(*t))
        } else if let (Some(h), Some(t)) = (b.first_chunk(), b.last_chunk()) {
            (u32::from_le_bytes(*h).into(), u32::from_le_bytes(*t).into())
        } else if let (Some(h), Some(t)) = (b.first_chunk(), b.last_chunk()) {
            (u16::from_le_bytes(*h).into(), u16::from_le_bytes(*t).into())
        } else {
            (b.first().copied().map_or(0, u64::from), 0)
        };
        Key {
            len: b.len(),
            head,
            tail,
        }
    }

    /// A hash of the key: Fibonacci hashing (a multiply by 2^64 / φ), whose
    /// high bits are well mixed; the caller masks what it needs.
    fn hash(&self) -> usize {
        let mixed = self.head ^ self.tail.rotate_left(29) ^ self.len as u64;
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
    }
}

/// The table: an open-addressed hash table of keys (linear probing, less
/// than half full, so a miss ends at an empty slot) pointing into the
/// entries.
pub(crate) struct Exact<T> {
    /// A power of two of them.
    slots: Box<[Option<(Key, usize)>]>,
    entries: Box<[Entry<T>]>,
}

impl<T> Default for Exact<T> {
    fn default() -> Self {
        Exact {
            slots: Box::new([None]),
            entries: Box::default(),
        }
    }
}

impl<T: Clone> Exact<T> {
    /// The table for every literal-only path of `root`, each answer taken
    /// from `root`'s own lookup.
    pub(crate) fn new(root: &Node<T>) -> Exact<T> {
        let entries: Vec<Entry<T>> = root
            .literal_paths()
            .into_iter()
            .filter_map(|path| entry(root, path))
            .collect();
        // A power of two, more than twice the entries: never full.
        let mut slots = vec![None; (2 * entries.len() + 1).next_power_of_two()];
        let mask = slots.len() - 1;
        for (index, entry) in entries.iter().enumerate() {
            let key = Key::of(&entry.path);
            let mut i = key.hash() & mask;
            while slots[i].is_some() {
                i = (i + 1) & mask;
            }
            slots[i] = Some((key, index));
        }
        Exact {
            slots: slots.into(),
            entries: entries.into(),
        }
    }
}

impl<T> Exact<T> {
    /// The entry for `path` (which starts with `/`, compared as sent), if
    /// the table has it. Allocates nothing.
    #[inline]
    pub(crate) fn get(&self, path: &str) -> Option<&Entry<T>> {
        let key = Key::of(path);
        if key.len <= WHOLE {
            self.probe(key, |_| true)
        } else {
            self.get_long(key, path)
        }
    }

    /// [`Exact::get`] for a path longer than [`WHOLE`], whose key does not
    /// settle it. Out of line, so that the short paths' lookup calls
    /// nothing.
    #[inline(never)]
    fn get_long(&self, key: Key, path: &str) -> Option<&Entry<T>> {
        self.probe(key, |entry| *entry.path == *path)
    }

    /// The first entry keyed `key` that `it` accepts.
    #[inline]
    fn probe(&self, key: Key, it: impl Fn(&Entry<T>) -> bool) -> Option<&Entry<T>> {
        let mask = self.slots.len() - 1;
        let mut i = key.hash() & mask;
        // The loop ends: at least one slot is empty.
        loop {
            let &(k, index) = self.slots.get(i)?.as_ref()?;
            if k == key {
                let entry = self.entries.get(index)?;
                if it(entry) {
                    return Some(entry);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The number of paths in the table.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The entry for `path`, from the tree's answers; `None` if no pattern
/// matches it (never, for a literal path of the tree).
fn entry<T: Clone>(root: &Node<T>, path: String) -> Option<Entry<T>> {
    let allowed = root.allowed(&path)?;
    let mut answers: [Answer<T>; METHODS] = std::array::from_fn(|_| Answer::Tree);
    for method in methods() {
        // The same lookup as the router's: the first endpoint, in
        // precedence order, with a route for `method` (`HEAD` falling back
        // to `GET`).
        let found = root.find(&path, &mut |endpoint, values| {
            let route = endpoint.route(method)?;
            Some(values.is_empty().then(|| route.value.clone()))
        });
        let answer = match found {
            Some(Some(value)) => Answer::Route(value),
            Some(None) => Answer::Tree,
            None => Answer::Refuse,
        };
        if let Some(slot) = answers.get_mut(method as usize) {
            *slot = answer;
        }
    }
    Some(Entry {
        path: path.into_boxed_str(),
        answers,
        allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(Method, &'static str)]) -> (Node<&'static str>, Exact<&'static str>) {
        let mut root = Node::default();
        for &(method, pattern) in routes {
            root.insert(method, pattern, pattern).unwrap();
        }
        let exact = Exact::new(&root);
        (root, exact)
    }

    /// `path` is in the table, answering `method` with `expected`.
    fn check(exact: &Exact<&'static str>, method: Method, path: &str, expected: Answer<&str>) {
        let entry = exact.get(path).unwrap_or_else(|| panic!("{path} missing"));
        let answer = match entry.answer(method) {
            Answer::Route(value) => Answer::Route(*value),
            Answer::Refuse => Answer::Refuse,
            Answer::Tree => Answer::Tree,
        };
        assert_eq!(answer, expected, "{method:?} {path}");
    }

    #[test]
    fn methods_sit_at_their_index() {
        for (i, method) in methods().enumerate() {
            assert_eq!(method as usize, i, "{method:?}");
        }
    }

    #[test]
    fn literal_paths_only() {
        let (_, exact) = table(&[
            (Method::Get, "/"),
            (Method::Get, "/plaintext"),
            (Method::Get, "/a/b/"),
            (Method::Get, "/a/{x}"),
            (Method::Get, "/a/{x}/c"),
            (Method::Get, "/s/{rest...}"),
            (Method::Post, "/json/echo"),
        ]);
        assert_eq!(exact.len(), 4);
        for path in ["/", "/plaintext", "/a/b/", "/json/echo"] {
            assert!(exact.get(path).is_some(), "{path}");
        }
        for path in [
            "",
            "/a",
            "/a/b",
            "/a/1",
            "/a/1/c",
            "/s/",
            "/s",
            "/json",
            "/plain",
            "/plaintext/",
        ] {
            assert!(exact.get(path).is_none(), "{path}");
        }
    }

    #[test]
    fn answers_follow_the_tree() {
        let (_, exact) = table(&[
            (Method::Get, "/x"),
            (Method::Post, "/a/b"),
            (Method::Put, "/a/{id}"),
            (Method::Delete, "/a/{rest...}"),
            (Method::Head, "/h"),
            (Method::Options, "/o"),
        ]);
        check(&exact, Method::Get, "/x", Answer::Route("/x"));
        check(&exact, Method::Head, "/x", Answer::Route("/x"));
        check(&exact, Method::Post, "/x", Answer::Refuse);
        check(&exact, Method::Options, "/x", Answer::Refuse);
        check(&exact, Method::Other, "/x", Answer::Refuse);
        assert_eq!(
            exact.get("/x").unwrap().allowed().allow(),
            "GET, HEAD, OPTIONS"
        );

        check(&exact, Method::Post, "/a/b", Answer::Route("/a/b"));
        check(&exact, Method::Put, "/a/b", Answer::Tree);
        check(&exact, Method::Delete, "/a/b", Answer::Tree);
        check(&exact, Method::Get, "/a/b", Answer::Refuse);
        assert_eq!(
            exact.get("/a/b").unwrap().allowed().allow(),
            "POST, PUT, DELETE, OPTIONS"
        );

        check(&exact, Method::Head, "/h", Answer::Route("/h"));
        check(&exact, Method::Get, "/h", Answer::Refuse);
        check(&exact, Method::Options, "/o", Answer::Route("/o"));
    }

    #[test]
    fn short_keys_are_their_paths() {
        // Up to WHOLE bytes, changing any one byte changes the key.
        let text = "/abcdefghijklmnopqrstuvwxyz";
        for len in 1..=WHOLE {
            let path = &text[..len];
            for i in 0..len {
                let mut bytes = path.as_bytes().to_vec();
                bytes[i] ^= 1;
                let other = String::from_utf8(bytes).unwrap();
                assert_ne!(Key::of(path), Key::of(&other), "{path} {other}");
            }
        }
        assert_ne!(Key::of(""), Key::of("/"));
        assert_ne!(Key::of("/"), Key::of("//"));
        // Past WHOLE bytes the middle is not in the key.
        assert_eq!(
            Key::of("/longprefix-AAAA-suffix!"),
            Key::of("/longprefix-BBBB-suffix!")
        );
        assert_eq!(Key::of("/seventeen-bytesx"), Key::of("/seventeXn-bytesx"));
    }

    #[test]
    fn long_paths_sharing_a_key() {
        let (_, exact) = table(&[
            (Method::Get, "/longprefix-AAAA-suffix!"),
            (Method::Get, "/longprefix-BBBB-suffix!"),
            (Method::Get, "/seventeen-bytesx"),
        ]);
        check(
            &exact,
            Method::Get,
            "/longprefix-AAAA-suffix!",
            Answer::Route("/longprefix-AAAA-suffix!"),
        );
        check(
            &exact,
            Method::Get,
            "/longprefix-BBBB-suffix!",
            Answer::Route("/longprefix-BBBB-suffix!"),
        );
        check(
            &exact,
            Method::Get,
            "/seventeen-bytesx",
            Answer::Route("/seventeen-bytesx"),
        );
        assert!(exact.get("/longprefix-CCCC-suffix!").is_none());
        assert!(exact.get("/seventeXn-bytesx").is_none());
    }

    #[test]
    fn empty_table() {
        let (_, exact) = table(&[(Method::Get, "/{x}")]);
        assert_eq!(exact.len(), 0);
        assert!(exact.get("/").is_none());
        assert!(Exact::<&str>::default().get("/x").is_none());
    }

    #[test]
    fn many_paths() {
        let names: Vec<String> = (0..300).rev().map(|i| format!("/r{i}")).collect();
        let mut root = Node::default();
        for name in &names {
            root.insert(Method::Get, name, name.clone()).unwrap();
        }
        let exact = Exact::new(&root);
        assert_eq!(exact.len(), names.len());
        for name in &names {
            let entry = exact.get(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(entry.answer(Method::Get), Answer::Route(name));
        }
        assert!(exact.get("/r300").is_none());
        assert!(exact.get("/r").is_none());
    }
}
