//! Reading a response off a byte source: the head (under its caps) and then the body as the
//! framing says (RFC 9112 §6.3), in one fixed buffer. Early EOF is an error unless the body runs
//! until EOF. Parsing itself is `proto`'s; this module only moves bytes and counts them.

use std::io;
use std::time::{Duration, Instant};

use super::connect::Stream;
use super::{MAX_TIME_REACHED, READ_TIMED_OUT};
use crate::proto::chunked::ChunkedDecoder;
use crate::proto::framing::BodyKind;
use crate::proto::limits::{MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS};
use crate::proto::response_head::{parse_response_head, ResponseHead};
use crate::{Error, ProtoError};

/// Receive buffer: big enough for a whole capped head, and large reads keep syscalls few.
pub(super) const BUF_SIZE: usize = 128 * 1024;
/// What a connection's receive buffer starts at: any ordinary head fits, and a batch of small
/// files does not zero 128 KiB per request. It grows towards `BUF_SIZE` when a read fills it.
const FIRST_BUF_SIZE: usize = 16 * 1024;

/// Where response bytes come from: a socket with timeouts, or a test script.
pub(super) trait Source {
    /// Read some bytes; `Ok(0)` is EOF. Errors are already the crate's (timeout, reset ...).
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, Error>;
}

/// A `Stream` with the idle read timeout and the whole-transfer deadline applied to each read.
#[derive(Debug)]
pub(super) struct TimedStream {
    /// The connection read from.
    pub stream: Stream,
    /// Longest wait for any single read (`--read-timeout`).
    pub read_timeout: Duration,
    /// When the whole transfer must be over (`--max-time`).
    pub deadline: Option<Instant>,
    /// The timeout currently set on the socket, to skip redundant setsockopt calls.
    current: Option<Duration>,
}

impl TimedStream {
    /// `stream` with these limits applied to every read.
    pub(super) fn new(stream: Stream, read_timeout: Duration, deadline: Option<Instant>) -> Self {
        Self {
            stream,
            read_timeout,
            deadline,
            current: None,
        }
    }

    /// The socket timeout for the next read: the idle timeout, cut short by the deadline.
    fn next_timeout(&self) -> Result<Duration, Error> {
        let Some(deadline) = self.deadline else {
            return Ok(self.read_timeout);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(MAX_TIME_REACHED));
        }
        Ok(left.min(self.read_timeout))
    }

    fn timeout_error(&self) -> Error {
        match self.deadline {
            Some(d) if Instant::now() + Duration::from_millis(5) >= d => {
                Error::Timeout(MAX_TIME_REACHED)
            }
            _ => Error::Timeout(READ_TIMED_OUT),
        }
    }
}

impl Source for TimedStream {
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        // A zero timeout means "block forever" to the OS: keep it at least 1 ms.
        let timeout = self.next_timeout()?.max(Duration::from_millis(1));
        if self.current != Some(timeout) {
            self.stream
                .tcp()
                .set_read_timeout(Some(timeout))
                .map_err(Error::Receive)?;
            self.current = Some(timeout);
        }
        loop {
            match io::Read::read(&mut self.stream, buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(self.timeout_error())
                }
                Err(e) => return Err(Error::Receive(e)),
            }
        }
    }
}

/// A source plus the bytes read from it but not consumed yet (`buf[start..end]`).
#[derive(Debug)]
pub(super) struct Incoming<S> {
    /// Where the bytes come from.
    pub source: S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes received in total, to tell an empty reply (52) from a cut head.
    total: u64,
}

impl<S: Source> Incoming<S> {
    /// Nothing buffered yet.
    pub(super) fn new(source: S) -> Self {
        Self {
            source,
            buf: vec![0; FIRST_BUF_SIZE],
            start: 0,
            end: 0,
            total: 0,
        }
    }

    fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Bytes were received but not consumed (after a body: the connection is out of step).
    pub(super) fn has_buffered(&self) -> bool {
        self.buffered() > 0
    }

    /// Anything at all was received (a reused connection that got nothing may be retried).
    pub(super) fn received_any(&self) -> bool {
        self.total > 0
    }

