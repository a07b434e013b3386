//! `rawhttp save` over loopback: fixtures/site (nested folders, relative / absolute /
//! root-relative links, srcset, CSS url() and @import, <base>, a query asset, a 404 requisite,
//! a second host, self-links and a cycle, hostile hrefs, robots.txt) served by `rawhttp serve`
//! and by `python3 -m http.server`. Asserts the tree on disk, that every rewritten local link
//! resolves to a saved file, that nothing lands outside DIR, re-saving with validators, and
//! (headless Chromium) that the saved page shows every image offline.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rawhttp::save::css::rewrite_css;
use rawhttp::save::html::{rewrite_html, LinkKind, Linker};
use rawhttp::serve::{Server, ServerHandle};
use support::{assert_no_part_files, names, rawhttp, tempdir, Outcome};
use url::Url;

const CHROMIUM: &str = "/usr/bin/chromium";

/// What a page save (no --recursive) of `/` leaves in DIR, state folder aside.
const PAGE_FILES: &[&str] = &[
    "css/base.css",
    "css/site.css",
    "css/theme.css@v=2.css",
    "img/a-1x.png",
    "img/a-2x.png",
    "img/bg.png",
    "img/button.png",
    "img/logo.png",
    "img/nested.png",
    "index.html",
    "js/check.js",
    "media/poster.png",
];

/// What --recursive adds (robots.txt keeps /private/ out; the second host is not spanned).
const SITE_EXTRA: &[&str] = &[
    "docs/a.html",
    "docs/b.html",
    "docs/deeper/c.html",
    "docs/guide/diagram.png",
    "docs/guide/index.html",
];

/// The fixture site copied into a temporary folder, its link to the second host pointing at
/// `second` (a real server on another port).
fn site_copy(second: &str) -> tempfile::TempDir {
    let dir = tempdir();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/site"),
        dir.path(),
    );
    let index = dir.path().join("index.html");
    let html = std::fs::read_to_string(&index).expect("fixture index");
    std::fs::write(
        &index,
        html.replace("SECOND_ORIGIN", second.trim_end_matches('/')),
    )
    .expect("write index");
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixture dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The second host: another server, on another port, with one page.
fn second_host() -> ServerHandle {
    Server::in_memory()
        .file(
            "remote.html",
            "<!doctype html><title>remote</title><p>elsewhere</p>",
        )
        .start()
        .expect("second server")
}

/// `python3 -m http.server` on 127.0.0.1, port 0; killed on drop.
struct Python {
    child: Child,
    url: String,
}

