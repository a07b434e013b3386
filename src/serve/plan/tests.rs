//! Send plans run to their end as a socket that takes every byte would: what goes on the wire,
//! in which writes, with which pauses, for each fault (no sockets, no clock: `now` is given).

use std::io::Write;
use std::time::Duration;

use super::*;
use crate::serve::response::Part;

const NONE: Faults = Faults::NONE;
const TRUNCATE_4: Faults = Faults {
    truncate: Some(4),
    ..NONE
};
const TRUNCATE_16: Faults = Faults {
    truncate: Some(16),
    ..NONE
};
const RESET_3: Faults = Faults {
    reset: Some(3),
    ..NONE
};
const RESET_3_TRUNCATE_6: Faults = Faults {
    truncate: Some(6),
    ..RESET_3
};
const CHUNKED: Faults = Faults {
    chunked: true,
    ..NONE
};
const CHUNKED_CUT: Faults = Faults {
    chunked: true,
    ..TRUNCATE_4
};
const NO_LENGTH: Faults = Faults {
    no_length: true,
    ..NONE
};
const NO_NOTIFY: Faults = Faults {
    no_close_notify: true,
    ..NONE
};
const STATUS_204: Faults = Faults {
    status: Some(204),
    ..NONE
};

const BODY: &[u8] = b"0123456789";

const LENGTH: Field = Some("Content-Length: 10\r\n");
const CHUNKS: Field = Some("Transfer-Encoding: chunked\r\n");

/// How the connection ends after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    KeepAlive,
    Close,
    Reset,
}
use End::{Close, KeepAlive, Reset};

/// (what, faults, request minor version, framing field, body on the wire, how it ends)
type Case = (&'static str, Faults, u8, Field, &'static [u8], End);
type Field = Option<&'static str>;
/// The body in one chunk, then the last chunk; cut after 4 bytes (no last chunk).
const IN_CHUNKS: &[u8] = b"a\r\n0123456789\r\n0\r\n\r\n";
const CUT_CHUNKS: &[u8] = b"4\r\n0123\r\n";
const CASES: &[Case] = &[
    ("as is", NONE, 1, LENGTH, BODY, KeepAlive),
    ("truncate", TRUNCATE_4, 1, LENGTH, b"0123", Close),
    ("reset", RESET_3, 1, LENGTH, b"012", Reset),
    ("earlier cut", RESET_3_TRUNCATE_6, 1, LENGTH, b"012", Reset),
    ("chunked", CHUNKED, 1, CHUNKS, IN_CHUNKS, KeepAlive),
    ("chunked, HTTP/1.0", CHUNKED, 0, None, BODY, Close),
    ("chunked cut", CHUNKED_CUT, 1, CHUNKS, CUT_CHUNKS, Close),
    ("no-length", NO_LENGTH, 1, None, BODY, Close),
    ("no-close-notify", NO_NOTIFY, 1, LENGTH, b"01234", Close),
    ("status=204", STATUS_204, 1, None, b"", KeepAlive),
];

/// What a plan put on the wire.
struct Wire {
    head: String,
    body: Vec<u8>,
    /// Write calls made (pending bytes or file spans).
    writes: usize,
    /// Pauses asked for, as offsets from the start.
    pauses: Vec<Duration>,
    stalled: bool,
}

/// Run `ex` to its end, every write taking all it is given; a pause moves `now` to its end.
fn run(mut ex: Exchange, start: Instant) -> Wire {
    let (mut all, mut writes, mut pauses, mut now) = (Vec::new(), 0, Vec::new(), start);
    for _ in 0..10_000 {
        let pending = ex.pending().to_vec();
        if !pending.is_empty() {
            all.extend_from_slice(&pending);
            ex.wrote_pending(pending.len());
            writes += 1;
        }
        let stalled = match ex.next_step(now).expect("the body file is readable") {
            BodyStep::Refill => continue,
            BodyStep::File { offset, len } => {
                let mut span = vec![0; len as usize];
                let file = ex.file().expect("a file span has a file");
                file.read_exact_at(&mut span, offset)
                    .expect("span readable");
                all.extend_from_slice(&span);
                ex.wrote_span(span.len());
                writes += 1;
                continue;
            }
            BodyStep::Pause(until) => {
                pauses.push(until - start);
                now = until;
                continue;
            }
            BodyStep::Stall => true,
            BodyStep::Done => false,
        };
        let at = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head")
            + 4;
        let body = all.split_off(at);
        let head = String::from_utf8(all).expect("ASCII head");
        return Wire {
            head,
            body,
            writes,
            pauses,
            stalled,
        };
    }
    panic!("the plan never ended");
}

fn response(body: BodySource, len: usize) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/plain".into()),
            ("Content-Length".into(), len.to_string()),
        ],
        body,
    }
}

fn temp_file(content: &[u8]) -> std::fs::File {
    let mut file = tempfile::tempfile().expect("temp file");
    file.write_all(content).expect("write temp file");
    file
}

fn file_body(content: &[u8]) -> BodySource {
    BodySource::File {
        file: temp_file(content),
        offset: 0,
        len: content.len() as u64,
    }
}

/// Bytes 0-1 and 7-9 of `BODY` as multipart/byteranges (boundary `b`, no part fields).
fn multipart_body() -> BodySource {
    let part = |head: &[u8], offset, len| Part {
        head: head.to_vec(),
        offset,
        len,
    };
    BodySource::Multipart {
        file: temp_file(BODY),
        parts: vec![part(b"--b\r\n\r\n", 0, 2), part(b"\r\n--b\r\n\r\n", 7, 3)],
        tail: b"\r\n--b--\r\n".to_vec(),
    }
}
const MULTIPART_WIRE: &[u8] = b"--b\r\n\r\n01\r\n--b\r\n\r\n789\r\n--b--\r\n";

