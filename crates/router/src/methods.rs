//! [`MethodSet`]: a set of methods as bits, and the `Allow` header made
//! from it.

use netrunner_wire::Method;

/// Every routable method, in the order `Allow` lists them.
pub(crate) const ORDER: [Method; 9] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Connect,
    Method::Options,
    Method::Trace,
    Method::Patch,
];

/// A set of methods. [`Method::Other`] is never a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct MethodSet(u16);

impl MethodSet {
    fn bit(method: Method) -> u16 {
        ORDER
            .iter()
            .position(|&m| m == method)
            .map_or(0, |i| 1 << i)
    }

    /// Add `method` (no effect for [`Method::Other`]).
    pub(crate) fn insert(&mut self, method: Method) {
        self.0 |= Self::bit(method);
    }

    /// Every method of both sets.
    pub(crate) fn union(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 | other.0)
    }

    /// The `Allow` field value (RFC 9110 §10.2.1) for a resource answering
    /// these methods: `GET` implies `HEAD`, and `OPTIONS` is always there
    /// because the router answers it. Comma and space separated.
    pub(crate) fn allow(self) -> String {
        let mut set = self;
        if set.0 & Self::bit(Method::Get) != 0 {
            set.insert(Method::Head);
        }
        set.insert(Method::Options);
        let mut out = String::with_capacity(48);
        for method in ORDER {
            if set.0 & Self::bit(method) != 0 {
                if !out.is_empty() {
                    out.push_str(", ");
                }
                out.push_str(method.as_str().unwrap_or_default());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(methods: &[Method], expected: &str) {
        let mut set = MethodSet::default();
        for &m in methods {
            set.insert(m);
        }
        assert_eq!(set.allow(), expected, "{methods:?}");
    }

    #[test]
    fn allow_lists() {
        check(&[], "OPTIONS");
        check(&[Method::Get], "GET, HEAD, OPTIONS");
        check(&[Method::Post], "POST, OPTIONS");
        check(
            &[Method::Delete, Method::Get, Method::Put],
            "GET, HEAD, PUT, DELETE, OPTIONS",
        );
        check(&[Method::Head], "HEAD, OPTIONS");
        check(&[Method::Options, Method::Patch], "OPTIONS, PATCH");
        check(&[Method::Other], "OPTIONS");
    }

    #[test]
    fn union() {
        let mut a = MethodSet::default();
        a.insert(Method::Get);
        let mut b = MethodSet::default();
        b.insert(Method::Post);
        assert_eq!(a.union(b).allow(), "GET, HEAD, POST, OPTIONS");
    }
}
