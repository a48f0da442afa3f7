//! The route tree: one node per pattern prefix, matched one path segment
//! at a time.
//!
//! Each node has its literal children (sorted, found by binary search), at
//! most one parameter child, at most one tail, and the endpoint of the
//! patterns that end there. A request walks down by its own segments, so the
//! cost of matching grows with the depth of its path, not with the number of
//! routes. At each node the literal child is tried first, then the
//! parameter, then the tail; a dead end backtracks to the next choice, so
//! `/a/b/c` and `/a/{x}/d` both match what they should.

use netrunner_wire::Method;

use crate::error::RouteError;
use crate::methods::MethodSet;
use crate::params::MAX_PARAMS;
use crate::pattern::{self, Segment};

/// One route: a method, the pattern it was added with, its parameter names
/// and what it leads to (a handler, in the router).
pub(crate) struct Route<T> {
    pub(crate) method: Method,
    pub(crate) pattern: Box<str>,
    pub(crate) names: Box<[Box<str>]>,
    pub(crate) value: T,
}

/// The routes of one pattern shape, one per method.
pub(crate) struct Endpoint<T> {
    routes: Vec<Route<T>>,
    methods: MethodSet,
}

impl<T> Default for Endpoint<T> {
    fn default() -> Self {
        Endpoint {
            routes: Vec::new(),
            methods: MethodSet::default(),
        }
    }
}

impl<T> Endpoint<T> {
    /// The route answering `method`; `HEAD` falls back to `GET`.
    pub(crate) fn route(&self, method: Method) -> Option<&Route<T>> {
        let find = |m: Method| self.routes.iter().find(|r| r.method == m);
        match find(method) {
            None if method == Method::Head => find(Method::Get),
            found => found,
        }
    }

    /// The methods with a route here.
    pub(crate) fn methods(&self) -> MethodSet {
        self.methods
    }
}

/// A node of the tree; the root stands for the `/` before the first
/// segment.
pub(crate) struct Node<T> {
    statics: Vec<(Box<str>, Node<T>)>,
    param: Option<Box<Node<T>>>,
    tail: Option<Endpoint<T>>,
    endpoint: Option<Endpoint<T>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            statics: Vec::new(),
            param: None,
            tail: None,
            endpoint: None,
        }
    }
}

/// The order of literal segments among siblings: by length, then bytes, so
/// that most comparisons during a lookup are one integer compare.
fn order(literal: &str, segment: &str) -> std::cmp::Ordering {
    literal
        .len()
        .cmp(&segment.len())
        .then_with(|| literal.as_bytes().cmp(segment.as_bytes()))
}

/// The values of the parameters matched so far, on the stack.
struct Stack<'p> {
    values: [&'p str; MAX_PARAMS],
    len: usize,
}

