//! Static files: [`static_files`] serves the files under one directory, with
//! validators (`ETag`, `Last-Modified`), conditional requests (`304`) and
//! single byte ranges (`206`, `416`).
//!
//! A file is never read here: the response carries the open file and the
//! range to send ([`Body::File`]), and the event loop sends it in pieces as
//! the socket takes them, so serving a large file to many clients keeps
//! memory flat.

use std::borrow::Cow;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use netrunner_wire::{Body, FileBody, HttpDate, Method, Request, Response, Status};

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
///   any other I/O error `500`. Anything but a regular file is `404`, and
///   so is a path that cannot name one: through a file (`a.txt/b`), with a
///   name too long, or through a symlink loop.
///
/// Validators and conditional requests (RFC 9110 §8.8, §13):
///
/// - A file's `200` and `206` carry a strong `ETag` made of its modification
///   time and size (`"<secs>-<nanos>-<len>"`, in hex), `Last-Modified` (the
///   modification time, or now if that is in the future) and
///   `Accept-Ranges: bytes`. A file system that gives no modification time
///   gets neither validator.
/// - On `GET` and `HEAD`, `If-None-Match` (`*`, or a list of entity tags
///   compared weakly, so `W/"…"` matches too) gives `304` when it matches;
///   without `If-None-Match`, a valid `If-Modified-Since` gives `304` when
///   the file was not modified after it. A `304` carries `ETag` and
///   `Last-Modified`, no `Content-Type` and no body. An `If-None-Match`
///   that is not a valid list matches nothing.
/// - HTTP-dates are read in IMF-fixdate and in the two obsolete formats
///   (RFC 850, asctime); anything else is ignored.
///
/// Ranges (RFC 9110 §14), on `GET` only (`HEAD` ignores `Range` and
/// answers as for the whole file, `200`):
///
/// - One range of `bytes=` (`a-b`, `a-`, `-n`) gives `206` with
///   `Content-Range: bytes a-b/len` and those bytes; an end past the file is
///   cut to its last byte.
/// - A range that starts at or past the end, a suffix `-0`, and any range
///   of an empty file give `416` with `Content-Range: bytes */len`.
/// - Several ranges, several `Range` fields, or a `Range` that is not valid
///   syntax are ignored: `200` with the whole file.
/// - `If-Range` (an entity tag, compared strongly, or a date that must equal
///   `Last-Modified`) that does not match means the whole file, `200`.
/// - Conditions come first: a request that gets `304` gets it whatever its
///   `Range`.
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
/// **Implementation notes:** the path is canonicalized and checked to lie
/// under `root`, then opened by its canonical path without blocking (as
/// nginx opens files: a FIFO does not wait for a writer), and what it is,
/// its length and its validators come from the open file;
/// a symlink swapped in between the check and the open by someone who can
/// write under `root` is not guarded against. A file that shrinks while it
/// is read is `500`.
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
        let opened = open(&target);
        let is_dir = match &opened {
            Ok((_, meta)) => meta.is_dir(),
            // A directory can be searchable without being readable: its
            // index may still be served.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                target.metadata().is_ok_and(|meta| meta.is_dir())
            }
            Err(_) => false,
        };
        let (opened, name) = if is_dir {
            drop(opened); // the directory itself
            if !wants_directory {
                return redirect_to_directory(request_path, req.query());
            }
            match inside(root, &target.join("index.html")) {
                Ok(index) => (open(&index), Cow::Borrowed("index.html")),
                Err(res) => return res,
            }
        } else if wants_directory {
            return not_found();
        } else {
            (opened, relative)
        };
        match opened {
            Ok((f, meta)) if meta.is_file() => {
                let entity = Entity::new(&meta, unix_now());
                respond(req, f, content_type(&name), &entity)
            }
            Ok(_) => not_found(),
            Err(e) => io_error(&e),
        }
    }
}

/// Open `path` for reading, and what it is. `O_NONBLOCK`, as nginx opens
/// files: a FIFO (which would block the loop until a writer came) opens at
/// once and is then refused as not a regular file; regular files ignore
/// the flag. One path walk, and the checks are of what was opened.
fn open(path: &Path) -> io::Result<(File, Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

/// What the response needs to know of a file: its length and validators.
#[derive(Debug)]
struct Entity {
    len: u64,
    /// `None` when the file system gives no modification time (or one
    /// before 1970): then no `ETag` or `Last-Modified` is sent.
    validators: Option<Validators>,
    /// The time of the request, in unix seconds.
    now: u64,
}

/// A file's validators.
#[derive(Debug)]
struct Validators {
    /// The strong entity tag, quotes included.
    etag: String,
    /// The `Last-Modified` time in unix seconds: the modification time, or
    /// now when that is later (RFC 9110 §8.8.2.1).
    last_modified: u64,
}

impl Entity {
    fn new(meta: &Metadata, now: u64) -> Entity {
        let len = meta.len();
        let validators = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|mtime| Validators {
                etag: format!(
                    "\"{:x}-{:x}-{:x}\"",
                    mtime.as_secs(),
                    mtime.subsec_nanos(),
                    len
                ),
                last_modified: mtime.as_secs().min(now),
            });
        Entity {
            len,
            validators,
            now,
        }
    }

    /// `res` with `ETag` and `Last-Modified`, when there are validators.
    fn with_validators(&self, res: Response) -> Response {
        match &self.validators {
            Some(v) => res.with_header("ETag", v.etag.clone()).with_header(
                "Last-Modified",
                String::from_utf8_lossy(HttpDate::new(v.last_modified).as_bytes()).into_owned(),
            ),
            None => res,
        }
    }
}

