//! Incremental chunked-body decoder (RFC 9112 §7.1): `feed(input, output) -> (used, produced)`.
//! It decodes bytes it is given; reading them, and deciding that a body is chunked, are not its
//! job, and writing a chunked body is `encoder`'s.
//!
//! Line ends: only CRLF is accepted, in chunk-size lines, after chunk data and in trailers.
//! RFC 9112 §2.2 lets a recipient accept a bare LF in the start-line and fields, but the chunked
//! framing is where parsers that disagree about line ends get smuggled through (a bare LF read
//! as a line end by one hop and as data by another), and every real server sends CRLF; so a
//! bare LF (or a CR not followed by LF) is an error here.

use crate::proto::limits::{MAX_CHUNK_LINE, MAX_RESPONSE_HEADERS, MAX_TRAILER_BYTES};
use crate::proto::syntax::hex_value;
use crate::proto::{Headers, ProtoError};

/// Decodes a chunked body fed in arbitrary pieces, trailers included.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: State,
    trailers: Headers,
}

#[derive(Debug)]
enum State {
    /// Reading `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1, §7.1.1).
    Size(SizeLine),
    /// Copying chunk data; this many bytes of the current chunk are left.
    Data(u64),
    /// Chunk data done; its CR is expected next.
    DataCr,
    /// Chunk data and CR done; its LF is expected next.
    DataLf,
    /// After the last chunk: the raw trailer section so far, up to its empty line (§7.1.2).
    Trailers(Vec<u8>),
    /// The message is complete; no more input is used.
    Done,
    /// An error was returned; it is returned again if the caller keeps feeding.
    Failed(ProtoError),
}

impl Default for State {
    fn default() -> Self {
        State::Size(SizeLine::default())
    }
}

/// Progress through one chunk-size line.
#[derive(Debug, Default)]
struct SizeLine {
    value: u64,
    digits: usize,
    len: usize,
    phase: SizePhase,
}

#[derive(Debug, Default, PartialEq)]
enum SizePhase {
    /// Hex digits of the size.
    #[default]
    Digits,
    /// Whitespace after the size (BWS before `;`, RFC 9112 §7.1.1).
    Space,
    /// Inside chunk extensions, which we ignore (§7.1.1 allows that).
    Extension,
    /// CR seen; LF must follow.
    Cr,
}

impl SizeLine {
    /// Take one byte of the size line: `Ok(Some(size))` once its CRLF is complete.
    fn push(&mut self, b: u8) -> Result<Option<u64>, ProtoError> {
        self.len += 1;
        if self.len > MAX_CHUNK_LINE {
            return Err(ProtoError::BadChunkSize);
        }
        match (&self.phase, b) {
            (SizePhase::Digits, _) if hex_value(b).is_some() => self.push_digit(b)?,
            (SizePhase::Cr, b'\n') => return Ok(Some(self.value)),
            (SizePhase::Cr, _) => return Err(ProtoError::BadChunkSize),
            (_, _) if self.digits == 0 => return Err(ProtoError::BadChunkSize),
            (_, b'\r') => self.phase = SizePhase::Cr,
            (SizePhase::Extension, b) if b == b'\t' || (b' '..0x7f).contains(&b) || b >= 0x80 => {}
            (SizePhase::Digits | SizePhase::Space, b' ' | b'\t') => self.phase = SizePhase::Space,
            (SizePhase::Digits | SizePhase::Space, b';') => self.phase = SizePhase::Extension,
            _ => return Err(ProtoError::BadChunkSize),
        }
        Ok(None)
    }

    fn push_digit(&mut self, b: u8) -> Result<(), ProtoError> {
        let digit = u64::from(hex_value(b).unwrap_or(0));
        self.digits += 1;
        self.value = self
            .value
            .checked_mul(16)
            .and_then(|v| v.checked_add(digit))
            .ok_or(ProtoError::BadChunkSize)?;
        Ok(())
    }
}

impl ChunkedDecoder {
    /// A decoder expecting the first chunk-size line.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consume bytes from `input`, write decoded body bytes to `output`. Returns
    /// `(used, produced)`. Making no progress is not an error: it means more input (or more
    /// output room) is needed. After the last chunk and trailers, `is_done()` is true and the
    /// decoder uses no more input (bytes after it belong to the next message).
    pub fn feed(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), ProtoError> {
        let (mut used, mut produced) = (0, 0);
        loop {
            let step = self.step(&input[used..], &mut output[produced..]);
            match step {
                Ok((0, 0)) => return Ok((used, produced)),
                Ok((u, p)) => {
                    used += u;
                    produced += p;
                }
                Err(e) => {
                    self.state = State::Failed(e);
                    return Err(e);
                }
            }
        }
    }

