//! Resuming `NAME.part` (`-C`, and every `--retry`): the validator saved beside the part file
//! (`NAME.part.meta`), the `Range` / `If-Range` to send (RFC 9110 §14.2, §13.1.5), and the
//! pure verdict on the answer: append to the part, restart from zero, already complete, or
//! impossible. The verdict never lets bytes of two different representations be spliced.

use std::path::{Path, PathBuf};

use crate::proto::range::parse_content_range;
use crate::proto::Headers;

/// What was known about the representation when its body started arriving.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validator {
    /// A strong entity tag (`"abc"`; weak ones may not be used in If-Range, RFC 9110 §13.1.5).
    pub etag: Option<String>,
    /// `Last-Modified`, used in If-Range only when there is no strong ETag.
    pub last_modified: Option<String>,
    /// The full length of the representation, when it was announced.
    pub length: Option<u64>,
}

impl Validator {
    /// The validator of a 200 (or a 206's representation) from its header fields.
    pub(crate) fn from_headers(headers: &Headers, length: Option<u64>) -> Validator {
        let text = |name| {
            headers
                .get_str(name)
                .map(str::trim)
                .filter(|v| !v.is_empty() && is_plain(v))
                .map(str::to_string)
        };
        Validator {
            etag: text("etag").filter(|e| e.starts_with('"') && e.len() >= 2),
            last_modified: text("last-modified"),
            length,
        }
    }

    /// The `If-Range` value: the strong ETag, else the Last-Modified date.
    pub(crate) fn if_range(&self) -> Option<&str> {
        self.etag.as_deref().or(self.last_modified.as_deref())
    }

    /// `NAME.part.meta` contents: one `key: value` line each.
    pub(crate) fn to_meta(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.etag {
            out.push_str(&format!("etag: {e}\n"));
        }
        if let Some(d) = &self.last_modified {
            out.push_str(&format!("last-modified: {d}\n"));
        }
        if let Some(n) = self.length {
            out.push_str(&format!("length: {n}\n"));
        }
        out
    }

    /// Parse `NAME.part.meta`; unknown or malformed lines are skipped.
    pub(crate) fn from_meta(text: &str) -> Validator {
        let mut v = Validator::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.trim();
            if !is_plain(value) {
                continue;
            }
            match key {
                "etag" if value.starts_with('"') => v.etag = Some(value.to_string()),
                "last-modified" => v.last_modified = Some(value.to_string()),
                "length" => v.length = value.parse().ok(),
                _ => {}
            }
        }
        v
    }
}

/// Visible ASCII and spaces only: safe to put back into a request header.
fn is_plain(value: &str) -> bool {
    value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// `NAME.part.meta` beside `NAME.part`.
pub(crate) fn meta_path(part: &Path) -> PathBuf {
    let mut name = part.as_os_str().to_os_string();
    name.push(".meta");
    PathBuf::from(name)
}

/// What to do with the answer to a resumed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeVerdict {
    /// A 206 that continues exactly at our offset: append its body.
    Append,
    /// A 200: the whole representation (changed, or ranges ignored); write it from zero.
    RestartWithThis,
    /// Unusable (a 206 elsewhere, a 416 that does not match our size): ask again without Range.
    RestartFresh,
    /// 416 with `bytes */LEN` equal to what we hold: the part file is already the whole file.
    Complete,
    /// Not a resumption answer at all (an error status, 304, ...): handle as usual.
    NotResume,
}