/// The seconds since the epoch, now (0 for a clock set before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The answer for the regular file `file`: `304`, `206`, `416` or `200`.
fn respond(
    req: &Request<'_>,
    file: File,
    content_type: Cow<'static, str>,
    entity: &Entity,
) -> Response {
    let method = req.method();
    if matches!(method, Method::Get | Method::Head) && not_modified(req, entity) {
        return entity.with_validators(Response::new(Status::NOT_MODIFIED));
    }
    let selection = if method == Method::Get {
        select_range(req, entity)
    } else {
        Selection::Whole
    };
    let (status, first, count) = match selection {
        Selection::Unsatisfiable => {
            return Response::error(Status::RANGE_NOT_SATISFIABLE)
                .with_header("Content-Range", format!("bytes */{}", entity.len));
        }
        Selection::Whole => (Status::OK, 0, entity.len),
        Selection::Part { first, last } => (Status::PARTIAL_CONTENT, first, last - first + 1),
    };
    let mut res = entity
        .with_validators(Response::with_body(
            status,
            content_type,
            Body::File(FileBody::new(file, first, count)),
        ))
        .with_header("Accept-Ranges", "bytes");
    if status == Status::PARTIAL_CONTENT {
        let range = format!("bytes {first}-{}/{}", first + count - 1, entity.len);
        res = res.with_header("Content-Range", range);
    }
    res
}

/// How many field lines of one name a request has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field<'a> {
    Absent,
    One(&'a [u8]),
    Many,
}

fn field<'a>(req: &Request<'a>, name: &str) -> Field<'a> {
    let mut values = req
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v);
    match (values.next(), values.next()) {
        (None, _) => Field::Absent,
        (Some(v), None) => Field::One(v),
        (Some(_), Some(_)) => Field::Many,
    }
}

/// Whether the request's preconditions say the client's copy is current
/// (RFC 9110 §13.2.2, steps 3 and 4): `If-None-Match` matches, or, without
/// it, the file was not modified after `If-Modified-Since`.
fn not_modified(req: &Request<'_>, entity: &Entity) -> bool {
    let etag = entity.validators.as_ref().map(|v| v.etag.as_bytes());
    let mut present = false;
    let mut matched = false;
    for (_, value) in req
        .headers()
        .filter(|(n, _)| n.eq_ignore_ascii_case("if-none-match"))
    {
        present = true;
        match none_match(value, etag) {
            Some(m) => matched |= m,
            None => return false,
        }
    }
    if present {
        return matched;
    }
    let (Field::One(value), Some(v)) = (field(req, "if-modified-since"), &entity.validators) else {
        return false;
    };
    parse_http_date(value, entity.now)
        .is_some_and(|date| i64::try_from(v.last_modified).is_ok_and(|lm| lm <= date))
}

/// Whether one `If-None-Match` field value matches a file with `etag`
/// (weak comparison; `*` matches any file), or `None` when it is not valid.
fn none_match(value: &[u8], etag: Option<&[u8]>) -> Option<bool> {
    if trim_ows(value) == b"*" {
        return Some(true);
    }
    let mut matched = false;
    each_entity_tag(value, |_weak, opaque| {
        matched |= etag.is_some_and(|e| e == opaque);
    })?;
    Some(matched)
}

/// Call `f(weak, opaque_tag)` for each entity tag in the list `value`
/// (`opaque_tag` with its quotes); `None` when the list is not valid
/// syntax. Empty list elements are allowed (RFC 9110 §5.6.1.2).
fn each_entity_tag<'a>(value: &'a [u8], mut f: impl FnMut(bool, &'a [u8])) -> Option<()> {
    let mut rest = value;
    loop {
        while let [b' ' | b'\t' | b',', tail @ ..] = rest {
            rest = tail;
        }
        if rest.is_empty() {
            return Some(());
        }
        let (weak, opaque, tail) = entity_tag(rest)?;
        f(weak, opaque);
        rest = trim_ows(tail);
        if !matches!(rest, [] | [b',', ..]) {
            return None;
        }
    }
}

/// The entity tag at the start of `v`: whether it is weak, the opaque tag
/// with its quotes, and what follows it.
fn entity_tag(v: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    let (weak, v) = match v.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let body = v.strip_prefix(b"\"")?;
    let end = body.iter().position(|&b| b == b'"')?;
    let etagc = |b: u8| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80;
    if !body[..end].iter().all(|&b| etagc(b)) {
        return None;
    }
    Some((weak, &v[..end + 2], &v[end + 2..]))
}

/// Which part of the file a `GET` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// All of it: no `Range`, one that is ignored, or an `If-Range` that
    /// does not match.
    Whole,
    /// Bytes `first..=last`, both inside the file.
    Part { first: u64, last: u64 },
    /// A valid range that selects nothing: `416`.
    Unsatisfiable,
}

