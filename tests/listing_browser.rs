//! A real browser over a listing and an error page: headless Chromium (Debian `chromium`,
//! installed by `.ci/run`) takes screenshots (desktop, and phone in dark mode) into the test's
//! temporary folder and dumps the DOM, which must hold the table rows in order, the sort links
//! and escaped names; its console must report no Content-Security-Policy violation (which
//! would mean the inline stylesheet was blocked). `RAWHTTP_KEEP_SHOTS=1` keeps the folder and
//! prints its path, to look at the pictures.

mod serve_cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serve_cli::Serve;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Run headless Chromium on `url` with `args`, its profile inside `work`; `timeout(1)` ends a
/// hung browser so the test fails rather than hangs.
fn chromium(work: &Path, args: &[&str], url: &str) -> Output {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    );
    let profile = work.join("profile");
    let out = Command::new("timeout")
        .args([
            "120",
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        // Tests often run as root in containers, where Chromium's sandbox cannot start.
        .args(["--no-sandbox", "--no-first-run", "--enable-logging=stderr"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg("--")
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {out:?}");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains("Content Security Policy"),
        "the page broke its own CSP: {log}"
    );
    out
}

/// A screenshot of `url` at `size` into `file`; returns the PNG's (width, height) from its
/// IHDR chunk.
fn screenshot(work: &Path, url: &str, size: &str, extra: &[&str], file: &Path) -> (u32, u32) {
    let shot = format!("--screenshot={}", file.display());
    let window = format!("--window-size={size}");
    let mut args = vec![shot.as_str(), window.as_str()];
    args.extend_from_slice(extra);
    chromium(work, &args, url);
    let png = std::fs::read(file).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

fn dom(work: &Path, url: &str) -> String {
    let out = chromium(work, &["--dump-dom"], url);
    String::from_utf8(out.stdout).expect("UTF-8 DOM")
}

/// The temporary folder, kept (and named) when RAWHTTP_KEEP_SHOTS=1.
fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn finish(dir: tempfile::TempDir) {
    if std::env::var_os("RAWHTTP_KEEP_SHOTS").is_some() {
        eprintln!("screenshots kept in {}", dir.keep().display());
    }
}

#[test]
fn chromium_renders_the_listing_table_with_sort_links() {
    let (keep, work) = workdir();
    let root = work.join("www");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(root.join("big.bin"), vec![0u8; 3 << 20]).unwrap();
    std::fs::write(root.join("file10.txt"), b"10").unwrap();
    std::fs::write(root.join("file9.txt"), b"9").unwrap();
    std::fs::write(root.join("<b>&.txt"), b"odd").unwrap();
    std::fs::write(root.join("a\ttab.txt"), b"tab").unwrap();
    let s = Serve::dir(&root, &[]);

    let desktop = work.join("listing-desktop.png");
    assert_eq!(
        screenshot(&work, &s.url, "1000,700", &[], &desktop),
        (1000, 700)
    );
    let phone = work.join("listing-phone-dark.png");
    let dark = [
        "--force-dark-mode",
        "--blink-settings=preferredColorScheme=0",
    ];
    assert_eq!(
        screenshot(&work, &s.url, "390,700", &dark, &phone),
        (390, 700)
    );

    let html = dom(&work, &s.url);
    let rows: Vec<&str> = html
        .split("<tr><td><a href=\"./")
        .skip(1)
        .map(|r| r.split('"').next().unwrap_or(""))
        .collect();
    let want = [
        "docs/",
        "%3Cb%3E%26.txt",
        "a%09tab.txt",
        "big.bin",
        "file9.txt",
    ];
    assert_eq!(&rows[..5], want, "{html}");
    assert_eq!(rows.len(), 7);
    assert!(
        html.contains("&lt;b&gt;&amp;.txt</a>"),
        "escaped, not markup"
    );
    for sort in [
        "name&amp;order=desc",
        "size&amp;order=asc",
        "modified&amp;order=asc",
    ] {
        assert!(html.contains(&format!("href=\"?sort={sort}\"")), "{sort}");
    }
    assert!(html.contains("title=\"3145728 bytes\">3 MiB<"));

    // Following a sort link is a plain GET: the page comes back in that order.
    let by_size = dom(&work, &s.at("?sort=size&order=desc"));
    assert!(by_size.find("./big.bin\"") < by_size.find("./hello.txt\""));
    assert!(by_size.contains("aria-sort=\"descending\""));
    finish(keep);
}

#[test]
fn chromium_gets_a_small_error_page() {
    let (keep, work) = workdir();
    let root = work.join("www");
    std::fs::create_dir_all(&root).unwrap();
    let s = Serve::dir(&root, &[]);
    let url = s.at("missing/zq-gone.txt");
    let shot = work.join("error-404.png");
    assert_eq!(screenshot(&work, &url, "700,400", &[], &shot), (700, 400));
    let html = dom(&work, &url);
    assert!(html.contains("<h1>404 Not Found</h1>"), "{html}");
    let root_text = root.to_string_lossy();
    assert!(!html.contains(root_text.as_ref()) && !html.contains("zq-gone"));
    finish(keep);
}
