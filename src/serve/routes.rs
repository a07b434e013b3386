//! Canned routes: fixed replies for a method, a path and optionally query parameters and
//! request headers (`Server::route`, `serve --routes FILE`). Requests no route matches fall
//! through to the files. Matching and the JSON format are pure; reading a `body_file` happens
//! once, when the routes are loaded, never per request.

use std::path::Path;

use serde_json::Value;

use super::respond::{add_site_headers, BodySource, Response, Site};
use crate::error::Error;
use crate::proto::request_head::RequestHead;
use crate::proto::syntax::{is_field_vchar, is_token};

/// The reply a route sends: a status, header fields and a body.
///
/// ```
/// use rawhttp::serve::routes::Reply;
/// let reply = Reply::status(201).header("X-Made", "yes").body("made\n");
/// assert_eq!(reply.code(), 201);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    /// A reply with status `code` (200..=599), no extra fields and an empty body.
    ///
    /// ```
    /// assert_eq!(rawhttp::serve::routes::Reply::status(204).code(), 204);
    /// ```
    pub fn status(code: u16) -> Reply {
        Reply {
            status: code,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Add the field `name: value` (a later one of the same name is sent too). Framing fields
    /// (Content-Length, Transfer-Encoding, Connection) are the server's: `start` refuses them.
    ///
    /// ```
    /// let r = rawhttp::serve::routes::Reply::status(200).header("Content-Type", "application/json");
    /// # let _ = r;
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Set the body.
    ///
    /// ```
    /// let r = rawhttp::serve::routes::Reply::status(200).body(&b"{}"[..]);
    /// # let _ = r;
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    /// The status code.
    ///
    /// ```
    /// assert_eq!(rawhttp::serve::routes::Reply::status(418).code(), 418);
    /// ```
    pub fn code(&self) -> u16 {
        self.status
    }

    /// Refuse what would make a broken or dangerous response (checked once, at start).
    fn check(&self) -> Result<(), String> {
        // RFC 9110 §15: final status codes are 200..=599 (1xx are interim).
        if !(200..=599).contains(&self.status) {
            return Err(format!("status {} is not 200..=599", self.status));
        }
        if !crate::proto::status::has_body(self.status) && !self.body.is_empty() {
            // RFC 9110 §6.4.1: a 204 or 304 response has no content.
            return Err(format!("status {} cannot have a body", self.status));
        }
        for (name, value) in &self.headers {
            // RFC 9110 §5.1 (token) and §5.5: no header injection through a route.
            if !is_token(name.as_bytes()) || !value.bytes().all(is_field_vchar) {
                return Err(format!("bad header {name:?}: {value:?}"));
            }
            let framing = ["content-length", "transfer-encoding", "connection"];
            if framing.iter().any(|f| name.eq_ignore_ascii_case(f)) {
                return Err(format!("header {name} is set by the server"));
            }
        }
        Ok(())
    }
}

/// A route: which requests it answers, and its [`Reply`].
///
/// ```
/// use rawhttp::serve::routes::{Reply, Route};
/// let route = Route::new("GET", "/api/x", Reply::status(201))
///     .query("page=2")
///     .request_header("Accept", "application/json");
/// # let _ = route;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    request_headers: Vec<(String, String)>,
    reply: Reply,
}

impl Route {
    /// Answer `method` (case-sensitive, RFC 9110 §9.1; a `GET` route answers HEAD too, without
    /// the body) requests for exactly `path` (as sent, before `?`) with `reply`.
    ///
    /// ```
    /// let r = rawhttp::serve::routes::Route::new("POST", "/login", rawhttp::serve::routes::Reply::status(303));
    /// # let _ = r;
    /// ```
    pub fn new(method: &str, path: &str, reply: Reply) -> Route {
        Route {
            method: method.to_string(),
            path: path.to_string(),
            query: Vec::new(),
            request_headers: Vec::new(),
            reply,
        }
    }

    /// Match only when the request's query holds every `name=value` pair of `query` (in any
    /// order, other parameters allowed).
    ///
    /// ```
    /// let r = rawhttp::serve::routes::Route::new("GET", "/s", rawhttp::serve::routes::Reply::status(200))
    ///     .query("q=cats&page=2");
    /// # let _ = r;
    /// ```
    pub fn query(mut self, query: &str) -> Route {
        self.query.extend(query_pairs(query));
        self
    }

    /// Match only when the request has field `name` (case-insensitive) with exactly `value`.
    ///
    /// ```
    /// let r = rawhttp::serve::routes::Route::new("GET", "/", rawhttp::serve::routes::Reply::status(200))
    ///     .request_header("Authorization", "Bearer t");
    /// # let _ = r;
    /// ```
    pub fn request_header(mut self, name: &str, value: &str) -> Route {
        self.request_headers
            .push((name.to_string(), value.to_string()));
        self
    }

