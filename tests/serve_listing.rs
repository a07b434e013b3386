//! Directory listings and error pages over loopback, with curl as the peer: the sortable
//! table, names a link must encode (tab), huge directories streamed chunked (or until close
//! for HTTP/1.0), the sort cap, and HTML errors only for clients that ask for HTML.

mod serve_cli;

use std::path::Path;

use serve_cli::{curl, raw_exchange, split_response, Serve};

fn text(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout.clone()).expect("UTF-8 page")
}

/// `n` files `f1.txt` … `fN.txt` in `dir` (sizes grow with the number).
fn fill(dir: &Path, n: usize) {
    for i in 1..=n {
        std::fs::write(dir.join(format!("f{i}.txt")), vec![b'x'; i % 50]).unwrap();
    }
}

#[test]
fn listing_is_a_sorted_table_and_tab_names_link_to_their_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a\tb.txt"), b"tabbed").unwrap();
    std::fs::write(dir.path().join("Zeta"), vec![0u8; 3 * 1024 * 1024]).unwrap();
    std::fs::write(dir.path().join("file10"), b"ten").unwrap();
    std::fs::write(dir.path().join("file9"), b"nine!").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let s = Serve::dir(dir.path(), &[]);

    let out = curl(&["-D", "-", &s.url]);
    let page = text(&out);
    let csp = page
        .lines()
        .find_map(|l| l.strip_prefix("Content-Security-Policy: "))
        .expect("a CSP");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    let order: Vec<usize> = ["sub/", "a%09b.txt", "file9", "file10", "Zeta"]
        .iter()
        .map(|n| page.find(&format!("href=\"./{n}\"")).expect(n))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "dirs first, natural: {page}"
    );
    assert!(
        page.contains("title=\"3145728 bytes\">3 MiB</td>"),
        "{page}"
    );
    // The tab is encoded in the link, and the link answers.
    let tabbed = curl(&[&s.at("a%09b.txt")]);
    assert_eq!(text(&tabbed), "tabbed");

    let by_size = text(&curl(&[&s.at("?sort=size&order=desc")]));
    let (big, small) = (by_size.find("./Zeta\""), by_size.find("./file10\""));
    assert!(big < small, "largest first");
    assert!(by_size.contains("aria-sort=\"descending\""));
}

#[test]
fn huge_directories_stream_to_curl_and_to_http10_until_close() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3000; // past LISTING_INLINE_ENTRIES (256): streamed
    fill(dir.path(), n);
    let s = Serve::dir(dir.path(), &["--threads", "1"]);

    let out = curl(&["-D", "-", &s.url]);
    let page = text(&out);
    assert!(
        page.contains("Transfer-Encoding: chunked"),
        "{}",
        &page[..400]
    );
    assert!(!page.contains("Content-Length"));
    assert_eq!(page.matches("<tr><td><a href=\"./f").count(), n);
    assert!(
        page.find("./f2.txt\"") < page.find("./f10.txt\""),
        "natural"
    );
    assert!(page.ends_with("0 directories, 3000 files · rawhttp</footer>\n</body></html>\n"));

    let json = curl(&["-H", "Accept: application/json", &s.url]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let list = v.as_array().expect("array");
    assert_eq!(list.len(), n);
    assert_eq!(list[0]["name"], "f1.txt");
    assert_eq!(list[0]["type"], "file");
    assert!(list[0]["modified"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    let raw = raw_exchange(s.addr, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n");
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!head.contains("Transfer-Encoding") && !head.contains("Content-Length"));
    let body = String::from_utf8(body).unwrap();
    assert_eq!(body.matches("<tr><td><a href=\"./f").count(), n);
    assert!(body.ends_with("</html>\n"));

    // HEAD: the GET head, no body (the next response on the connection parses).
    let raw = raw_exchange(
        s.addr,
        b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /f1.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(text.ends_with("\r\n\r\nx"), "{text}");
}

#[test]
fn huge_listings_stream_over_tls_too() {
    let dir = tempfile::tempdir().unwrap();
    let n = 2000;
    fill(dir.path(), n);
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("ca.pem");
    let ca = serve_cli::path_str(&ca);
    let s = Serve::dir(dir.path(), &["--self-signed", "--write-ca", ca]);
    assert!(s.url.starts_with("https://"), "{}", s.url);
    let page = text(&curl(&["--cacert", ca, "-D", "-", &s.url]));
    assert!(page.contains("Transfer-Encoding: chunked"));
    assert_eq!(page.matches("<tr><td><a href=\"./f").count(), n);
    assert!(page.ends_with("</html>\n"));
}

#[test]
fn past_the_sort_cap_the_page_says_so_and_links_the_json_stream() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000 + 50; // LISTING_SORT_CAP + 50
    fill(dir.path(), n);
    let s = Serve::dir(dir.path(), &[]);
    let page = text(&curl(&[&s.url]));
    assert_eq!(page.matches("<tr><td><a href=\"./f").count(), 10_000);
    assert!(page.contains("the first 10000 entries read are shown"));
    let json = curl(&[&s.at("?format=json")]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(n));
}

#[test]
fn errors_are_small_pages_for_browsers_and_plain_for_tools() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.txt"), b"f").unwrap();
    let s = Serve::dir(dir.path(), &[]);
    let html = ["-H", "Accept: text/html,application/xhtml+xml,*/*;q=0.8"];
    let path = serve_cli::path_str(dir.path());
    let cases = [
        ("nope.txt", vec![], 404),
        ("f.txt", vec!["-X", "DELETE"], 405),
        ("f.txt", vec!["-H", "Range: bytes=5-"], 416),
        ("%00", vec![], 400),
    ];
    for (target, extra, status) in cases {
        let url = s.at(target);
        let mut args = extra.clone();
        args.extend(["-D", "-", url.as_str()]);
        let plain = text(&curl(&args));
        assert!(plain.contains("Content-Type: text/plain"), "{plain}");
        assert!(plain.contains(&format!("\r\n\r\n{status} ")), "{plain}");
        args.extend(html);
        let page = text(&curl(&args));
        assert!(page.starts_with(&format!("HTTP/1.1 {status}")), "{page}");
        assert!(page.contains("Content-Type: text/html; charset=utf-8"));
        assert!(page.contains("Content-Security-Policy: default-src 'none'"));
        assert!(page.contains(&format!("<h1>{status} ")), "{page}");
        assert!(
            !page.contains(path) && !page.contains("nope"),
            "no path: {page}"
        );
    }
}