    /// One unit of progress in the current state; `(0, 0)` when none is possible.
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), ProtoError> {
        let Some(&b) = input.first() else {
            return Ok((0, 0));
        };
        match &mut self.state {
            State::Size(line) => {
                if let Some(size) = line.push(b)? {
                    self.state = match size {
                        0 => State::Trailers(Vec::new()),
                        n => State::Data(n),
                    };
                }
                Ok((1, 0))
            }
            State::Data(left) => {
                let n = copy_data(left, input, output);
                if *left == 0 {
                    self.state = State::DataCr;
                }
                Ok((n, n))
            }
            State::DataCr if b == b'\r' => {
                self.state = State::DataLf;
                Ok((1, 0))
            }
            State::DataLf if b == b'\n' => {
                self.state = State::default();
                Ok((1, 0))
            }
            State::DataCr | State::DataLf => Err(ProtoError::BadChunkEnd),
            State::Trailers(_) => self.take_trailer_line(input).map(|u| (u, 0)),
            State::Done => Ok((0, 0)),
            State::Failed(e) => Err(*e),
        }
    }

    /// Append trailer bytes up to the next LF (or all of `input`), finishing at the empty line.
    fn take_trailer_line(&mut self, input: &[u8]) -> Result<usize, ProtoError> {
        let State::Trailers(buf) = &mut self.state else {
            return Ok(0);
        };
        let take = input
            .iter()
            .position(|&b| b == b'\n')
            .map_or(input.len(), |i| i + 1);
        if buf.len() + take > MAX_TRAILER_BYTES {
            return Err(ProtoError::BadTrailer);
        }
        buf.extend_from_slice(&input[..take]);
        if buf.last() != Some(&b'\n') {
            return Ok(take);
        }
        if !buf.ends_with(b"\r\n") {
            return Err(ProtoError::BadTrailer);
        }
        // The line just ended may have arrived over several feeds: find where it began.
        let before = &buf[..buf.len() - 1];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        if buf.len() - line_start == 2 {
            self.trailers = parse_trailers(buf)?;
            self.state = State::Done;
        }
        Ok(take)
    }

    /// The last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Trailer fields seen after the last chunk.
    pub fn trailers(&self) -> &Headers {
        &self.trailers
    }
}

/// Copy as much chunk data as input and output allow, counting it off `left`.
fn copy_data(left: &mut u64, input: &[u8], output: &mut [u8]) -> usize {
    let room = input.len().min(output.len());
    // The min with a usize fits in usize, so the fallback is never taken.
    let n = usize::try_from((*left).min(room as u64)).unwrap_or(room);
    output[..n].copy_from_slice(&input[..n]);
    *left -= n as u64;
    n
}

