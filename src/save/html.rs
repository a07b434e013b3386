//! Links in HTML, found and rewritten in one streaming pass with lol_html (a real HTML
//! tokenizer: attributes, raw-text `<style>`, comments and entities are handled as browsers do;
//! never a regex). The same pass serves discovery (the [`Linker`] records, output discarded)
//! and rewriting (the linker answers), so both always see the same links. Pure: bytes in,
//! bytes out.

use std::cell::RefCell;

use lol_html::html_content::{ContentType, Element, TextChunk};
use lol_html::{element, text, HtmlRewriter, Settings};
use url::Url;

use super::css::rewrite_css;
use super::links::resolve;
use super::srcset::rewrite_srcset;

pub use super::links::{LinkKind, Linker};

/// How an attribute holds URLs.
#[derive(Clone, Copy)]
enum Holds {
    One(LinkKind),
    Srcset,
}

/// The document being walked: its base URL (`<base href>` moves it once) and the linker.
struct Doc<'l> {
    base: Url,
    base_seen: bool,
    linker: &'l mut dyn Linker,
    style: String,
}

/// Walk `html` (a document at `url`), asking `linker` about every link; returns the document
/// with the linker's answers in place and any `<base>` element removed (rewritten links are
/// relative to the saved file, so a base would misdirect them). `Err` when lol_html gives up.
pub fn rewrite_html(html: &[u8], url: &Url, linker: &mut dyn Linker) -> Result<Vec<u8>, String> {
    let doc = RefCell::new(Doc {
        base: url.clone(),
        base_seen: false,
        linker,
        style: String::new(),
    });
    let mut out = Vec::with_capacity(html.len() + html.len() / 8);
    let settings = Settings {
        element_content_handlers: vec![
            element!("*", |el| {
                on_element(el, &mut doc.borrow_mut());
                Ok(())
            }),
            text!("style", |chunk| {
                on_style_text(chunk, &mut doc.borrow_mut());
                Ok(())
            }),
        ],
        ..Settings::new()
    };
    let mut rewriter = HtmlRewriter::new(settings, |bytes: &[u8]| out.extend_from_slice(bytes));
    rewriter.write(html).map_err(|e| e.to_string())?;
    rewriter.end().map_err(|e| e.to_string())?;
    Ok(out)
}

fn on_element(el: &mut Element<'_, '_>, doc: &mut Doc<'_>) {
    let tag = el.tag_name();
    if tag == "base" {
        // HTML §4.2.3: the first base element with an href sets the document base URL.
        if let Some(href) = attribute(el, "href").filter(|_| !doc.base_seen) {
            if let Ok(base) = doc.base.join(href.trim()) {
                doc.base = base;
                doc.base_seen = true;
            }
        }
        el.remove();
        return;
    }
    for &(name, holds) in link_attributes(&tag, el) {
        rewrite_attribute(el, name, holds, doc);
    }
    if let Some(style) = attribute(el, "style") {
        let new = rewrite_css(&style, &doc.base, doc.linker);
        if new != style {
            set_attribute(el, "style", &new);
        }
    }
}

/// An attribute's value with character references decoded (HTML §13.2.5.72): lol_html hands
/// out the source text, where `&amp;` is still five bytes.
fn attribute(el: &Element<'_, '_>, name: &str) -> Option<String> {
    let raw = el.get_attribute(name)?;
    Some(html_escape::decode_html_entities(&raw).into_owned())
}

/// Set an attribute to `value`, escaped for a double-quoted attribute (`&` and `"`).
fn set_attribute(el: &mut Element<'_, '_>, name: &str, value: &str) {
    let escaped = html_escape::encode_double_quoted_attribute(value);
    // The names are ours, always valid.
    let _ = el.set_attribute(name, &escaped);
}

/// The URL-carrying attributes of an element (HTML's requisites as wget `-p` knows them).
fn link_attributes(tag: &str, el: &Element<'_, '_>) -> &'static [(&'static str, Holds)] {
    use Holds::{One, Srcset};
    use LinkKind::{Page, Reference, Requisite};
    match tag {
        "img" | "source" => &[("src", One(Requisite)), ("srcset", Srcset)],
        "script" | "audio" | "track" | "embed" | "iframe" | "frame" => &[("src", One(Requisite))],
        "video" => &[("src", One(Requisite)), ("poster", One(Requisite))],
        "object" => &[("data", One(Requisite))],
        "input" if is_image_input(el) => &[("src", One(Requisite))],
        "link" if is_requisite_link(el) => &[("href", One(Requisite))],
        "link" => &[("href", One(Reference))],
        "a" | "area" => &[("href", One(Page))],
        _ => &[],
    }
}

fn is_image_input(el: &Element<'_, '_>) -> bool {
    attribute(el, "type").is_some_and(|t| t.trim().eq_ignore_ascii_case("image"))
}

/// `rel` names a resource the page needs to render (HTML §4.6.7).
fn is_requisite_link(el: &Element<'_, '_>) -> bool {
    const NEEDED: [&str; 5] = [
        "stylesheet",
        "icon",
        "preload",
        "modulepreload",
        "apple-touch-icon",
    ];
    let rel = attribute(el, "rel").unwrap_or_default();
    rel.split_ascii_whitespace()
        .any(|r| NEEDED.iter().any(|n| r.eq_ignore_ascii_case(n)))
}

fn rewrite_attribute(el: &mut Element<'_, '_>, name: &str, holds: Holds, doc: &mut Doc<'_>) {
    let Some(value) = attribute(el, name) else {
        return;
    };
    let new = match holds {
        Holds::One(kind) => resolve(&doc.base, &value).and_then(|url| doc.linker.link(url, kind)),
        Holds::Srcset => Some(rewrite_srcset(&value, &doc.base, doc.linker)),
    };
    if let Some(new) = new.filter(|n| *n != value) {
        set_attribute(el, name, &new);
    }
}

