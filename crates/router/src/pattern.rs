//! Route patterns: `/users/{id}/files/{path...}` parsed into segments and
//! checked once, when the route is added.

use crate::error::RouteError;
use crate::params::MAX_PARAMS;

/// One segment of a pattern: the text between two `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// Text that must equal the request's segment, byte for byte (the
    /// request's segment is compared still percent-encoded).
    Literal(&'a str),
    /// `{name}`: any one non-empty segment.
    Param(&'a str),
    /// `{name...}`: the rest of the path, possibly empty, `/` included.
    Tail(&'a str),
}

/// A checked pattern: its segments and its parameter names in order.
#[derive(Debug)]
pub(crate) struct Pattern<'a> {
    pub(crate) segments: Vec<Segment<'a>>,
    pub(crate) names: Vec<&'a str>,
}

/// Parse and check `pattern`.
///
/// # Errors
///
/// Every [`RouteError`] about the pattern's own text: no leading `/`, a tail
/// that is not last, an empty or repeated parameter name, a segment mixing
/// text and braces, too many parameters.
pub(crate) fn parse(pattern: &str) -> Result<Pattern<'_>, RouteError> {
    let owned = || pattern.to_owned();
    let Some(rest) = pattern.strip_prefix('/') else {
        return Err(RouteError::MissingLeadingSlash { pattern: owned() });
    };
    let mut segments = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for text in rest.split('/') {
        if matches!(segments.last(), Some(Segment::Tail(_))) {
            return Err(RouteError::TailNotLast { pattern: owned() });
        }
        let segment = segment(text).ok_or_else(|| RouteError::BadSegment {
            pattern: owned(),
            segment: text.to_owned(),
        })?;
        if let Segment::Param(name) | Segment::Tail(name) = segment {
            if name.is_empty() {
                return Err(RouteError::EmptyParamName { pattern: owned() });
            }
            if names.contains(&name) {
                return Err(RouteError::DuplicateParam {
                    pattern: owned(),
                    name: name.to_owned(),
                });
            }
            if names.len() == MAX_PARAMS {
                return Err(RouteError::TooManyParams { pattern: owned() });
            }
            names.push(name);
        }
        segments.push(segment);
    }
    Ok(Pattern { segments, names })
}

/// One segment's meaning, or `None` when braces are misused.
fn segment(text: &str) -> Option<Segment<'_>> {
    match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        Some(inner) if !inner.contains(['{', '}']) => Some(match inner.strip_suffix("...") {
            Some(name) => Segment::Tail(name),
            None => Segment::Param(inner),
        }),
        Some(_) => None,
        None if text.contains(['{', '}']) => None,
        None => Some(Segment::Literal(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, expected: &[Segment<'_>]) {
        let parsed = parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        assert_eq!(parsed.segments, expected, "{pattern}");
    }

    fn refused(pattern: &str) -> RouteError {
        parse(pattern).expect_err(pattern)
    }

    #[test]
    fn segments() {
        use Segment::*;
        check("/", &[Literal("")]);
        check("/plaintext", &[Literal("plaintext")]);
        check("/a/", &[Literal("a"), Literal("")]);
        check("/hello/{name}", &[Literal("hello"), Param("name")]);
        check("/static/{path...}", &[Literal("static"), Tail("path")]);
        check("/{a}/{b}", &[Param("a"), Param("b")]);
    }

    #[test]
    fn names_in_order() {
        let p = parse("/{a}/x/{b}/{c...}").unwrap();
        assert_eq!(p.names, ["a", "b", "c"]);
        assert!(parse("/x").unwrap().names.is_empty());
    }

    #[test]
    fn refusals() {
        let pattern = |s: &str| s.to_owned();
        assert_eq!(
            refused("hello"),
            RouteError::MissingLeadingSlash {
                pattern: pattern("hello")
            }
        );
        assert_eq!(
            refused(""),
            RouteError::MissingLeadingSlash {
                pattern: pattern("")
            }
        );
        assert_eq!(
            refused("/{p...}/x"),
            RouteError::TailNotLast {
                pattern: pattern("/{p...}/x")
            }
        );
        assert_eq!(
            refused("/{p...}/"),
            RouteError::TailNotLast {
                pattern: pattern("/{p...}/")
            }
        );
        assert_eq!(
            refused("/{a}/{a}"),
            RouteError::DuplicateParam {
                pattern: pattern("/{a}/{a}"),
                name: pattern("a")
            }
        );
        assert_eq!(
            refused("/{a}/{a...}"),
            RouteError::DuplicateParam {
                pattern: pattern("/{a}/{a...}"),
                name: pattern("a")
            }
        );
        assert_eq!(
            refused("/{}"),
            RouteError::EmptyParamName {
                pattern: pattern("/{}")
            }
        );
        assert_eq!(
            refused("/x/{...}"),
            RouteError::EmptyParamName {
                pattern: pattern("/x/{...}")
            }
        );
        for bad in ["/a{b}", "/{a}b", "/{a", "/a}", "/{{a}}", "/{a}{b}"] {
            assert!(
                matches!(refused(bad), RouteError::BadSegment { .. }),
                "{bad}"
            );
        }
        assert!(matches!(
            refused("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}"),
            RouteError::TooManyParams { .. }
        ));
        assert!(parse("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h...}").is_ok());
    }
}
