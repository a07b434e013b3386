//! What a saved body is called: destination names (`-O`, `-J`) reduced to plain file names, with
//! the URL's escapes decoded once. Pure functions over bytes; writing the file is `sink`'s job.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use url::Url;

use crate::proto::syntax::percent_escape;

/// The name used when a URL ends in `/` or nothing usable is left after sanitising.
pub(crate) const DEFAULT_NAME: &str = "index.html";
/// Longest file name most filesystems accept (NAME_MAX), leaving room for `.part`.
const MAX_NAME: usize = 250;

/// Decode `%XX` escapes once; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    while let Some(&b) = rest.first() {
        match percent_escape(rest) {
            Some(decoded) => {
                out.push(decoded);
                rest = &rest[3..]; // an escape is three bytes: `%` and two hex digits
            }
            None => {
                out.push(b);
                rest = &rest[1..];
            }
        }
    }
    out
}

/// Reduce a name from the network to a plain file name: the part after the last `/` or `\`,
/// without control bytes or surrounding blanks; `None` when nothing usable (``, `.`, `..`) is
/// left. Names are kept under NAME_MAX (cut at a character boundary when they are UTF-8).
pub fn sanitize(name: &[u8]) -> Option<Vec<u8>> {
    let last = name
        .rsplit(|&b| b == b'/' || b == b'\\')
        .next()
        .unwrap_or(name);
    let clean: Vec<u8> = last
        .iter()
        .copied()
        .filter(|&b| b >= 0x20 && b != 0x7f)
        .collect();
    let trimmed = clean.trim_ascii();
    if trimmed.is_empty() || trimmed == b"." || trimmed == b".." {
        return None;
    }
    let mut cut = trimmed.len().min(MAX_NAME);
    if let Ok(s) = std::str::from_utf8(trimmed) {
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
    }
    // Cutting can end the name inside a run of blanks: trim again (found by fuzz/names).
    Some(trimmed[..cut].trim_ascii_end().to_vec())
}

/// `-O`: the URL's last path segment, percent-decoded and sanitised; `index.html` when empty.
/// The query is never part of it.
pub fn remote_name(url: &Url) -> OsString {
    let segment = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let name = sanitize(&percent_decode(segment.as_bytes()))
        .unwrap_or_else(|| DEFAULT_NAME.as_bytes().to_vec());
    OsString::from_vec(name)
}

/// `-J`: the file name a Content-Disposition value suggests, `filename*` (RFC 8187) before
/// `filename` (RFC 6266 §4.3), sanitised. Leading dots are stripped: a server never gets to
/// choose a hidden file such as `.bashrc` (RFC 6266 §4.3 asks recipients to guard against
/// names with special meaning). `None` when it names nothing usable.
pub fn disposition_name(value: &[u8]) -> Option<OsString> {
    let params = disposition_params(value);
    let find = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let extended = find("filename*").and_then(|v| decode_ext_value(v));
    let name = extended.or_else(|| find("filename").cloned())?;
    let plain = sanitize(&name)?;
    let visible = plain.iter().position(|&b| b != b'.' && b != b' ')?;
    sanitize(&plain[visible..]).map(OsString::from_vec)
}

/// `type; name=value; name="quoted \" value"` -> lower-case names with unquoted values.
fn disposition_params(value: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut params = Vec::new();
    let Some(first) = value.iter().position(|&b| b == b';') else {
        return params;
    };
    let mut rest = &value[first + 1..];
    while !rest.is_empty() {
        let rest_trimmed = rest.trim_ascii_start();
        let name_end = rest_trimmed
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest_trimmed.len());
        let name = String::from_utf8_lossy(rest_trimmed[..name_end].trim_ascii()).to_lowercase();
        let after = &rest_trimmed[name_end..];
        if after.first() != Some(&b'=') {
            rest = after.get(1..).unwrap_or(&[]);
            continue;
        }
        let (val, remainder) = param_value(after[1..].trim_ascii_start());
        params.push((name, val));
        rest = remainder;
    }
    params
}

/// One parameter value (token or quoted-string, RFC 9110 §5.6.4) and what follows its `;`.
fn param_value(s: &[u8]) -> (Vec<u8>, &[u8]) {
    if s.first() == Some(&b'"') {
        let mut out = Vec::new();
        let mut i = 1;
        while i < s.len() && s[i] != b'"' {
            if s[i] == b'\\' && i + 1 < s.len() {
                i += 1;
            }
            out.push(s[i]);
            i += 1;
        }
        let after = &s[(i + 1).min(s.len())..];
        let next = after
            .iter()
            .position(|&b| b == b';')
            .map_or(&[][..], |p| &after[p + 1..]);
        return (out, next);
    }
    let end = s.iter().position(|&b| b == b';').unwrap_or(s.len());
    let next = s.get(end + 1..).unwrap_or(&[]);
    (s[..end].trim_ascii().to_vec(), next)
}

