//! The head and body plan of a file answer that sends bytes: 200 with the whole file, 206 with
//! one span, or 206 multipart/byteranges (RFC 9110 §14.6, §15.3.7). Pure: spans, not reads.

use super::super::response::{FileSpans, Part, Response};
use crate::proto::range::{ByteSpan, RangePlan};

/// The answer for `plan` over a file of `len` bytes of type `content_type`. `validated` makes
/// the head with the validators in; `boundary` separates multipart parts. `Unsatisfiable` is
/// answered by the caller (416) and never reaches here; if it did, it would send the whole.
pub fn send_plan(
    validated: impl FnOnce(u16) -> Response,
    plan: RangePlan,
    len: u64,
    content_type: &str,
    boundary: &str,
) -> (Response, FileSpans) {
    match plan {
        RangePlan::Single(span) => {
            let head = validated(206)
                .with("Content-Type", content_type)
                .with("Content-Range", content_range(span, len))
                .with("Content-Length", span.len.to_string());
            let spans = FileSpans::Span {
                offset: span.start,
                len: span.len,
            };
            (head, spans)
        }
        RangePlan::Multi(spans) => {
            let (parts, tail) = multipart_parts(&spans, len, content_type, boundary);
            let spans = FileSpans::Multipart { parts, tail };
            let head = validated(206)
                .with(
                    "Content-Type",
                    format!("multipart/byteranges; boundary={boundary}"),
                )
                .with("Content-Length", spans.len().to_string());
            (head, spans)
        }
        RangePlan::Whole | RangePlan::Unsatisfiable => {
            let head = validated(200)
                .with("Content-Type", content_type)
                .with("Accept-Ranges", "bytes")
                .with("Content-Length", len.to_string());
            (head, FileSpans::Span { offset: 0, len })
        }
    }
}

fn content_range(span: ByteSpan, len: u64) -> String {
    format!("bytes {}-{}/{len}", span.start, span.last())
}

/// Part heads (RFC 9110 §14.6) and the closing delimiter. The first part starts with the
/// delimiter itself, later ones with CRLF + delimiter (RFC 2046 §5.1.1).
fn multipart_parts(
    spans: &[ByteSpan],
    len: u64,
    content_type: &str,
    boundary: &str,
) -> (Vec<Part>, Vec<u8>) {
    let parts = spans
        .iter()
        .enumerate()
        .map(|(i, span)| Part {
            head: format!(
                "{}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                if i == 0 { "" } else { "\r\n" },
                content_range(*span, len)
            )
            .into_bytes(),
            offset: span.start,
            len: span.len,
        })
        .collect();
    (parts, format!("\r\n--{boundary}--\r\n").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn plan(plan: RangePlan) -> (Response, FileSpans) {
        let validated = |status| Response::new(status, UNIX_EPOCH);
        send_plan(validated, plan, 12, "text/plain", "B")
    }

    fn span(start: u64, len: u64) -> ByteSpan {
        ByteSpan { start, len }
    }

    #[test]
    fn whole_and_single_spans() {
        type Case = (
            RangePlan,
            u16,
            Option<&'static str>,
            &'static str,
            FileSpans,
        );
        let cases: [Case; 3] = [
            (
                RangePlan::Whole,
                200,
                None,
                "12",
                FileSpans::Span { offset: 0, len: 12 },
            ),
            (
                RangePlan::Single(span(0, 5)),
                206,
                Some("bytes 0-4/12"),
                "5",
                FileSpans::Span { offset: 0, len: 5 },
            ),
            (
                RangePlan::Single(span(9, 3)),
                206,
                Some("bytes 9-11/12"),
                "3",
                FileSpans::Span { offset: 9, len: 3 },
            ),
        ];
        for (range, status, content_range, length, want) in cases {
            let (head, spans) = plan(range.clone());
            assert_eq!(head.status, status, "{range:?}");
            assert_eq!(head.header("content-range"), content_range);
            assert_eq!(head.header("content-length"), Some(length));
            assert_eq!(head.header("content-type"), Some("text/plain"));
            assert_eq!(spans, want);
        }
    }

    #[test]
    fn multipart_parts_and_their_length() {
        let (head, spans) = plan(RangePlan::Multi(vec![span(0, 1), span(6, 5)]));
        assert_eq!(head.status, 206);
        let ct = Some("multipart/byteranges; boundary=B");
        assert_eq!(head.header("content-type"), ct);
        let first = "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-0/12\r\n\r\n";
        let second = "\r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 6-10/12\r\n\r\n";
        let want = FileSpans::Multipart {
            parts: vec![
                Part {
                    head: first.as_bytes().to_vec(),
                    offset: 0,
                    len: 1,
                },
                Part {
                    head: second.as_bytes().to_vec(),
                    offset: 6,
                    len: 5,
                },
            ],
            tail: b"\r\n--B--\r\n".to_vec(),
        };
        let length = (first.len() + 1 + second.len() + 5 + 9).to_string();
        assert_eq!(head.header("content-length"), Some(length.as_str()));
        assert_eq!(spans, want);
        assert!(head.header("accept-ranges").is_none());
    }
}
