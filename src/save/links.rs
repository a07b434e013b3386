//! What every link finder of `save` shares: the kinds of link, the [`Linker`] that decides each
//! one, and how a written link resolves to a URL worth fetching. The finders (`html`, `css`,
//! `srcset`) depend on this module and not on each other's vocabulary.

use url::Url;

/// What a link is for, which decides whether it is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Needed to show the page (images, style sheets, scripts, frames, CSS `url()`): fetched
    /// with the page (wget `-p`).
    Requisite,
    /// A link to another page (`a href`, `area href`): followed only with `--recursive`.
    Page,
    /// Any other URL in the page (`link rel=canonical` …): never fetched, only rewritten.
    Reference,
}

/// Decides each link. `url` is absolute (fragment kept); the answer replaces the link's text,
/// `None` leaves it as written.
pub trait Linker {
    /// One link found in a document.
    fn link(&mut self, url: Url, kind: LinkKind) -> Option<String>;
}

/// A link's absolute URL, or `None` for what is not fetched over HTTP: empty, fragment-only
/// (`#id`, same document), `data:`, `javascript:`, `mailto:`, unparsable.
pub(super) fn resolve(base: &Url, value: &str) -> Option<Url> {
    let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if value.is_empty() || value.starts_with('#') {
        return None;
    }
    let url = base.join(value).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// A test linker: records each link's URL and rewrites it to `L<path>`.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Mark(pub Vec<String>);

#[cfg(test)]
impl Linker for Mark {
    fn link(&mut self, url: Url, _kind: LinkKind) -> Option<String> {
        self.0.push(url.to_string());
        Some(format!("L{}", url.path()))
    }
}