fn get(minor: u8) -> Option<RequestLine> {
    Some(("GET".into(), "/a".into(), minor))
}

#[test]
fn fault_plans_table() {
    let start = Instant::now();
    for &(what, ref faults, minor, field, want, end) in CASES {
        let bodies = [BodySource::Bytes(BODY.to_vec()), file_body(BODY)];
        for (kind, body) in ["memory", "file"].into_iter().zip(bodies) {
            let resp = response(body, BODY.len());
            let ex = Exchange::new(resp, get(minor), true, faults.clone(), start);
            let ends = match (ex.close, ex.resets()) {
                (_, true) => Reset,
                (true, false) => Close,
                (false, false) => KeepAlive,
            };
            assert_eq!(ends, end, "{what} ({kind})");
            let wire = run(ex, start);
            assert_eq!(wire.body, want, "{what} ({kind})");
            assert!(wire.pauses.is_empty() && !wire.stalled, "{what} ({kind})");
            let has = |name: &str| wire.head.contains(name);
            assert_eq!(has("Content-Length"), field == LENGTH, "{what} ({kind})");
            assert_eq!(has("Transfer-Encoding"), field == CHUNKS, "{what} ({kind})");
            assert!(field.is_none_or(has), "{what} ({kind})");
        }
    }
}

#[test]
fn a_small_body_leaves_with_its_head_in_one_write() {
    let start = Instant::now();
    for body in [BodySource::Bytes(BODY.to_vec()), file_body(BODY)] {
        let ex = Exchange::new(response(body, BODY.len()), get(1), true, NONE, start);
        assert!(!ex.more_follows());
        let wire = run(ex, start);
        assert_eq!((wire.writes, wire.body.as_slice()), (1, BODY));
    }
    // Larger: the head, then the file span (sendfile) in a write of its own.
    let big = vec![b'x'; INLINE_BODY as usize + 1];
    let ex = Exchange::new(
        response(file_body(&big), big.len()),
        get(1),
        true,
        NONE,
        start,
    );
    assert!(ex.more_follows());
    let wire = run(ex, start);
    assert_eq!((wire.writes, wire.body.len()), (2, big.len()));
}

#[test]
fn rate_paces_the_body_in_slices() {
    let start = Instant::now();
    let faults = Faults {
        rate: Some(1000),
        ..NONE
    };
    let body = vec![b'r'; 300];
    let resp = response(BodySource::Bytes(body.clone()), body.len());
    let wire = run(Exchange::new(resp, get(1), true, faults, start), start);
    assert_eq!(wire.body, body);
    // 100 bytes up front (a tenth of a second's worth), then 50 every 50 ms; the last pause
    // is the one that finds nothing more to send.
    let ms: Vec<u128> = wire.pauses.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [50, 100, 150, 200, 250]);
}

#[test]
fn stall_sends_the_head_and_nothing_else() {
    let start = Instant::now();
    let faults = Faults {
        stall: true,
        ..NONE
    };
    let resp = response(BodySource::Bytes(BODY.to_vec()), BODY.len());
    let ex = Exchange::new(resp, get(1), true, faults, start);
    assert!(!ex.more_follows());
    let wire = run(ex, start);
    assert!(wire.stalled && wire.body.is_empty());
    assert!(wire.head.starts_with("HTTP/1.1 200 "));
}

#[test]
fn a_head_response_has_no_last_chunk() {
    let start = Instant::now();
    let head = Some(("HEAD".into(), "/a".into(), 1));
    let ex = Exchange::new(response(BodySource::None, 10), head, true, CHUNKED, start);
    let wire = run(ex, start);
    assert!(wire.head.contains("Transfer-Encoding: chunked"));
    assert_eq!(wire.body, b"");
}

#[test]
fn prepended_bytes_go_before_the_head_and_count_as_head() {
    let start = Instant::now();
    let resp = response(BodySource::Bytes(BODY.to_vec()), BODY.len());
    let mut ex = Exchange::new(resp, get(1), true, NONE, start);
    ex.prepend(b"Continue\r\n\r\n");
    assert!(ex.pending().starts_with(b"Continue\r\n\r\nHTTP/1.1 200 "));
    let n = ex.pending().len();
    ex.wrote_pending(n);
    assert_eq!(ex.body_written(), BODY.len() as u64);
}

#[test]
fn a_multipart_body_interleaves_part_heads_and_file_spans() {
    let start = Instant::now();
    let len = MULTIPART_WIRE.len();
    let ex = Exchange::new(response(multipart_body(), len), get(1), true, NONE, start);
    assert!(ex.more_follows());
    let wire = run(ex, start);
    // The head, then each part head, span (sendfile) and the tail in writes of their own.
    assert_eq!((wire.body.as_slice(), wire.writes), (MULTIPART_WIRE, 6));
    // A cut counts part heads and spans alike: 16 bytes end inside the second part head.
    let ex = Exchange::new(
        response(multipart_body(), len),
        get(1),
        true,
        TRUNCATE_16,
        start,
    );
    assert_eq!(run(ex, start).body, &MULTIPART_WIRE[..16]);
    let ex = Exchange::new(
        response(multipart_body(), len),
        get(1),
        true,
        CHUNKED,
        start,
    );
    let chunks = b"7\r\n--b\r\n\r\n\r\n2\r\n01\r\n9\r\n\r\n--b\r\n\r\n\r\n3\r\n789\r\n\
                   9\r\n\r\n--b--\r\n\r\n0\r\n\r\n";
    assert_eq!(run(ex, start).body, chunks);
}
