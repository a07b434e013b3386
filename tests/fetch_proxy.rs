//! Proxies as curl reads them, against a recording loopback proxy: `-x`, `http_proxy`,
//! `https_proxy`/`HTTPS_PROXY` (upper-case `HTTP_PROXY` ignored), `no_proxy`/`--noproxy`,
//! absolute-form targets for plain HTTP, `CONNECT` then TLS for HTTPS, a proxy's 407/502 on
//! CONNECT in words (exit 56), connections pooled per proxy and tunnels per origin, and curl
//! sending the same bytes through the same proxy.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;

use rawhttp::fetch::proxy::Proxies;
use rawhttp::fetch::{Pool, Request};
use support::*;

/// A loopback port nothing listens on: a request that bypassed the proxy by mistake fails.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `--resolve` pinning `origin.invalid:PORT` to a closed loopback port, and the URL on it: the
/// name is never looked up, and only a proxy can answer for it.
fn unreachable_origin(path: &str) -> (String, String) {
    let port = closed_port();
    let pin = format!("origin.invalid:{port}:127.0.0.1");
    (pin, format!("http://origin.invalid:{port}{path}"))
}

fn field<'h>(fields: &'h [(String, String)], name: &str) -> Option<&'h str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn plain_http_goes_to_the_proxy_with_an_absolute_target() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let (pin, url) = unreachable_origin("/a/b%20c?q=1#frag");
    let dir = tempdir();
    let out = fetch(
        dir.path(),
        &["--resolve", &pin, "-x", &proxy.url(), "-o", "out.txt", &url],
    );
    out.assert_ok();
    let target = url.trim_end_matches("#frag");
    let want = format!("proxied {target}\n");
    assert_eq!(read(dir.path(), "out.txt"), Some(want.into_bytes()));
    assert_eq!(proxy.request_lines(), [format!("GET {target} HTTP/1.1")]);
    let fields = request_fields(&proxy.heads()[0]);
    let host = url.trim_start_matches("http://").split('/').next();
    assert_eq!(field(&fields, "host"), host);
    assert_eq!(field(&fields, "proxy-connection"), None);
    assert_eq!(field(&fields, "proxy-authorization"), None);
}

#[test]
fn http_proxy_is_read_and_upper_case_http_proxy_is_ignored_as_curl_does() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let (pin, url) = unreachable_origin("/x");
    let dir = tempdir();
    let args = ["--resolve", pin.as_str(), "-o", "out.txt", url.as_str()];
    let out = fetch_env(dir.path(), &args, &[("http_proxy", &proxy.authority())]);
    out.assert_ok();
    assert_eq!(proxy.request_lines(), [format!("GET {url} HTTP/1.1")]);
    let server = fault_server();
    let direct = url_of(&server, "hello.txt");
    let out = fetch_env(
        dir.path(),
        &["-o", "direct.txt", &direct],
        &[("HTTP_PROXY", &proxy.url())],
    );
    out.assert_ok();
    assert_eq!(read(dir.path(), "direct.txt").as_deref(), Some(HELLO));
    assert_eq!(proxy.heads().len(), 1, "HTTP_PROXY was used");
}

type Flags<'a> = Vec<&'a str>;
type Env<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn no_proxy_noproxy_and_an_empty_proxy_flag_go_direct() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let server = fault_server();
    let url = url_of(&server, "hello.txt");
    let dir = tempdir();
    let via = proxy.url();
    let cases: Vec<(Flags, Env)> = vec![
        (
            vec![],
            vec![("http_proxy", &via), ("no_proxy", "127.0.0.1")],
        ),
        (
            vec![],
            vec![("http_proxy", &via), ("NO_PROXY", "127.0.0.0/8")],
        ),
        (vec![], vec![("http_proxy", &via), ("no_proxy", "*")]),
        (vec!["--noproxy", "*"], vec![("http_proxy", &via)]),
        (
            vec!["--noproxy", "localhost,127.0.0.1"],
            vec![("http_proxy", &via)],
        ),
        (vec!["-x", ""], vec![("http_proxy", &via)]),
        (vec!["-x", &via, "--noproxy", "*"], vec![]),
    ];
    for (flags, env) in cases {
        let mut args = flags.clone();
        args.extend(["-o", "out.txt", url.as_str()]);
        let out = fetch_env(dir.path(), &args, &env);
        out.assert_ok();
        assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
        assert!(proxy.heads().is_empty(), "{flags:?} {env:?} used the proxy");
    }
    // A no_proxy entry for another host keeps the proxy in use; --noproxy overrides no_proxy.
    let env = [("http_proxy", via.as_str()), ("no_proxy", "127.0.0.2")];
    fetch_env(dir.path(), &["-o", "out.txt", &url], &env).assert_ok();
    let env = [("http_proxy", via.as_str()), ("no_proxy", "127.0.0.1")];
    let args = ["--noproxy", "", "-o", "out.txt", url.as_str()];
    fetch_env(dir.path(), &args, &env).assert_ok();
    assert_eq!(proxy.heads().len(), 2);
}