    /// The reply this route answers with.
    ///
    /// ```
    /// use rawhttp::serve::routes::{Reply, Route};
    /// assert_eq!(Route::new("GET", "/", Reply::status(201)).reply().code(), 201);
    /// ```
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    /// Whether this route answers `req`.
    fn matches(&self, req: &RequestHead) -> bool {
        let method_ok = req.method == self.method || (req.method == "HEAD" && self.method == "GET");
        let (path, query) = crate::proto::target::path_and_query(&req.target);
        let pairs: Vec<(String, String)> = query_pairs(query).collect();
        method_ok
            && path == self.path
            && self.query.iter().all(|want| pairs.contains(want))
            && self.request_headers.iter().all(|(name, value)| {
                req.headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value.as_bytes())
            })
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |why: String| Error::Usage(format!("route {} {}: {why}", self.method, self.path));
        if !is_token(self.method.as_bytes()) {
            return Err(bad("bad method".into()));
        }
        if !self.path.starts_with('/') {
            return Err(bad("the path must start with /".into()));
        }
        self.reply.check().map_err(bad)
    }
}

/// `a=1&b` as pairs (`("b", "")`); values are compared as sent, without percent-decoding.
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (n.to_string(), v.to_string())
    })
}

/// Check every route (start refuses a bad one rather than failing per request).
pub(crate) fn check_all(routes: &[Route]) -> Result<(), Error> {
    routes.iter().try_for_each(Route::check)
}

/// The response of the first route of `site` matching `req`, with `Server`, `Date`,
/// `Content-Length` and the site's own fields (`--cors`, `-H`); `None` lets the request fall
/// through to the files.
pub(crate) fn answer(site: &Site, req: &RequestHead) -> Option<Response> {
    let route = site.routes.iter().find(|r| r.matches(req))?;
    let reply = &route.reply;
    let mut headers = vec![
        ("Server".to_string(), "rawhttp".to_string()),
        ("Date".to_string(), super::clock::http_date_now()),
    ];
    headers.extend(reply.headers.iter().cloned());
    let bodyless = !crate::proto::status::has_body(reply.status);
    if !bodyless {
        headers.push(("Content-Length".to_string(), reply.body.len().to_string()));
    }
    // RFC 9110 §9.3.2: HEAD gets GET's head (Content-Length included) without the body.
    let body = match req.method == "HEAD" || bodyless {
        true => BodySource::None,
        false => BodySource::Bytes(reply.body.clone()),
    };
    let mut response = Response {
        status: reply.status,
        headers,
        body,
    };
    add_site_headers(site, &mut response);
    Some(response)
}

/// Routes from the `--routes` JSON: an array of objects with `path` (required), `method`
/// (GET), `status` (200), `headers` and `request_headers` (objects of strings), `query` (a
/// string `a=1&b=2`), and `body` (a string) or `body_file` (relative to `base`).
///
/// ```
/// let routes = rawhttp::serve::routes::parse_json(
///     r#"[{"method": "GET", "path": "/api/x", "status": 201, "body": "made\n"}]"#,
///     std::path::Path::new("."),
/// )?;
/// assert_eq!(routes.len(), 1);
/// # Ok::<(), rawhttp::Error>(())
/// ```
pub fn parse_json(text: &str, base: &Path) -> Result<Vec<Route>, Error> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Error::Usage(format!("routes: {e}")))?;
    let Value::Array(items) = value else {
        return Err(Error::Usage("routes: expected a JSON array".into()));
    };
    let mut routes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let route = parse_route(item, base)
            .map_err(|why| Error::Usage(format!("routes: entry {}: {why}", i + 1)))?;
        route.check()?;
        routes.push(route);
    }
    Ok(routes)
}

/// Read and parse a routes file; `body_file` names are relative to its folder.
///
/// ```no_run
/// let routes = rawhttp::serve::routes::load(std::path::Path::new("routes.json"))?;
/// # let _ = routes;
/// # Ok::<(), rawhttp::Error>(())
/// ```
pub fn load(path: &Path) -> Result<Vec<Route>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read routes {}: {e}", path.display())))?;
    parse_json(&text, path.parent().unwrap_or(Path::new(".")))
}

const KEYS: [&str; 8] = [
    "method",
    "path",
    "status",
    "headers",
    "body",
    "body_file",
    "query",
    "request_headers",
];

fn parse_route(item: &Value, base: &Path) -> Result<Route, String> {
    let Value::Object(map) = item else {
        return Err("expected an object".into());
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        // A typo ("header", "status_code") would otherwise silently match too much.
        return Err(format!("unknown key {unknown:?}"));
    }
    let text = |key: &str| -> Result<Option<&str>, String> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("{key} must be a string")),
        }
    };
    let path = text("path")?.ok_or("path is required")?;
    let status = match map.get("status") {
        None => 200,
        Some(v) => v
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or("status must be a number")?,
    };
    let mut reply = Reply::status(status);
    reply.headers = string_pairs(map.get("headers"), "headers")?;
    reply.body = match (text("body")?, text("body_file")?) {
        (Some(_), Some(_)) => return Err("body and body_file exclude each other".into()),
        (Some(body), None) => body.as_bytes().to_vec(),
        (None, Some(file)) => std::fs::read(base.join(file))
            .map_err(|e| format!("cannot read body_file {file:?}: {e}"))?,
        (None, None) => Vec::new(),
    };
    let mut route = Route::new(text("method")?.unwrap_or("GET"), path, reply);
    route.query = query_pairs(text("query")?.unwrap_or("")).collect();
    route.request_headers = string_pairs(map.get("request_headers"), "request_headers")?;
    Ok(route)
}