/// Judge the answer to `Range: bytes=offset-` (RFC 9110 §14.4, §15.3.7, §15.5.17). A 206 is
/// accepted only when its Content-Range starts at `offset` and its complete length matches the
/// one saved with the validator (when one was saved); a 416 means "done" only when the server's
/// `bytes */LEN` equals `offset`.
pub(crate) fn judge(
    status: u16,
    content_range: Option<&[u8]>,
    offset: u64,
    saved_length: Option<u64>,
) -> ResumeVerdict {
    let range = content_range.and_then(|v| parse_content_range(v).ok());
    match status {
        206 => match range {
            Some(r)
                if r.span.is_some_and(|s| s.start == offset)
                    && r.complete.is_some()
                    && (saved_length.is_none() || r.complete == saved_length) =>
            {
                ResumeVerdict::Append
            }
            _ => ResumeVerdict::RestartFresh,
        },
        200 => ResumeVerdict::RestartWithThis,
        416 => match range {
            Some(r) if r.span.is_none() && r.complete == Some(offset) => ResumeVerdict::Complete,
            _ => ResumeVerdict::RestartFresh,
        },
        _ => ResumeVerdict::NotResume,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResumeVerdict::*;

    /// status, Content-Range, offset, saved length, verdict.
    type Case = (u16, Option<&'static [u8]>, u64, Option<u64>, ResumeVerdict);

    #[test]
    fn only_a_matching_answer_resumes() {
        let table: [Case; 17] = [
            (206, Some(b"bytes 100-199/200"), 100, Some(200), Append),
            (206, Some(b"bytes 100-149/200"), 100, None, Append),
            (
                206,
                Some(b"bytes 100-199/200"),
                100,
                Some(300),
                RestartFresh,
            ),
            (206, Some(b"bytes 0-199/200"), 100, Some(200), RestartFresh),
            (
                206,
                Some(b"bytes 101-199/200"),
                100,
                Some(200),
                RestartFresh,
            ),
            (206, Some(b"bytes 100-199/*"), 100, None, RestartFresh),
            (206, Some(b"junk"), 100, None, RestartFresh),
            (206, None, 100, None, RestartFresh),
            (200, None, 100, Some(200), RestartWithThis),
            (
                200,
                Some(b"bytes 100-199/200"),
                100,
                Some(200),
                RestartWithThis,
            ),
            (416, Some(b"bytes */100"), 100, Some(100), Complete),
            (416, Some(b"bytes */100"), 100, None, Complete),
            (416, Some(b"bytes */150"), 100, Some(150), RestartFresh),
            (416, Some(b"bytes */50"), 100, None, RestartFresh),
            (416, None, 100, None, RestartFresh),
            (404, None, 100, None, NotResume),
            (304, None, 100, None, NotResume),
        ];
        for (status, range, offset, saved, want) in table {
            assert_eq!(
                judge(status, range, offset, saved),
                want,
                "{status} {:?} {offset} {saved:?}",
                range.map(String::from_utf8_lossy)
            );
        }
    }

    #[test]
    fn validators_prefer_a_strong_etag_and_survive_the_meta_file() {
        let mut h = Headers::new();
        h.push("ETag", b"W/\"weak\"");
        h.push("Last-Modified", b"Sun, 06 Nov 1994 08:49:37 GMT");
        let v = Validator::from_headers(&h, Some(10));
        assert_eq!(v.etag, None, "weak tags cannot be used in If-Range");
        assert_eq!(v.if_range(), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        let mut h = Headers::new();
        h.push("ETag", b"\"abc\"");
        h.push("Last-Modified", b"Sun, 06 Nov 1994 08:49:37 GMT");
        let v = Validator::from_headers(&h, Some(10));
        assert_eq!(v.if_range(), Some("\"abc\""));
        assert_eq!(Validator::from_meta(&v.to_meta()), v);
        assert_eq!(Validator::from_meta(""), Validator::default());
        let junk = "etag: unquoted\nlength: x\nlast-modified: a\u{7}b\nother: 1\nnocolon\n";
        assert_eq!(Validator::from_meta(junk), Validator::default());
        let mut h = Headers::new();
        h.push("ETag", b"\"a\r\nb\"");
        assert_eq!(Validator::from_headers(&h, None).etag, None);
        assert_eq!(
            meta_path(Path::new("d/x.bin.part")),
            PathBuf::from("d/x.bin.part.meta")
        );
    }
}
