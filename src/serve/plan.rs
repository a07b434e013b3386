//! The send plan: one response turned into the bytes and file spans to write, in order, with
//! the faults that shape them (truncate/reset cut, rate pauses, chunked or close-delimited
//! framing, stall). Sans-socket: it is told `now` and how much was written, and says what to
//! write next (`BodyStep`); `conn` does the writing. It reads file bytes only where a body must
//! be copied through memory (inline small bodies, chunk framing).

mod shape;

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use super::dirstream::ListingBody;
use super::faults::{self, Cut, Faults, WireFraming};
use super::log::Entry;
use super::respond::{BodySource, Response};

/// Bodies up to this size go out in the same write as the head (one syscall, one segment);
/// larger file bodies use sendfile(2) after the head.
const INLINE_BODY: u64 = 16 * 1024;
/// Largest piece of a body copied through memory at once (chunked fault, multipart heads).
const COPY_CHUNK: u64 = 64 * 1024;

/// The request a response answers, as the access log names it: method, target, minor version.
pub(super) type RequestLine = (String, String, u8);

/// Where body bytes still to be sent come from.
enum Seg {
    Mem(Vec<u8>),
    Span {
        offset: u64,
        len: u64,
    },
    /// A listing rendered piece by piece as the socket drains (issue 13).
    Listing(Box<ListingBody>),
}

/// One response in progress, with every counter partial writes need.
pub(super) struct Exchange {
    /// Bytes to write before any further body segment: the head (and inline body), or a
    /// copied body piece. `out_pos` counts what already left.
    out: Vec<u8>,
    out_pos: usize,
    head_len: usize,
    file: Option<File>,
    segs: VecDeque<Seg>,
    /// The connection closes after this response.
    pub(super) close: bool,
    /// truncate/reset: where the body stops and whether the close is an RST.
    cut: Option<Cut>,
    faults: Faults,
    /// Body payload bytes handed to the transport (or to `out`).
    body_queued: u64,
    /// Bytes written in all (head included) for the log.
    written: u64,
    chunk_trailer_sent: bool,
    rate_start: Instant,
    /// A listing piece went out: let the loop serve others before rendering the next one.
    yield_due: bool,
    /// The request answered, for the access log (`None` when no head could be parsed).
    request: Option<RequestLine>,
    /// The status sent, for the access log.
    status: u16,
    /// When the response started, for the access log.
    started: Instant,
}

/// What sending the body asks for next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BodyStep {
    /// `pending()` was refilled; write it.
    Refill,
    /// Send this span of the file directly.
    File { offset: u64, len: u64 },
    /// A rate fault (or a listing's yield): nothing may go before this instant.
    Pause(Instant),
    /// A stall fault: the head is out, nothing more will be.
    Stall,
    /// Every body byte is out (or a truncate/reset budget ran out).
    Done,
}

impl Exchange {
    /// Plan `resp` as the answer to `request` (none: no head could be parsed, so HTTP/1.1),
    /// shaped by `faults`; `keep_alive` false (or a fault that ends in a close) closes after it.
    pub(super) fn new(
        mut resp: Response,
        request: Option<RequestLine>,
        keep_alive: bool,
        faults: Faults,
        now: Instant,
    ) -> Exchange {
        let minor = request.as_ref().map_or(1, |r| r.2);
        let (mut faults, framing) = shape::apply(faults, &mut resp, minor);
        let cut = faults.cut();
        let close = !keep_alive || cut.is_some() || framing == WireFraming::UntilClose;
        let chunked = framing == WireFraming::Chunked;
        // write_head adds `Connection: close`, or `keep-alive` for HTTP/1.0 (RFC 9112 §9.3).
        let mut out = Vec::with_capacity(512);
        resp.write_head(minor, close, &mut out);
        let head_len = out.len();
        // `chunked` now means "frame the body in chunks on the wire".
        faults.chunked = chunked;
        // Faults that shape the body bytes need them to pass through `next_step`, not inline.
        let inline = !chunked && !faults.stall && faults.rate.is_none() && cut.is_none();
        let (file, segs) = plan_body(resp.body, &mut out, inline);
        // RFC 9110 §9.3.2: a HEAD response carries no body, not even a last chunk.
        let is_head = request.as_ref().is_some_and(|r| r.0 == "HEAD");
        Exchange {
            out,
            out_pos: 0,
            head_len,
            file,
            segs,
            close,
            cut,
            faults,
            body_queued: 0,
            written: 0,
            chunk_trailer_sent: is_head,
            rate_start: now,
            yield_due: false,
            request,
            status: resp.status,
            started: now,
        }
    }

