//! The one `Response` type: status, header fields and where the body bytes come from, and its
//! head writer. `reply` decides what goes in it; `conn` sends it. It reads no file and no clock
//! (the Date comes from the `now` its builder is given).

use std::fs::File;
use std::time::SystemTime;

use super::clock;
use super::dirstream::ListingBody;
use crate::proto::status::reason;

/// A response ready to be sent: status, header fields, and where the body bytes come from.
/// `headers` include Content-Length (for HEAD, the GET length) and Date; the connection adds
/// `Connection: close` when it decides to close.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// Where the body comes from.
    pub body: BodySource,
}

/// Where a response's body bytes come from.
#[derive(Debug)]
pub enum BodySource {
    /// Nothing after the head (HEAD, 204, 304, or an empty body).
    None,
    /// Bytes built in memory (listings, error pages, small files if cached).
    Bytes(Vec<u8>),
    /// `len` bytes of `file` from `offset`: sent with sendfile(2) on plain connections.
    File {
        /// The open file.
        file: File,
        /// Where the bytes start.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// A directory listing produced as the socket drains (length unknown: chunked, or
    /// close-delimited for HTTP/1.0).
    Listing(Box<ListingBody>),
    /// multipart/byteranges: each part is a part head then a span of `file`; `tail` closes it.
    Multipart {
        /// The open file the parts come from.
        file: File,
        /// Each range's part head and span.
        parts: Vec<Part>,
        /// The closing boundary.
        tail: Vec<u8>,
    },
}

/// One part of a multipart/byteranges body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's boundary and header fields.
    pub head: Vec<u8>,
    /// Where the span starts in the file.
    pub offset: u64,
    /// Span length in bytes.
    pub len: u64,
}

/// Which bytes of a file an answer sends, decided before the file is attached (`reply` is
/// pure and holds no file; `Response::attach` puts the open file in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSpans {
    /// None of them (304; 412 and 416 carry their own small text body).
    Nothing,
    /// One span: the whole file (200) or one range (206).
    Span {
        /// Where the bytes start.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// multipart/byteranges (206): each part's head and span, then the closing delimiter.
    Multipart {
        /// Each range's part head and span.
        parts: Vec<Part>,
        /// The closing delimiter.
        tail: Vec<u8>,
    },
}

impl FileSpans {
    /// Body bytes these spans make: the Content-Length of the answer.
    pub fn len(&self) -> u64 {
        match self {
            FileSpans::Nothing => 0,
            FileSpans::Span { len, .. } => *len,
            FileSpans::Multipart { parts, tail } => multipart_len(parts, tail),
        }
    }

    /// No body bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn multipart_len(parts: &[Part], tail: &[u8]) -> u64 {
    let spans: u64 = parts.iter().map(|p| p.head.len() as u64 + p.len).sum();
    spans + tail.len() as u64
}

impl BodySource {
    /// Total body bytes this source will produce (0 for a listing, whose length is unknown).
    pub fn len(&self) -> u64 {
        match self {
            BodySource::None | BodySource::Listing(_) => 0,
            BodySource::Bytes(b) => b.len() as u64,
            BodySource::File { len, .. } => *len,
            BodySource::Multipart { parts, tail, .. } => multipart_len(parts, tail),
        }
    }

    /// No body bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Response {
    /// A response with `Server` and `Date` for `now` (RFC 9110 §6.6.1: an origin server with a
    /// clock MUST send Date) and no body yet.
    pub fn new(status: u16, now: SystemTime) -> Response {
        // Room for a file response's fields (Server, Date, Last-Modified, ETag, Content-Type,
        // Accept-Ranges, Content-Length, Connection) so the vector is allocated once.
        let mut headers = Vec::with_capacity(8);
        headers.push(("Server".to_string(), "rawhttp".to_string()));
        headers.push(("Date".to_string(), clock::http_date_at(now)));
        Response {
            status,
            headers,
            body: BodySource::None,
        }
    }

    /// Append a field; an owned value (a formatted length, a date) moves in without a copy.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Set the body.
    pub fn body(mut self, body: BodySource) -> Response {
        self.body = body;
        self
    }

    /// Put `file` in as the body `spans` describe (`Nothing` leaves the body as it is).
    pub fn attach(&mut self, spans: FileSpans, file: File) {
        self.body = match spans {
            FileSpans::Nothing => return,
            FileSpans::Span { offset, len } => BodySource::File { file, offset, len },
            FileSpans::Multipart { parts, tail } => BodySource::Multipart { file, parts, tail },
        };
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Drop every field named `name` (case-insensitive).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Append the status line and header fields (and the blank line) to `out`.
    /// `close` adds `Connection: close`; an HTTP/1.0 peer kept alive gets
    /// `Connection: keep-alive` (RFC 9112 §9.3, appendix C.2.2). The status line always says
    /// HTTP/1.1, our version (RFC 9110 §6.2).
    pub fn write_head(&self, minor_version: u8, close: bool, out: &mut Vec<u8>) {
        let size: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        out.reserve(size + 64);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&status_digits(self.status));
        out.push(b' ');
        out.extend_from_slice(reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if minor_version == 0 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Three ASCII digits; statuses outside 100..=999 cannot be built here, clamp defensively.
fn status_digits(status: u16) -> [u8; 3] {
    let s = status.clamp(100, 999);
    [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::reply::plain_error;

    #[test]
    fn writes_heads() {
        let now = SystemTime::now();
        let r = plain_error(404, now);
        let mut out = Vec::new();
        r.write_head(1, true, &mut out);
        let head = String::from_utf8(out).unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\nServer: rawhttp\r\nDate: "));
        assert!(head.ends_with(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
        ));
        let mut out = Vec::new();
        plain_error(431, now).write_head(0, false, &mut out);
        let head = String::from_utf8(out).unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.ends_with("Connection: keep-alive\r\n\r\n"));
        let mut out = Vec::new();
        plain_error(304, now).write_head(1, false, &mut out);
        assert!(!String::from_utf8(out).unwrap().contains("Content-Length"));
        let mut body = Vec::new();
        plain_error(505, now).body_bytes_for_tests(&mut body);
        assert_eq!(body, b"505 HTTP Version Not Supported\n");
    }

    impl Response {
        fn body_bytes_for_tests(self, out: &mut Vec<u8>) {
            if let BodySource::Bytes(b) = self.body {
                out.extend_from_slice(&b);
            }
        }
    }
}
