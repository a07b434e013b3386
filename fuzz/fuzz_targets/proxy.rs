//! Fuzz proxy selection: `fetch::proxy::{bypasses, Proxy::parse, Proxies::for_url}` (`-x`,
//! `--noproxy`, `no_proxy`).
//!
//! Input: byte 0 and 1 are a port; the rest up to the first 0xFF is the `no_proxy` list, the
//! rest after it a host (made into `http://HOST/`) and, after a second 0xFF, a proxy spec
//! (all lossy UTF-8).
//! Checks: a host always bypasses a list naming exactly it (and `host:port` with its port,
//! not with another); a domain's subdomains bypass it, a name that merely ends with it does
//! not; matching ignores ASCII case; adding entries never stops a match (unless the list
//! was the lone `*`); a parsed proxy is http with a host, and `for_url` never returns a proxy
//! for a bypassed host; the credentials encoders never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::fetch::proxy::{bypasses, Proxies, Proxy};
use url::{Host, Url};

fn split_ff(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn check_host(list: &str, host: &Host<&str>, host_text: &str, port: u16) {
    let own = match host {
        Host::Ipv6(ip) => ip.to_string(),
        _ => host_text.to_string(),
    };
    assert!(bypasses(host_text, host, port), "{host_text} vs itself");
    let with_port = format!("{host_text}:{port}");
    assert!(bypasses(&with_port, host, port), "{with_port}");
    let other = format!("{host_text}:{}", port.wrapping_add(1));
    assert!(!bypasses(&other, host, port), "{other} for port {port}");
    if let Host::Domain(name) = host {
        let sub = format!("a.{name}");
        if let Ok(url) = Url::parse(&format!("http://{sub}/")) {
            if let Some(h @ Host::Domain(_)) = url.host() {
                assert!(bypasses(name, &h, port), "{sub} under {name}");
            }
        }
        // `xexample.com` is not under `example.com` (leading-dot names and a lone `*` differ).
        let longer = format!("x{name}");
        if let Ok(url) = Url::parse(&format!("http://{longer}/")) {
            let special = name.starts_with('.') || name.trim() == "*";
            if let (Some(h @ Host::Domain(_)), false) = (url.host(), special) {
                assert!(!bypasses(name, &h, port), "{longer} under {name}");
            }
        }
    }
    let upper = list.to_ascii_uppercase();
    assert_eq!(
        bypasses(list, host, port),
        bypasses(&upper, host, port),
        "case of {list:?}"
    );
    let lone_star = list
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .eq(["*"]);
    if bypasses(list, host, port) && !lone_star {
        let more = format!("{list},example.invalid,{own}");
        assert!(bypasses(&more, host, port), "{more:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let [p0, p1, rest @ ..] = data else {
        return;
    };
    let port = u16::from_be_bytes([*p0, *p1]);
    let (list, rest) = split_ff(rest);
    let (host, spec) = split_ff(rest);
    let list = String::from_utf8_lossy(list);
    let host = String::from_utf8_lossy(host);
    let spec = String::from_utf8_lossy(spec);
    if let Ok(url) = Url::parse(&format!("http://{host}/")) {
        if let (Some(h), Some(text)) = (url.host(), url.host_str()) {
            // A name with a comma cannot be written in a comma-separated list, and one made
            // of dots only (the DNS root) names no host.
            if !text.contains(',') && !text.trim_matches('.').is_empty() {
                check_host(&list, &h, text, port);
            }
            let proxies = Proxies::all(&spec, &list);
            if let Ok(Some(_)) = proxies.for_url(&url) {
                assert!(!bypasses(&list, &h, 80), "proxied a bypassed {text}");
            }
        }
    }
    if let Ok(proxy) = Proxy::parse(&spec) {
        assert!(!proxy.host_str().is_empty());
        let _ = (proxy.authority(), proxy.authorization(), proxy.host());
    }
});