    /// Bytes to write now (head, inline body, a copied piece); empty when none are pending.
    pub(super) fn pending(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// More body follows what is pending (MSG_MORE: head and body share a segment).
    pub(super) fn more_follows(&self) -> bool {
        !self.segs.is_empty() && !self.faults.stall
    }

    /// `n` pending bytes were written.
    pub(super) fn wrote_pending(&mut self, n: usize) {
        self.out_pos += n;
        self.written += n as u64;
    }

    /// `n` bytes of the file span `BodyStep::File` named were written.
    pub(super) fn wrote_span(&mut self, n: usize) {
        self.advance_span(n as u64);
        self.written += n as u64;
    }

    /// The file a `BodyStep::File` span is read from.
    pub(super) fn file(&self) -> Option<&File> {
        self.file.as_ref()
    }

    /// Put `bytes` before the head (the rest of an interrupted `100 Continue`).
    pub(super) fn prepend(&mut self, bytes: &[u8]) {
        self.out
            .splice(self.out_pos..self.out_pos, bytes.iter().copied());
        self.head_len += bytes.len();
    }

    /// How the response ends: reset (RST) instead of a close, when a reset fault cut it.
    pub(super) fn resets(&self) -> bool {
        self.cut.is_some_and(|c| c.reset)
    }

    /// Whether the close may say TLS close_notify (not under the fault that omits it).
    pub(super) fn notifies_close(&self) -> bool {
        !self.faults.no_close_notify
    }

    /// Body bytes written, for the access log.
    fn body_written(&self) -> u64 {
        self.written.saturating_sub(self.head_len as u64)
    }

    /// The access-log line of this response from `peer`, as of `now`.
    pub(super) fn log_entry(&self, peer: SocketAddr, now: Instant) -> Entry<'_> {
        Entry {
            peer,
            request: self
                .request
                .as_ref()
                .map(|(m, t, v)| (m.as_str(), t.as_str(), *v)),
            status: self.status,
            bytes: self.body_written(),
            micros: now.saturating_duration_since(self.started).as_micros() as u64,
        }
    }

    /// Decide the next body move once `pending()` is written, refilling it for copied pieces.
    pub(super) fn next_step(&mut self, now: Instant) -> io::Result<BodyStep> {
        self.out.clear();
        self.out_pos = 0;
        if self.faults.stall {
            return Ok(BodyStep::Stall);
        }
        let mut allowed = match self.cut {
            Some(cut) => cut.after.saturating_sub(self.body_queued),
            None => u64::MAX,
        };
        if allowed == 0 {
            self.segs.clear();
            self.chunk_trailer_sent = true;
            return Ok(BodyStep::Done);
        }
        if let Some(rate) = self.faults.rate {
            match self.rate_allowance(rate, now) {
                Ok(n) => allowed = allowed.min(n),
                Err(until) => return Ok(BodyStep::Pause(until)),
            }
        }
        self.next_move(allowed, now)
    }

    /// The next move within `allowed` body bytes.
    fn next_move(&mut self, allowed: u64, now: Instant) -> io::Result<BodyStep> {
        let chunked = self.faults.chunked;
        match self.segs.front() {
            None if chunked && !self.chunk_trailer_sent => {
                // RFC 9112 §7.1: the last chunk, and an empty trailer section.
                self.out
                    .extend_from_slice(crate::proto::chunked::LAST_CHUNK);
                self.chunk_trailer_sent = true;
                Ok(BodyStep::Refill)
            }
            None => Ok(BodyStep::Done),
            Some(Seg::Span { len: 0, .. }) => {
                self.segs.pop_front();
                Ok(BodyStep::Refill)
            }
            Some(&Seg::Span { offset, len }) if !chunked => Ok(BodyStep::File {
                offset,
                len: len.min(allowed),
            }),
            Some(&Seg::Span { offset, len }) => self.copy_span(offset, len.min(allowed)),
            Some(Seg::Mem(_)) => {
                self.copy_mem(allowed);
                Ok(BodyStep::Refill)
            }
            Some(Seg::Listing(_)) => Ok(self.pull_listing(allowed, now)),
        }
    }

