//! Which links a save follows: wget's rules for `-p` (requisites), `-r -l N` (pages),
//! `--no-parent`, `--span-hosts` and `-A`/`-R`, as one pure decision per link. robots.txt is
//! the engine's (it needs a fetch); everything else is here, table-tested.

use globset::{Glob, GlobSet, GlobSetBuilder};
use url::Url;

use super::links::LinkKind;
use crate::fetch::save::percent_decode;
use crate::Error;

/// What to do with a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Fetch it; `keep` is false for a page rejected by `--accept`/`--reject` that is fetched
    /// only to follow its links (as wget does in recursive mode).
    Fetch {
        /// Save it (false: fetch only to follow its links).
        keep: bool,
    },
    /// Leave it alone (its link becomes absolute).
    Skip,
}

/// The crawl's bounds, from the flags.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    start: Url,
    recursive: bool,
    level: u32,
    no_parent: bool,
    span_hosts: bool,
    accept: Option<GlobSet>,
    reject: Option<GlobSet>,
}

/// The flags a [`Scope`] is built from.
#[derive(Debug, Clone, Default)]
pub(super) struct ScopeFlags {
    /// Follow page links.
    pub recursive: bool,
    /// Deepest page level (the start page is 0).
    pub level: u32,
    /// Pages must be under the start URL's directory.
    pub no_parent: bool,
    /// Fetch from other origins too.
    pub span_hosts: bool,
    /// `--accept` patterns (comma-separated lists allowed).
    pub accept: Vec<String>,
    /// `--reject` patterns.
    pub reject: Vec<String>,
}

impl Scope {
    /// The scope of a save starting at `start`; a bad glob is a usage error.
    pub(super) fn new(start: Url, flags: &ScopeFlags) -> Result<Scope, Error> {
        Ok(Scope {
            start,
            recursive: flags.recursive,
            level: flags.level,
            no_parent: flags.no_parent,
            span_hosts: flags.span_hosts,
            accept: glob_set(&flags.accept)?,
            reject: glob_set(&flags.reject)?,
        })
    }

    /// Whether to fetch `url`, found as a `kind` link in a document at page depth `depth`.
    /// Requisites are fetched whatever the depth and parent (wget `-p` exempts them from
    /// `-l` and `-np`); pages only when recursive, within the level and under the parent.
    pub(super) fn decide(&self, url: &Url, kind: LinkKind, depth: u32) -> Verdict {
        if !self.span_hosts && url.origin() != self.start.origin() {
            return Verdict::Skip;
        }
        let page = match kind {
            LinkKind::Reference => return Verdict::Skip,
            LinkKind::Requisite => false,
            LinkKind::Page => true,
        };
        if page && (!self.recursive || depth >= self.level) {
            return Verdict::Skip;
        }
        if page && self.no_parent && !self.is_under_start(url) {
            return Verdict::Skip;
        }
        if self.is_wanted(url) {
            Verdict::Fetch { keep: true }
        } else if page && looks_like_page(url) {
            Verdict::Fetch { keep: false }
        } else {
            Verdict::Skip
        }
    }

    /// The depth of a document found through a `kind` link from depth `depth`.
    pub(super) fn child_depth(kind: LinkKind, depth: u32) -> u32 {
        match kind {
            LinkKind::Page => depth + 1,
            _ => depth,
        }
    }

    /// `--no-parent`: on the start origin, in the start URL's directory or below it.
    fn is_under_start(&self, url: &Url) -> bool {
        let dir = match self.start.path().rfind('/') {
            Some(at) => &self.start.path()[..=at],
            None => "/",
        };
        url.origin() == self.start.origin() && url.path().starts_with(dir)
    }

    /// `--accept` / `--reject` on the file name (the decoded last path segment), as wget.
    fn is_wanted(&self, url: &Url) -> bool {
        let segment = url.path_segments().and_then(|mut s| s.next_back());
        let name =
            String::from_utf8_lossy(&percent_decode(segment.unwrap_or("").as_bytes())).into_owned();
        let accepted = self.accept.as_ref().is_none_or(|set| set.is_match(&name));
        let rejected = self.reject.as_ref().is_some_and(|set| set.is_match(&name));
        accepted && !rejected
    }
}

/// Might this URL be an HTML page (worth fetching for its links even when not kept)? As wget:
/// a directory, `.html`/`.htm`, or no extension.
fn looks_like_page(url: &Url) -> bool {
    let path = url.path();
    let name = path.rsplit('/').next().unwrap_or("");
    let lower = name.to_ascii_lowercase();
    name.is_empty() || !name.contains('.') || lower.ends_with(".html") || lower.ends_with(".htm")
}