/// A JSON object of strings as (name, value) pairs, in file order.
fn string_pairs(value: Option<&Value>, key: &str) -> Result<Vec<(String, String)>, String> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(n, v)| match v {
                Value::String(s) => Ok((n.clone(), s.clone())),
                _ => Err(format!("{key}.{n} must be a string")),
            })
            .collect(),
        Some(_) => Err(format!("{key} must be an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::request_head::parse_request_head;

    fn head(raw: &str) -> RequestHead {
        let (head, _) = parse_request_head(raw.as_bytes())
            .expect("valid head")
            .expect("complete head");
        head
    }

    #[test]
    fn matching_table() {
        let route = Route::new("GET", "/api/x", Reply::status(201))
            .query("a=1")
            .request_header("X-Key", "k");
        for (raw, want) in [
            (
                "GET /api/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n",
                true,
            ),
            (
                "GET /api/x?b=2&a=1 HTTP/1.1\r\nHost: h\r\nx-key: k\r\n\r\n",
                true,
            ),
            (
                "HEAD /api/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n",
                true,
            ),
            (
                "POST /api/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n",
                false,
            ),
            (
                "get /api/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n",
                false,
            ),
            ("GET /api/x HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n", false),
            (
                "GET /api/x?a=2 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n",
                false,
            ),
            (
                "GET /api/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Key: K\r\n\r\n",
                false,
            ),
            ("GET /api/x?a=1 HTTP/1.1\r\nHost: h\r\n\r\n", false),
            (
                "GET /api/x/?a=1 HTTP/1.1\r\nHost: h\r\nX-Key: k\r\n\r\n",
                false,
            ),
        ] {
            assert_eq!(route.matches(&head(raw)), want, "{raw:?}");
        }
    }

    #[test]
    fn answers_carry_length_and_head_drops_the_body() {
        let site = Site {
            routes: vec![Route::new(
                "GET",
                "/x",
                Reply::status(201).header("X-Made", "yes").body("made\n"),
            )],
            cors: true,
            ..Site::default()
        };
        let get = answer(&site, &head("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")).expect("match");
        assert_eq!(get.status, 201);
        assert_eq!(get.header("X-Made"), Some("yes"));
        assert_eq!(get.header("Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(get.header("Content-Length"), Some("5"));
        assert!(matches!(get.body, BodySource::Bytes(ref b) if b == b"made\n"));
        let head_only = answer(&site, &head("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n")).expect("match");
        assert_eq!(head_only.header("Content-Length"), Some("5"));
        assert!(matches!(head_only.body, BodySource::None));
        assert!(answer(&site, &head("GET /y HTTP/1.1\r\nHost: h\r\n\r\n")).is_none());
    }

    #[test]
    fn json_routes_parse() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("b.json"), b"{\"ok\":true}").expect("write");
        let text = r#"[
            {"method": "GET", "path": "/api/x", "status": 201, "headers": {"X-Made": "yes"},
             "body": "made\n"},
            {"path": "/b", "body_file": "b.json", "query": "v=2",
             "request_headers": {"Accept": "application/json"}}
        ]"#;
        let routes = parse_json(text, dir.path()).expect("parses");
        let want = [
            Route::new(
                "GET",
                "/api/x",
                Reply::status(201).header("X-Made", "yes").body("made\n"),
            ),
            Route::new("GET", "/b", Reply::status(200).body(&b"{\"ok\":true}"[..]))
                .query("v=2")
                .request_header("Accept", "application/json"),
        ];
        assert_eq!(routes, want);
    }

    #[test]
    fn bad_json_routes_are_usage_errors() {
        for (text, words) in [
            ("{}", "expected a JSON array"),
            ("[1]", "expected an object"),
            ("[{}]", "path is required"),
            (r#"[{"path": "/a", "staus": 200}]"#, "unknown key"),
            (r#"[{"path": "/a", "status": 99}]"#, "not 200..=599"),
            (
                r#"[{"path": "/a", "status": 204, "body": "x"}]"#,
                "cannot have a body",
            ),
            (r#"[{"path": "a"}]"#, "must start with /"),
            (r#"[{"path": "/a", "method": "G T"}]"#, "bad method"),
            (
                r#"[{"path": "/a", "headers": {"X": "a\nb"}}]"#,
                "bad header",
            ),
            (
                r#"[{"path": "/a", "headers": {"Content-Length": "1"}}]"#,
                "set by the server",
            ),
            (
                r#"[{"path": "/a", "body": "x", "body_file": "y"}]"#,
                "exclude each other",
            ),
            (
                r#"[{"path": "/a", "body_file": "missing"}]"#,
                "cannot read body_file",
            ),
            ("[", "routes:"),
        ] {
            match parse_json(text, Path::new("/nonexistent")) {
                Err(Error::Usage(why)) => assert!(why.contains(words), "{text}: {why}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
