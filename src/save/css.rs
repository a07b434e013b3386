//! Links in CSS (`url(...)`, `@import "..."`, CSS Values 4 §4.5, CSS Cascade 4 §2), found with
//! cssparser's tokenizer, never a regex, and rewritten by splicing replacements at the tokens'
//! byte ranges so everything else stays byte for byte.
//! Pure: text in, text out; what a link becomes is the [`Linker`]'s decision.

use std::ops::Range;

use cssparser::{ParseError, Parser, ParserInput, Token};
use url::Url;

use super::links::{resolve, LinkKind, Linker};

/// Blocks nested deeper than this are left alone: network bytes must not grow the stack.
const MAX_NESTING: usize = 64;

/// One replacement: bytes `range` of the input become `text`.
type Edit = (Range<usize>, String);

/// Rewrite every `url()` and `@import` link in a style sheet, a `<style>` block or a `style`
/// attribute. Relative links resolve against `base`.
pub fn rewrite_css(css: &str, base: &Url, linker: &mut dyn Linker) -> String {
    let mut input = ParserInput::new(css);
    let mut parser = Parser::new(&mut input);
    let mut edits = Vec::new();
    let mut scan = Scan {
        base,
        linker,
        edits: &mut edits,
    };
    scan.block(&mut parser, 0);
    splice(css, &edits)
}

/// Apply non-overlapping, ordered edits.
fn splice(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        if range.start < at || range.end > text.len() {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

struct Scan<'a> {
    base: &'a Url,
    linker: &'a mut dyn Linker,
    edits: &'a mut Vec<Edit>,
}

impl Scan<'_> {
    /// Walk one block's tokens, descending into nested blocks.
    fn block(&mut self, parser: &mut Parser<'_, '_>, depth: usize) {
        let mut after_import = false;
        loop {
            let start = parser.position().byte_index();
            let token = match parser.next_including_whitespace_and_comments() {
                Ok(token) => token.clone(),
                Err(_) => return,
            };
            let import = std::mem::take(&mut after_import);
            match token {
                Token::WhiteSpace(_) | Token::Comment(_) => after_import = import,
                Token::AtKeyword(name) => after_import = name.eq_ignore_ascii_case("import"),
                Token::UnquotedUrl(value) => {
                    let end = parser.position().byte_index();
                    self.link(start..end, &value, true);
                }
                Token::QuotedString(value) if import => {
                    let end = parser.position().byte_index();
                    self.link(start..end, &value, false);
                }
                Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                    let inner: Result<String, ParseError<'_, ()>> =
                        parser.parse_nested_block(|p| Ok(p.expect_string()?.to_string()));
                    if let Ok(value) = inner {
                        let end = parser.position().byte_index();
                        self.link(start..end, &value, true);
                    }
                }
                Token::Function(_)
                | Token::ParenthesisBlock
                | Token::SquareBracketBlock
                | Token::CurlyBracketBlock => {
                    let _ = parser.parse_nested_block(|p| -> Result<(), ParseError<'_, ()>> {
                        if depth < MAX_NESTING {
                            self.block(p, depth + 1);
                        }
                        Ok(())
                    });
                }
                _ => {}
            }
        }
    }

    /// A link at `range`: ask the linker, record the replacement (`url("…")` or `"…"`).
    fn link(&mut self, range: Range<usize>, value: &str, as_url: bool) {
        let Some(new) =
            resolve(self.base, value).and_then(|u| self.linker.link(u, LinkKind::Requisite))
        else {
            return;
        };
        let mut text = String::new();
        if as_url {
            text.push_str("url(");
        }
        // Writing into a String cannot fail.
        let _ = cssparser::serialize_string(&new, &mut text);
        if as_url {
            text.push(')');
        }
        self.edits.push((range, text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::save::links::Mark;

    fn css(input: &str) -> (String, Vec<String>) {
        let base = Url::parse("http://h/css/site.css").expect("valid");
        let mut mark = Mark::default();
        let out = rewrite_css(input, &base, &mut mark);
        (out, mark.0)
    }

    /// A style sheet, the same after rewriting with `Mark`, and the links it holds.
    const CSS_CASES: &[(&str, &str, &[&str])] = &[
        (
            "a{background:url(a.png)}",
            "a{background:url(\"L/css/a.png\")}",
            &["http://h/css/a.png"],
        ),
        (
            "a{b:url( 'x y.png' )}",
            "a{b:url(\"L/css/x%20y.png\")}",
            &["http://h/css/x%20y.png"],
        ),
        (
            "@import \"base.css\";",
            "@import \"L/css/base.css\";",
            &["http://h/css/base.css"],
        ),
        (
            "@import url(/r.css) screen;",
            "@import url(\"L/r.css\") screen;",
            &["http://h/r.css"],
        ),
        (
            "@IMPORT 'i.css';",
            "@IMPORT \"L/css/i.css\";",
            &["http://h/css/i.css"],
        ),
        (
            "@media x{a{b:url(../m.png)}}",
            "@media x{a{b:url(\"L/m.png\")}}",
            &["http://h/m.png"],
        ),
        (
            "a{content:\"url(no.png)\"}",
            "a{content:\"url(no.png)\"}",
            &[],
        ),
        ("/* url(c.png) */ a{}", "/* url(c.png) */ a{}", &[]),
        (
            "a{b:url(data:image/png;base64,AA==)}",
            "a{b:url(data:image/png;base64,AA==)}",
            &[],
        ),
        ("a{b:url(#f)}", "a{b:url(#f)}", &[]),
        ("a{b:url(", "a{b:url(", &[]),
        (
            "a{b:url(\"x.png\"",
            "a{b:url(\"L/css/x.png\")",
            &["http://h/css/x.png"],
        ),
        (
            "é{b:url(é.png)}",
            "é{b:url(\"L/css/%C3%A9.png\")}",
            &["http://h/css/%C3%A9.png"],
        ),
    ];

    #[test]
    fn css_links_are_found_and_spliced() {
        for (input, want, links) in CSS_CASES {
            let (out, found) = css(input);
            assert_eq!(out, *want, "{input}");
            assert_eq!(found, *links, "{input}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}url(x.png){}", "(".repeat(10_000), ")".repeat(10_000));
        let (_, found) = css(&deep);
        assert!(found.is_empty());
        let shallow = format!("{}url(x.png){}", "(".repeat(3), ")".repeat(3));
        assert_eq!(css(&shallow).1, vec!["http://h/css/x.png"]);
    }
}
