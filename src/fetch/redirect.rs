//! Redirect decisions (RFC 9110 §15.4) as pure functions: where to go next, with which method,
//! and what may travel along. Following them is `client`'s job.

use url::Url;

use crate::Error;

/// The next request after a redirect response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hop {
    /// Where to go next (resolved against the old URL).
    pub url: Url,
    /// The method to use there (GET after 301/302/303 per RFC 9110 §15.4).
    pub method: String,
}

/// Whether `status` is a redirect we follow.
pub(super) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Percent-encode bytes a `Location` should not carry raw (non-ASCII, controls, space), so
/// the url crate can resolve it without losing anything.
fn location_str(location: &[u8]) -> String {
    let mut out = String::with_capacity(location.len());
    for &b in location.trim_ascii() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decide the hop for a redirect: `Ok(None)` when `status` is not a redirect or there is no
/// Location (the response is then final, as curl does). 301/302/303 turn into GET (HEAD stays
/// HEAD), 307/308 keep the method. Refused: schemes other than http(s), and an https -> http
/// downgrade unless `insecure`.
pub(super) fn next_hop(
    status: u16,
    location: Option<&[u8]>,
    current: &Url,
    method: &str,
    insecure: bool,
) -> Result<Option<Hop>, Error> {
    let Some(location) = location.filter(|_| is_redirect(status)) else {
        return Ok(None);
    };
    let location = location_str(location);
    let url = current
        .join(&location)
        .map_err(|e| Error::BadUrl(format!("redirect to {location:?}: {e}")))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(Error::UnsupportedScheme(format!(
                "{other} (redirect to {url})"
            )))
        }
    }
    if current.scheme() == "https" && url.scheme() == "http" && !insecure {
        return Err(Error::RedirectRefused(format!(
            "https to http downgrade to {url} (use -k to allow)"
        )));
    }
    let method = match status {
        301..=303 if method != "HEAD" => "GET".to_string(),
        _ => method.to_string(),
    };
    Ok(Some(Hop { url, method }))
}

/// Whether two URLs have the same origin (scheme, host, port: RFC 6454 §4): credentials only
/// travel within one.
pub(super) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(status: u16, loc: &str, from: &str, method: &str) -> Result<Option<Hop>, i32> {
        let from = Url::parse(from).expect("test URLs are valid");
        next_hop(status, Some(loc.as_bytes()), &from, method, false).map_err(|e| e.exit_code())
    }

    fn to(url: &str, method: &str) -> Result<Option<Hop>, i32> {
        Ok(Some(Hop {
            url: Url::parse(url).expect("valid"),
            method: method.into(),
        }))
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = "http://a:8080/dir/page?q=1";
        let table = [
            ("other", "http://a:8080/dir/other"),
            ("../up", "http://a:8080/up"),
            ("/abs", "http://a:8080/abs"),
            ("?z=2", "http://a:8080/dir/page?z=2"),
            ("//b/x", "http://b/x"),
            ("https://c/y", "https://c/y"),
            ("/caf\u{e9}", "http://a:8080/caf%C3%A9"),
            (" /sp ace ", "http://a:8080/sp%20ace"),
        ];
        for (loc, want) in table {
            assert_eq!(hop(302, loc, base, "GET"), to(want, "GET"), "{loc}");
        }
    }

    #[test]
    fn methods_follow_rfc_9110() {
        let from = "http://a/";
        for (status, method, want) in [
            (301, "POST", "GET"),
            (302, "POST", "GET"),
            (303, "PUT", "GET"),
            (303, "HEAD", "HEAD"),
            (307, "POST", "POST"),
            (308, "PUT", "PUT"),
        ] {
            assert_eq!(hop(status, "/x", from, method), to("http://a/x", want));
        }
        assert_eq!(hop(200, "/x", from, "GET"), Ok(None));
        assert_eq!(hop(304, "/x", from, "GET"), Ok(None));
        let none = next_hop(302, None, &Url::parse(from).expect("valid"), "GET", false);
        assert_eq!(none.map_err(|e| e.exit_code()), Ok(None));
    }

    #[test]
    fn unsafe_targets_are_refused() {
        assert_eq!(hop(302, "ftp://a/x", "http://a/", "GET"), Err(1));
        assert_eq!(hop(302, "file:///etc/passwd", "http://a/", "GET"), Err(1));
        assert_eq!(hop(302, "http://a/x", "https://a/", "GET"), Err(47));
        assert_eq!(hop(302, "http://[::1/", "http://a/", "GET"), Err(3));
        let from = Url::parse("https://a/").expect("valid");
        let allowed = next_hop(302, Some(b"http://a/x"), &from, "GET", true);
        assert!(matches!(allowed, Ok(Some(_))));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let u = |s: &str| Url::parse(s).expect("valid");
        assert!(same_origin(&u("http://a/x"), &u("http://a:80/y")));
        assert!(!same_origin(&u("http://a/"), &u("https://a/")));
        assert!(!same_origin(&u("http://a/"), &u("http://b/")));
        assert!(!same_origin(&u("http://a/"), &u("http://a:81/")));
    }
}