/// A single byte range as written in `Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `first-last` or `first-`.
    From { first: u64, last: Option<u64> },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// This range applied to a file of `len` bytes.
    fn select(self, len: u64) -> Selection {
        match self {
            RangeSpec::From { first, last } if first < len => Selection::Part {
                first,
                last: last.map_or(len - 1, |last| last.min(len - 1)),
            },
            RangeSpec::Suffix(n) if n > 0 && len > 0 => Selection::Part {
                first: len - n.min(len),
                last: len - 1,
            },
            _ => Selection::Unsatisfiable,
        }
    }
}

/// The part of the file that the request's `Range` and `If-Range` select.
fn select_range(req: &Request<'_>, entity: &Entity) -> Selection {
    let Field::One(value) = field(req, "range") else {
        return Selection::Whole;
    };
    let Some(spec) = parse_range(value) else {
        return Selection::Whole;
    };
    match field(req, "if-range") {
        Field::Absent => {}
        Field::One(value) if if_range_matches(value, entity) => {}
        Field::One(_) | Field::Many => return Selection::Whole,
    }
    spec.select(entity.len)
}

/// A `Range` value holding exactly one byte range; `None` for anything
/// else (another unit, several ranges, bad syntax, `last < first`).
fn parse_range(value: &[u8]) -> Option<RangeSpec> {
    let value = trim_ows(value);
    let eq = value.iter().position(|&b| b == b'=')?;
    if !value[..eq].eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let set = trim_ows(&value[eq + 1..]);
    let dash = set.iter().position(|&b| b == b'-')?;
    let (first, last) = (&set[..dash], &set[dash + 1..]);
    if first.is_empty() {
        return Some(RangeSpec::Suffix(number(last)?));
    }
    let first = number(first)?;
    if last.is_empty() {
        return Some(RangeSpec::From { first, last: None });
    }
    let last = number(last)?;
    (last >= first).then_some(RangeSpec::From {
        first,
        last: Some(last),
    })
}

/// A non-empty run of ASCII digits; a value past `u64::MAX` saturates
/// (no file is that long, so it means the same).
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Whether `If-Range` lets the range through (RFC 9110 §13.1.5): an entity
/// tag that is strongly equal to the file's, or a date equal to its
/// `Last-Modified`.
fn if_range_matches(value: &[u8], entity: &Entity) -> bool {
    let Some(v) = &entity.validators else {
        return false;
    };
    let value = trim_ows(value);
    if value.starts_with(b"W/") || value.starts_with(b"\"") {
        return matches!(
            entity_tag(value),
            Some((false, opaque, [])) if opaque == v.etag.as_bytes()
        );
    }
    parse_http_date(value, entity.now)
        .is_some_and(|date| i64::try_from(v.last_modified) == Ok(date))
}

/// `v` without leading and trailing spaces and tabs.
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

const DAY_NAMES: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const LONG_DAY_NAMES: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
const MONTH_NAMES: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// An HTTP-date (RFC 9110 §5.6.7) in unix seconds: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), or one of the obsolete RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`) formats. Case-sensitive, as the grammar is;
/// the day name must be a valid one but is not checked against the date.
/// `now` (unix seconds) places the two-digit years of RFC 850.
fn parse_http_date(value: &[u8], now: u64) -> Option<i64> {
    let v = trim_ows(value);
    imf_fixdate(v)
        .or_else(|| rfc850_date(v, now))
        .or_else(|| asctime_date(v))
}

fn imf_fixdate(v: &[u8]) -> Option<i64> {
    // Sun, 06 Nov 1994 08:49:37 GMT
    if v.len() != 29
        || !DAY_NAMES.contains(&&v[..3])
        || &v[3..5] != b", "
        || v[7] != b' '
        || v[11] != b' '
        || v[16] != b' '
        || &v[25..] != b" GMT"
    {
        return None;
    }
    let year = digits(&v[12..16])?;
    civil_time(year, month(&v[8..11])?, digits(&v[5..7])?, &v[17..25])
}

fn rfc850_date(v: &[u8], now: u64) -> Option<i64> {
    // Sunday, 06-Nov-94 08:49:37 GMT
    let comma = v.iter().position(|&b| b == b',')?;
    let (day_name, r) = v.split_at(comma);
    if !LONG_DAY_NAMES.contains(&day_name)
        || r.len() != 24
        || &r[..2] != b", "
        || r[4] != b'-'
        || r[8] != b'-'
        || r[11] != b' '
        || &r[20..] != b" GMT"
    {
        return None;
    }
    // A year more than 50 years in the future is the latest past year with
    // the same two last digits: the latest year <= this year + 50.
    let this_year = digits(&HttpDate::new(now).as_bytes()[12..16])?;
    let yy = digits(&r[9..11])?;
    let year = yy + (this_year + 50 - yy).div_euclid(100) * 100;
    civil_time(year, month(&r[5..8])?, digits(&r[2..4])?, &r[12..20])
}

fn asctime_date(v: &[u8]) -> Option<i64> {
    // Sun Nov  6 08:49:37 1994
    if v.len() != 24
        || !DAY_NAMES.contains(&&v[..3])
        || v[3] != b' '
        || v[7] != b' '
        || v[10] != b' '
        || v[19] != b' '
    {
        return None;
    }
    let day = match v[8..10] {
        [b' ', d] => digits(&[d])?,
        _ => digits(&v[8..10])?,
    };
    civil_time(digits(&v[20..24])?, month(&v[4..7])?, day, &v[11..19])
}

