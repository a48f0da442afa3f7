//! Static files, simple version: [`static_files`] serves the files under one
//! directory, read whole into memory.
//!
//! Conditional requests, ranges, `ETag` and streaming of large files come
//! later; they belong in this module, behind the same function.

use std::borrow::Cow;
use std::io;
use std::path::{Component, Path, PathBuf};

use netrunner_wire::{Body, Request, Response, Status};

use crate::params::Params;
use crate::percent;
use crate::router::{origin_path, Handler};

/// A handler serving the files under `root`, to mount at
/// `/static/{path...}`: it reads the parameter `path`.
///
/// - `root` is canonicalized once, here; every target is canonicalized at
///   request time and must lie under it, so a symlink leading out of `root`
///   is refused like `..` is. A `root` that cannot be canonicalized (it does
///   not exist) serves nothing: every request is `404`.
/// - A path with a `.` or `..` segment, a backslash, a NUL, a leading `/`,
///   or an encoded slash or backslash (`%2F`, `%5C`: no file name holds
///   one) is `404`, before the file system is asked.
/// - A directory serves its `index.html` when the request path ends with
///   `/`; without the slash it is a `308` redirect to the path with one (the
///   query kept).
/// - `Content-Type` comes from the extension (`; charset=utf-8` on text
///   types); an unknown one is `application/octet-stream`.
/// - A file that does not exist is `404`, one the server may not read `403`,
///   any other I/O error `500`. Anything but a regular file is `404`.
///
/// ```
/// use netrunner_router::{static_files, Router};
///
/// let router = Router::new()
///     .get("/static/{path...}", static_files("./public"))
///     .build()?;
/// # let _ = router;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// **Implementation notes:** the file is checked, then opened by its
/// canonical path; a symlink swapped in between by someone who can write
/// under `root` is not guarded against.
pub fn static_files(root: impl Into<PathBuf>) -> impl Handler {
    let files = StaticFiles::new(root.into());
    move |req: &Request<'_>, params: &Params<'_>| files.serve(req, params)
}

/// The state of one [`static_files`] handler.
#[derive(Debug)]
struct StaticFiles {
    /// The canonical root, or `None` when it could not be canonicalized.
    root: Option<PathBuf>,
}

impl StaticFiles {
    fn new(root: PathBuf) -> StaticFiles {
        StaticFiles {
            root: root.canonicalize().ok(),
        }
    }

    fn serve(&self, req: &Request<'_>, params: &Params<'_>) -> Response {
        let not_found = || Response::error(Status::NOT_FOUND);
        let (Some(root), Some(raw)) = (&self.root, params.raw("path")) else {
            return not_found();
        };
        let Some(relative) = relative_path(raw) else {
            return not_found();
        };
        let request_path = origin_path(req.path()).unwrap_or(req.path());
        let wants_directory = request_path.ends_with('/');

        // Joined component by component: empty segments and a trailing `/`
        // drop out, so `hello.txt/` asks for the file (and is refused below)
        // rather than failing as "not a directory".
        let mut joined = root.clone();
        joined.extend(Path::new(&*relative).components());
        let target = match inside(root, &joined) {
            Ok(target) => target,
            Err(res) => return res,
        };
        let meta = match target.metadata() {
            Ok(meta) => meta,
            Err(e) => return io_error(&e),
        };
        let (file, name) = if meta.is_dir() {
            if !wants_directory {
                return redirect_to_directory(request_path, req.query());
            }
            match inside(root, &target.join("index.html")) {
                Ok(index) => (index, Cow::Borrowed("index.html")),
                Err(res) => return res,
            }
        } else if wants_directory {
            return not_found();
        } else {
            (target, relative)
        };
        match file.metadata() {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return not_found(),
            Err(e) => return io_error(&e),
        }
        match std::fs::read(&file) {
            Ok(bytes) => Response::with_body(Status::OK, content_type(&name), Body::Bytes(bytes)),
            Err(e) => io_error(&e),
        }
    }
}