/// Parse a complete trailer section (ending in its empty line) into fields, at most
/// `MAX_RESPONSE_HEADERS` of them, with the same field rules as a head.
fn parse_trailers(section: &[u8]) -> Result<Headers, ProtoError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    match httparse::parse_headers(section, &mut slots) {
        Ok(httparse::Status::Complete((used, fields))) if used == section.len() => {
            let mut headers = Headers::new();
            for field in fields {
                headers.push(field.name, field.value);
            }
            Ok(headers)
        }
        _ => Err(ProtoError::BadTrailer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::chunked::{encode_chunk, encode_last_chunk};
    use crate::proto::testing::xorshift;

    /// Decode `input` in one call with ample room: (used, body, done).
    fn decode_whole(input: &[u8]) -> Result<(usize, Vec<u8>, bool), ProtoError> {
        let mut d = ChunkedDecoder::new();
        let mut out = vec![0; input.len() + 16];
        let (used, produced) = d.feed(input, &mut out)?;
        out.truncate(produced);
        Ok((used, out, d.is_done()))
    }

    /// Decode feeding `in_step` input bytes and `out_step` output bytes at a time.
    fn decode_in_steps(
        input: &[u8],
        in_step: usize,
        out_step: usize,
    ) -> Result<(usize, Vec<u8>, ChunkedDecoder), ProtoError> {
        let mut d = ChunkedDecoder::new();
        let (mut pos, mut body) = (0, Vec::new());
        let mut stuck = 0;
        while !d.is_done() && stuck < 3 {
            let end = (pos + in_step).min(input.len());
            let mut room = vec![0; out_step];
            let (used, produced) = d.feed(&input[pos..end], &mut room)?;
            body.extend_from_slice(&room[..produced]);
            pos += used;
            stuck = if used + produced == 0 { stuck + 1 } else { 0 };
        }
        Ok((pos, body, d))
    }

    const VALID: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        (b"a\r\n0123456789\r\n00\r\n\r\n", b"0123456789"),
        (b"5;name=value\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b"5 ; a=\"b c\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\t\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"3\r\n\r\n\r\r\n0\r\n\r\n", b"\r\n\r"),
        (
            b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum: abc\r\n\r\n",
            b"hello",
        ),
        (b"0000000000000000000000001\r\nx\r\n0\r\n\r\n", b"x"),
    ];

    #[test]
    fn valid_bodies_decode_in_one_feed() {
        for (input, body) in VALID {
            let (used, out, done) = decode_whole(input).unwrap();
            assert_eq!(
                (used, out.as_slice(), done),
                (input.len(), *body, true),
                "{input:?}"
            );
        }
    }

    #[test]
    fn trailers_are_parsed() {
        let (input, _) = VALID[9];
        let mut d = ChunkedDecoder::new();
        d.feed(input, &mut [0; 64]).unwrap();
        assert!(d.is_done());
        assert_eq!(d.trailers().get("expires"), Some(&b"never"[..]));
        assert_eq!(d.trailers().get("x-sum"), Some(&b"abc"[..]));
        assert_eq!(d.trailers().len(), 2);
    }

    #[test]
    fn stops_exactly_at_the_end_of_the_message() {
        let input = b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
        let (used, out, done) = decode_whole(input).unwrap();
        assert_eq!(
            (&input[used..], out.as_slice(), done),
            (&b"HTTP/1.1 200 OK\r\n"[..], &b"abc"[..], true)
        );
        let mut d = ChunkedDecoder::new();
        d.feed(&input[..used], &mut [0; 8]).unwrap();
        assert_eq!(d.feed(b"more", &mut [0; 8]), Ok((0, 0)));
    }

    #[test]
    fn every_strict_prefix_is_incomplete_not_an_error() {
        for (input, body) in VALID {
            for n in 0..input.len() {
                let mut d = ChunkedDecoder::new();
                let mut out = vec![0; input.len()];
                let (used, produced) = d.feed(&input[..n], &mut out).unwrap();
                assert_eq!(used, n, "prefix {n} of {input:?}");
                assert!(!d.is_done(), "prefix {n} of {input:?} reported done");
                assert!(body.starts_with(&out[..produced]));
            }
        }
    }

    #[test]
    fn byte_by_byte_input_and_output() {
        for (input, body) in VALID {
            for (in_step, out_step) in [(1, 1), (1, 64), (64, 1), (2, 3), (7, 2)] {
                let (used, out, d) = decode_in_steps(input, in_step, out_step).unwrap();
                assert!(d.is_done(), "{input:?} {in_step}/{out_step}");
                assert_eq!((used, out.as_slice()), (input.len(), *body));
            }
        }
    }

    #[test]
    fn zero_sized_output_makes_no_data_progress() {
        let mut d = ChunkedDecoder::new();
        // The size line is consumed, the data waits for room.
        assert_eq!(d.feed(b"5\r\nhello\r\n0\r\n\r\n", &mut []), Ok((3, 0)));
        assert_eq!(d.feed(b"hello\r\n0\r\n\r\n", &mut []), Ok((0, 0)));
        let mut out = [0; 5];
        assert_eq!(d.feed(b"hello\r\n0\r\n\r\n", &mut out), Ok((12, 5)));
        assert!(d.is_done());
        // An empty body needs no output room at all.
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.feed(b"0\r\n\r\n", &mut []), Ok((5, 0)));
        assert!(d.is_done());
    }

    const MALFORMED: &[(&[u8], ProtoError)] = &[
        (b"\r\n", ProtoError::BadChunkSize),
        (b"x\r\n", ProtoError::BadChunkSize),
        (b"-1\r\n", ProtoError::BadChunkSize),
        (b"+1\r\n", ProtoError::BadChunkSize),
        (b" 1\r\n", ProtoError::BadChunkSize),
        (b"0x1\r\n", ProtoError::BadChunkSize),
        (b"1 1\r\nx\r\n", ProtoError::BadChunkSize),
        (b";ext\r\n", ProtoError::BadChunkSize),
        (b"1\n", ProtoError::BadChunkSize),
        (b"1\rx", ProtoError::BadChunkSize),
        (b"1;a\nx", ProtoError::BadChunkSize),
        (b"1;a\x01\r\n", ProtoError::BadChunkSize),
        (b"10000000000000000\r\n", ProtoError::BadChunkSize),
        (b"FFFFFFFFFFFFFFFFF\r\n", ProtoError::BadChunkSize),
        (b"5\r\nhelloX", ProtoError::BadChunkEnd),
        (b"5\r\nhello\n0\r\n\r\n", ProtoError::BadChunkEnd),
        (b"5\r\nhello\rX", ProtoError::BadChunkEnd),
        (b"3\r\nhello\r\n", ProtoError::BadChunkEnd),
        (b"0\r\n\n", ProtoError::BadTrailer),
        (b"0\r\nX: y\n\r\n", ProtoError::BadTrailer),
        (b"0\r\nbad line\r\n\r\n", ProtoError::BadTrailer),
        (b"0\r\nX : y\r\n\r\n", ProtoError::BadTrailer),
        (b"0\r\nX: y\r\n folded\r\n\r\n", ProtoError::BadTrailer),
    ];

    /// `input` is refused with `want`, fed whole and fed byte by byte.
    fn assert_refused(input: &[u8], want: ProtoError) {
        assert_eq!(
            decode_whole(input).map(|_| ()),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        // Byte-by-byte feeding reaches the same verdict.
        assert_eq!(
            decode_in_steps(input, 1, 1).map(|_| ()),
            Err(want),
            "split {input:?}"
        );
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        for &(input, want) in MALFORMED {
            assert_refused(input, want);
        }
        // Past the caps: a chunk-size line and a trailer section.
        let long_ext = [
            b"1;".as_slice(),
            &[b'a'; MAX_CHUNK_LINE],
            b"\r\nx\r\n0\r\n\r\n",
        ]
        .concat();
        assert_refused(&long_ext, ProtoError::BadChunkSize);
        let mut big_trailer = b"0\r\nX: ".to_vec();
        big_trailer.resize(MAX_TRAILER_BYTES + 8, b'a');
        assert_refused(&big_trailer, ProtoError::BadTrailer);
    }

    #[test]
    fn errors_are_sticky() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.feed(b"z", &mut [0; 4]), Err(ProtoError::BadChunkSize));
        assert_eq!(
            d.feed(b"0\r\n\r\n", &mut [0; 4]),
            Err(ProtoError::BadChunkSize)
        );
        assert!(!d.is_done());
    }

    #[test]
    fn largest_chunk_size_is_accepted() {
        let mut d = ChunkedDecoder::new();
        let (used, produced) = d.feed(b"FFFFFFFFFFFFFFFF\r\nabc", &mut [0; 8]).unwrap();
        assert_eq!((used, produced, d.is_done()), (21, 3, false));
    }

    /// Deterministic mutations of valid bodies (xorshift): whatever the bytes, `feed` never
    /// panics, never claims more than it was given, and stops using input once done.
    #[test]
    fn mutated_input_never_panics_or_overreports() {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..4000 {
            let (base, _) = VALID[round % VALID.len()];
            let mut input = base.to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % input.len();
                input[at] = next() as u8;
            }
            let (mut d, mut pos) = (ChunkedDecoder::new(), 0);
            let step = 1 + (next() as usize) % 5;
            while pos < input.len() {
                let end = (pos + step).min(input.len());
                let mut out = [0u8; 3];
                match d.feed(&input[pos..end], &mut out) {
                    Ok((used, produced)) => {
                        assert!(used <= end - pos && produced <= out.len());
                        if used + produced == 0 && (d.is_done() || end == input.len()) {
                            break;
                        }
                        pos += used;
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// decode(encode(x)) == x: bodies cut into chunks of varied sizes, with trailers, decode
    /// to the same bytes and fields whole and byte by byte (the fuzz target `chunked_codec`
    /// checks this for arbitrary inputs).
    #[test]
    fn encoded_bodies_decode_to_themselves() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for round in 0..200 {
            let body: Vec<u8> = (0..round * 7).map(|_| next() as u8).collect();
            let mut encoded = Vec::new();
            let mut rest = body.as_slice();
            while !rest.is_empty() {
                let n = (1 + next() as usize % 40).min(rest.len());
                encode_chunk(&rest[..n], &mut encoded);
                rest = &rest[n..];
            }
            let mut trailers = Headers::new();
            if round % 2 == 1 {
                trailers.push("X-Round", round.to_string().as_bytes());
            }
            encode_last_chunk(&trailers, &mut encoded).unwrap();
            let (used, out, d) = decode_in_steps(&encoded, 1 + round % 9, 1 + round % 5).unwrap();
            assert_eq!((used, &out, d.is_done()), (encoded.len(), &body, true));
            assert_eq!(d.trailers(), &trailers);
            assert_eq!(decode_whole(&encoded), Ok((encoded.len(), body, true)));
        }
    }
}