    /// Read more bytes after the buffered ones, moving those to the front when the tail is full
    /// and growing the buffer (up to `BUF_SIZE`) when it is full or a read filled it.
    fn fill(&mut self) -> Result<usize, Error> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= BUF_SIZE {
                // Unreachable with the proto caps (all below BUF_SIZE); refuse, not spin.
                return Err(Error::Protocol(ProtoError::HeadTooLarge {
                    limit: BUF_SIZE,
                }));
            }
            self.grow();
        }
        let space = self.buf.len() - self.end;
        let n = self.source.read_some(&mut self.buf[self.end..])?;
        self.end += n;
        self.total += n as u64;
        if n == space && self.buf.len() < BUF_SIZE {
            // A stream (a chunked body) outruns the buffer: larger reads from now on.
            self.grow();
        }
        Ok(n)
    }

    fn grow(&mut self) {
        let len = (self.buf.len() * 2).min(BUF_SIZE);
        self.buf.resize(len, 0);
    }

    /// Read one response head; returns it with its raw bytes (for `-i` / `-D`).
    pub(super) fn read_head(&mut self) -> Result<(ResponseHead, Vec<u8>), Error> {
        loop {
            if self.buffered() > 0 {
                let window = &self.buf[self.start..self.end];
                if let Some((head, used)) =
                    parse_response_head(window, MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS)?
                {
                    let raw = window[..used].to_vec();
                    self.start += used;
                    return Ok((head, raw));
                }
                if self.buffered() > MAX_RESPONSE_HEAD {
                    let limit = MAX_RESPONSE_HEAD;
                    return Err(Error::Protocol(ProtoError::HeadTooLarge { limit }));
                }
            }
            if self.fill()? == 0 {
                return Err(self.eof_in_head());
            }
        }
    }

    fn eof_in_head(&self) -> Error {
        if self.total == 0 {
            Error::EmptyReply
        } else {
            Error::Receive(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside the response head",
            ))
        }
    }

    /// Copy buffered bytes into `out`, at most `limit`.
    fn take_buffered(&mut self, out: &mut [u8], limit: usize) -> usize {
        let n = self.buffered().min(out.len()).min(limit);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        n
    }

    /// Buffered bytes first; when none, read straight into `out` (no copy for large bodies).
    fn read_raw(&mut self, out: &mut [u8], limit: usize) -> Result<usize, Error> {
        if self.buffered() > 0 {
            return Ok(self.take_buffered(out, limit));
        }
        let want = out.len().min(limit);
        let n = self.source.read_some(&mut out[..want])?;
        self.total += n as u64;
        Ok(n)
    }
}

/// The body of one response as the framing delimits it.
#[derive(Debug)]
pub(super) struct Body<S> {
    /// The connection's buffered input, body bytes first.
    pub incoming: Incoming<S>,
    kind: BodyKind,
    /// Bytes still due for `Length`.
    remaining: u64,
    decoder: ChunkedDecoder,
    /// Body bytes handed out so far.
    received: u64,
    /// The framing is satisfied (or EOF ended an until-EOF body).
    done: bool,
    max_size: Option<u64>,
}

impl<S: Source> Body<S> {
    /// A body framed as `kind`, refusing more than `max_size` bytes (`--max-filesize`).
    pub(super) fn new(incoming: Incoming<S>, kind: BodyKind, max_size: Option<u64>) -> Self {
        let remaining = match kind {
            BodyKind::Length(n) => n,
            _ => 0,
        };
        Self {
            incoming,
            kind,
            remaining,
            decoder: ChunkedDecoder::new(),
            received: 0,
            done: matches!(kind, BodyKind::NoBody | BodyKind::Length(0)),
            max_size,
        }
    }

    /// The framing this body follows.
    pub(super) fn kind(&self) -> BodyKind {
        self.kind
    }

    /// Body bytes handed out so far.
    pub(super) fn received(&self) -> u64 {
        self.received
    }

    /// The end of the body was reached.
    pub(super) fn is_done(&self) -> bool {
        self.done
    }

    /// The body ended where its framing said it would (Content-Length or last chunk, or no
    /// body). An until-EOF body is never verified: a cut connection looks just like its end.
    pub(super) fn is_verified(&self) -> bool {
        self.done && self.kind != BodyKind::UntilEof
    }

    /// Trailer fields of a chunked body (empty otherwise or before the end).
    pub(super) fn trailers(&self) -> &crate::proto::Headers {
        self.decoder.trailers()
    }

    /// Read body bytes into `out`; `Ok(0)` only at the verified end (or EOF of an until-EOF
    /// body) or when `out` is empty.
    pub(super) fn read(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        let n = match self.kind {
            BodyKind::NoBody => 0,
            BodyKind::Length(total) => self.read_length(out, total)?,
            BodyKind::Chunked => self.read_chunked(out)?,
            BodyKind::UntilEof => self.read_until_eof(out)?,
        };
        self.received += n as u64;
        if let Some(limit) = self.max_size {
            if self.received > limit {
                return Err(Error::FileTooLarge { limit });
            }
        }
        Ok(n)
    }

    fn read_length(&mut self, out: &mut [u8], total: u64) -> Result<usize, Error> {
        let limit = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        let n = self.incoming.read_raw(out, limit)?;
        if n == 0 {
            return Err(Error::Truncated {
                received: self.received,
                expected: Some(total),
            });
        }
        self.remaining -= n as u64;
        self.done = self.remaining == 0;
        Ok(n)
    }

    fn read_until_eof(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let n = self.incoming.read_raw(out, usize::MAX)?;
        self.done = n == 0;
        Ok(n)
    }

