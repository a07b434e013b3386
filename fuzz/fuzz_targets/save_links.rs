//! Fuzz `rawhttp save`'s link rewriter: `save::html::rewrite_html`, `save::css::rewrite_css`
//! and `save::srcset::rewrite_srcset`, driven as the crawl drives them.
//!
//! Input: byte 0 % 3 picks HTML, CSS or a `srcset` value; the rest is the document (HTML as
//! bytes, the others lossy UTF-8), saved from `http://site.test/dir/page.html`.
//! Pass 1 rewrites with a linker that answers as the crawl's does: a link to a "saved" URL
//! (about half of them, by a hash) becomes `relative_link` from the page's local path to the
//! URL's (fragment kept), any other becomes the absolute URL.
//! Checks: UTF-8 in gives UTF-8 out; pass 2 walks the output from the saved file's own
//! location (`http://local.invalid/D/<local path>`) and every link it finds is either inside
//! the folder `D` (relative-local) or one of the absolute URLs pass 1 wrote.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::save::css::rewrite_css;
use rawhttp::save::srcset::rewrite_srcset;
use rawhttp::save::html::{rewrite_html, LinkKind, Linker};
use rawhttp::save::paths::{local_path, relative_link};
use rawhttp::save::state::DocKind;
use std::path::PathBuf;
use url::Url;

/// Pass 1: the crawl's answers.
struct Saver {
    start: Url,
    from: PathBuf,
    absolute: Vec<Url>,
}

impl Linker for Saver {
    fn link(&mut self, url: Url, _kind: LinkKind) -> Option<String> {
        let saved = url.as_str().bytes().fold(0u8, |a, b| a ^ b) % 2 == 0;
        if !saved {
            self.absolute.push(url.clone());
            return Some(url.to_string());
        }
        let mut key = url.clone();
        key.set_fragment(None);
        let mut link = relative_link(&self.from, &local_path(&key, &self.start, DocKind::Other));
        if let Some(fragment) = url.fragment() {
            link.push('#');
            link.push_str(fragment);
        }
        Some(link)
    }
}

/// Pass 2: records what a reader of the saved file would follow.
#[derive(Default)]
struct Recorder(Vec<Url>);

impl Linker for Recorder {
    fn link(&mut self, url: Url, _kind: LinkKind) -> Option<String> {
        self.0.push(url);
        None
    }
}

fn saved_location(from: &PathBuf) -> Option<Url> {
    let mut base = Url::parse("http://local.invalid/D/").ok()?;
    {
        let mut segments = base.path_segments_mut().ok()?;
        segments.pop_if_empty();
        segments.extend(from.components().map(|c| c.as_os_str().to_string_lossy()));
    }
    Some(base)
}

/// Equal, allowing for the `%2C` a srcset candidate's trailing commas are written as (a comma
/// there would end the candidate early).
fn same_link(a: &str, b: &str) -> bool {
    let escape = |s: &str| {
        let kept = s.trim_end_matches(',');
        format!("{kept}{}", "%2C".repeat(s.len() - kept.len()))
    };
    escape(a) == escape(b)
}

fn check_followed(found: &[Url], absolute: &[Url]) {
    for url in found {
        let local = url.host_str() == Some("local.invalid")
            && url.path_segments().and_then(|mut s| s.next()) == Some("D")
            && url.path().len() > "/D/".len();
        let mut bare = url.clone();
        bare.set_fragment(None);
        let known = absolute.iter().any(|a| {
            let mut a = a.clone();
            a.set_fragment(None);
            same_link(a.as_str(), bare.as_str())
        });
        assert!(
            local || known,
            "rewritten link {url} is neither local nor absolute"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, doc)) = data.split_first() else {
        return;
    };
    let (Ok(start), Ok(page)) = (
        Url::parse("http://site.test/"),
        Url::parse("http://site.test/dir/page.html"),
    ) else {
        return;
    };
    let from = local_path(&page, &start, DocKind::Html);
    let Some(location) = saved_location(&from) else {
        return;
    };
    let mut saver = Saver {
        start,
        from,
        absolute: Vec::new(),
    };
    let mut recorder = Recorder::default();
    match pick % 3 {
        0 => {
            let Ok(out) = rewrite_html(doc, &page, &mut saver) else {
                return;
            };
            if std::str::from_utf8(doc).is_ok() {
                assert!(std::str::from_utf8(&out).is_ok(), "UTF-8 in, not out");
            }
            let _ = rewrite_html(&out, &location, &mut recorder);
        }
        1 => {
            let out = rewrite_css(&String::from_utf8_lossy(doc), &page, &mut saver);
            rewrite_css(&out, &location, &mut recorder);
        }
        _ => {
            let out = rewrite_srcset(&String::from_utf8_lossy(doc), &page, &mut saver);
            rewrite_srcset(&out, &location, &mut recorder);
        }
    }
    check_followed(&recorder.0, &saver.absolute);
});