/// Unix seconds of a civil date (month `1..=12`) and an `HH:MM:SS` time.
fn civil_time(year: i64, month: i64, day: i64, time: &[u8]) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=month_days).contains(&day) {
        return None;
    }
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *time else {
        return None;
    };
    let (hour, minute, second) = (digits(&[h1, h2])?, digits(&[m1, m2])?, digits(&[s1, s2])?);
    // Second 60 is a leap second (RFC 5322 §3.3).
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days since the epoch of a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// The month `1..=12` named by a three-letter abbreviation.
fn month(name: &[u8]) -> Option<i64> {
    let index = MONTH_NAMES.iter().position(|&m| m == name)?;
    Some(index as i64 + 1)
}

/// A short run of ASCII digits (at most 4 here), as a number.
fn digits(v: &[u8]) -> Option<i64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0, |n, &d| n * 10 + i64::from(d - b'0')))
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
        _ if is_no_such_file(e) => Status::NOT_FOUND,
        io::ErrorKind::NotFound => Status::NOT_FOUND,
        io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
        _ => Status::INTERNAL_SERVER_ERROR,
    })
}

/// Errors that say the path names no file the server could serve, as
/// nginx reads them: a file used as a directory (`hello.txt/x`,
/// ENOTDIR), a name too long (ENAMETOOLONG), a symlink loop (ELOOP), a
/// socket (ENXIO) or a device without a driver (ENODEV). A client can ask
/// for any of them; none is a server error.
#[cfg(unix)]
fn is_no_such_file(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTDIR | libc::ENAMETOOLONG | libc::ELOOP | libc::ENXIO | libc::ENODEV)
    )
}

#[cfg(not(unix))]
fn is_no_such_file(_e: &io::Error) -> bool {
    false
}

