//! Writes the request head the client sends, built by hand as bytes (RFC 9112 §3); parsing
//! request heads is the server's side, in `proto`. Pure: it never touches a socket;
//! validation of user-supplied names and values happens here too.

use crate::proto::syntax::is_token;
use crate::proto::Headers;
use crate::Error;
use url::Url;

/// A change the user asked for to the default request header fields (`-H`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// `Name: value`: replaces a default field of that name, or adds the field.
    Set(String, String),
    /// `Name:` with nothing after the colon: removes a default field (curl's convention).
    Remove(String),
}

/// The default `User-Agent`: `rawhttp/<version>`.
pub(super) fn default_user_agent() -> String {
    concat!("rawhttp/", env!("CARGO_PKG_VERSION")).to_string()
}

/// Parse a `-H 'Name: value'` argument. `Name:` alone removes the field; `Name;` sends it
/// with an empty value (both curl's conventions).
pub(super) fn parse_header_arg(arg: &str) -> Result<HeaderEdit, Error> {
    if let Some(name) = arg.strip_suffix(';').filter(|n| !n.contains(':')) {
        check_name(name)?;
        return Ok(HeaderEdit::Set(name.to_string(), String::new()));
    }
    let Some((name, value)) = arg.split_once(':') else {
        return Err(Error::Usage(format!("header {arg:?} has no colon")));
    };
    check_name(name)?;
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return Ok(HeaderEdit::Remove(name.to_string()));
    }
    check_value(value)?;
    Ok(HeaderEdit::Set(name.to_string(), value.to_string()))
}

/// A field name must be a token (RFC 9110 §5.1, §5.6.2).
pub(super) fn check_name(name: &str) -> Result<(), Error> {
    if !is_token(name.as_bytes()) {
        return Err(Error::Usage(format!("invalid header name {name:?}")));
    }
    Ok(())
}

/// A field value may not carry CR, LF or NUL (RFC 9110 §5.5): that would inject header lines.
pub(super) fn check_value(value: &str) -> Result<(), Error> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::Usage(format!(
            "invalid header value {value:?}: control characters"
        )));
    }
    Ok(())
}

/// Check an HTTP method given by the user: a token (RFC 9110 §9.1).
pub(super) fn check_method(method: &str) -> Result<(), Error> {
    if !is_token(method.as_bytes()) {
        return Err(Error::Usage(format!("invalid method {method:?}")));
    }
    Ok(())
}

/// The origin-form request target (RFC 9112 §3.2.1): path and query, never the fragment.
pub(super) fn request_target(url: &Url) -> String {
    let path = match url.path() {
        "" => "/",
        p => p,
    };
    match url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

/// The absolute-form target (RFC 9112 §3.2.2) a client sends to a forwarding proxy: scheme,
/// authority, path and query, never userinfo or the fragment.
pub(super) fn absolute_target(url: &Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        host_value(url),
        request_target(url)
    )
}

/// The `Host` field value (RFC 9110 §7.2): the port only when it is not the scheme's default;
/// IPv6 literals keep their brackets (the url crate's `host_str` already has them).
pub(super) fn host_value(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The header fields sent by default, then the user's edits applied in order.
pub(super) fn request_headers(url: &Url, user_agent: &str, edits: &[HeaderEdit]) -> Headers {
    let mut headers = Headers::new();
    headers.push("Host", host_value(url).as_bytes());
    headers.push("User-Agent", user_agent.as_bytes());
    headers.push("Accept", b"*/*");
    headers.push("Connection", b"close");
    let mut user_set: Vec<&str> = Vec::new();
    for edit in edits {
        match edit {
            HeaderEdit::Set(name, value) => {
                // The first -H of a name replaces the default; later ones add more fields.
                if user_set.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    headers.push(name, value.as_bytes());
                } else {
                    headers.set(name, value.as_bytes());
                    user_set.push(name);
                }
            }
            HeaderEdit::Remove(name) => headers.remove(name),
        }
    }
    headers
}

