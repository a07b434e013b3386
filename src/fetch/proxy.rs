//! Which proxy a URL goes through, decided as curl decides it: `-x`/`--noproxy`, else the
//! `http_proxy`, `https_proxy`/`HTTPS_PROXY`, `all_proxy`/`ALL_PROXY` and `no_proxy`/`NO_PROXY`
//! variables. Pure: the environment comes in as a lookup function; nothing here connects (the
//! CONNECT tunnel is `client`'s).

use std::net::IpAddr;

use url::{Host, Url};

use super::save::percent_decode;
use crate::Error;

/// curl's port for a proxy URL without one.
pub(crate) const DEFAULT_PROXY_PORT: u16 = 1080;

/// One HTTP proxy: where it listens and the credentials its URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    url: Url,
    port: u16,
}

impl Proxy {
    /// Parse a proxy as curl reads it: `http://[user:pass@]host[:port]`, or `host[:port]` (http
    /// assumed); the port defaults to 1080. Other schemes (https, socks) are not spoken: exit 7,
    /// as curl's "unsupported proxy scheme"; a malformed one is exit 5.
    pub fn parse(spec: &str) -> Result<Proxy, Error> {
        let full = match spec.contains("://") {
            true => spec.to_string(),
            false => format!("http://{spec}"),
        };
        let bad = |why: String| Error::ProxyResolve {
            proxy: spec.to_string(),
            why,
        };
        let url = Url::parse(&full).map_err(|e| bad(format!("not a proxy URL ({e})")))?;
        if url.scheme() != "http" {
            let scheme = url.scheme();
            return Err(Error::Connect(format!(
                "unsupported proxy scheme {scheme}:// in {spec} (only http:// proxies)"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host in the proxy URL".into()));
        }
        let port = url.port().unwrap_or(DEFAULT_PROXY_PORT);
        Ok(Proxy { url, port })
    }

    /// The proxy's host (IPv6 literals in brackets, as `url` writes them).
    pub fn host_str(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }

    /// The proxy's host, for resolving.
    pub fn host(&self) -> Option<Host<&str>> {
        self.url.host()
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port`, for messages.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host_str(), self.port)
    }

    /// `user:password` from the proxy URL, percent-decoded, for `Proxy-Authorization: Basic`
    /// (RFC 9110 §11.7.2, RFC 7617); `None` without a user name.
    pub fn credentials(&self) -> Option<Vec<u8>> {
        if self.url.username().is_empty() {
            return None;
        }
        let mut pair = percent_decode(self.url.username().as_bytes());
        pair.push(b':');
        pair.extend(percent_decode(self.url.password().unwrap_or("").as_bytes()));
        Some(pair)
    }

    /// The `Proxy-Authorization` value for the URL's credentials.
    pub fn authorization(&self) -> Option<String> {
        let pair = self.credentials()?;
        Some(format!("Basic {}", data_encoding::BASE64.encode(&pair)))
    }
}

/// A proxy setting as given: unset, or a spec that is parsed when a URL needs it (so a broken
/// `https_proxy` does not fail plain-HTTP fetches, as in curl).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Setting {
    #[default]
    Unset,
    Spec(String),
}

/// The proxies of a run: one per scheme, and the hosts that bypass them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Proxies {
    http: Setting,
    https: Setting,
    no_proxy: String,
}

impl Proxies {
    /// No proxy for anything (the library's default: a test's fixture server is never sent
    /// to whatever proxy the environment names).
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// What curl would use from this process's environment (no flags).
    pub fn from_env() -> Proxies {
        Proxies::from_settings(None, None, |name| std::env::var(name).ok())
    }

    /// One proxy for every URL (as `-x URL`), bypassed for the hosts in `no_proxy`.
    pub fn all(proxy: &str, no_proxy: &str) -> Proxies {
        Proxies {
            http: Setting::Spec(proxy.to_string()),
            https: Setting::Spec(proxy.to_string()),
            no_proxy: no_proxy.to_string(),
        }
    }

    /// What `rawhttp fetch` uses: `-x` (empty: no proxy at all) over the variables, and
    /// `--noproxy` over `no_proxy`. Like curl, upper-case `HTTP_PROXY` is ignored: under CGI
    /// it is set from a request's `Proxy:` header (httpoxy, CVE-2016-5385).
    pub fn from_settings(
        flag: Option<&str>,
        noproxy_flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Proxies {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        };
        let no_proxy = match noproxy_flag {
            Some(list) => list.to_string(),
            None => var(&["no_proxy", "NO_PROXY"]).unwrap_or_default(),
        };
        let spec = |s: Option<String>| s.map_or(Setting::Unset, Setting::Spec);
        match flag {
            Some("") => Proxies::none(),
            Some(proxy) => Proxies::all(proxy, &no_proxy),
            None => {
                let all = var(&["all_proxy", "ALL_PROXY"]);
                Proxies {
                    http: spec(var(&["http_proxy"]).or_else(|| all.clone())),
                    https: spec(var(&["https_proxy", "HTTPS_PROXY"]).or(all)),
                    no_proxy,
                }
            }
        }
    }

    /// The proxy `url` goes through, if any.
    pub fn for_url(&self, url: &Url) -> Result<Option<Proxy>, Error> {
        let setting = match url.scheme() {
            "https" => &self.https,
            _ => &self.http,
        };
        let Setting::Spec(spec) = setting else {
            return Ok(None);
        };
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Ok(None);
        };
        if bypasses(&self.no_proxy, &host, port) {
            return Ok(None);
        }
        Proxy::parse(spec).map(Some)
    }
}

/// Whether `host:port` bypasses the proxy by the `no_proxy` list: comma-separated entries;
/// `*` alone matches every host; a name matches itself and its subdomains (a leading dot is
/// optional, case ignored); an IP address matches itself, a CIDR block (`10.0.0.0/8`) its
/// members; an entry with a port (`host:8080`, `[::1]:8080`) matches that port only.
pub fn bypasses(no_proxy: &str, host: &Host<&str>, port: u16) -> bool {
    let entries: Vec<&str> = no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries == ["*"] {
        return true;
    }
    entries.iter().any(|e| entry_matches(e, host, port))
}

fn entry_matches(entry: &str, host: &Host<&str>, port: u16) -> bool {
    let Some((pattern, want_port)) = split_port(entry) else {
        return false;
    };
    if want_port.is_some_and(|p| p != port) {
        return false;
    }
    match host {
        Host::Domain(name) => name_matches(pattern, name),
        Host::Ipv4(ip) => ip_matches(pattern, IpAddr::V4(*ip)),
        Host::Ipv6(ip) => ip_matches(pattern, IpAddr::V6(*ip)),
    }
}

/// `host:port`, `[v6]:port`, `[v6]`, bare v6 (several colons: no port), or a plain pattern;
/// `None` for an entry that can match nothing (a bad port, junk after `]`).
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    let port = |p: &str| p.parse::<u16>().ok();
    if let Some(rest) = entry.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        return match tail {
            "" => Some((ip, None)),
            _ => Some((ip, Some(port(tail.strip_prefix(':')?)?))),
        };
    }
    match entry.split_once(':') {
        Some((name, p)) if !p.contains(':') => Some((name, Some(port(p)?))),
        _ => Some((entry, None)),
    }
}

/// `example.com` and `.example.com` both match `example.com` and `a.example.com`, not
/// `badexample.com`. A trailing dot (absolute name) is ignored on both sides.
fn name_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_start_matches('.').trim_end_matches('.');
    let name = name.trim_end_matches('.');
    if pattern.is_empty() {
        return false;
    }
    if name.eq_ignore_ascii_case(pattern) {
        return true;
    }
    let Some(cut) = name.len().checked_sub(pattern.len() + 1) else {
        return false;
    };
    name.is_char_boundary(cut)
        && name.as_bytes()[cut] == b'.'
        && name[cut + 1..].eq_ignore_ascii_case(pattern)
}

/// An address, or a CIDR block `addr/bits`, of the same family as `ip`.
fn ip_matches(pattern: &str, ip: IpAddr) -> bool {
    let (addr, bits) = match pattern.split_once('/') {
        Some((a, b)) => match b.parse::<u32>() {
            Ok(bits) => (a, Some(bits)),
            Err(_) => return false,
        },
        None => (pattern, None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => prefix_eq(&n.octets(), &i.octets(), bits),
        (IpAddr::V6(n), IpAddr::V6(i)) => prefix_eq(&n.octets(), &i.octets(), bits),
        _ => false,
    }
}

/// The first `bits` bits agree (all of them when `None`); a prefix longer than the address
/// matches nothing.
fn prefix_eq(net: &[u8], ip: &[u8], bits: Option<u32>) -> bool {
    let total = (net.len() * 8) as u32;
    let bits = bits.unwrap_or(total);
    if bits > total {
        return false;
    }
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if net[..whole] != ip[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    net[whole] & mask == ip[whole] & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(s: &str) -> Host<String> {
        Host::parse(s).expect("test host")
    }

    fn bypass(list: &str, h: &str, port: u16) -> bool {
        let h = host(h);
        let h = match &h {
            Host::Domain(d) => Host::Domain(d.as_str()),
            Host::Ipv4(ip) => Host::Ipv4(*ip),
            Host::Ipv6(ip) => Host::Ipv6(*ip),
        };
        bypasses(list, &h, port)
    }

    /// `no_proxy` value, host, port, whether the host bypasses the proxy (as curl decides).
    const NO_PROXY_CASES: &[(&str, &str, u16, bool)] = &[
        ("*", "anything.example", 80, true),
        ("*", "127.0.0.1", 80, true),
        ("*, ", "example.com", 80, true),
        ("*,other.org", "example.com", 80, false),
        ("", "example.com", 80, false),
        ("example.com", "example.com", 80, true),
        ("example.com", "www.example.com", 80, true),
        (".example.com", "example.com", 80, true),
        (".example.com", "a.b.example.com", 443, true),
        ("example.com", "badexample.com", 80, false),
        ("EXAMPLE.com", "www.Example.COM", 80, true),
        ("example.com.", "example.com", 80, true),
        ("other.org, example.com", "example.com", 80, true),
        ("  other.org ,example.com  ", "x.example.com", 80, true),
        ("other.org", "example.com", 80, false),
        ("com", "example.com", 80, true),
        ("localhost", "localhost", 8080, true),
        ("localhost:8080", "localhost", 8080, true),
        ("localhost:8080", "localhost", 8081, false),
        ("localhost:x", "localhost", 80, false),
        ("127.0.0.1", "127.0.0.1", 80, true),
        ("127.0.0.1", "127.0.0.2", 80, false),
        ("127.0.0.0/8", "127.1.2.3", 80, true),
        ("10.0.0.0/8", "127.1.2.3", 80, false),
        ("192.168.1.0/25", "192.168.1.127", 80, true),
        ("192.168.1.0/25", "192.168.1.128", 80, false),
        ("0.0.0.0/0", "8.8.8.8", 80, true),
        ("127.0.0.1/33", "127.0.0.1", 80, false),
        ("127.0.0.1/x", "127.0.0.1", 80, false),
        ("127.0.0.1:8080", "127.0.0.1", 8080, true),
        ("127.0.0.1:8080", "127.0.0.1", 80, false),
        ("::1", "[::1]", 80, true),
        ("[::1]", "[::1]", 80, true),
        ("[::1]:8080", "[::1]", 8080, true),
        ("[::1]:8080", "[::1]", 80, false),
        ("fe80::/10", "[fe80::1]", 80, true),
        ("fe80::/10", "[fec0::1]", 80, false),
        ("127.0.0.1", "[::1]", 80, false),
        ("::1", "127.0.0.1", 80, false),
        ("1.2.3.4", "example.com", 80, false),
        (".", "example.com", 80, false),
        ("*.example.com", "www.example.com", 80, false),
    ];

    #[test]
    fn no_proxy_matching_as_curl() {
        for &(list, h, port, want) in NO_PROXY_CASES {
            assert_eq!(
                bypass(list, h, port),
                want,
                "no_proxy={list:?} host={h} port={port}"
            );
        }
    }

    #[test]
    fn odd_no_proxy_entries_never_panic_and_never_match_by_accident() {
        let odd = [
            "[",
            "]",
            "[::1",
            "]:",
            ":",
            "::",
            "/",
            "/8",
            "1.2.3.4/",
            "[]:80",
            "[::1]x",
            "é.com",
            "[é]:1",
            ".",
            "..",
            "*.*",
            "127.0.0.1:99999",
            "ö:1",
        ];
        for entry in odd {
            for h in ["a.é.com", "127.0.0.1", "[::1]", "x", "xn--e1afmkfd.example"] {
                let matched = bypass(entry, h, 80);
                if entry == "é.com" && h == "a.é.com" {
                    continue; // url never hands over a non-ASCII host; either answer is safe
                }
                assert!(!matched, "{entry:?} matched {h}");
            }
        }
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn chosen(p: &Proxies, url: &str) -> Option<String> {
        let url = Url::parse(url).expect("test URL");
        p.for_url(&url).expect("valid proxy").map(|p| p.authority())
    }

    #[test]
    fn variables_and_flags_pick_the_proxy_as_curl() {
        let p = Proxies::from_settings(None, None, env(&[("HTTP_PROXY", "evil:1")]));
        assert_eq!(chosen(&p, "http://a/"), None, "HTTP_PROXY is ignored");
        let vars = &[
            ("http_proxy", "h:1"),
            ("HTTPS_PROXY", "s:2"),
            ("no_proxy", "skip.example"),
        ];
        let p = Proxies::from_settings(None, None, env(vars));
        assert_eq!(chosen(&p, "http://a/").as_deref(), Some("h:1"));
        assert_eq!(chosen(&p, "https://a/").as_deref(), Some("s:2"));
        assert_eq!(chosen(&p, "http://www.skip.example/"), None);
        let p = Proxies::from_settings(None, Some(""), env(vars));
        assert_eq!(
            chosen(&p, "http://www.skip.example/").as_deref(),
            Some("h:1")
        );
        let p = Proxies::from_settings(None, Some("*"), env(vars));
        assert_eq!(chosen(&p, "https://a/"), None);
        let p = Proxies::from_settings(Some("x:3"), None, env(vars));
        assert_eq!(chosen(&p, "https://a/").as_deref(), Some("x:3"));
        assert_eq!(chosen(&p, "http://skip.example/"), None);
        let p = Proxies::from_settings(Some(""), None, env(vars));
        assert_eq!(p, Proxies::none());
        let lower = &[("https_proxy", "low:1"), ("HTTPS_PROXY", "up:2")];
        let p = Proxies::from_settings(None, None, env(lower));
        assert_eq!(chosen(&p, "https://a/").as_deref(), Some("low:1"));
        let all = &[("ALL_PROXY", "all:9"), ("http_proxy", "")];
        let p = Proxies::from_settings(None, None, env(all));
        assert_eq!(chosen(&p, "http://a/").as_deref(), Some("all:9"));
        assert_eq!(chosen(&p, "https://a/").as_deref(), Some("all:9"));
    }

    #[test]
    fn proxy_urls_parse_as_curl_reads_them() {
        let p = Proxy::parse("127.0.0.1").expect("bare host");
        assert_eq!(
            (p.authority(), p.authorization()),
            ("127.0.0.1:1080".into(), None)
        );
        let p = Proxy::parse("http://u%40x:p%3As@[::1]:3128").expect("full");
        assert_eq!(p.authority(), "[::1]:3128");
        assert_eq!(p.credentials(), Some(b"u@x:p:s".to_vec()));
        let p = Proxy::parse("http://Aladdin:open%20sesame@h:1").expect("creds");
        // RFC 7617 §2's example.
        assert_eq!(
            p.authorization().as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        let code = |s: &str| Proxy::parse(s).map(|_| ()).map_err(|e| e.exit_code());
        assert_eq!(code("socks5://h:1"), Err(7));
        assert_eq!(code("https://h:1"), Err(7));
        assert_eq!(code("http://[bad"), Err(5));
        assert_eq!(code("http://"), Err(5));
        let broken = Proxies::from_settings(None, None, env(&[("https_proxy", "http://[x")]));
        let plain = Url::parse("http://a/").expect("url");
        assert_eq!(broken.for_url(&plain).map(|p| p.is_none()).ok(), Some(true));
    }
}