impl Python {
    fn start(dir: &Path) -> Python {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let url = line
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(url, _)| url.to_string())
            .unwrap_or_else(|| panic!("unexpected python ready line {line:?}"));
        Python { child, url }
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rawhttp save ARGS` in `work`.
fn save(work: &Path, args: &[&str]) -> Outcome {
    let mut all = vec!["save"];
    all.extend_from_slice(args);
    rawhttp(work, &all)
}

/// Files under `dir`, without save's own state folder.
fn saved_files(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| !n.starts_with(".rawhttp-save/"))
        .collect()
}

fn sorted(lists: &[&[&str]]) -> Vec<String> {
    let mut all: Vec<String> = lists
        .iter()
        .flat_map(|l| l.iter().map(|s| s.to_string()))
        .collect();
    all.sort();
    all
}

/// Every link of a saved document, resolved as a browser would from DIR: a local link
/// becomes `http://local.test/PATH`.
struct Links(Vec<Url>);

impl Linker for Links {
    fn link(&mut self, url: Url, _kind: LinkKind) -> Option<String> {
        self.0.push(url);
        None
    }
}

fn links_of(dir: &Path, name: &str) -> Vec<Url> {
    let bytes = std::fs::read(dir.join(name)).expect("saved file");
    let base = Url::parse("http://local.test/")
        .and_then(|u| u.join(name))
        .expect("base");
    let mut links = Links(Vec::new());
    if name.ends_with(".html") {
        rewrite_html(&bytes, &base, &mut links).expect("parses");
    } else if name.ends_with(".css") || name.contains(".css@") {
        rewrite_css(&String::from_utf8_lossy(&bytes), &base, &mut links);
    }
    links.0
}

/// Every local link in every saved HTML/CSS file names a saved file; every other link is
/// absolute to `origin` or to the second host. Returns the absolute links.
fn assert_links_resolve(dir: &Path, origin: &str) -> Vec<String> {
    let mut absolute = Vec::new();
    for name in saved_files(dir) {
        for link in links_of(dir, &name) {
            if link.host_str() == Some("local.test") {
                let path = rawhttp::fetch::save::percent_decode(link.path().as_bytes());
                let path = String::from_utf8(path).expect("utf-8 path");
                assert!(
                    dir.join(path.trim_start_matches('/')).is_file(),
                    "{name}: local link {link} leads nowhere"
                );
            } else {
                absolute.push(link.to_string());
            }
        }
    }
    assert!(
        absolute.iter().all(|l| l.starts_with("http://")),
        "{absolute:?}"
    );
    assert!(
        absolute.iter().any(|l| l.starts_with(origin)),
        "{absolute:?}"
    );
    absolute
}

/// The work folder holds DIR and nothing else: no file was written outside it.
fn assert_only_dir(work: &Path, dir: &str) {
    let top: Vec<String> = std::fs::read_dir(work)
        .expect("work dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, vec![dir.to_string()]);
}

fn check_page_save(origin: &str) {
    let work = tempdir();
    let out = save(work.path(), &[origin, "out"]);
    // The 404 requisite fails (exit 22, its own line); the page is saved all the same.
    out.assert_fails(22, Some(&format!("{origin}img/missing.png")));
    let dir = work.path().join("out");
    assert_eq!(saved_files(&dir), sorted(&[PAGE_FILES]));
    let absolute = assert_links_resolve(&dir, origin);
    for expected in [
        "img/missing.png",
        "docs/a.html#section",
        "private/secret.html",
    ] {
        let want = format!("{origin}{expected}");
        assert!(absolute.contains(&want), "{want} not in {absolute:?}");
    }
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index");
    assert!(index.contains(r#"href="css/theme.css@v=2.css""#), "{index}");
    assert!(
        index.contains(r#"srcset="img/a-1x.png 1x, img/a-2x.png 2x""#),
        "{index}"
    );
    assert!(index.contains(r#"href="javascript:alert(1)""#), "{index}");
    assert!(index.contains(r#"href="data:text/plain,hello""#), "{index}");
    assert!(index.contains(r##"href="#top""##), "{index}");
    let css = std::fs::read_to_string(dir.join("css/site.css")).expect("css");
    assert!(css.contains(r#"@import "base.css";"#), "{css}");
    assert!(css.contains(r#"url("../img/logo.png")"#), "{css}");
    assert_no_part_files(work.path());
    assert_only_dir(work.path(), "out");
}

#[test]
fn a_page_saves_with_its_requisites_from_rawhttp_serve() {
    let second = second_host();
    let site = site_copy(second.url().as_str());
    let server = Server::new(site.path()).start().expect("server");
    check_page_save(server.url().as_str());
}

#[test]
fn a_page_saves_with_its_requisites_from_python_http_server() {
    let second = second_host();
    let site = site_copy(second.url().as_str());
    let python = Python::start(site.path());
    check_page_save(&python.url);
}

#[test]
fn recursive_saves_follow_pages_within_level_robots_and_host() {
    let second = second_host();
    let site = site_copy(second.url().as_str());
    let server = Server::new(site.path()).start().expect("server");
    let origin = server.url().to_string();
    let work = tempdir();
    save(work.path(), &["--recursive", "-Z", &origin, "site"]);
    let dir = work.path().join("site");
    assert_eq!(saved_files(&dir), sorted(&[PAGE_FILES, SITE_EXTRA]));
    let absolute = assert_links_resolve(&dir, &origin);
    assert!(absolute.contains(&format!("{}remote.html", second.url())));
    // The self-link and the cycle were fetched once each.
    let gets = |path: &str| {
        server
            .requests()
            .iter()
            .filter(|r| r.path() == path)
            .count()
    };
    assert_eq!(gets("/docs/a.html"), 1);
    assert_eq!(gets("/private/secret.html"), 0, "robots.txt disallows it");
    assert!(
        second.requests().is_empty(),
        "the second host was not spanned"
    );
    let guide = std::fs::read_to_string(dir.join("docs/guide/index.html")).expect("guide");
    assert!(!guide.contains("<base"), "{guide}");
    assert!(guide.contains(r#"src="../../media/poster.png""#), "{guide}");
    assert_only_dir(work.path(), "site");

    // --level 1 stops before b.html; --no-robots and --span-hosts widen the crawl.
    let work = tempdir();
    let out = save(
        work.path(),
        &[
            "-r",
            "-Z",
            "-l",
            "1",
            "--no-robots",
            "--span-hosts",
            &origin,
            "d",
        ],
    );
    let files = saved_files(&work.path().join("d"));
    assert!(
        files.contains(&"private/secret.html".to_string()),
        "{files:?} {out:?}"
    );
    assert!(!files.contains(&"docs/b.html".to_string()), "{files:?}");
    let port = second.addr().port();
    let remote = format!("_hosts/127.0.0.1_{port}/remote.html");
    assert!(files.contains(&remote), "{files:?}");
    assert_only_dir(work.path(), "d");
}

#[test]
fn resaving_sends_validators_and_replaces_only_what_changed() {
    let second = second_host();
    let site = site_copy(second.url().as_str());
    let server = Server::new(site.path()).start().expect("server");
    let origin = server.url().to_string();
    let work = tempdir();
    save(work.path(), &["-r", &origin, "out"]);
    let dir = work.path().join("out");
    let first_run = server.requests().len();
    let before = std::fs::read(dir.join("img/logo.png")).expect("logo");
    std::fs::write(site.path().join("css/theme.css"), "p { color: red; }\n").expect("edit");
    save(work.path(), &["-r", &origin, "out"]);
    let second_run: Vec<_> = server.requests().into_iter().skip(first_run).collect();
    let logo = second_run
        .iter()
        .find(|r| r.path() == "/img/logo.png")
        .expect("logo asked again");
    assert!(logo.header("if-none-match").is_some(), "{logo:?}");
    assert!(logo.header("if-modified-since").is_some(), "{logo:?}");
    assert_eq!(
        std::fs::read(dir.join("img/logo.png")).expect("logo"),
        before
    );
    let theme = std::fs::read_to_string(dir.join("css/theme.css@v=2.css")).expect("theme");
    assert_eq!(theme, "p { color: red; }\n");
    // Pages answered 304 are still rewritten from their kept originals.
    assert_eq!(saved_files(&dir), sorted(&[PAGE_FILES, SITE_EXTRA]));
    assert_links_resolve(&dir, &origin);
    assert_no_part_files(work.path());
}

#[test]
fn a_failing_start_url_saves_nothing_and_dir_defaults_to_the_host() {
    let server = Server::in_memory()
        .file("index.html", "<img src=a.png>")
        .file("a.png", "png")
        .start()
        .expect("server");
    let work = tempdir();
    let missing = format!("{}nope.html", server.url());
    save(work.path(), &[&missing]).assert_fails(22, Some(&missing));
    assert!(names(work.path()).is_empty(), "{:?}", names(work.path()));
    save(work.path(), &[server.url().as_str()]).assert_ok();
    assert_eq!(
        saved_files(&work.path().join("127.0.0.1")),
        ["a.png", "index.html"]
    );
    save(work.path(), &["ftp://x/", "d"]).assert_fails_without_url(1);
    save(work.path(), &["http://x/", "--accept", "a["]).assert_fails_without_url(2);
}

/// Headless Chromium opens the saved page from disk (no server) and a script in the page
/// writes whether every image loaded; the screenshot goes to `RAWHTTP_SHOTS` when set.
#[test]
fn the_saved_page_shows_every_image_offline_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    );
    let second = second_host();
    let site = site_copy(second.url().as_str());
    let server = Server::new(site.path()).start().expect("server");
    let work = tempdir();
    save(work.path(), &[server.url().as_str(), "out"]);
    drop(server);
    let page = Url::from_file_path(work.path().join("out/index.html")).expect("file URL");
    let dom = chromium(
        work.path(),
        &["--dump-dom", "--virtual-time-budget=5000"],
        &page,
    );
    assert!(
        dom.contains("images=3 broken=0 sheets=3 themed=true"),
        "{dom}"
    );
    let shot: PathBuf = match std::env::var_os("RAWHTTP_SHOTS") {
        Some(dir) => PathBuf::from(dir).join("save-offline.png"),
        None => work.path().join("shot.png"),
    };
    let arg = format!("--screenshot={}", shot.display());
    chromium(work.path(), &[&arg, "--window-size=800,900"], &page);
    let png = std::fs::read(&shot).expect("screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

fn chromium(work: &Path, args: &[&str], page: &Url) -> String {
    let out = Command::new("timeout")
        .args([
            "120",
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        // Tests often run as root in containers, where Chromium's sandbox cannot start.
        .args(["--no-sandbox", "--no-first-run"])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .args(args)
        .arg("--")
        .arg(page.as_str())
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Under a pseudo-terminal (script(1)) a save ends with its summary line; with stderr not a
/// terminal (every other test here) or with -s, nothing but failures is written.
#[test]
fn the_summary_line_shows_on_a_terminal_only() {
    let server = Server::in_memory()
        .file("index.html", "<img src=a.png><img src=gone.png>")
        .file("a.png", "png")
        .start()
        .expect("server");
    let work = tempdir();
    let bin = env!("CARGO_BIN_EXE_rawhttp");
    let url = server.url();
    let on_tty = |flags: &str| {
        let out = Command::new("script")
            .args([
                "-qec",
                &format!("{bin} save {flags} '{url}' out"),
                "/dev/null",
            ])
            .current_dir(work.path())
            .stdin(Stdio::null())
            .output()
            .expect("script(1) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_tty("");
    assert!(
        shown.contains("rawhttp: saved 2 files (") && shown.contains(" to out in "),
        "{shown:?}"
    );
    assert!(shown.contains(", 1 failed"), "{shown:?}");
    assert!(shown.contains("server answered 404"), "{shown:?}");
    let quiet = on_tty("-s");
    assert!(!quiet.contains("rawhttp:"), "{quiet:?}");
    let piped = save(work.path(), &[url.as_str(), "out2"]);
    assert!(!piped.stderr.contains("rawhttp: saved"), "{piped:?}");
}

/// Over TLS the shared connection flags apply: --cacert trusts the fixture's certificate, an
/// unreadable --cacert is exit 77 before anything is fetched, and without trust the start
/// URL fails with 60 and nothing is saved.
#[test]
fn https_saves_trust_the_cacert_given() {
    let server = Server::in_memory()
        .file("index.html", "<link rel=stylesheet href=s.css><p>tls</p>")
        .file("s.css", "p { background: url(bg.png) }")
        .file("bg.png", "png")
        .self_signed_tls()
        .start()
        .expect("tls server");
    let work = tempdir();
    let ca = work.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("write ca");
    let url = server.url().to_string();
    let ca_arg = ca.to_string_lossy().into_owned();
    save(work.path(), &["--cacert", &ca_arg, &url, "out"]).assert_ok();
    assert_eq!(
        saved_files(&work.path().join("out")),
        ["bg.png", "index.html", "s.css"]
    );
    let css = std::fs::read_to_string(work.path().join("out/s.css")).expect("css");
    assert_eq!(css, "p { background: url(\"bg.png\") }");
    save(work.path(), &["--cacert", "missing.pem", &url, "x"]).assert_fails_without_url(77);
    save(work.path(), &[&url, "untrusted"]).assert_fails(60, Some(&url));
    assert!(!work.path().join("untrusted").exists());
    assert!(!work.path().join("x").exists());
}

/// `--retry` and `-w` are fetch's own: a requisite reset once is fetched again and saved whole,
/// one `%{json}` object per transfer goes to stdout, and without `--retry` the same reset is a
/// failure (exit 56) that leaves no part file and an absolute link.
#[test]
fn retries_and_write_out_behave_as_in_fetch() {
    use rawhttp::serve::faults::Faults;
    let body = "x".repeat(4000);
    let server = || {
        Server::in_memory()
            .file("index.html", "<img src=a.png><img src=b.png>")
            .file("a.png", body.clone())
            .file("b.png", "b")
            .fault_for_nth(
                "/a.png",
                1,
                Faults {
                    reset: Some(100),
                    ..Faults::default()
                },
            )
            .start()
            .expect("server")
    };
    let work = tempdir();
    let s = server();
    let url = s.url().to_string();
    let out = save(
        work.path(),
        &[
            "--retry",
            "2",
            "--retry-delay",
            "0",
            "-w",
            "%{json}\n",
            &url,
            "out",
        ],
    );
    out.assert_ok();
    let dir = work.path().join("out");
    assert_eq!(std::fs::read_to_string(dir.join("a.png")).expect("a"), body);
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), 3, "{records:?}");
    let a = records
        .iter()
        .find(|r| r["url"].as_str().is_some_and(|u| u.ends_with("/a.png")))
        .expect("a.png record");
    assert_eq!(a["retries"], 1, "{a}");
    assert_eq!(a["http_code"], 200, "{a}");
    assert_eq!(a["verdict"], "complete", "{a}");
    assert_eq!(a["sha256"].as_str().map(str::len), Some(64), "{a}");
    let saved_as = a["filename_effective"].as_str().expect("file name");
    assert!(saved_as.ends_with("out/a.png"), "{a}");

    let work = tempdir();
    let s = server();
    let url = s.url().to_string();
    save(work.path(), &["-Z", &url, "out"]).assert_fails(56, Some(&format!("{url}a.png")));
    let dir = work.path().join("out");
    assert_eq!(saved_files(&dir), ["b.png", "index.html"]);
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index");
    assert!(index.contains(&format!("src=\"{url}a.png\"")), "{index}");
    assert_no_part_files(work.path());
}

/// `-x` is fetch's proxy: the save's request goes to the proxy in absolute form (the origin,
/// pinned to a closed port, could not answer), and what it answers is saved.
#[test]
fn saves_go_through_the_proxy_given() {
    use support::{OnConnect, TestProxy};
    let proxy = TestProxy::start(OnConnect::Tunnel);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let pin = format!("origin.invalid:{closed}:127.0.0.1");
    let url = format!("http://origin.invalid:{closed}/page.txt");
    let work = tempdir();
    save(
        work.path(),
        &["--resolve", &pin, "-x", &proxy.url(), &url, "out"],
    )
    .assert_ok();
    assert_eq!(proxy.request_lines(), [format!("GET {url} HTTP/1.1")]);
    let saved = std::fs::read_to_string(work.path().join("out/page.txt")).expect("saved");
    assert_eq!(saved, format!("proxied {url}\n"));
}

/// `--wait SECS` spaces the requests (one transfer at a time, even with `-Z`), so three files
/// take at least two waits; `--wait 0` means no pause, as in wget.
#[test]
fn wait_spaces_requests_and_zero_does_not_pause() {
    let server = Server::in_memory()
        .file("index.html", "<img src=a.png><img src=b.png>")
        .file("a.png", "a")
        .file("b.png", "b")
        .start()
        .expect("server");
    let url = server.url().to_string();
    let work = tempdir();
    let out = save(work.path(), &["-Z", "--wait", "0.4", &url, "waited"]);
    out.assert_ok();
    assert_eq!(saved_files(&work.path().join("waited")).len(), 3, "{out:?}");
    assert!(
        out.elapsed >= std::time::Duration::from_millis(800),
        "three requests with --wait 0.4 took only {:?}",
        out.elapsed
    );
    let out = save(work.path(), &["--wait", "0", &url, "unwaited"]);
    out.assert_ok();
    assert_eq!(
        saved_files(&work.path().join("unwaited")).len(),
        3,
        "{out:?}"
    );
}
