//! `srcset` values (HTML §4.8.4.3.10, "parse a srcset attribute"): split into candidates
//! exactly as a browser splits them, and written back so a browser splits the rewritten value
//! into the same candidates. Pure: text in, text out; what a link becomes is the [`Linker`]'s.

use url::Url;

use super::links::{resolve, LinkKind, Linker};

/// One image candidate: its URL as written and its descriptor tokens (`2x`, `480w`, ...).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Candidate<'a> {
    /// The URL, trailing commas removed as the algorithm removes them.
    pub(crate) url: &'a str,
    /// Descriptor tokens; a parenthesised part keeps its spaces and commas.
    pub(crate) descriptors: Vec<&'a str>,
}

/// ASCII whitespace as HTML defines it (Infra §4.6): TAB, LF, FF, CR, SPACE. Not U+000B.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// The candidates of a `srcset` value, in order (HTML §4.8.4.3.10 steps 3–12; descriptor
/// *meaning* is not checked, since the rewriter keeps descriptors as written).
pub(crate) fn candidates(value: &str) -> Vec<Candidate<'_>> {
    let mut found = Vec::new();
    let mut rest = value;
    loop {
        // Step 4: skip whitespace and commas; step 5: the end of input ends the list.
        rest = rest.trim_start_matches(|c| is_space(c) || c == ',');
        if rest.is_empty() {
            return found;
        }
        // Step 6: the URL runs to the next whitespace.
        let url_end = rest.find(is_space).unwrap_or(rest.len());
        let (url, after) = rest.split_at(url_end);
        rest = after;
        // Step 8: a URL ending in commas has no descriptors; the commas are dropped.
        let trimmed = url.trim_end_matches(',');
        let descriptors = if trimmed.len() < url.len() {
            Vec::new()
        } else {
            let (descriptors, used) = descriptor_tokens(rest);
            rest = &rest[used..];
            descriptors
        };
        found.push(Candidate {
            url: trimmed,
            descriptors,
        });
    }
}

/// Where the descriptor tokenizer is (HTML §4.8.4.3.10 step 9).
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    InDescriptor,
    InParens,
    AfterDescriptor,
}

/// The descriptor tokens at the start of `s`, and how many bytes they used (a `,` that ends
/// the candidate is used too).
fn descriptor_tokens(s: &str) -> (Vec<&str>, usize) {
    let mut tokens = Vec::new();
    let mut state = State::InDescriptor;
    let mut start: Option<usize> = None;
    let body = s.trim_start_matches(is_space);
    let offset = s.len() - body.len();
    for (i, c) in body.char_indices() {
        let at = offset + i;
        match (state, c) {
            (State::InDescriptor, c) if is_space(c) => {
                if let Some(from) = start.take() {
                    tokens.push(&s[from..at]);
                    state = State::AfterDescriptor;
                }
            }
            (State::InDescriptor | State::AfterDescriptor, ',') => {
                tokens.extend(start.map(|from| &s[from..at]));
                return (tokens, at + 1);
            }
            (State::AfterDescriptor, c) if is_space(c) => {}
            (State::InParens, ')') => state = State::InDescriptor,
            (State::InParens, _) => {}
            (_, c) => {
                start.get_or_insert(at);
                state = if c == '(' {
                    State::InParens
                } else {
                    State::InDescriptor
                };
            }
        }
    }
    tokens.extend(start.map(|from| &s[from..]));
    (tokens, s.len())
}

/// Rewrite each candidate URL of a `srcset` value through `linker` (relative URLs resolve
/// against `base`); descriptors are kept. The result parses into the same candidates.
pub fn rewrite_srcset(value: &str, base: &Url, linker: &mut dyn Linker) -> String {
    let written: Vec<String> = candidates(value)
        .into_iter()
        .map(|candidate| {
            let new = resolve(base, candidate.url)
                .and_then(|u| linker.link(u, LinkKind::Requisite))
                .map(|u| escape_for_srcset(&u));
            let url = new.as_deref().unwrap_or(candidate.url);
            let mut out = url.to_string();
            for descriptor in candidate.descriptors {
                out.push(' ');
                out.push_str(descriptor);
            }
            out
        })
        .collect();
    written.join(", ")
}