    fn read_chunked(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        loop {
            if self.incoming.buffered() > 0 {
                let inc = &mut self.incoming;
                let (used, produced) = self.decoder.feed(&inc.buf[inc.start..inc.end], out)?;
                inc.start += used;
                if produced > 0 {
                    return Ok(produced);
                }
                if self.decoder.is_done() {
                    self.done = true;
                    return Ok(0);
                }
                if used > 0 {
                    continue;
                }
            } else if self.decoder.is_done() {
                self.done = true;
                return Ok(0);
            }
            if self.incoming.fill()? == 0 {
                return Err(Error::Truncated {
                    received: self.received,
                    expected: None,
                });
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::testing::xorshift;

    /// A source that hands out a script of byte pieces, then EOF (or an error).
    pub(crate) struct Script {
        pieces: Vec<Vec<u8>>,
        then_reset: bool,
    }

    impl Script {
        pub(crate) fn new(pieces: &[&[u8]]) -> Self {
            Self {
                pieces: pieces.iter().rev().map(|p| p.to_vec()).collect(),
                then_reset: false,
            }
        }
    }

    impl Source for Script {
        fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
            let Some(mut piece) = self.pieces.pop() else {
                if self.then_reset {
                    return Err(Error::Receive(io::ErrorKind::ConnectionReset.into()));
                }
                return Ok(0);
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.pieces.push(piece.split_off(n));
            }
            Ok(n)
        }
    }

    fn drain(body: &mut Body<Script>, step: usize) -> Result<Vec<u8>, Error> {
        let mut all = Vec::new();
        let mut buf = vec![0; step];
        loop {
            let n = body.read(&mut buf)?;
            if n == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&buf[..n]);
        }
    }

    fn body(pieces: &[&[u8]], kind: BodyKind, max: Option<u64>) -> Body<Script> {
        Body::new(Incoming::new(Script::new(pieces)), kind, max)
    }

    #[test]
    fn length_bodies_end_exactly_and_short_ones_are_exit_18() {
        for step in [1, 3, 1024] {
            let mut b = body(&[b"hel", b"lo world"], BodyKind::Length(5), None);
            assert_eq!(drain(&mut b, step).expect("complete"), b"hello");
            assert!(b.is_verified());
            let mut b = body(&[b"hel"], BodyKind::Length(5), None);
            let err = drain(&mut b, step).expect_err("short");
            assert_eq!(err.exit_code(), 18);
            assert!(!b.is_verified());
        }
    }

    #[test]
    fn until_eof_bodies_are_accepted_but_unverified() {
        let mut b = body(&[b"a", b"bc"], BodyKind::UntilEof, None);
        assert_eq!(drain(&mut b, 2).expect("eof ends it"), b"abc");
        assert!(b.is_done());
        assert!(!b.is_verified());
    }

    #[test]
    fn no_body_reads_nothing() {
        let mut b = body(&[b"junk"], BodyKind::NoBody, None);
        assert_eq!(drain(&mut b, 8).expect("empty"), b"");
        assert!(b.is_verified());
    }

    #[test]
    fn max_size_stops_while_receiving() {
        let mut b = body(&[b"0123456789"], BodyKind::UntilEof, Some(4));
        assert_eq!(drain(&mut b, 2).map_err(|e| e.exit_code()), Err(63));
        let mut b = body(&[b"0123"], BodyKind::UntilEof, Some(4));
        assert_eq!(drain(&mut b, 2).expect("at the limit"), b"0123");
    }

    #[test]
    fn a_reset_is_exit_56() {
        let mut script = Script::new(&[b"ab"]);
        script.then_reset = true;
        let mut b = Body::new(Incoming::new(script), BodyKind::Length(5), None);
        assert_eq!(drain(&mut b, 8).map_err(|e| e.exit_code()), Err(56));
    }

    /// Read a whole response the way `client` does; every outcome but a panic is fine.
    fn read_response(pieces: &[&[u8]], step: usize) -> Result<Vec<u8>, Error> {
        let mut incoming = Incoming::new(Script::new(pieces));
        let (head, _) = incoming.read_head()?;
        let kind = crate::proto::framing::response_framing("GET", head.status, &head.headers)?;
        drain(&mut Body::new(incoming, kind, Some(1 << 20)), step)
    }

    #[test]
    fn mutated_responses_never_panic() {
        let seeds: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil eof",
            b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
        ];
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        for round in 0..4000 {
            let mut bytes = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[at] = next() as u8,
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, b"\r\n0:;\" 9fF"[(next() % 10) as usize]),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let cut = (next() as usize) % (bytes.len() + 1);
            let step = (next() % 7 + 1) as usize;
            let got = read_response(&[&bytes[..cut], &bytes[cut..]], step);
            if let Ok(body) = got {
                assert!(body.len() <= bytes.len(), "body longer than the reply");
            }
        }
    }

    #[test]
    fn empty_reply_is_52_and_a_cut_head_56() {
        let mut inc = Incoming::new(Script::new(&[]));
        assert_eq!(
            inc.read_head().map(|_| ()).map_err(|e| e.exit_code()),
            Err(52)
        );
        let mut inc = Incoming::new(Script::new(&[b"HTTP/1.1 200 OK\r\n"]));
        assert_eq!(
            inc.read_head().map(|_| ()).map_err(|e| e.exit_code()),
            Err(56)
        );
    }
}