impl<'p> Stack<'p> {
    fn push(&mut self, value: &'p str) -> bool {
        match self.values.get_mut(self.len) {
            Some(slot) => {
                *slot = value;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    fn pop(&mut self) {
        self.len -= 1;
    }

    fn as_slice(&self) -> &[&'p str] {
        &self.values[..self.len]
    }
}

impl<T> Node<T> {
    /// Add a route for `method` and `pattern`.
    ///
    /// # Errors
    ///
    /// Whatever [`pattern::parse`] refuses, [`RouteError::OtherMethod`], and
    /// [`RouteError::Conflict`] when a route of the same method and shape is
    /// already here.
    pub(crate) fn insert(
        &mut self,
        method: Method,
        pattern: &str,
        value: T,
    ) -> Result<(), RouteError> {
        if method == Method::Other {
            return Err(RouteError::OtherMethod {
                pattern: pattern.to_owned(),
            });
        }
        let parsed = pattern::parse(pattern)?;
        let (body, tail) = match parsed.segments.split_last() {
            Some((Segment::Tail(_), body)) => (body, true),
            _ => (&parsed.segments[..], false),
        };
        let mut node = self;
        for segment in body {
            node = match *segment {
                Segment::Literal(text) => node.literal_child_mut(text),
                Segment::Param(_) | Segment::Tail(_) => node.param.get_or_insert_with(Box::default),
            };
        }
        let slot = if tail {
            &mut node.tail
        } else {
            &mut node.endpoint
        };
        let endpoint = slot.get_or_insert_with(Endpoint::default);
        if let Some(existing) = endpoint.routes.iter().find(|r| r.method == method) {
            return Err(RouteError::Conflict {
                method: method.as_str().unwrap_or_default(),
                pattern: pattern.to_owned(),
                existing: existing.pattern.to_string(),
            });
        }
        endpoint.methods.insert(method);
        endpoint.routes.push(Route {
            method,
            pattern: pattern.into(),
            names: parsed.names.iter().map(|&n| n.into()).collect(),
            value,
        });
        Ok(())
    }

    fn literal_child_mut(&mut self, text: &str) -> &mut Node<T> {
        let i = match self.statics.binary_search_by(|(l, _)| order(l, text)) {
            Ok(i) => i,
            Err(i) => {
                self.statics.insert(i, (text.into(), Node::default()));
                i
            }
        };
        &mut self.statics[i].1
    }

    fn literal_child(&self, segment: &str) -> Option<&Node<T>> {
        self.statics
            .binary_search_by(|(l, _)| order(l, segment))
            .ok()
            .map(|i| &self.statics[i].1)
    }

    /// The methods of every endpoint that matches `path`, whichever its
    /// precedence: what `Allow` lists. `None` when no pattern matches.
    pub(crate) fn allowed(&self, path: &str) -> Option<MethodSet> {
        let mut known: Option<MethodSet> = None;
        self.find(path, &mut |endpoint, _| {
            known = Some(known.unwrap_or_default().union(endpoint.methods()));
            None::<()>
        });
        known
    }

    /// Every path that reaches an endpoint through literal segments only:
    /// `/a/b` for the pattern `/a/b`, `/` for `/`. Unordered.
    pub(crate) fn literal_paths(&self) -> Vec<String> {
        let mut paths = Vec::new();
        self.collect_literal_paths(&mut String::new(), &mut paths);
        paths
    }

    fn collect_literal_paths(&self, prefix: &mut String, paths: &mut Vec<String>) {
        for (literal, child) in &self.statics {
            let len = prefix.len();
            prefix.push('/');
            prefix.push_str(literal);
            if child.endpoint.is_some() {
                paths.push(prefix.clone());
            }
            child.collect_literal_paths(prefix, paths);
            prefix.truncate(len);
        }
    }

    /// Walk the endpoints that match `path` (which starts with `/`), in
    /// precedence order, until `visit` returns `Some`. `visit` gets each
    /// endpoint with the raw values of its parameters in pattern order.
    /// Allocates nothing.
    pub(crate) fn find<'p, R, F>(&self, path: &'p str, visit: &mut F) -> Option<R>
    where
        F: FnMut(&Endpoint<T>, &[&'p str]) -> Option<R>,
    {
        let rest = path.strip_prefix('/')?;
        let mut stack = Stack {
            values: [""; MAX_PARAMS],
            len: 0,
        };
        self.walk(Some(rest), &mut stack, visit)
    }

    /// `rest` is the path after the `/` that ends this node's segment, or
    /// `None` when the path ended with this node's segment.
    fn walk<'p, R, F>(
        &self,
        rest: Option<&'p str>,
        stack: &mut Stack<'p>,
        visit: &mut F,
    ) -> Option<R>
    where
        F: FnMut(&Endpoint<T>, &[&'p str]) -> Option<R>,
    {
        let Some(rest) = rest else {
            let endpoint = self.endpoint.as_ref()?;
            return visit(endpoint, stack.as_slice());
        };
        let (segment, next) = match rest.bytes().position(|b| b == b'/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if let Some(child) = self.literal_child(segment) {
            if let found @ Some(_) = child.walk(next, stack, visit) {
                return found;
            }
        }
        // A parameter is one whole, non-empty segment.
        if let Some(child) = self.param.as_deref().filter(|_| !segment.is_empty()) {
            if stack.push(segment) {
                let found = child.walk(next, stack, visit);
                stack.pop();
                if found.is_some() {
                    return found;
                }
            }
        }
        let tail = self.tail.as_ref()?;
        if !stack.push(rest) {
            return None;
        }
        let found = visit(tail, stack.as_slice());
        stack.pop();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(routes: &[(Method, &'static str)]) -> Node<&'static str> {
        let mut root = Node::default();
        for &(method, pattern) in routes {
            root.insert(method, pattern, pattern).unwrap();
        }
        root
    }

    /// The pattern that answers `method path`, with its parameters.
    fn lookup(root: &Node<&'static str>, method: Method, path: &str) -> Option<String> {
        root.find(path, &mut |endpoint, values| {
            let route = endpoint.route(method)?;
            let params: Vec<String> = route
                .names
                .iter()
                .zip(values)
                .map(|(n, v)| format!(" {n}={v}"))
                .collect();
            Some(format!("{}{}", route.value, params.concat()))
        })
    }

    fn check(root: &Node<&'static str>, path: &str, expected: Option<&str>) {
        assert_eq!(
            lookup(root, Method::Get, path).as_deref(),
            expected,
            "GET {path}"
        );
    }

    #[test]
    fn literal_param_tail() {
        let t = tree(&[
            (Method::Get, "/"),
            (Method::Get, "/plaintext"),
            (Method::Get, "/hello/{name}"),
            (Method::Get, "/static/{path...}"),
            (Method::Get, "/a/{x}/b/{y}"),
            (Method::Get, "/trailing/"),
        ]);
        check(&t, "/", Some("/"));
        check(&t, "/plaintext", Some("/plaintext"));
        check(&t, "/plaintext/", None);
        check(&t, "/plain", None);
        check(&t, "/hello/bob", Some("/hello/{name} name=bob"));
        check(&t, "/hello/a%2Fb", Some("/hello/{name} name=a%2Fb"));
        check(&t, "/hello/", None);
        check(&t, "/hello", None);
        check(&t, "/hello/bob/x", None);
        check(&t, "/static/", Some("/static/{path...} path="));
        check(
            &t,
            "/static/css/site.css",
            Some("/static/{path...} path=css/site.css"),
        );
        check(&t, "/static//etc", Some("/static/{path...} path=/etc"));
        check(&t, "/static", None);
        check(&t, "/a/1/b/2", Some("/a/{x}/b/{y} x=1 y=2"));
        check(&t, "/a/1/c/2", None);
        check(&t, "/trailing/", Some("/trailing/"));
        check(&t, "/trailing", None);
        check(&t, "", None);
        check(&t, "nope", None);
    }

    #[test]
    fn literal_beats_param_beats_tail() {
        let t = tree(&[
            (Method::Get, "/users/me"),
            (Method::Get, "/users/{id}"),
            (Method::Get, "/users/{rest...}"),
        ]);
        check(&t, "/users/me", Some("/users/me"));
        check(&t, "/users/42", Some("/users/{id} id=42"));
        check(&t, "/users/42/x", Some("/users/{rest...} rest=42/x"));
        check(&t, "/users/", Some("/users/{rest...} rest="));
    }

    #[test]
    fn backtracks_out_of_dead_ends() {
        let t = tree(&[
            (Method::Get, "/a/b/c"),
            (Method::Get, "/a/{x}/d"),
            (Method::Get, "/{all...}"),
        ]);
        check(&t, "/a/b/c", Some("/a/b/c"));
        check(&t, "/a/b/d", Some("/a/{x}/d x=b"));
        check(&t, "/a/b/e", Some("/{all...} all=a/b/e"));
        check(&t, "/", Some("/{all...} all="));
    }

    #[test]
    fn method_picks_among_matching_endpoints() {
        let t = tree(&[(Method::Post, "/a/b"), (Method::Get, "/a/{x}")]);
        assert_eq!(lookup(&t, Method::Post, "/a/b").as_deref(), Some("/a/b"));
        assert_eq!(
            lookup(&t, Method::Get, "/a/b").as_deref(),
            Some("/a/{x} x=b")
        );
        assert_eq!(
            lookup(&t, Method::Head, "/a/b").as_deref(),
            Some("/a/{x} x=b")
        );
        assert_eq!(lookup(&t, Method::Put, "/a/b"), None);
    }

    #[test]
    fn param_names_may_differ_between_methods() {
        let t = tree(&[(Method::Get, "/a/{x}"), (Method::Post, "/a/{y}")]);
        assert_eq!(
            lookup(&t, Method::Get, "/a/1").as_deref(),
            Some("/a/{x} x=1")
        );
        assert_eq!(
            lookup(&t, Method::Post, "/a/1").as_deref(),
            Some("/a/{y} y=1")
        );
    }

    #[test]
    fn conflicts() {
        let mut t = tree(&[(Method::Get, "/a/{x}"), (Method::Get, "/s/{p...}")]);
        assert_eq!(
            t.insert(Method::Get, "/a/{y}", "dup"),
            Err(RouteError::Conflict {
                method: "GET",
                pattern: "/a/{y}".into(),
                existing: "/a/{x}".into(),
            })
        );
        assert!(matches!(
            t.insert(Method::Get, "/s/{q...}", "dup"),
            Err(RouteError::Conflict { .. })
        ));
        assert!(t.insert(Method::Post, "/a/{y}", "post").is_ok());
        assert!(t.insert(Method::Get, "/a/lit", "lit").is_ok());
        assert!(t.insert(Method::Get, "/s/{p}", "param, not tail").is_ok());
        assert_eq!(
            t.insert(Method::Other, "/x", "other"),
            Err(RouteError::OtherMethod {
                pattern: "/x".into()
            })
        );
    }

    #[test]
    fn literal_paths_and_allowed() {
        let t = tree(&[
            (Method::Get, "/"),
            (Method::Get, "/a/b/"),
            (Method::Post, "/a/b"),
            (Method::Put, "/a/{x}"),
            (Method::Get, "/a/{x}/c"),
            (Method::Delete, "/s/{rest...}"),
            (Method::Patch, "/s/x"),
        ]);
        let mut paths = t.literal_paths();
        paths.sort();
        assert_eq!(paths, ["/", "/a/b", "/a/b/", "/s/x"]);
        let allow = |path: &str| t.allowed(path).map(MethodSet::allow);
        assert_eq!(allow("/a/b").as_deref(), Some("POST, PUT, OPTIONS"));
        assert_eq!(allow("/a/b/c").as_deref(), Some("GET, HEAD, OPTIONS"));
        assert_eq!(allow("/s/x").as_deref(), Some("DELETE, OPTIONS, PATCH"));
        assert_eq!(allow("/a/b/").as_deref(), Some("GET, HEAD, OPTIONS"));
        assert_eq!(allow("/a"), None);
        assert_eq!(allow(""), None);
    }

    #[test]
    fn many_literal_children_stay_sorted() {
        let mut root = Node::default();
        let names: Vec<String> = (0..200).rev().map(|i| format!("r{i}")).collect();
        for name in &names {
            root.insert(Method::Get, &format!("/{name}"), name.as_str())
                .unwrap();
        }
        for name in &names {
            let found = root.find(&format!("/{name}"), &mut |e, _| {
                e.route(Method::Get).map(|r| r.value)
            });
            assert_eq!(found, Some(name.as_str()));
        }
    }
}