    /// Render the listing's next piece into `out` (framed when chunked); every other call
    /// yields instead (a pause that ends at once: the loop handles other events and timers
    /// first), so a huge listing never holds the loop for more than one piece.
    fn pull_listing(&mut self, allowed: u64, now: Instant) -> BodyStep {
        if std::mem::take(&mut self.yield_due) {
            return BodyStep::Pause(now);
        }
        let chunked = self.faults.chunked;
        let Some(Seg::Listing(body)) = self.segs.front_mut() else {
            return BodyStep::Refill;
        };
        let mut piece = Vec::new();
        let done = body.fill(&mut piece);
        piece.truncate(usize::try_from(allowed).unwrap_or(usize::MAX));
        if !piece.is_empty() {
            frame_open(&mut self.out, piece.len() as u64, chunked);
            self.out.extend_from_slice(&piece);
            frame_close(&mut self.out, chunked);
            self.body_queued += piece.len() as u64;
        }
        if done {
            self.segs.pop_front();
        }
        self.yield_due = true;
        BodyStep::Refill
    }

    /// Copy up to `n` bytes of the front file span into `out`, framed as one chunk.
    fn copy_span(&mut self, offset: u64, n: u64) -> io::Result<BodyStep> {
        let n = n.min(COPY_CHUNK);
        let Some(file) = self.file.as_ref() else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let start = frame_open(&mut self.out, n, true);
        self.out.resize(start + n as usize, 0);
        file.read_exact_at(&mut self.out[start..], offset)?;
        frame_close(&mut self.out, true);
        self.advance_span(n);
        Ok(BodyStep::Refill)
    }

    /// Move up to `allowed` bytes of the front in-memory segment into `out` (framed when the
    /// body goes chunked).
    fn copy_mem(&mut self, allowed: u64) {
        let chunked = self.faults.chunked;
        let Some(Seg::Mem(v)) = self.segs.front_mut() else {
            return;
        };
        let n = (v.len() as u64).min(allowed).min(COPY_CHUNK) as usize;
        frame_open(&mut self.out, n as u64, chunked && n > 0);
        self.out.extend(v.drain(..n));
        frame_close(&mut self.out, chunked && n > 0);
        if v.is_empty() {
            self.segs.pop_front();
        }
        self.body_queued += n as u64;
    }

    /// `n` bytes of the front file span went out (or into `out`).
    fn advance_span(&mut self, n: u64) {
        self.body_queued += n;
        if let Some(Seg::Span { offset, len }) = self.segs.front_mut() {
            *offset += n;
            *len -= n.min(*len);
            if *len == 0 {
                self.segs.pop_front();
            }
        }
    }

    /// Bytes a `rate` fault allows now, or the instant the next slice is due.
    fn rate_allowance(&self, rate: u64, now: Instant) -> Result<u64, Instant> {
        let elapsed = now.saturating_duration_since(self.rate_start);
        faults::rate_allowance(rate, self.body_queued, elapsed).map_err(|due| self.rate_start + due)
    }
}

/// Body segments; a small body goes straight after the head in `out` when `inline` allows.
fn plan_body(body: BodySource, out: &mut Vec<u8>, inline: bool) -> (Option<File>, VecDeque<Seg>) {
    let mut segs = VecDeque::new();
    match body {
        BodySource::None => (None, segs),
        BodySource::Listing(body) => {
            segs.push_back(Seg::Listing(body));
            (None, segs)
        }
        BodySource::Bytes(v) => {
            if inline && v.len() as u64 <= INLINE_BODY {
                out.extend_from_slice(&v);
            } else {
                segs.push_back(Seg::Mem(v));
            }
            (None, segs)
        }
        BodySource::File { file, offset, len } => {
            if !(inline && len <= INLINE_BODY && read_inline(&file, offset, len, out)) {
                segs.push_back(Seg::Span { offset, len });
            }
            (Some(file), segs)
        }
        BodySource::Multipart { file, parts, tail } => {
            for p in parts {
                segs.push_back(Seg::Mem(p.head));
                segs.push_back(Seg::Span {
                    offset: p.offset,
                    len: p.len,
                });
            }
            segs.push_back(Seg::Mem(tail));
            (Some(file), segs)
        }
    }
}

/// Append `len` bytes of `file` at `offset` to `out`; false (and `out` unchanged) when the file
/// no longer has them, so the span path reports the short file and closes.
fn read_inline(file: &File, offset: u64, len: u64, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    out.resize(start + len as usize, 0);
    match file.read_exact_at(&mut out[start..], offset) {
        Ok(()) => true,
        Err(_) => {
            out.truncate(start);
            false
        }
    }
}

/// Chunk-size line before a piece of body (RFC 9112 §7.1); returns where the data starts.
fn frame_open(out: &mut Vec<u8>, n: u64, chunked: bool) -> usize {
    if chunked {
        crate::proto::chunked::start_chunk(n, out);
    }
    out.len()
}

fn frame_close(out: &mut Vec<u8>, chunked: bool) {
    if chunked {
        crate::proto::chunked::end_chunk(out);
    }
}

#[cfg(test)]
mod tests;