/// RFC 8187 ext-value: `charset'lang'pct-encoded`; UTF-8 and ISO-8859-1 are understood.
fn decode_ext_value(v: &[u8]) -> Option<Vec<u8>> {
    let mut parts = v.splitn(3, |&b| b == b'\'');
    let charset = parts.next()?;
    let _language = parts.next()?;
    let bytes = percent_decode(parts.next()?);
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok().map(String::into_bytes)
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(
            bytes
                .iter()
                .map(|&b| b as char)
                .collect::<String>()
                .into_bytes(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(url: &str) -> String {
        let url = Url::parse(url).expect("test URLs are valid");
        remote_name(&url).to_string_lossy().into_owned()
    }

    #[test]
    fn remote_names_come_from_the_last_segment() {
        let table = [
            ("http://a/", "index.html"),
            ("http://a", "index.html"),
            ("http://a/dir/", "index.html"),
            ("http://a/dir/file.tar.gz", "file.tar.gz"),
            ("http://a/f.txt?x=1&y=/etc/passwd", "f.txt"),
            ("http://a/f.txt#frag", "f.txt"),
            ("http://a/hello%20world.txt", "hello world.txt"),
            ("http://a/x%2F..%2Fetc%2Fpasswd", "passwd"),
            ("http://a/%2E%2E", "index.html"),
            ("http://a/..%5Cwin.ini", "win.ini"),
            ("http://a/bad%0Aname", "badname"),
            ("http://a/%00x", "x"),
            ("http://a/100%", "100%"),
            ("http://a/%zz", "%zz"),
            ("http://a/caf%C3%A9", "café"),
        ];
        for (url, want) in table {
            assert_eq!(name(url), want, "{url}");
        }
    }

    #[test]
    fn sanitize_leaves_plain_names_only() {
        let table: [(&[u8], Option<&[u8]>); 10] = [
            (b"report.pdf", Some(b"report.pdf")),
            (b"../../etc/passwd", Some(b"passwd")),
            (b"C:\\Windows\\evil.exe", Some(b"evil.exe")),
            (b"..", None),
            (b".", None),
            (b"dir/", None),
            (b"", None),
            (b" spaced .txt ", Some(b"spaced .txt")),
            (b"a\x1b[31mred\x7f", Some(b"a[31mred")),
            (b"\xff\xfe.bin", Some(b"\xff\xfe.bin")),
        ];
        for (input, want) in table {
            assert_eq!(sanitize(input).as_deref(), want, "{input:?}");
        }
        let long = "é".repeat(200);
        let cut = sanitize(long.as_bytes()).expect("kept");
        assert!(cut.len() <= MAX_NAME);
        assert!(std::str::from_utf8(&cut).is_ok());
        // A cut at NAME_MAX that lands in blanks leaves none at the end (fuzz/names finding).
        let mut blank_at_cut = vec![b'a'; MAX_NAME - 1];
        blank_at_cut.extend_from_slice(b"  b");
        let cut = sanitize(&blank_at_cut).expect("kept");
        assert_eq!(cut, vec![b'a'; MAX_NAME - 1]);
    }

    #[test]
    fn content_disposition_names() {
        let table: [(&[u8], Option<&str>); 15] = [
            (b"attachment; filename=\"a.txt\"", Some("a.txt")),
            (b"attachment; filename=a.txt", Some("a.txt")),
            (b"attachment;filename=a.txt;size=3", Some("a.txt")),
            (b"attachment; FILENAME=\"q\\\"x.txt\"", Some("q\"x.txt")),
            (b"attachment; filename=\"x;y.txt\"; a=b", Some("x;y.txt")),
            (
                b"attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
                Some("€ rates.txt"),
            ),
            (
                b"attachment; filename*=iso-8859-1'en'%A3.txt",
                Some("£.txt"),
            ),
            (b"attachment; filename*=koi8-r''x; filename=y", Some("y")),
            (b"attachment; filename=\"../../.bashrc\"", Some("bashrc")),
            (b"attachment; filename=\"...\"", None),
            (b"attachment; filename=\". .x\"", Some("x")),
            (b"attachment; filename=\"/etc/passwd\"", Some("passwd")),
            (b"attachment; filename=\"..\"", None),
            (b"inline", None),
            (b"attachment; filename=\"unterminated", Some("unterminated")),
        ];
        for (value, want) in table {
            let got = disposition_name(value).map(|n| n.to_string_lossy().into_owned());
            assert_eq!(got.as_deref(), want, "{}", String::from_utf8_lossy(value));
        }
    }

    #[test]
    fn percent_decoding_is_single_and_lenient() {
        assert_eq!(percent_decode(b"%41%2541"), b"A%41");
        assert_eq!(percent_decode(b"%4"), b"%4");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"a%g1"), b"a%g1");
    }
}