/// The decoded path relative to the root, or `None` when it is refused: an
/// encoded `/` or `\`, and after decoding a leading `/`, a `\`, a NUL, or a
/// `.` or `..` segment. Empty segments (`a//b`, a trailing `/`) are kept;
/// they name nothing.
fn relative_path(raw: &str) -> Option<Cow<'_, str>> {
    let encoded_separator = raw.as_bytes().windows(3).any(|w| {
        w[0] == b'%' && (w[1..].eq_ignore_ascii_case(b"2f") || w[1..].eq_ignore_ascii_case(b"5c"))
    });
    if encoded_separator {
        return None;
    }
    let decoded = percent::decode(raw)?;
    if decoded.starts_with('/')
        || decoded.contains(['\\', '\0'])
        || decoded.split('/').any(|s| s == "." || s == "..")
    {
        return None;
    }
    // Belt and braces: whatever this platform reads as a root, a prefix
    // (`C:`) or a parent is refused too.
    if !Path::new(&*decoded)
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    Some(decoded)
}

/// `path` canonicalized, if it lies under `root` (itself canonical);
/// otherwise the response that refuses it.
fn inside(root: &Path, path: &Path) -> Result<PathBuf, Response> {
    match path.canonicalize() {
        Ok(canonical) if canonical.starts_with(root) => Ok(canonical),
        Ok(_) => Err(Response::error(Status::NOT_FOUND)),
        Err(e) => Err(io_error(&e)),
    }
}

fn redirect_to_directory(path: &str, query: Option<&str>) -> Response {
    let mut location = String::with_capacity(path.len() + 2 + query.map_or(0, str::len));
    location.push_str(path);
    location.push('/');
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    Response::new(Status::PERMANENT_REDIRECT).with_header("Location", location)
}

fn io_error(e: &io::Error) -> Response {
    Response::error(match e.kind() {
        io::ErrorKind::NotFound => Status::NOT_FOUND,
        io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
        _ => Status::INTERNAL_SERVER_ERROR,
    })
}