/// `<style>` text arrives in chunks: collect them, emit the rewritten sheet with the last.
fn on_style_text(chunk: &mut TextChunk<'_>, doc: &mut Doc<'_>) {
    doc.style.push_str(chunk.as_str());
    if !chunk.last_in_text_node() {
        chunk.remove();
        return;
    }
    let sheet = std::mem::take(&mut doc.style);
    let new = rewrite_css(&sheet, &doc.base, doc.linker);
    // Raw text: written as is, which is what a style element's content is.
    chunk.replace(&new, ContentType::Html);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every link with its kind; rewrites to `L:<path>`.
    #[derive(Default)]
    struct Mark(Vec<(String, LinkKind)>);

    impl Linker for Mark {
        fn link(&mut self, url: Url, kind: LinkKind) -> Option<String> {
            let text = format!("L:{}", url.path());
            self.0.push((url.into(), kind));
            Some(text)
        }
    }

    fn run(html: &str) -> (String, Vec<(String, LinkKind)>) {
        let url = Url::parse("http://h/dir/page.html").expect("valid");
        let mut mark = Mark::default();
        let out = rewrite_html(html.as_bytes(), &url, &mut mark).expect("rewrites");
        (String::from_utf8(out).expect("utf-8"), mark.0)
    }

    #[test]
    fn every_requisite_kind_is_found() {
        use LinkKind::*;
        let html = r#"<img src="a.png" srcset="b.png 2x, /c.png 3x">
<link rel="stylesheet" href="s.css"><link rel="icon" href="/f.ico">
<link rel="preload" href="p.woff"><link rel="modulepreload" href="m.js">
<link rel="canonical" href="/canon"><script src="j.js"></script>
<picture><source srcset="d.webp" src="e.png"></picture>
<video poster="v.jpg" src="v.mp4"></video><audio src="a.ogg"></audio>
<input type="IMAGE" src="btn.png"><input type="text" src="no.png">
<iframe src="frame.html"></iframe><a href="next.html">n</a><area href="/map.html">
<div style="background:url(bg.png)"></div><style>p{background:url('st.png')}</style>"#;
        let (_, links) = run(html);
        let want: Vec<(String, LinkKind)> = [
            ("dir/a.png", Requisite),
            ("dir/b.png", Requisite),
            ("c.png", Requisite),
            ("dir/s.css", Requisite),
            ("f.ico", Requisite),
            ("dir/p.woff", Requisite),
            ("dir/m.js", Requisite),
            ("canon", Reference),
            ("dir/j.js", Requisite),
            ("dir/e.png", Requisite),
            ("dir/d.webp", Requisite),
            ("dir/v.mp4", Requisite),
            ("dir/v.jpg", Requisite),
            ("dir/a.ogg", Requisite),
            ("dir/btn.png", Requisite),
            ("dir/frame.html", Requisite),
            ("dir/next.html", Page),
            ("map.html", Page),
            ("dir/bg.png", Requisite),
            ("dir/st.png", Requisite),
        ]
        .iter()
        .map(|(p, k)| (format!("http://h/{p}"), *k))
        .collect();
        assert_eq!(links, want);
    }

    #[test]
    fn links_are_rewritten_in_place_and_base_is_honoured_then_removed() {
        let html = r##"<head><base href="/other/"><title>t</title></head><img src="x.png" alt="&amp;"><a href="javascript:alert(1)">j</a><a href="#top">t</a><img src="data:image/png,AA"><style>a{b:url(y.png)}</style>"##;
        let (out, links) = run(html);
        assert_eq!(
            out,
            r##"<head><title>t</title></head><img src="L:/other/x.png" alt="&amp;"><a href="javascript:alert(1)">j</a><a href="#top">t</a><img src="data:image/png,AA"><style>a{b:url("L:/other/y.png")}</style>"##
        );
        assert_eq!(links.len(), 2);
    }

    #[test]
    fn attribute_entities_are_decoded_and_rewrites_escaped() {
        let html = r#"<a href="q?a=1&amp;b=2">x</a><p style="background:url(&quot;p&#46;png&quot;)"></p><img src='x.png' title="&">"#;
        let url = Url::parse("http://h/").expect("valid");
        struct Amp(Vec<String>);
        impl Linker for Amp {
            fn link(&mut self, url: Url, _kind: LinkKind) -> Option<String> {
                self.0.push(url.to_string());
                Some(format!("{}&\"", url.path()))
            }
        }
        let mut amp = Amp(Vec::new());
        let out = rewrite_html(html.as_bytes(), &url, &mut amp).expect("rewrites");
        assert_eq!(
            amp.0,
            ["http://h/q?a=1&b=2", "http://h/p.png", "http://h/x.png"]
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            r#"<a href="/q&amp;&quot;">x</a><p style="background:url(&quot;/p.png&amp;\&quot;&quot;)"></p><img src="/x.png&amp;&quot;" title="&">"#
        );
    }

    #[test]
    fn hostile_and_broken_markup_does_not_panic() {
        for html in [
            "<img src=",
            "<a href='../../../../etc/x'>",
            "<style>",
            "<style>@import '",
            "<<<>>>",
            "\u{0}<img src=\"\u{0}\">",
            "<base href='http://[::1'><img src=a>",
        ] {
            let _ = run(html);
        }
        let (_, links) = run("<a href='../../../../etc/x'>");
        assert_eq!(links[0].0, "http://h/etc/x");
    }
}