/// A written candidate URL must read back as one URL: whitespace would end it, and leading or
/// trailing commas are dropped by the parser (a trailing one would turn the descriptors after
/// it into the next URL). Those bytes are percent-encoded, which URLs mean the same by.
fn escape_for_srcset(url: &str) -> String {
    let inner_start = url.len() - url.trim_start_matches(',').len();
    let inner_end = url.trim_end_matches(',').len().max(inner_start);
    let mut out = String::with_capacity(url.len());
    for (i, c) in url.char_indices() {
        let edge_comma = c == ',' && (i < inner_start || i >= inner_end);
        if edge_comma || is_space(c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::save::links::Mark;

    /// (srcset value, its candidates as `url|descriptor|descriptor`).
    const SPLITS: &[(&str, &[&str])] = &[
        ("a.png 1x, b.png 2x", &["a.png|1x", "b.png|2x"]),
        (
            " a.png  480w ,b.png, c.png 2x",
            &["a.png|480w", "b.png", "c.png|2x"],
        ),
        // A URL runs to whitespace: a comma inside it is part of it.
        ("b.png,c.png 2x", &["b.png,c.png|2x"]),
        // Trailing commas end the candidate, so what follows is the next URL.
        ("a.png,, 2x", &["a.png", "2x"]),
        ("", &[]),
        (",,,", &[]),
        // Parentheses keep spaces and commas, and do not nest: one `)` closes.
        ("a.png x(1, 2) 1x, b.png", &["a.png|x(1, 2)|1x", "b.png"]),
        ("a.png ((y)z, b.png", &["a.png|((y)z", "b.png"]),
        ("a.png (open, b.png 2x", &["a.png|(open, b.png 2x"]),
        // U+000B is not HTML whitespace; U+000C is.
        ("a\u{b}b.png\u{c}1x", &["a\u{b}b.png|1x"]),
        ("a.png 1x ,", &["a.png|1x"]),
    ];

    fn shape(candidates: &[Candidate<'_>]) -> Vec<String> {
        let one = |c: &Candidate<'_>| {
            std::iter::once(c.url)
                .chain(c.descriptors.iter().copied())
                .collect::<Vec<_>>()
                .join("|")
        };
        candidates.iter().map(one).collect()
    }

    #[test]
    fn values_split_as_html_splits_them() {
        for (value, want) in SPLITS {
            assert_eq!(shape(&candidates(value)), *want, "{value:?}");
        }
    }

    /// (srcset value, rewritten by `Mark` against `http://h/p/`).
    const REWRITES: &[(&str, &str)] = &[
        ("a.png 1x, b.png 2x", "L/p/a.png 1x, L/p/b.png 2x"),
        ("a.png", "L/p/a.png"),
        (
            " a.png  480w ,b.png, c.png 2x",
            "L/p/a.png 480w, L/p/b.png, L/p/c.png 2x",
        ),
        ("b.png,c.png 2x", "L/p/b.png,c.png 2x"),
        ("a.png,", "L/p/a.png"),
        (
            "data:image/png;base64,AA== 1x",
            "data:image/png;base64,AA== 1x",
        ),
        ("", ""),
        (",,,", ""),
    ];

    #[test]
    fn srcset_candidates_are_rewritten_with_their_descriptors() {
        let base = Url::parse("http://h/p/").expect("valid");
        for (input, want) in REWRITES {
            let got = rewrite_srcset(input, &base, &mut Mark::default());
            assert_eq!(got, *want, "{input:?}");
        }
    }

    /// Found by fuzzing (save_links): a URL whose trailing NUL the URL parser dropped ended in
    /// `,`, and the descriptor after it was read as a second URL when the output was parsed.
    #[test]
    fn a_rewritten_candidate_never_ends_with_a_comma() {
        let base = Url::parse("http://site.test/dir/page.html").expect("base");
        let out = rewrite_srcset("/x,\u{0} /c.png 1x", &base, &mut Mark::default());
        assert_eq!(out, "L/x%2C /c.png 1x");
        let mut again = Mark::default();
        rewrite_srcset(&out, &base, &mut again);
        assert_eq!(again.0, ["http://site.test/dir/L/x%2C"]);
    }

    /// A link that starts with a comma or holds whitespace still reads back as one URL.
    #[test]
    fn rewritten_urls_are_escaped_where_srcset_would_split_them() {
        assert_eq!(escape_for_srcset(",a b,c,,"), "%2Ca%20b,c%2C%2C");
        assert_eq!(escape_for_srcset(",,"), "%2C%2C");
        assert_eq!(escape_for_srcset("plain"), "plain");
    }

    fn descriptor_lists<'a>(candidates: &[Candidate<'a>]) -> Vec<Vec<&'a str>> {
        candidates.iter().map(|c| c.descriptors.clone()).collect()
    }

    /// Whatever the value, the rewritten one splits into as many candidates with the same
    /// descriptors (the property the save_links fuzz target checks).
    #[test]
    fn rewriting_keeps_the_candidate_structure() {
        let base = Url::parse("http://h/p/").expect("valid");
        for (value, _) in SPLITS {
            let before = candidates(value);
            let out = rewrite_srcset(value, &base, &mut Mark::default());
            let after = candidates(&out);
            assert_eq!(
                descriptor_lists(&after),
                descriptor_lists(&before),
                "{value:?} -> {out:?}"
            );
        }
    }
}
