//! [`Params`]: the path parameters a route matched, borrowed from the
//! request and the route.

use std::borrow::Cow;
use std::fmt;

use crate::percent;

/// The most parameters (tail included) one pattern may have.
///
/// Matching keeps parameter values in a fixed array of this size on the
/// stack, so that no request, with or without parameters, allocates to be
/// routed. A pattern with more is refused with
/// [`crate::RouteError::TooManyParams`].
pub const MAX_PARAMS: usize = 8;

/// The parameters of the route that matched: names from the pattern,
/// values from the request path.
///
/// Values are kept as sent, still percent-encoded; [`Params::get`] decodes
/// on demand. Building one allocates nothing.
#[derive(Clone, Copy)]
pub struct Params<'a> {
    names: &'a [Box<str>],
    values: &'a [&'a str],
}

impl<'a> Params<'a> {
    /// No parameters: what a route with literal segments only gets.
    pub(crate) const NONE: Params<'static> = Params {
        names: &[],
        values: &[],
    };

    /// Parameters named `names` (the pattern's order) with `values`.
    pub(crate) fn new(names: &'a [Box<str>], values: &'a [&'a str]) -> Params<'a> {
        debug_assert_eq!(names.len(), values.len());
        Params { names, values }
    }

    /// The value of parameter `name`, percent-decoded: `/hello/w%C3%B6rld`
    /// gives `wörld` for `/hello/{name}`, and `a%2Fb` gives `a/b` (an
    /// encoded slash never splits segments). Borrowed unless there was
    /// something to decode.
    ///
    /// `None` when the route has no parameter `name`. A value that does not
    /// decode to UTF-8 is also `None`, but the router answers such a request
    /// `400 Bad Request` before any handler runs, so a handler never sees
    /// one.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.raw(name).and_then(percent::decode)
    }

    /// The value of parameter `name` as sent, still percent-encoded.
    pub fn raw(&self, name: &str) -> Option<&'a str> {
        let i = self.names.iter().position(|n| **n == *name)?;
        self.values.get(i).copied()
    }

    /// Every parameter as `(name, raw value)`, in the pattern's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let names = self.names;
        names.iter().map(|n| &**n).zip(self.values.iter().copied())
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the route has no parameters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether every value percent-decodes to UTF-8. Allocates nothing.
    pub(crate) fn decodable(&self) -> bool {
        self.values.iter().all(|v| percent::is_decodable(v))
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<Box<str>> {
        list.iter().map(|&n| n.into()).collect()
    }

    #[test]
    fn get_and_raw() {
        let n = names(&["name", "path"]);
        let v = ["w%C3%B6rld", "a%2Fb/c"];
        let p = Params::new(&n, &v);
        assert_eq!(p.get("name").as_deref(), Some("wörld"));
        assert_eq!(p.raw("name"), Some("w%C3%B6rld"));
        assert_eq!(p.get("path").as_deref(), Some("a/b/c"));
        assert_eq!(p.get("other"), None);
        assert_eq!(p.len(), 2);
        assert!(p.decodable());
        assert_eq!(
            format!("{p:?}"),
            r#"{"name": "w%C3%B6rld", "path": "a%2Fb/c"}"#
        );
    }

    #[test]
    fn undecodable_values() {
        let n = names(&["x"]);
        let v = ["%FF"];
        let p = Params::new(&n, &v);
        assert!(!p.decodable());
        assert_eq!(p.get("x"), None);
        assert_eq!(p.raw("x"), Some("%FF"));
    }

    #[test]
    fn empty() {
        let p = Params::new(&[], &[]);
        assert!(p.is_empty());
        assert_eq!(p.get("x"), None);
    }
}
