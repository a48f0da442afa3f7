//! [`RouteError`]: the ways a route table is refused when it is built.

/// A route table that [`crate::RouterBuilder::build`] refuses.
///
/// Each variant names the pattern at fault. Routes are checked as they are
/// added; `build` reports the first that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The pattern does not start with `/`.
    #[error("route pattern `{pattern}` must start with `/`")]
    MissingLeadingSlash {
        /// The pattern as given.
        pattern: String,
    },
    /// A tail parameter `{name...}` is followed by more segments.
    #[error("route pattern `{pattern}`: a tail parameter `{{name...}}` must be the last segment")]
    TailNotLast {
        /// The pattern as given.
        pattern: String,
    },
    /// Two parameters of one pattern share a name.
    #[error("route pattern `{pattern}` names the parameter `{name}` twice")]
    DuplicateParam {
        /// The pattern as given.
        pattern: String,
        /// The repeated name.
        name: String,
    },
    /// A parameter with no name: `{}` or `{...}`.
    #[error("route pattern `{pattern}` has a parameter without a name")]
    EmptyParamName {
        /// The pattern as given.
        pattern: String,
    },
    /// A segment that mixes a parameter with other text (`a{b}`), or has an
    /// unmatched brace.
    #[error("route pattern `{pattern}`: segment `{segment}` must be literal text or one whole `{{name}}`")]
    BadSegment {
        /// The pattern as given.
        pattern: String,
        /// The offending segment.
        segment: String,
    },
    /// More parameters than [`crate::MAX_PARAMS`].
    #[error("route pattern `{pattern}` has more than {max} parameters", max = crate::MAX_PARAMS)]
    TooManyParams {
        /// The pattern as given.
        pattern: String,
    },
    /// A route for [`netrunner_wire::Method::Other`], which names no method.
    #[error("route pattern `{pattern}`: Method::Other cannot be routed; name a method")]
    OtherMethod {
        /// The pattern as given.
        pattern: String,
    },
    /// Two routes for the same method whose patterns have the same shape
    /// (they differ at most in parameter names), such as `/a/{x}` and
    /// `/a/{y}`: no request could tell them apart.
    #[error("route `{method} {pattern}` conflicts with `{method} {existing}`")]
    Conflict {
        /// The method both routes answer.
        method: &'static str,
        /// The pattern refused.
        pattern: String,
        /// The pattern added before it.
        existing: String,
    },
}