/// Patterns (each possibly a comma-separated list) as a set; `None` when there are none. A
/// pattern without wildcards is a suffix (`png` = `*png`), as wget's `-A png`.
fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, Error> {
    let mut builder = GlobSetBuilder::new();
    let mut any = false;
    for pattern in patterns.iter().flat_map(|p| p.split(',')) {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            continue;
        }
        let full = if pattern.contains(['*', '?', '[']) {
            pattern.to_string()
        } else {
            format!("*{pattern}")
        };
        let glob =
            Glob::new(&full).map_err(|e| Error::Usage(format!("bad pattern {pattern:?}: {e}")))?;
        builder.add(glob);
        any = true;
    }
    if !any {
        return Ok(None);
    }
    let set = builder
        .build()
        .map_err(|e| Error::Usage(format!("bad patterns: {e}")))?;
    Ok(Some(set))
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinkKind::{Page, Reference, Requisite};
    use Verdict::{Fetch, Skip};

    const KEEP: Verdict = Fetch { keep: true };

    fn scope(flags: ScopeFlags) -> Scope {
        let start = Url::parse("http://h/docs/start.html").expect("valid");
        Scope::new(start, &flags).expect("valid flags")
    }

    fn decide(s: &Scope, url: &str, kind: LinkKind, depth: u32) -> Verdict {
        s.decide(&Url::parse(url).expect("valid"), kind, depth)
    }

    #[test]
    fn page_saving_takes_requisites_only() {
        let s = scope(ScopeFlags::default());
        assert_eq!(decide(&s, "http://h/img/a.png", Requisite, 0), KEEP);
        assert_eq!(decide(&s, "http://h/docs/b.html", Page, 0), Skip);
        assert_eq!(decide(&s, "http://h/canon", Reference, 0), Skip);
        assert_eq!(decide(&s, "http://other/a.png", Requisite, 0), Skip);
        assert_eq!(decide(&s, "http://h:81/a.png", Requisite, 0), Skip);
        assert_eq!(decide(&s, "https://h/a.png", Requisite, 0), Skip);
    }

    #[test]
    fn recursion_follows_levels_parents_and_hosts() {
        let flags = ScopeFlags {
            recursive: true,
            level: 2,
            no_parent: true,
            ..ScopeFlags::default()
        };
        let s = scope(flags.clone());
        assert_eq!(decide(&s, "http://h/docs/b.html", Page, 0), KEEP);
        assert_eq!(decide(&s, "http://h/docs/sub/c.html", Page, 1), KEEP);
        assert_eq!(decide(&s, "http://h/docs/sub/d.html", Page, 2), Skip);
        assert_eq!(decide(&s, "http://h/other.html", Page, 0), Skip);
        assert_eq!(decide(&s, "http://h/docsx/a.html", Page, 0), Skip);
        // Requisites outside the parent, at any depth, are still fetched (wget -p -np).
        assert_eq!(decide(&s, "http://h/img/a.png", Requisite, 7), KEEP);
        let spans = scope(ScopeFlags {
            span_hosts: true,
            ..flags
        });
        assert_eq!(decide(&spans, "http://other/a.png", Requisite, 0), KEEP);
        assert_eq!(decide(&spans, "http://other/docs/x.html", Page, 0), Skip);
        assert_eq!(Scope::child_depth(Page, 1), 2);
        assert_eq!(Scope::child_depth(Requisite, 1), 1);
    }

    #[test]
    fn accept_and_reject_match_file_names() {
        let s = scope(ScopeFlags {
            recursive: true,
            level: 5,
            accept: vec!["png,*.css".into()],
            reject: vec!["bad*".into()],
            ..ScopeFlags::default()
        });
        assert_eq!(decide(&s, "http://h/a.png", Requisite, 0), KEEP);
        assert_eq!(decide(&s, "http://h/x/s.css?v=1", Requisite, 0), KEEP);
        assert_eq!(decide(&s, "http://h/bad.png", Requisite, 0), Skip);
        assert_eq!(decide(&s, "http://h/a.js", Requisite, 0), Skip);
        // Pages are still walked for their links, but not kept.
        assert_eq!(
            decide(&s, "http://h/p.html", Page, 0),
            Fetch { keep: false }
        );
        assert_eq!(decide(&s, "http://h/dir/", Page, 0), Fetch { keep: false });
        assert_eq!(decide(&s, "http://h/a.zip", Page, 0), Skip);
        let bad = ScopeFlags {
            accept: vec!["a[".into()],
            ..ScopeFlags::default()
        };
        let start = Url::parse("http://h/").expect("valid");
        assert_eq!(
            Scope::new(start, &bad)
                .map(|_| ())
                .map_err(|e| e.exit_code()),
            Err(2)
        );
    }
}