/// Fetch `hello.txt` from a TLS fixture through `proxy` (as `-x`, or from `env` when `flag` is
/// false), trusting the fixture's CA; returns the outcome, the URL and the body saved.
fn fetch_tls_through(
    proxy: &TestProxy,
    host: &str,
    env_name: Option<&str>,
) -> (Outcome, String, Option<Vec<u8>>) {
    let server = tls_fault_server();
    let url = format!("https://{host}:{}/hello.txt", server.addr().port());
    let dir = tempdir();
    let ca = write_fixture_ca(&server, dir.path());
    let via = proxy.url();
    let mut args = vec!["--cacert", ca.as_str(), "-o", "out.txt"];
    let env: Vec<(&str, &str)> = match env_name {
        Some(name) => vec![(name, via.as_str())],
        None => {
            args.extend(["-x", via.as_str()]);
            vec![]
        }
    };
    args.push(&url);
    let out = fetch_env(dir.path(), &args, &env);
    assert_no_part_files(dir.path());
    (out, url, read(dir.path(), "out.txt"))
}

#[test]
fn https_goes_through_connect_then_tls_to_the_origin() {
    for env in [None, Some("https_proxy"), Some("HTTPS_PROXY")] {
        let proxy = TestProxy::start(OnConnect::Tunnel);
        let (out, url, body) = fetch_tls_through(&proxy, "localhost", env);
        out.assert_ok();
        assert_eq!(body.as_deref(), Some(HELLO), "{env:?}");
        let authority = url
            .trim_start_matches("https://")
            .trim_end_matches("/hello.txt");
        assert_eq!(
            proxy.request_lines(),
            [format!("CONNECT {authority} HTTP/1.1")]
        );
        let fields = request_fields(&proxy.heads()[0]);
        assert_eq!(field(&fields, "host"), Some(authority));
    }
}

#[test]
fn a_refused_connect_is_exit_56_in_words_and_keeps_the_destination() {
    let cases = [
        (
            "407 Proxy Authentication Required",
            "answered 407 Proxy Authentication Required to CONNECT",
        ),
        ("502 Bad Gateway", "answered 502 Bad Gateway to CONNECT"),
    ];
    for (status, says) in cases {
        let proxy = TestProxy::start(OnConnect::Refuse(status));
        let (out, url, body) = fetch_tls_through(&proxy, "127.0.0.1", None);
        out.assert_fails(56, Some(&url));
        assert!(
            out.stderr
                .starts_with("rawhttp: proxy tunnel failed: proxy "),
            "{out:?}"
        );
        assert!(out.stderr.contains(says), "{out:?}");
        assert_eq!(body, None, "a refused tunnel left a file");
    }
}

#[test]
fn credentials_in_the_proxy_url_are_sent_as_proxy_authorization() {
    let proxy = TestProxy::start(OnConnect::Refuse("407 Proxy Authentication Required"));
    let via = format!("http://user:pa%20ss@{}", proxy.authority());
    let (pin, url) = unreachable_origin("/x");
    let dir = tempdir();
    fetch(
        dir.path(),
        &["--resolve", &pin, "-x", &via, "-o", "o", &url],
    )
    .assert_ok();
    let https = "https://127.0.0.1:1/";
    let out = fetch(dir.path(), &["-x", &via, "-o", "o2", https]);
    out.assert_fails(56, Some(https));
    assert!(out.stderr.contains("refused the credentials"), "{out:?}");
    for head in proxy.heads() {
        let fields = request_fields(&head);
        // RFC 7617: base64("user:pa ss").
        assert_eq!(
            field(&fields, "proxy-authorization"),
            Some("Basic dXNlcjpwYSBzcw==")
        );
    }
    assert_eq!(proxy.heads().len(), 2);
}

#[test]
fn proxy_failures_have_curls_exit_codes() {
    let server = fault_server();
    let url = url_of(&server, "hello.txt");
    let dir = tempdir();
    // The proxy has no IPv4 address: it cannot be resolved (exit 5), with no DNS query.
    let out = fetch(dir.path(), &["-4", "-x", "http://[::1]:9", "-o", "o", &url]);
    out.assert_fails(5, Some(&url));
    assert!(
        out.stderr.contains("could not resolve proxy [::1]:9"),
        "{out:?}"
    );
    let out = fetch(dir.path(), &["-x"]);
    out.assert_fails_without_url(2);
    assert!(out.stderr.contains("'--proxy <URL>'"), "{out:?}");
    let out = fetch(dir.path(), &["-x", "http://[bad", "-o", "o", &url]);
    out.assert_fails(5, Some(&url));
    let out = fetch(dir.path(), &["-x", "socks5://127.0.0.1:9", "-o", "o", &url]);
    out.assert_fails(7, Some(&url));
    assert!(
        out.stderr.contains("unsupported proxy scheme socks5://"),
        "{out:?}"
    );
    let closed = format!("127.0.0.1:{}", closed_port());
    let out = fetch(dir.path(), &["-x", &closed, "-o", "o", &url]);
    out.assert_fails(7, Some(&url));
    assert!(out.stderr.contains(&format!("proxy {closed}")), "{out:?}");
    assert!(names(dir.path()).is_empty());
}