/// Extensions and their media types, `charset=utf-8` on text.
const CONTENT_TYPES: [(&str, &str); 14] = [
    ("html", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "application/javascript; charset=utf-8"),
    ("json", "application/json; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("svg", "image/svg+xml; charset=utf-8"),
    ("ico", "image/x-icon"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("xml", "application/xml"),
];

/// The `Content-Type` for a file named `name`, by its extension (ASCII
/// case-insensitive).
fn content_type(name: &str) -> &'static str {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    CONTENT_TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map_or("application/octet-stream", |&(_, t)| t)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::testing::call;
    use crate::Router;

    /// A directory tree under the system temp dir, removed on drop:
    ///
    /// ```text
    /// base/secret.txt          outside the root
    /// base/root/hello.txt      "hi"
    /// base/root/a b.txt
    /// base/root/dir/index.html
    /// base/root/dir/app.js
    /// base/root/empty/
    /// base/root/noext
    /// base/root/out            -> ../secret.txt   (unix)
    /// base/root/up             -> ..              (unix)
    /// base/root/evil/index.html -> ../../secret.txt (unix)
    /// base/root/inside         -> hello.txt       (unix)
    /// ```
    struct Fixture {
        base: PathBuf,
    }

    const SECRET: &str = "the secret";

    impl Fixture {
        fn new() -> Fixture {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let base = std::env::temp_dir().join(format!(
                "netrunner-router-static-{}-{}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&base);
            let root = base.join("root");
            fs::create_dir_all(root.join("dir")).unwrap();
            fs::create_dir_all(root.join("empty")).unwrap();
            fs::create_dir_all(root.join("evil")).unwrap();
            fs::write(base.join("secret.txt"), SECRET).unwrap();
            fs::write(root.join("hello.txt"), "hi").unwrap();
            fs::write(root.join("a b.txt"), "spaced").unwrap();
            fs::write(root.join("noext"), [0u8, 1, 2]).unwrap();
            fs::write(root.join("dir/index.html"), "<h1>dir</h1>").unwrap();
            fs::write(root.join("dir/app.js"), "let x;").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::symlink;
                symlink("../secret.txt", root.join("out")).unwrap();
                symlink("..", root.join("up")).unwrap();
                symlink("../../secret.txt", root.join("evil/index.html")).unwrap();
                symlink("hello.txt", root.join("inside")).unwrap();
            }
            Fixture { base }
        }

        fn root(&self) -> PathBuf {
            self.base.join("root")
        }

        fn router(&self) -> Router {
            Router::new()
                .get("/static/{path...}", static_files(self.root()))
                .build()
                .unwrap()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    fn check(router: &Router, target: &str, status: u16, content_type: Option<&str>, body: &str) {
        let res = call(router, "GET", target);
        assert_eq!(res.status.code(), status, "{target}");
        assert_eq!(res.content_type.as_deref(), content_type, "{target}");
        assert_eq!(
            String::from_utf8_lossy(res.body.as_bytes()),
            body,
            "{target}"
        );
    }

    #[test]
    fn serves_files() {
        let fx = Fixture::new();
        let r = fx.router();
        check(
            &r,
            "/static/hello.txt",
            200,
            Some("text/plain; charset=utf-8"),
            "hi",
        );
        check(
            &r,
            "/static/hello.txt?v=2",
            200,
            Some("text/plain; charset=utf-8"),
            "hi",
        );
        check(
            &r,
            "/static/a%20b.txt",
            200,
            Some("text/plain; charset=utf-8"),
            "spaced",
        );
        check(
            &r,
            "/static/dir/app.js",
            200,
            Some("application/javascript; charset=utf-8"),
            "let x;",
        );
        check(
            &r,
            "/static//dir//app.js",
            404,
            Some("text/plain; charset=utf-8"),
            "404 Not Found\n",
        );
        let res = call(&r, "GET", "/static/noext");
        assert_eq!(
            res.content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(res.body, Body::Bytes(vec![0, 1, 2]));
        assert_eq!(res.header("accept-ranges"), None);
        let head = call(&r, "HEAD", "/static/hello.txt");
        assert_eq!(head, call(&r, "GET", "/static/hello.txt"));
    }

    #[test]
    fn missing_files() {
        let fx = Fixture::new();
        let r = fx.router();
        let not_found = Some("text/plain; charset=utf-8");
        check(&r, "/static/missing.txt", 404, not_found, "404 Not Found\n");
        check(&r, "/static/hello.txt/", 404, not_found, "404 Not Found\n");
        check(&r, "/static/empty/", 404, not_found, "404 Not Found\n");
        check(&r, "/static/", 404, not_found, "404 Not Found\n");
        check(&r, "/static", 404, not_found, "404 Not Found\n");
    }

    #[test]
    fn directories() {
        let fx = Fixture::new();
        let r = fx.router();
        check(
            &r,
            "/static/dir/",
            200,
            Some("text/html; charset=utf-8"),
            "<h1>dir</h1>",
        );
        check(
            &r,
            "/static/dir/?x=1",
            200,
            Some("text/html; charset=utf-8"),
            "<h1>dir</h1>",
        );
        let res = call(&r, "GET", "/static/dir");
        assert_eq!(res.status, Status::PERMANENT_REDIRECT);
        assert_eq!(res.header("location"), Some("/static/dir/"));
        let res = call(&r, "GET", "/static/dir?x=1&y=2");
        assert_eq!(res.header("location"), Some("/static/dir/?x=1&y=2"));
        let res = call(&r, "GET", "/static/empty");
        assert_eq!(res.header("location"), Some("/static/empty/"));
        let res = call(&r, "GET", "http://example.com/static/dir");
        assert_eq!(res.header("location"), Some("/static/dir/"));
    }

    #[test]
    fn traversal_is_refused() {
        let fx = Fixture::new();
        let r = fx.router();
        let secret = fx.base.join("secret.txt");
        let absolute = format!("/static/{}", secret.display());
        let mut targets = vec![
            "/static/../secret.txt",
            "/static/dir/../../secret.txt",
            "/static/%2e%2e/secret.txt",
            "/static/%2E%2E/secret.txt",
            "/static/%2E%2E%2Fsecret.txt",
            "/static/..%2Fsecret.txt",
            "/static/..%2fsecret.txt",
            "/static/dir/..%2F..%2Fsecret.txt",
            "/static/.%2e/secret.txt",
            "/static/..%5csecret.txt",
            "/static/..\\secret.txt",
            "/static/dir\\..\\..\\secret.txt",
            "/static/%5c..%5csecret.txt",
            "/static/hello.txt%00",
            "/static/%00",
            "/static/%2Fetc%2Fpasswd",
            "/static//etc/passwd",
            "/static/./hello.txt",
            "/static/%2e/hello.txt",
            "/static/dir/%2e%2e/hello.txt",
            absolute.as_str(),
        ];
        if cfg!(unix) {
            targets.extend([
                "/static/out",
                "/static/up/secret.txt",
                "/static/evil/",
                "/static/up/",
            ]);
        }
        for target in targets {
            let res = call(&r, "GET", target);
            assert_eq!(res, Response::error(Status::NOT_FOUND), "{target}");
        }
        // An overlong UTF-8 dot does not decode at all: the router refuses
        // it before the handler runs.
        let res = call(&r, "GET", "/static/%C0%AE%C0%AE/secret.txt");
        assert_eq!(res, Response::error(Status::BAD_REQUEST));
        // The secret exists: the refusals above are the guards' doing.
        assert_eq!(fs::read_to_string(&secret).unwrap(), SECRET);
        // Symlinks that stay inside the root are followed.
        if cfg!(unix) {
            check(
                &r,
                "/static/inside",
                200,
                Some("application/octet-stream"),
                "hi",
            );
        }
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path("a/b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(relative_path("").as_deref(), Some(""));
        assert_eq!(relative_path("dir/").as_deref(), Some("dir/"));
        assert_eq!(relative_path("a%20b").as_deref(), Some("a b"));
        assert_eq!(relative_path("w%C3%B6rld").as_deref(), Some("wörld"));
        assert_eq!(relative_path("..a/b..").as_deref(), Some("..a/b.."));
        for bad in [
            "..",
            "../x",
            "a/..",
            "a/../b",
            "%2e%2e",
            "%2E%2E/",
            "..%2F",
            "a%2fb",
            "%5c",
            "a\\b",
            "..\\x",
            "%00",
            "a\0",
            "/etc/passwd",
            "%2Fetc",
            ".",
            "./a",
            "%zz",
            "%FF",
        ] {
            assert_eq!(relative_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn missing_root_serves_nothing() {
        let r = Router::new()
            .get(
                "/static/{path...}",
                static_files("/nonexistent/netrunner-router/root"),
            )
            .build()
            .unwrap();
        assert_eq!(call(&r, "GET", "/static/x").status, Status::NOT_FOUND);
        assert_eq!(call(&r, "GET", "/static/").status, Status::NOT_FOUND);
    }

    #[test]
    fn io_errors() {
        let status = |kind| io_error(&io::Error::from(kind)).status;
        assert_eq!(status(io::ErrorKind::NotFound), Status::NOT_FOUND);
        assert_eq!(status(io::ErrorKind::PermissionDenied), Status::FORBIDDEN);
        assert_eq!(status(io::ErrorKind::Other), Status::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn content_types() {
        for (name, expected) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.HTML", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "application/javascript; charset=utf-8"),
            ("a.json", "application/json; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.gif", "image/gif"),
            ("a.svg", "image/svg+xml; charset=utf-8"),
            ("a.ico", "image/x-icon"),
            ("a.wasm", "application/wasm"),
            ("a.pdf", "application/pdf"),
            ("a.xml", "application/xml"),
            ("a.tar.gz", "application/octet-stream"),
            ("README", "application/octet-stream"),
            (".html", "application/octet-stream"),
            ("dir/page.html", "text/html; charset=utf-8"),
        ] {
            assert_eq!(content_type(name), expected, "{name}");
        }
    }
}