/// The whole request head as bytes: request line, fields, blank line. `target` is in any form
/// (origin-form, absolute-form for a proxy, authority-form for CONNECT: RFC 9112 §3.2).
pub(super) fn request_bytes_to(
    method: &str,
    target: &str,
    http10: bool,
    headers: &Headers,
) -> Vec<u8> {
    let version = if http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.push(b' ');
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers.iter() {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        if !value.is_empty() {
            out.push(b' ');
            out.extend_from_slice(value);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head for `url` in origin-form, as the client sends it without a proxy.
    fn request_bytes(method: &str, url: &Url, http10: bool, headers: &Headers) -> Vec<u8> {
        request_bytes_to(method, &request_target(url), http10, headers)
    }

    fn bytes(url: &str, edits: &[HeaderEdit], http10: bool) -> String {
        let url = Url::parse(url).expect("test URLs are valid");
        let headers = request_headers(&url, "rawhttp/t", edits);
        String::from_utf8(request_bytes("GET", &url, http10, &headers)).expect("ascii")
    }

    const TAIL: &str = "User-Agent: rawhttp/t\r\nAccept: */*\r\nConnection: close\r\n\r\n";

    #[test]
    fn absolute_targets_for_proxies_drop_userinfo_and_fragment() {
        let table = [
            ("http://a/", "http://a/"),
            ("http://u:p@A:80/x?q#f", "http://a/x?q"),
            ("http://a:8080", "http://a:8080/"),
            ("http://[::1]:1/p", "http://[::1]:1/p"),
        ];
        for (url, want) in table {
            let url = Url::parse(url).expect("test URL");
            assert_eq!(absolute_target(&url), want);
        }
    }

    #[test]
    fn targets_and_hosts_follow_rfc_9112() {
        let table = [
            ("http://a/", "GET / HTTP/1.1\r\nHost: a\r\n"),
            ("http://a", "GET / HTTP/1.1\r\nHost: a\r\n"),
            ("http://a:80/x", "GET /x HTTP/1.1\r\nHost: a\r\n"),
            ("https://a:443/x", "GET /x HTTP/1.1\r\nHost: a\r\n"),
            ("http://a:443/x", "GET /x HTTP/1.1\r\nHost: a:443\r\n"),
            ("https://a:80/", "GET / HTTP/1.1\r\nHost: a:80\r\n"),
            ("http://a/p?q=1#frag", "GET /p?q=1 HTTP/1.1\r\nHost: a\r\n"),
            ("http://a/p#frag", "GET /p HTTP/1.1\r\nHost: a\r\n"),
            ("http://a/?", "GET /? HTTP/1.1\r\nHost: a\r\n"),
            (
                "http://[::1]:8080/",
                "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n",
            ),
            ("http://[::1]/", "GET / HTTP/1.1\r\nHost: [::1]\r\n"),
            (
                "http://127.0.0.1:1/",
                "GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\n",
            ),
            (
                "http://A.Example/a%20b",
                "GET /a%20b HTTP/1.1\r\nHost: a.example\r\n",
            ),
            ("http://a/a b", "GET /a%20b HTTP/1.1\r\nHost: a\r\n"),
        ];
        for (url, head) in table {
            assert_eq!(bytes(url, &[], false), format!("{head}{TAIL}"), "{url}");
        }
    }

    #[test]
    fn http10_changes_only_the_version() {
        assert_eq!(
            bytes("http://a/", &[], true),
            format!("GET / HTTP/1.0\r\nHost: a\r\n{TAIL}")
        );
    }

    #[test]
    fn edits_replace_add_and_remove() {
        let set = |n: &str, v: &str| HeaderEdit::Set(n.into(), v.into());
        let table: Vec<(Vec<HeaderEdit>, &str)> = vec![
            (
                vec![set("accept", "text/html")],
                "Host: a\r\nUser-Agent: rawhttp/t\r\naccept: text/html\r\nConnection: close\r\n",
            ),
            (
                vec![HeaderEdit::Remove("User-Agent".into())],
                "Host: a\r\nAccept: */*\r\nConnection: close\r\n",
            ),
            (
                vec![set("X-A", "1"), set("x-a", "2")],
                "Host: a\r\nUser-Agent: rawhttp/t\r\nAccept: */*\r\nConnection: close\r\nX-A: 1\r\nx-a: 2\r\n",
            ),
            (
                vec![set("X-Empty", "")],
                "Host: a\r\nUser-Agent: rawhttp/t\r\nAccept: */*\r\nConnection: close\r\nX-Empty:\r\n",
            ),
            (
                vec![set("Host", "b:1")],
                "Host: b:1\r\nUser-Agent: rawhttp/t\r\nAccept: */*\r\nConnection: close\r\n",
            ),
        ];
        for (edits, fields) in table {
            assert_eq!(
                bytes("http://a/", &edits, false),
                format!("GET / HTTP/1.1\r\n{fields}\r\n"),
                "{edits:?}"
            );
        }
    }

    #[test]
    fn header_arguments_are_validated() {
        assert_eq!(
            parse_header_arg("X-A: 1 ").ok(),
            Some(HeaderEdit::Set("X-A".into(), "1".into()))
        );
        assert_eq!(
            parse_header_arg("Accept:").ok(),
            Some(HeaderEdit::Remove("Accept".into()))
        );
        assert_eq!(
            parse_header_arg("X-Empty;").ok(),
            Some(HeaderEdit::Set("X-Empty".into(), String::new()))
        );
        assert_eq!(
            parse_header_arg("X: a:b").ok(),
            Some(HeaderEdit::Set("X".into(), "a:b".into()))
        );
        for bad in [
            "no colon",
            ": v",
            "X A: v",
            "X: a\r\nInjected: 1",
            "X\n: v",
            "é: v",
        ] {
            assert_eq!(
                parse_header_arg(bad).map_err(|e| e.exit_code()),
                Err(2),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn methods_are_tokens() {
        assert!(check_method("PURGE").is_ok());
        assert!(check_method("").is_err());
        assert!(check_method("GET /").is_err());
    }
}