/// Read a response's body to the end and give its connection back.
fn drain(mut response: rawhttp::fetch::Response) -> Vec<u8> {
    let mut body = Vec::new();
    response.read_to_end(&mut body).expect("body");
    assert!(response.release(), "connection not pooled");
    body
}

#[test]
fn pooled_connections_are_keyed_by_proxy_for_http_and_by_origin_for_tunnels() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let pool = Arc::new(Pool::new(4));
    let proxies = Proxies::all(&proxy.url(), "");
    let get = |url: &str| {
        let url = url::Url::parse(url).expect("url");
        Request::get(url)
            .proxies(proxies.clone())
            .pool(pool.clone())
    };
    let a = drain(get("http://a.invalid/1").send().expect("first"));
    let b = drain(get("http://b.invalid:8080/2").send().expect("second"));
    assert_eq!(a, b"proxied http://a.invalid/1\n");
    assert_eq!(b, b"proxied http://b.invalid:8080/2\n");
    assert_eq!((proxy.connections(), pool.reused()), (1, 1));

    let server = tls_fault_server();
    let port = server.addr().port();
    let tls = server.client_tls_config();
    for host in ["localhost", "127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{port}/hello.txt");
        let response = get(&url).tls_config(tls.clone()).send().expect("https");
        assert_eq!(drain(response), HELLO);
    }
    let connects: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("CONNECT "))
        .collect();
    assert_eq!(
        connects,
        [
            format!("CONNECT localhost:{port} HTTP/1.1"),
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1"),
        ]
    );
    assert_eq!((proxy.connections(), pool.reused()), (3, 2));
}

/// curl through the same proxy, without its config file or proxy variables.
fn curl(args: &[&str]) -> std::process::Output {
    let mut command = Command::new("curl");
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command
        .arg("-q")
        .args(["-sS"])
        .args(args)
        .output()
        .expect("run curl")
}

#[test]
fn curl_and_rawhttp_send_the_same_request_lines_through_the_same_proxy() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let (pin, url) = unreachable_origin("/p?q=1");
    let dir = tempdir();
    let out = fetch(
        dir.path(),
        &["--resolve", &pin, "-x", &proxy.url(), "-o", "r", &url],
    );
    out.assert_ok();
    let theirs = curl(&["--resolve", &pin, "-x", &proxy.url(), &url]);
    assert!(theirs.status.success(), "{theirs:?}");
    assert_eq!(read(dir.path(), "r"), Some(theirs.stdout));

    let server = tls_fault_server();
    let ca = write_fixture_ca(&server, dir.path());
    let url = format!("https://localhost:{}/hello.txt", server.addr().port());
    let out = fetch(
        dir.path(),
        &["--cacert", &ca, "-x", &proxy.url(), "-o", "s", &url],
    );
    out.assert_ok();
    let theirs = curl(&["--cacert", &ca, "-x", &proxy.url(), &url]);
    assert!(theirs.status.success(), "{theirs:?}");
    assert_eq!(read(dir.path(), "s"), Some(theirs.stdout));
    let lines = proxy.request_lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], lines[1], "plain HTTP request lines differ");
    assert_eq!(lines[2], lines[3], "CONNECT lines differ");
}

/// Python's urllib through the proxy (plain and CONNECT), trusting `ca` for https.
const PYTHON_VIA_PROXY: &str = "import ssl, sys, urllib.request as u\n\
ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
proxy = u.ProxyHandler({'http': sys.argv[2], 'https': sys.argv[2]})\n\
opener = u.build_opener(proxy, u.HTTPSHandler(context=ctx))\n\
sys.stdout.buffer.write(opener.open(sys.argv[3]).read())\n";