/// The `Content-Type` for a file named `name`, by its extension (ASCII
/// case-insensitive), from mime_guess's table; `charset=utf-8` on text
/// types (and on the JSON, JavaScript, XML and SVG ones, which are text
/// too); `application/octet-stream` when the extension is unknown.
fn content_type(name: &str) -> Cow<'static, str> {
    let Some(essence) = mime_guess::from_path(name).first_raw() else {
        return Cow::Borrowed("application/octet-stream");
    };
    let textual = essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "image/svg+xml"
                | "application/manifest+json"
        );
    if textual {
        Cow::Owned(format!("{essence}; charset=utf-8"))
    } else {
        Cow::Borrowed(essence)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use netrunner_wire::{HeadParser, Limits, RequestHead};

    use super::*;

    /// Two responses say the same: status, fields and body bytes (two
    /// file bodies are different open files of the same content).
    fn assert_same(a: &Response, b: &Response, what: &str) {
        assert_eq!(a.status, b.status, "{what}");
        assert_eq!(a.content_type, b.content_type, "{what}");
        assert_eq!(a.headers, b.headers, "{what}");
        assert_eq!(a.body.len(), b.body.len(), "{what}");
        assert_eq!(body(a), body(b), "{what}");
    }

    /// The bytes a response would send: a file body is read from its file,
    /// as the event loop would.
    fn body(res: &Response) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        match &res.body {
            Body::File(file) => {
                let mut bytes = vec![0; file.len() as usize];
                file.file().read_exact_at(&mut bytes, file.start()).unwrap();
                bytes
            }
            other => other.as_bytes().to_vec(),
        }
    }
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
    /// base/root/digits.txt     "0123456789", modified at MTIME
    /// base/root/zero.txt       empty
    /// base/root/out            -> ../secret.txt   (unix)
    /// base/root/up             -> ..              (unix)
    /// base/root/evil/index.html -> ../../secret.txt (unix)
    /// base/root/inside         -> hello.txt       (unix)
    /// ```
    struct Fixture {
        base: PathBuf,
    }

    const SECRET: &str = "the secret";
    const DIGITS: &str = "0123456789";
    /// The modification time of `digits.txt`: `Sun, 06 Nov 1994 08:49:37
    /// GMT` and 123456789 ns.
    const MTIME: Duration = Duration::new(784_111_777, 123_456_789);
    const DIGITS_ETAG: &str = "\"2ebc98a1-75bcd15-a\"";
    const DIGITS_DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn set_mtime(path: &Path, since_epoch: Duration) {
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(UNIX_EPOCH + since_epoch)
            .unwrap();
    }

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
            fs::write(root.join("digits.txt"), DIGITS).unwrap();
            set_mtime(&root.join("digits.txt"), MTIME);
            fs::write(root.join("zero.txt"), "").unwrap();
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
        assert_eq!(String::from_utf8_lossy(&self::body(&res)), body, "{target}");
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
            Some("text/javascript; charset=utf-8"),
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
        assert_eq!(body(&res), vec![0, 1, 2]);
        assert_eq!(res.header("accept-ranges"), Some("bytes"));
        let head = call(&r, "HEAD", "/static/hello.txt");
        assert_same(&head, &call(&r, "GET", "/static/hello.txt"), "HEAD");
    }

    /// What names no servable file is `404`, not a server error: a Unix
    /// socket (its open fails with ENXIO), a file used as a directory
    /// (ENOTDIR), a name longer than the file system allows
    /// (ENAMETOOLONG), a symlink loop (ELOOP).
    #[cfg(unix)]
    #[test]
    fn paths_that_name_no_servable_file_are_not_found() {
        let fx = Fixture::new();
        let _socket = std::os::unix::net::UnixListener::bind(fx.root().join("sock")).unwrap();
        std::os::unix::fs::symlink("loop-b", fx.root().join("loop-a")).unwrap();
        std::os::unix::fs::symlink("loop-a", fx.root().join("loop-b")).unwrap();
        let r = fx.router();
        let long = format!("/static/{}", "n".repeat(300));
        for target in [
            "/static/sock",
            "/static/hello.txt/x",
            &long,
            "/static/loop-a",
        ] {
            let res = call(&r, "GET", target);
            assert_eq!(res.status.code(), 404, "{target}");
        }
    }

    /// A FIFO under the root is not a regular file: `404`, at once, not
    /// an open that waits for a writer (and blocks the loop meanwhile).
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let fx = Fixture::new();
        let fifo = fx.root().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success(), "mkfifo failed");
        let r = fx.router();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let res = call(&r, "GET", "/static/pipe");
            let _ = tx.send((res.status.code(), body(&res)));
        });
        let (status, body) = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the request for a FIFO blocked");
        assert_eq!((status, body), (404, b"404 Not Found\n".to_vec()));
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
            ("a.js", "text/javascript; charset=utf-8"),
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
            ("a.xml", "text/xml; charset=utf-8"),
            ("a.tar.gz", "application/gzip"),
            ("a.unknownext", "application/octet-stream"),
            ("README", "application/octet-stream"),
            (".html", "application/octet-stream"),
            ("dir/page.html", "text/html; charset=utf-8"),
        ] {
            assert_eq!(content_type(name), expected, "{name}");
        }
    }

    /// The router's answer to `method target` with extra header fields.
    fn call_with(router: &Router, method: &str, target: &str, fields: &[(&str, &str)]) -> Response {
        let mut text = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in fields {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        let mut head = RequestHead::default();
        let n = HeadParser::new()
            .parse(text.as_bytes(), &Limits::default(), &mut head)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .expect("a whole head");
        router.handle(&Request::new(&head, &text.as_bytes()[..n], b""))
    }

    /// `GET /static/digits.txt` with `fields`.
    fn digits(router: &Router, fields: &[(&str, &str)]) -> Response {
        call_with(router, "GET", "/static/digits.txt", fields)
    }

    fn assert_whole(res: &Response, what: &str) {
        assert_eq!(res.status, Status::OK, "{what}");
        assert_eq!(body(res), DIGITS.as_bytes(), "{what}");
        assert_eq!(res.header("content-range"), None, "{what}");
        assert_eq!(res.header("accept-ranges"), Some("bytes"), "{what}");
        assert_eq!(res.header("etag"), Some(DIGITS_ETAG), "{what}");
    }

    fn assert_not_modified(res: &Response, what: &str) {
        let expected = Response::new(Status::NOT_MODIFIED)
            .with_header("ETag", DIGITS_ETAG)
            .with_header("Last-Modified", DIGITS_DATE);
        assert_same(res, &expected, what);
    }

    fn assert_part(res: &Response, range: &str, body: &str) {
        assert_eq!(res.status, Status::PARTIAL_CONTENT, "{range}");
        assert_eq!(res.header("content-range"), Some(range), "{range}");
        assert_eq!(self::body(res), body.as_bytes(), "{range}");
        assert_eq!(
            res.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(res.header("accept-ranges"), Some("bytes"), "{range}");
        assert_eq!(res.header("etag"), Some(DIGITS_ETAG), "{range}");
        assert_eq!(res.header("last-modified"), Some(DIGITS_DATE), "{range}");
    }

    fn assert_unsatisfiable(res: &Response, len: u64, what: &str) {
        let expected = Response::error(Status::RANGE_NOT_SATISFIABLE)
            .with_header("Content-Range", format!("bytes */{len}"));
        assert_same(res, &expected, what);
    }

    #[test]
    fn validators() {
        let fx = Fixture::new();
        let r = fx.router();
        let res = digits(&r, &[]);
        assert_whole(&res, "plain GET");
        assert_eq!(res.header("last-modified"), Some(DIGITS_DATE));
        assert_same(&digits(&r, &[]), &res, "stable");
        assert_same(&call(&r, "HEAD", "/static/digits.txt"), &res, "HEAD");

        // A freshly written file: an ETag of the documented shape, stable,
        // and a Last-Modified that parses back.
        let res = call(&r, "GET", "/static/hello.txt");
        let etag = res.header("etag").unwrap().to_owned();
        let parts: Vec<&str> = etag.trim_matches('"').split('-').collect();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(parts.len(), 3, "{etag}");
        assert!(parts.iter().all(|p| u64::from_str_radix(p, 16).is_ok()));
        assert_eq!(parts[2], "2", "the length, in hex");
        let last_modified = res.header("last-modified").unwrap();
        let date = parse_http_date(last_modified.as_bytes(), unix_now()).unwrap();
        assert!(date > 1_600_000_000 && date <= unix_now() as i64);
        assert_same(&call(&r, "GET", "/static/hello.txt"), &res, "GET");

        // A different size or time is a different tag.
        fs::write(fx.root().join("digits.txt"), "01234567890").unwrap();
        set_mtime(&fx.root().join("digits.txt"), MTIME);
        let res = digits(&r, &[]);
        assert_eq!(res.header("etag"), Some("\"2ebc98a1-75bcd15-b\""));
        set_mtime(
            &fx.root().join("digits.txt"),
            MTIME + Duration::from_nanos(1),
        );
        let res = digits(&r, &[]);
        assert_eq!(res.header("etag"), Some("\"2ebc98a1-75bcd16-b\""));

        // A modification time in the future is sent as now.
        let future = Duration::from_secs(unix_now() + 86_400);
        set_mtime(&fx.root().join("digits.txt"), future);
        let before = unix_now();
        let res = digits(&r, &[]);
        let date = parse_http_date(res.header("last-modified").unwrap().as_bytes(), 0).unwrap();
        assert!(date >= before as i64 && date <= unix_now() as i64);
        assert!(res
            .header("etag")
            .unwrap()
            .starts_with(&format!("\"{:x}-", future.as_secs())));
    }

    #[test]
    fn directory_index_and_empty_files_have_validators() {
        let fx = Fixture::new();
        let r = fx.router();
        let res = call(&r, "GET", "/static/dir/");
        assert_eq!(res.status, Status::OK);
        assert!(res.header("etag").is_some());
        assert!(res.header("last-modified").is_some());
        assert_eq!(res.header("accept-ranges"), Some("bytes"));

        let res = call(&r, "GET", "/static/zero.txt");
        assert_eq!(res.status, Status::OK);
        assert_eq!(body(&res), Vec::<u8>::new());
        assert!(res.header("etag").unwrap().ends_with("-0\""));
        assert_eq!(res.header("accept-ranges"), Some("bytes"));
        for range in ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-0", "bytes=5-9"] {
            let res = call_with(&r, "GET", "/static/zero.txt", &[("Range", range)]);
            assert_unsatisfiable(&res, 0, range);
        }
        // A Range that is ignored stays ignored.
        for range in ["bytes=0-1,3-4", "bytes=x"] {
            let res = call_with(&r, "GET", "/static/zero.txt", &[("Range", range)]);
            assert_eq!(res.status, Status::OK, "{range}");
            assert!(res.body.is_empty());
        }
    }

    #[test]
    fn if_none_match() {
        let fx = Fixture::new();
        let r = fx.router();
        let weak = format!("W/{DIGITS_ETAG}");
        let list = format!("\"nope\", {DIGITS_ETAG}");
        let weak_list = format!("\"a\",W/\"b\" ,, {weak}");
        for value in [DIGITS_ETAG, "*", " * ", &weak, &list, &weak_list] {
            assert_not_modified(&digits(&r, &[("If-None-Match", value)]), value);
            // Also with HEAD, and whatever the Range.
            let res = call_with(
                &r,
                "HEAD",
                "/static/digits.txt",
                &[("If-None-Match", value)],
            );
            assert_not_modified(&res, value);
            let res = digits(&r, &[("If-None-Match", value), ("Range", "bytes=0-1")]);
            assert_not_modified(&res, value);
        }
        // Several field lines form one list.
        let res = digits(
            &r,
            &[("If-None-Match", "\"x\""), ("If-None-Match", DIGITS_ETAG)],
        );
        assert_not_modified(&res, "two lines");
        for value in [
            "\"nope\"",
            "W/\"nope\"",
            "\"2ebc98a1-75bcd15-b\"",
            "2ebc98a1-75bcd15-a",
            "\"a\" \"2ebc98a1-75bcd15-a\"",
            &format!("{DIGITS_ETAG} junk"),
            &format!("w/{DIGITS_ETAG}"),
            "",
            "**",
        ] {
            assert_whole(&digits(&r, &[("If-None-Match", value)]), value);
        }
        // If-None-Match decides alone: If-Modified-Since is not looked at.
        let res = digits(
            &r,
            &[
                ("If-None-Match", "\"nope\""),
                ("If-Modified-Since", "Sun, 06 Nov 2094 08:49:37 GMT"),
            ],
        );
        assert_whole(&res, "If-None-Match wins");
        let res = digits(
            &r,
            &[
                ("If-None-Match", DIGITS_ETAG),
                ("If-Modified-Since", "Sun, 06 Nov 1904 08:49:37 GMT"),
            ],
        );
        assert_not_modified(&res, "If-None-Match wins");
        // A changed file no longer matches.
        set_mtime(
            &fx.root().join("digits.txt"),
            MTIME + Duration::from_secs(1),
        );
        let res = digits(&r, &[("If-None-Match", DIGITS_ETAG)]);
        assert_eq!(res.status, Status::OK);
    }

    #[test]
    fn if_modified_since() {
        let fx = Fixture::new();
        let r = fx.router();
        for value in [
            DIGITS_DATE,
            "Sun, 06 Nov 1994 08:49:38 GMT",
            "Mon, 07 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_not_modified(&digits(&r, &[("If-Modified-Since", value)]), value);
            let res = call_with(
                &r,
                "HEAD",
                "/static/digits.txt",
                &[("If-Modified-Since", value)],
            );
            assert_not_modified(&res, value);
        }
        for value in [
            "Sun, 06 Nov 1994 08:49:36 GMT",
            "Sat, 05 Nov 1994 08:49:37 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "garbage",
            "",
            "sun, 06 nov 1994 08:49:37 gmt",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37",
            "784111777",
        ] {
            assert_whole(&digits(&r, &[("If-Modified-Since", value)]), value);
        }
        // Two field lines: not a valid HTTP-date, ignored.
        let res = digits(
            &r,
            &[
                ("If-Modified-Since", DIGITS_DATE),
                ("If-Modified-Since", DIGITS_DATE),
            ],
        );
        assert_whole(&res, "two lines");
    }

    #[test]
    fn ranges() {
        let fx = Fixture::new();
        let r = fx.router();
        for (range, content_range, body) in [
            ("bytes=0-0", "bytes 0-0/10", "0"),
            ("bytes=2-5", "bytes 2-5/10", "2345"),
            ("bytes=0-9", "bytes 0-9/10", DIGITS),
            ("bytes=7-", "bytes 7-9/10", "789"),
            ("bytes=0-", "bytes 0-9/10", DIGITS),
            ("bytes=9-", "bytes 9-9/10", "9"),
            ("bytes=-3", "bytes 7-9/10", "789"),
            ("bytes=-10", "bytes 0-9/10", DIGITS),
            ("bytes=-11", "bytes 0-9/10", DIGITS),
            ("bytes=-99999999999999999999999", "bytes 0-9/10", DIGITS),
            ("bytes=8-20", "bytes 8-9/10", "89"),
            ("bytes=3-99999999999999999999999", "bytes 3-9/10", "3456789"),
            ("BYTES=1-1", "bytes 1-1/10", "1"),
            (" bytes= 4-4 ", "bytes 4-4/10", "4"),
        ] {
            assert_part(&digits(&r, &[("Range", range)]), content_range, body);
        }
        for range in [
            "bytes=10-",
            "bytes=10-20",
            "bytes=11-11",
            "bytes=-0",
            "bytes=99999999999999999999999-",
        ] {
            assert_unsatisfiable(&digits(&r, &[("Range", range)]), 10, range);
        }
        // Several ranges, and anything that is not one valid range: the
        // whole file.
        for range in [
            "bytes=0-1,3-4",
            "bytes=0-1, 3-4",
            "bytes=0-1,",
            "bytes=10-11,0-1",
            "bytes=5-2",
            "bytes=-",
            "bytes=",
            "bytes=a-b",
            "bytes=1-a",
            "bytes=+1-2",
            "bytes=1 -2",
            "bytes=0x1-2",
            "bytes 0-1",
            "0-1",
            "items=0-1",
            "bytes=--1",
            "",
        ] {
            assert_whole(&digits(&r, &[("Range", range)]), range);
        }
        let res = digits(&r, &[("Range", "bytes=0-1"), ("Range", "bytes=3-4")]);
        assert_whole(&res, "two Range lines");
        // HEAD ignores Range: the head of the whole file's 200.
        let head = call(&r, "HEAD", "/static/digits.txt");
        for range in ["bytes=2-5", "bytes=20-"] {
            let res = call_with(&r, "HEAD", "/static/digits.txt", &[("Range", range)]);
            assert_same(&res, &head, range);
        }
        assert_whole(&head, "HEAD");
    }

    #[test]
    fn if_range() {
        let fx = Fixture::new();
        let r = fx.router();
        for value in [DIGITS_ETAG, DIGITS_DATE, " Sun Nov  6 08:49:37 1994 "] {
            let res = digits(&r, &[("Range", "bytes=1-2"), ("If-Range", value)]);
            assert_part(&res, "bytes 1-2/10", "12");
            let res = digits(&r, &[("Range", "bytes=20-"), ("If-Range", value)]);
            assert_unsatisfiable(&res, 10, value);
        }
        for value in [
            "\"nope\"",
            &format!("W/{DIGITS_ETAG}"),
            &format!("{DIGITS_ETAG}, \"x\""),
            "Sun, 06 Nov 1994 08:49:38 GMT",
            "Sun, 06 Nov 1994 08:49:36 GMT",
            "garbage",
            "",
        ] {
            let res = digits(&r, &[("Range", "bytes=1-2"), ("If-Range", value)]);
            assert_whole(&res, value);
            // An If-Range that fails also cancels a 416.
            let res = digits(&r, &[("Range", "bytes=20-"), ("If-Range", value)]);
            assert_whole(&res, value);
        }
        let res = digits(
            &r,
            &[
                ("Range", "bytes=1-2"),
                ("If-Range", DIGITS_ETAG),
                ("If-Range", DIGITS_ETAG),
            ],
        );
        assert_whole(&res, "two If-Range lines");
        // Without Range, If-Range does nothing.
        assert_whole(&digits(&r, &[("If-Range", "\"nope\"")]), "no Range");
    }

    #[test]
    fn http_dates() {
        let now = 1_767_225_600; // 2026-01-01
        for (text, expected) in [
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Sun Nov  6 08:49:37 1994", Some(784_111_777)),
            ("Sun Nov 06 08:49:37 1994", Some(784_111_777)),
            ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
            ("Wed, 31 Dec 1969 23:59:59 GMT", Some(-1)),
            ("Tue, 29 Feb 2000 00:00:00 GMT", Some(951_782_400)),
            ("Thu, 29 Feb 2024 23:59:59 GMT", Some(1_709_251_199)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(253_402_300_799)),
            ("Wed, 31 Dec 2025 23:59:60 GMT", Some(1_767_225_600)),
            // Two-digit years: at most 50 years ahead of `now`.
            ("Thursday, 01-Jan-76 00:00:00 GMT", Some(3_345_062_400)),
            ("Saturday, 01-Jan-77 00:00:00 GMT", Some(220_924_800)),
            ("Saturday, 01-Jan-00 00:00:00 GMT", Some(946_684_800)),
            // The day name is not checked against the date.
            ("Mon, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Sun, 29 Feb 1900 00:00:00 GMT", None),
            ("Sun, 29 Feb 2023 00:00:00 GMT", None),
            ("Sun, 31 Apr 2023 00:00:00 GMT", None),
            ("Sun, 00 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 24:00:00 GMT", None),
            ("Sun, 06 Nov 1994 08:60:00 GMT", None),
            ("Sun, 06 Nov 1994 08:49:61 GMT", None),
            ("Sun, 06 Foo 1994 08:49:37 GMT", None),
            ("Xyz, 06 Nov 1994 08:49:37 GMT", None),
            ("Sun, 6 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 94 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37 gmt", None),
            ("Sun, 06 Nov 1994 08.49.37 GMT", None),
            ("Sun, +6 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37 GMT ", Some(784_111_777)),
            ("Sun,  06 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06-Nov-94 08:49:37 GMT", None),
            ("Sunday, 06 Nov 1994 08:49:37 GMT", None),
            ("Sunday, 06-Nov-1994 08:49:37 GMT", None),
            ("Sun Nov 6 08:49:37 1994", None),
            ("Sun Nov  6 08:49:37 94", None),
            ("", None),
            (",", None),
        ] {
            assert_eq!(parse_http_date(text.as_bytes(), now), expected, "{text:?}");
        }
        // Every second formatted by the codec parses back.
        for secs in [
            0,
            59,
            86_399,
            86_400,
            784_111_777,
            951_868_799,
            4_107_542_400,
        ] {
            let date = HttpDate::new(secs);
            assert_eq!(
                parse_http_date(date.as_bytes(), now),
                Some(secs as i64),
                "{secs}"
            );
        }
    }

    #[test]
    fn entity_tag_lists() {
        let tags = |v: &str| {
            let mut out = Vec::new();
            each_entity_tag(v.as_bytes(), |weak, opaque| {
                out.push((weak, String::from_utf8_lossy(opaque).into_owned()));
            })
            .map(|()| out)
        };
        let tag = |weak, t: &str| (weak, t.to_owned());
        assert_eq!(tags(""), Some(vec![]));
        assert_eq!(tags("\"a\""), Some(vec![tag(false, "\"a\"")]));
        assert_eq!(tags("\"\""), Some(vec![tag(false, "\"\"")]));
        assert_eq!(
            tags(" W/\"a\" ,\t\"b,c\",, W/\"\" "),
            Some(vec![
                tag(true, "\"a\""),
                tag(false, "\"b,c\""),
                tag(true, "\"\"")
            ])
        );
        for bad in [
            "a",
            "\"a",
            "\"a\"b",
            "\"a\" \"b\"",
            "w/\"a\"",
            "W/ \"a\"",
            "W/a",
            "\"a b\"",
            "*",
            "\"a\", *",
        ] {
            assert_eq!(tags(bad), None, "{bad:?}");
        }
        assert_eq!(none_match(b"*", None), Some(true));
        assert_eq!(none_match(b"\"a\"", None), Some(false));
        assert_eq!(none_match(b"W/\"a\"", Some(b"\"a\"")), Some(true));
        assert_eq!(none_match(b"\"a\"", Some(b"\"b\"")), Some(false));
        assert_eq!(none_match(b"\"a", Some(b"\"a\"")), None);
    }

    #[test]
    fn range_specs() {
        use RangeSpec::{From, Suffix};
        assert_eq!(
            parse_range(b"bytes=1-2"),
            Some(From {
                first: 1,
                last: Some(2)
            })
        );
        assert_eq!(
            parse_range(b"bytes=3-"),
            Some(From {
                first: 3,
                last: None
            })
        );
        assert_eq!(parse_range(b"bytes=-4"), Some(Suffix(4)));
        assert_eq!(
            parse_range(b"bytes=-18446744073709551616"),
            Some(Suffix(u64::MAX))
        );
        assert_eq!(parse_range(b"bytes=2-1"), None);
        assert_eq!(parse_range(b"bytes=1-2,4-5"), None);
        let part = |first, last| Selection::Part { first, last };
        let from = |first, last| From { first, last };
        assert_eq!(from(0, None).select(1), part(0, 0));
        assert_eq!(from(0, Some(5)).select(3), part(0, 2));
        assert_eq!(from(3, None).select(3), Selection::Unsatisfiable);
        assert_eq!(from(0, None).select(0), Selection::Unsatisfiable);
        assert_eq!(Suffix(2).select(3), part(1, 2));
        assert_eq!(Suffix(5).select(3), part(0, 2));
        assert_eq!(Suffix(0).select(3), Selection::Unsatisfiable);
        assert_eq!(Suffix(1).select(0), Selection::Unsatisfiable);
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_files() {
        use std::os::unix::fs::PermissionsExt;
        let fx = Fixture::new();
        let r = fx.router();
        let path = fx.root().join("locked.txt");
        fs::write(&path, "x").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        // Root reads anything: only check when the file is really locked.
        if fs::read(&path).is_err() {
            let res = call_with(&r, "GET", "/static/locked.txt", &[("Range", "bytes=0-0")]);
            assert_eq!(res, Response::error(Status::FORBIDDEN));
        }
    }
}
