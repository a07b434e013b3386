//! What a browser is shown besides files: the one inline stylesheet, the strict
//! Content-Security-Policy that allows exactly it, and small HTML error pages. Pure; it never
//! names a filesystem path.

use std::sync::OnceLock;

use crate::proto::status;

/// The type of our HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// The only stylesheet of listings and error pages: inline (no second request, nothing
/// external), light and dark (`prefers-color-scheme`), and the date column folds away on a
/// phone. Its SHA-256 is the CSP's only `style-src`, so editing it keeps the policy in step.
pub const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fff;--mute:#6e6e73;--line:#e5e5ea;\
--link:#0b57d0;--hover:#f2f2f7}\
@media (prefers-color-scheme:dark){:root{--fg:#e8e8ed;--bg:#151517;--mute:#98989d;\
--line:#2c2c30;--link:#8ab4f8;--hover:#222226}}\
*{box-sizing:border-box}\
body{margin:0 auto;max-width:60rem;padding:1rem;font:15px/1.5 system-ui,sans-serif;\
color:var(--fg);background:var(--bg)}\
h1{font-size:1.25rem;font-weight:600;margin:.5rem 0 1rem;overflow-wrap:anywhere}\
h1 a{margin:0 .1rem}\
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}\
table{width:100%;border-collapse:collapse}\
th,td{padding:.4rem .5rem;border-bottom:1px solid var(--line);text-align:left}\
th{font-weight:600;white-space:nowrap}th a{color:var(--mute)}\
td:first-child{overflow-wrap:anywhere}\
.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
.t{white-space:nowrap;color:var(--mute)}\
tbody tr:hover td{background:var(--hover)}\
.note,footer{color:var(--mute);font-size:.9rem;margin:1rem 0}\
@media (max-width:40rem){.t{display:none}body{padding:.5rem}}";

/// The start of every page we render: charset, phone viewport, both colour schemes, no
/// favicon request (`data:` icon), the stylesheet. `title` is escaped here.
pub fn push_head(title: &str, out: &mut String) {
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <link rel=\"icon\" href=\"data:,\"><title>",
    );
    out.push_str(&escape_html(title));
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head>\n");
}

/// The Content-Security-Policy of our pages: nothing may load but the inline stylesheet
/// (by hash, CSP3 §8.3) and the `data:` favicon; no script, no form, no framing, no base.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, STYLE.as_bytes());
        format!(
            "default-src 'none'; style-src 'sha256-{}'; img-src data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
            base64(digest.as_ref())
        )
    })
}

/// Standard base64 with padding (RFC 4648 §4), as CSP hash sources use.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One sentence a person can act on, per status; never a path or an internal detail.
fn explanation(status: u16) -> &'static str {
    match status {
        400 => "The request could not be understood.",
        403 => "You do not have permission to see this.",
        404 => "There is nothing here by that name.",
        405 => "This server answers GET, HEAD and OPTIONS only.",
        414 => "The address is too long.",
        416 => "The requested range lies outside the file.",
        431 => "The request's header section is too large.",
        500..=599 => "The server could not answer this time; try again later.",
        _ => "The request was not answered.",
    }
}

/// A small HTML error page for browsers (`Accept: text/html`); others get plain text.
pub fn error_html(status: u16) -> Vec<u8> {
    let heading = format!("{status} {}", status::reason(status));
    let mut out = String::with_capacity(STYLE.len() + 640);
    push_head(&heading, &mut out);
    out.push_str("<body><main><h1>");
    out.push_str(&escape_html(&heading));
    out.push_str("</h1>\n<p>");
    out.push_str(explanation(status));
    out.push_str("</p>\n<p><a href=\"/\">Go to the top</a></p></main></body></html>\n");
    out.into_bytes()
}

/// Escape text for HTML element content and double-quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let table: &[(&str, &str)] = &[
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in table {
            assert_eq!(base64(input.as_bytes()), *want, "{input:?}");
        }
    }

    #[test]
    fn csp_allows_only_the_inline_style_by_hash() {
        let csp = content_security_policy();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"");
        // sha256("") in base64, the vector every CSP implementation documents.
        assert_eq!(
            base64(digest.as_ref()),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert_eq!(csp.matches("sha256-").count(), 1);
        assert!(!csp.contains("unsafe") && !csp.contains("script"), "{csp}");
    }

    #[test]
    fn error_pages_name_the_status_and_nothing_else() {
        for status in [400, 403, 404, 405, 416, 500, 503] {
            let html = String::from_utf8(error_html(status)).unwrap();
            let heading = format!("<h1>{status} {}</h1>", status::reason(status));
            assert!(html.contains(&heading), "{html}");
            assert!(html.contains(explanation(status)));
            assert!(html.contains(STYLE));
            assert!(
                !html.contains("<script") && !html.contains("http"),
                "{html}"
            );
        }
    }

    #[test]
    fn escapes_text_and_attribute_quotes() {
        let table: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("<b>&", "&lt;b&gt;&amp;"),
            ("\"x\" 'y'", "&quot;x&quot; &#39;y&#39;"),
            ("café", "café"),
        ];
        for (input, want) in table {
            assert_eq!(escape_html(input), *want, "{input:?}");
        }
    }
}