#[test]
fn python_and_rawhttp_fetch_the_same_bytes_through_the_same_proxy() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let server = tls_fault_server();
    let dir = tempdir();
    let ca = write_fixture_ca(&server, dir.path());
    let (pin, plain) = unreachable_origin("/p?q=1");
    let tls = format!("https://localhost:{}/hello.txt", server.addr().port());
    for (i, url) in [plain.as_str(), tls.as_str()].into_iter().enumerate() {
        let name = format!("r{i}");
        let args = [
            "--resolve",
            &pin,
            "--cacert",
            &ca,
            "-x",
            &proxy.url(),
            "-o",
            &name,
            url,
        ];
        fetch(dir.path(), &args).assert_ok();
        let mut python = Command::new("python3");
        for variable in PROXY_VARIABLES {
            python.env_remove(variable);
        }
        let theirs = python
            .args(["-c", PYTHON_VIA_PROXY, &ca, &proxy.url(), url])
            .output()
            .expect("run python3");
        assert!(theirs.status.success(), "{theirs:?}");
        assert_eq!(read(dir.path(), &name), Some(theirs.stdout), "{url}");
    }
    let lines = proxy.request_lines();
    assert_eq!(lines[0], lines[1], "plain HTTP request lines differ");
    assert!(
        lines[2].starts_with("CONNECT localhost:") && lines[3].starts_with("CONNECT localhost:")
    );
}

#[test]
fn a_batch_through_a_proxy_reuses_the_proxys_connections_across_origins() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let dir = tempdir();
    let urls: Vec<String> = (0..8)
        .map(|i| format!("http://host{}.invalid/{i}", i % 4))
        .collect();
    let list: String = urls.iter().map(|u| format!("{u}\n")).collect();
    std::fs::write(dir.path().join("urls.txt"), list).expect("write list");
    let seq = [
        "--input-file",
        "urls.txt",
        "-x",
        &proxy.url(),
        "--output-dir",
        "seq",
        "--remote-name-all",
    ];
    fetch(dir.path(), &seq).assert_ok();
    assert_eq!(
        proxy.connections(),
        1,
        "sequential: one kept-alive proxy connection"
    );
    let par = [
        "-Z",
        "--parallel-max",
        "2",
        "--input-file",
        "urls.txt",
        "-x",
        &proxy.url(),
        "--output-dir",
        "par",
        "--remote-name-all",
    ];
    fetch(dir.path(), &par).assert_ok();
    assert!(
        proxy.connections() <= 3,
        "parallel: {} connections",
        proxy.connections()
    );
    for (i, url) in urls.iter().enumerate() {
        let want = format!("proxied {url}\n").into_bytes();
        for sub in ["seq", "par"] {
            let got = read(&dir.path().join(sub), &i.to_string());
            assert_eq!(got.as_ref(), Some(&want), "{sub}/{i}");
        }
    }
    assert_eq!(proxy.heads().len(), 16);
}

#[test]
fn verbose_shows_the_proxy_connection_and_the_connect_exchange_as_curl_does() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let server = tls_fault_server();
    let dir = tempdir();
    let ca = write_fixture_ca(&server, dir.path());
    let authority = format!("localhost:{}", server.addr().port());
    let url = format!("https://{authority}/hello.txt");
    let args = ["-v", "--cacert", &ca, "-x", &proxy.url(), "-o", "out", &url];
    let out = fetch(dir.path(), &args);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = |want: &str| {
        lines
            .iter()
            .position(|l| l.trim_end() == want)
            .unwrap_or_else(|| panic!("no {want:?} in {lines:#?}"))
    };
    let connected = at(&format!(
        "* Connected to 127.0.0.1 (127.0.0.1) port {}",
        proxy.authority().rsplit(':').next().unwrap_or("")
    ));
    let connect = at(&format!("> CONNECT {authority} HTTP/1.1"));
    let established = at("< HTTP/1.1 200 Connection Established");
    let get = at("> GET /hello.txt HTTP/1.1");
    assert!(connected < connect && connect < established && established < get);
    assert_eq!(read(dir.path(), "out").as_deref(), Some(HELLO));
}

#[test]
fn save_goes_through_the_proxy_too() {
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let server = tls_fault_server();
    let dir = tempdir();
    let ca = write_fixture_ca(&server, dir.path());
    let authority = format!("localhost:{}", server.addr().port());
    let url = format!("https://{authority}/hello.txt");
    let args = ["save", "--cacert", &ca, "-x", &proxy.url(), &url, "site"];
    let out = rawhttp(dir.path(), &args);
    assert_eq!(out.code, 0, "{out:?}");
    let saved: Vec<_> = walk(&dir.path().join("site"));
    let hello = saved
        .iter()
        .find(|p| p.ends_with("hello.txt"))
        .unwrap_or_else(|| panic!("no hello.txt in {saved:?}"));
    assert_eq!(std::fs::read(hello).ok().as_deref(), Some(HELLO));
    let connects: Vec<String> = proxy
        .request_lines()
        .into_iter()
        .filter(|l| l.starts_with("CONNECT "))
        .collect();
    assert!(!connects.is_empty(), "save did not use the proxy");
    assert!(connects
        .iter()
        .all(|l| *l == format!("CONNECT {authority} HTTP/1.1")));
}
