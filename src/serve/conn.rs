//! One connection's state machine: reading head -> (reading body) -> (delaying) -> sending ->
//! back to reading head (keep-alive) or draining -> closed (ARCHITECTURE.md rule 3).
//! It turns readiness into progress; what to answer is `respond`'s decision, how bytes move is
//! `transport`'s, and when timers fire is the event loop's.
//!
//! Interest: each socket is registered once for both directions, edge-triggered (as nginx
//! does), so a state change costs no epoll_ctl. The state decides which readiness is used:
//! `readable`/`writable` remember edges not yet consumed (cleared on WouldBlock or a short
//! read), and each step reads only in the reading states and writes only while sending, so an
//! edge that arrives while it is not wanted waits in its flag until the state wants it.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use super::cache::FileCache;
use super::dirstream::ListingBody;
use super::event_loop::EngineConfig;
use super::faults::{self, Cut, FaultPlan, Faults, WireFraming};
use super::log::{Entry, LogBuf};
use super::record::RecordedRequest;
use super::respond::{error_response, unknown_length_framing};
use super::response::{BodySource, Response};
use super::transport::{ReadStatus, Transport};
use crate::proto::framing::{request_framing, BodyKind};
use crate::proto::limits;
use crate::proto::request::{error_status, parse_request_head, RequestHead};

/// Bytes held for unparsed input: one maximal head plus room for pipelined requests behind it.
const INBUF_CAP: usize = limits::MAX_REQUEST_HEAD + limits::MAX_REQUEST_LINE + 16 * 1024;
/// Bodies up to this size go out in the same write as the head (one syscall, one segment);
/// larger file bodies use sendfile(2) after the head.
const INLINE_BODY: u64 = 16 * 1024;
/// Largest piece of a body copied through memory at once (chunked fault, multipart heads).
const COPY_CHUNK: u64 = 64 * 1024;

/// Per-loop state every connection of that loop uses: configuration, the clock read once per
/// wake-up, the nearest deadline, buffers shared instead of held per connection, the log.
pub struct Ctx {
    /// The engine's configuration.
    pub cfg: EngineConfig,
    /// The clock, read once per wake-up.
    pub now: Instant,
    /// Earliest deadline any connection set since the loop last swept; the poll timeout.
    pub next_deadline: Instant,
    /// True once a stop was requested: no new keep-alive.
    pub stopping: bool,
    /// Access-log lines waiting to be written.
    pub log: LogBuf,
    /// Scratch for file bytes on their way into rustls.
    pub scratch: Vec<u8>,
    /// Read buffers lent to connections that are mid-request, so idle ones hold none.
    pool: Vec<Vec<u8>>,
    /// Small files answered recently (re-validated by stat on every use).
    cache: FileCache,
}

impl Ctx {
    /// A loop's context at `now`.
    pub fn new(cfg: EngineConfig, now: Instant) -> Self {
        let log = LogBuf::new(cfg.log);
        Ctx {
            cfg,
            now,
            next_deadline: now + Duration::from_secs(3600),
            stopping: false,
            log,
            scratch: Vec::new(),
            pool: Vec::new(),
            cache: FileCache::default(),
        }
    }

    fn take_buf(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }

    fn give_buf(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        // Keep a few warm buffers; a burst of pipelining must not pin memory forever.
        if buf.capacity() > 0 && buf.capacity() <= INBUF_CAP && self.pool.len() < 64 {
            self.pool.push(buf);
        }
    }
}

/// What the loop should do with a connection after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep it registered.
    Keep,
    /// Close and forget it.
    Close,
}

/// Where a connection is in its life. The data of the request or response in progress lives
/// beside it (`request`, `exchange`); `deadline` means what the comment of the state says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a request head. Deadline: idle timeout while no byte of it arrived on a
    /// kept-alive connection, else the header deadline (from accept or from the first byte),
    /// which trickling cannot extend.
    ReadingHead,
    /// A head is parsed; its Content-Length body (<= MAX_DRAINED_BODY) is being read and
    /// discarded (or kept for --echo) so it is never parsed as a request. Deadline: header.
    ReadingBody,
    /// A delay fault holds the ready response; nothing is sent until the deadline.
    Delaying,
    /// Writing head and body; partial writes tracked in the exchange. Deadline: send stall
    /// (or the end of a rate-fault pause).
    Sending,
    /// A stall fault: head sent, then nothing; input discarded until the client gives up.
    /// Deadline: send stall.
    Stalled,
    /// Closing after the last byte: write side shut (TLS close_notify first), input discarded
    /// until EOF so unread request bytes do not turn our close into an RST that destroys the
    /// response in the client's buffer. Deadline: linger.
    Draining,
}

/// A parsed request waiting for its body to be read before it is answered.
struct Request {
    head: RequestHead,
    /// --echo: the exact bytes received, head then body.
    raw: Option<Vec<u8>>,
    remaining: u64,
    body_len: u64,
    keep_alive: bool,
    /// `Expect: 100-continue` owed (RFC 9110 §10.1.1): bytes of CONTINUE already written.
    continue_sent: Option<usize>,
}

/// The interim response a client waiting on `Expect: 100-continue` needs before its body.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

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
struct Exchange {
    /// Bytes to write before any further body segment: the head (and inline body), or a
    /// copied body piece. `out_pos` counts what already left.
    out: Vec<u8>,
    out_pos: usize,
    head_len: usize,
    file: Option<File>,
    segs: VecDeque<Seg>,
    close: bool,
    /// truncate/reset: where the body stops and whether the close is an RST.
    cut: Option<Cut>,
    faults: Faults,
    /// Body payload bytes handed to the transport (or to `out`).
    body_queued: u64,
    /// Bytes written in all (head included) for the log.
    written: u64,
    chunk_trailer_sent: bool,
    rate_start: Instant,
    /// A rate fault paused sending until the deadline.
    paused: bool,
    /// A listing piece went out: let the loop serve others before rendering the next one.
    yield_due: bool,
    // for the access log
    request: Option<(String, String, u8)>,
    status: u16,
    started: Instant,
}

/// What sending the body asks for next.
enum BodyStep {
    /// `out` was refilled; write it.
    Refill,
    /// Send this span of the file directly.
    File { offset: u64, len: u64 },
    /// A rate fault: nothing may go before this instant.
    Pause(Instant),
    /// Every body byte is out (or a truncate/reset budget ran out).
    Done,
}

/// What one step of the state machine achieved.
enum Step {
    /// The state changed or progress was made: run again.
    Again,
    /// Blocked on readiness or a timer.
    Wait,
    Close,
}

/// One client connection.
pub struct Conn {
    transport: Transport,
    id: u64,
    peer: SocketAddr,
    state: State,
    inbuf: Vec<u8>,
    request: Option<Box<Request>>,
    exchange: Option<Box<Exchange>>,
    /// Edge-triggered readiness not yet consumed (cleared on WouldBlock).
    readable: bool,
    writable: bool,
    /// Kept alive and no byte of the next head yet: the deadline is the idle one.
    awaiting_head: bool,
    /// The write side was shut (Draining).
    shut: bool,
    /// Draining lingers `TIMEOUT_LINGER` instead of `LINGER_TIMEOUT` (after a 408).
    short_linger: bool,
    deadline: Instant,
}

impl Conn {
    /// A freshly accepted connection: its header deadline runs from now (accept).
    pub fn new(transport: Transport, id: u64, peer: SocketAddr, ctx: &mut Ctx) -> Conn {
        let mut conn = Conn {
            transport,
            id,
            peer,
            state: State::ReadingHead,
            inbuf: Vec::new(),
            request: None,
            exchange: None,
            readable: false,
            writable: true,
            awaiting_head: false,
            shut: false,
            short_linger: false,
            deadline: ctx.now,
        };
        conn.set_deadline(ctx.now + ctx.cfg.header_timeout, ctx);
        conn
    }

    /// TLS fault `handshake-stall`: read and discard whatever arrives, answer nothing, until
    /// the client gives up (or the send-stall deadline).
    pub fn stall(&mut self, ctx: &mut Ctx) {
        self.state = State::Stalled;
        self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
    }

    /// The byte stream, for (de)registering its socket.
    pub fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// When `on_deadline` is due (its meaning depends on the state).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The client's address (its per-address count is released when the connection closes).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Kept alive between requests with no byte of the next one: the only kind of connection
    /// the loop may close to make room at `--max-connections` (never one mid-request or
    /// mid-response). Among idle ones the earliest deadline is the one idle the longest.
    pub fn is_idle(&self) -> bool {
        self.state == State::ReadingHead
            && self.awaiting_head
            && self.inbuf.is_empty()
            && !self.transport.wants_write()
    }

    /// Readiness reported by the poller.
    pub fn on_ready(&mut self, readable: bool, writable: bool, ctx: &mut Ctx) -> Next {
        self.readable |= readable;
        self.writable |= writable;
        self.drive(ctx)
    }

    /// The deadline passed: what that means depends on the state (see `State`).
    pub fn on_deadline(&mut self, ctx: &mut Ctx) -> Next {
        match self.state {
            State::Delaying => {
                self.state = State::Sending;
                self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
                self.drive(ctx)
            }
            State::Sending if self.exchange.as_ref().is_some_and(|e| e.paused) => {
                if let Some(ex) = self.exchange.as_mut() {
                    ex.paused = false;
                }
                self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
                self.drive(ctx)
            }
            State::Sending => {
                self.log_abandoned(ctx);
                Next::Close
            }
            State::ReadingHead if !self.inbuf.is_empty() => self.time_out_head(ctx),
            State::ReadingBody if !self.continue_partly_sent() => self.time_out_body(ctx),
            _ => Next::Close,
        }
    }

    /// The header deadline passed with part of a head received: answer 408 (RFC 9110 §15.5.9)
    /// so the client knows why, then close. A client that sent nothing gets no reply (there is
    /// no request to answer, and a keep-alive client may be about to reuse the connection).
    fn time_out_head(&mut self, ctx: &mut Ctx) -> Next {
        self.reject(408, None, ctx);
        // A client this slow gets a short linger: it is not worth holding the slot for.
        self.short_linger = true;
        self.drive(ctx)
    }

    /// The same deadline passed while a small request body was still coming: 408 too (nginx's
    /// `client_body_timeout`), logged with the request it belongs to.
    fn time_out_body(&mut self, ctx: &mut Ctx) -> Next {
        let head = self.request.take().map(|r| r.head);
        self.reject(408, head.as_ref(), ctx);
        self.short_linger = true;
        self.drive(ctx)
    }

    /// A `100 Continue` is half written: no other response may start inside it.
    fn continue_partly_sent(&self) -> bool {
        self.request
            .as_ref()
            .and_then(|r| r.continue_sent)
            .is_some_and(|n| n > 0 && n < CONTINUE.len())
    }

    /// A stop was requested: close what is idle, let responses in flight finish, no keep-alive.
    pub fn begin_stop(&mut self, ctx: &mut Ctx) -> Next {
        match self.state {
            State::ReadingHead | State::Stalled | State::Draining => Next::Close,
            _ => {
                if let Some(req) = self.request.as_mut() {
                    req.keep_alive = false;
                }
                if let Some(ex) = self.exchange.as_mut() {
                    ex.close = true;
                }
                let _ = ctx;
                Next::Keep
            }
        }
    }

    /// The connection is going away: hand back its buffer and log a response cut short.
    pub fn release(&mut self, ctx: &mut Ctx) {
        // Cut short (stop grace over, write error): logged with the bytes that did leave.
        self.log_abandoned(ctx);
        let buf = std::mem::take(&mut self.inbuf);
        ctx.give_buf(buf);
    }

    fn set_deadline(&mut self, at: Instant, ctx: &mut Ctx) {
        self.deadline = at;
        if at < ctx.next_deadline {
            ctx.next_deadline = at;
        }
    }

    fn drive(&mut self, ctx: &mut Ctx) -> Next {
        loop {
            let step = match self.state {
                State::ReadingHead => self.step_head(ctx),
                State::ReadingBody => self.step_body(ctx),
                State::Delaying => self.step_flush_only(),
                State::Sending => self.step_send(ctx),
                State::Stalled => self.step_discard(ctx),
                State::Draining => self.step_drain(ctx),
            };
            match step {
                Step::Again => continue,
                Step::Wait => return Next::Keep,
                Step::Close => return Next::Close,
            }
        }
    }

    /// Push queued TLS records (handshake, alerts) when the socket can take them.
    fn flush_tls(&mut self) -> io::Result<()> {
        if self.writable && self.transport.wants_write() && !self.transport.flush()? {
            self.writable = false;
        }
        Ok(())
    }

    fn step_flush_only(&mut self) -> Step {
        match self.flush_tls() {
            Ok(()) => Step::Wait,
            Err(_) => Step::Close,
        }
    }

    /// Read into `inbuf` (borrowing a pooled buffer); `Ok(false)` on EOF.
    fn fill(&mut self, cap: usize, ctx: &mut Ctx) -> io::Result<bool> {
        if self.inbuf.capacity() == 0 {
            self.inbuf = ctx.take_buf();
        }
        let status = self.transport.read(&mut self.inbuf, cap);
        match status? {
            ReadStatus::Drained => self.readable = false,
            ReadStatus::Full => {}
            ReadStatus::Eof => return Ok(false),
        }
        self.flush_tls()?;
        Ok(true)
    }

    fn step_head(&mut self, ctx: &mut Ctx) -> Step {
        if self.flush_tls().is_err() {
            return Step::Close;
        }
        if self.transport.is_plain_on_tls() {
            // Plain HTTP on the TLS port: a readable 400, then close (issue 9, as nginx).
            self.inbuf.clear();
            let resp = plain_http_on_tls_response();
            self.start_exchange(
                resp,
                None,
                false,
                (Faults::default(), WireFraming::AsIs),
                ctx,
            );
            return Step::Again;
        }
        if !self.inbuf.is_empty() {
            if self.awaiting_head {
                // First byte of a new head: the header deadline starts now.
                self.awaiting_head = false;
                self.set_deadline(ctx.now + ctx.cfg.header_timeout, ctx);
            }
            match parse_request_head(&self.inbuf) {
                Ok(Some((head, used))) => {
                    self.begin_request(head, used, ctx);
                    return Step::Again;
                }
                Ok(None) if self.inbuf.len() >= INBUF_CAP => {
                    self.reject(431, None, ctx);
                    return Step::Again;
                }
                Ok(None) => {}
                Err(e) => {
                    self.reject(error_status(e), None, ctx);
                    return Step::Again;
                }
            }
        }
        if !self.readable {
            if self.inbuf.is_empty() {
                let buf = std::mem::take(&mut self.inbuf);
                ctx.give_buf(buf);
            }
            return Step::Wait;
        }
        // Read, then parse again (a read always clears `readable` or fills the buffer, so
        // this cannot loop without progress).
        match self.fill(INBUF_CAP, ctx) {
            Ok(true) => Step::Again,
            Ok(false) | Err(_) => Step::Close,
        }
    }

    /// A head was parsed from the first `used` bytes of `inbuf`: decide its body's fate.
    fn begin_request(&mut self, head: RequestHead, used: usize, ctx: &mut Ctx) {
        let raw = is_echo(&head, ctx).then(|| self.inbuf[..used].to_vec());
        self.inbuf.drain(..used);
        let framing = match request_framing(&head.headers) {
            Ok(f) => f,
            Err(e) => return self.reject(error_status(e), Some(&head), ctx),
        };
        let mut keep_alive = wants_keep_alive(&head) && !ctx.stopping;
        // RFC 9112 §6.3: a body we do not read would be parsed as the next request, so either
        // it is read and discarded (small Content-Length) or the connection closes after us.
        let remaining = match framing {
            BodyKind::NoBody => 0,
            BodyKind::Length(n) if n <= limits::MAX_DRAINED_BODY => n,
            _ => {
                keep_alive = false;
                0
            }
        };
        // No 100 when body bytes are already here (the client did not wait).
        let expects = remaining > 0
            && head.minor_version >= 1
            && self.inbuf.is_empty()
            && head.headers.has_token("Expect", "100-continue");
        self.request = Some(Box::new(Request {
            head,
            raw,
            remaining,
            body_len: 0,
            keep_alive,
            continue_sent: expects.then_some(0),
        }));
        if remaining > 0 {
            self.state = State::ReadingBody;
            self.set_deadline(ctx.now + ctx.cfg.header_timeout, ctx);
        } else {
            self.answer(ctx);
        }
    }

    fn step_body(&mut self, ctx: &mut Ctx) -> Step {
        let Some(req) = self.request.as_mut() else {
            return Step::Close;
        };
        let take = (req.remaining as usize).min(self.inbuf.len());
        if take > 0 {
            if let Some(raw) = req.raw.as_mut() {
                raw.extend_from_slice(&self.inbuf[..take]);
            }
            self.inbuf.drain(..take);
            req.remaining -= take as u64;
            req.body_len += take as u64;
        }
        if req.remaining == 0 {
            self.answer(ctx);
            return Step::Again;
        }
        if let Some(sent) = req.continue_sent.filter(|&n| n < CONTINUE.len()) {
            if self.writable {
                match self.transport.write(&CONTINUE[sent..], false) {
                    Ok(n) => req.continue_sent = Some(sent + n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                    Err(_) => return Step::Close,
                }
                return Step::Again;
            }
        }
        if !self.readable {
            return Step::Wait;
        }
        match self.fill(INBUF_CAP, ctx) {
            Ok(true) => Step::Again,
            Ok(false) | Err(_) => Step::Close,
        }
    }

    /// Build the response for the request in `self.request` and start sending it.
    fn answer(&mut self, ctx: &mut Ctx) {
        let Some(req) = self.request.take() else {
            return;
        };
        let Request {
            mut head,
            raw,
            body_len,
            keep_alive,
            continue_sent,
            ..
        } = *req;
        // A 100 Continue cut off mid-write must be completed before the final response.
        let unfinished = match continue_sent {
            Some(n) if n > 0 && n < CONTINUE.len() => &CONTINUE[n..],
            _ => &[],
        };
        if let Some(log) = ctx.cfg.record.as_ref() {
            log.push(recorded(&head, body_len, self));
        }
        let faults = match ctx.cfg.faults.as_deref() {
            Some(plan) => faults_for(plan, &head),
            None => Faults::default(),
        };
        faults.adjust_request(&mut head);
        let mut resp = match raw {
            Some(bytes) => echo_response(bytes),
            None => match ctx.cfg.site.route(&head) {
                Some(canned) => canned,
                None => ctx.cache.respond(&ctx.cfg.site, &head, faults.is_none()),
            },
        };
        let faults = faults.cut_mid_body(&resp);
        // Judged before faults rewrite the status (`?status=400` is not a confused client).
        let keep_alive = keep_alive && !signals_confusion(resp.status, &head.method);
        let framing = faults.adjust_response(&mut resp, head.minor_version);
        let framing = unknown_length_framing(&mut resp, framing, head.minor_version);
        let info = (head.method, head.target, head.minor_version);
        self.start_exchange(resp, Some(info), keep_alive, (faults, framing), ctx);
        if let Some(ex) = self.exchange.as_mut().filter(|_| !unfinished.is_empty()) {
            ex.out.splice(0..0, unfinished.iter().copied());
            ex.head_len += unfinished.len();
        }
    }

    /// Answer a request we refuse (400/414/431/501/505), then close: what follows the bad head
    /// cannot be trusted to be a request.
    fn reject(&mut self, status: u16, head: Option<&RequestHead>, ctx: &mut Ctx) {
        self.inbuf.clear();
        let info = head.map(|h| (h.method.clone(), h.target.clone(), h.minor_version));
        self.start_exchange(
            error_response(status),
            info,
            false,
            (Faults::default(), WireFraming::AsIs),
            ctx,
        );
    }

    fn start_exchange(
        &mut self,
        resp: Response,
        request: Option<(String, String, u8)>,
        keep_alive: bool,
        (faults, framing): (Faults, WireFraming),
        ctx: &mut Ctx,
    ) {
        let minor = request.as_ref().map_or(1, |r| r.2);
        let delay = faults.delay();
        let ex = build_exchange(resp, minor, keep_alive, faults, framing, ctx.now);
        let mut ex = Box::new(ex);
        if request.as_ref().is_some_and(|r| r.0 == "HEAD") {
            // RFC 9110 §9.3.2: a HEAD response carries no body, not even a last chunk.
            ex.chunk_trailer_sent = true;
        }
        ex.request = request;
        self.exchange = Some(ex);
        match delay {
            Some(d) if !d.is_zero() => {
                self.state = State::Delaying;
                self.set_deadline(ctx.now + d, ctx);
            }
            _ => {
                self.state = State::Sending;
                self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
            }
        }
    }

    /// One move of the response: write pending bytes, or decide and make the next body move.
    fn step_send(&mut self, ctx: &mut Ctx) -> Step {
        let Some(ex) = self.exchange.as_mut() else {
            return Step::Close;
        };
        if ex.paused {
            return Step::Wait;
        }
        if ex.out_pos < ex.out.len() {
            return self.write_out(ctx);
        }
        ex.out.clear();
        ex.out_pos = 0;
        if ex.faults.stall {
            self.state = State::Stalled;
            self.finish_log(ctx);
            self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
            return Step::Again;
        }
        match ex.next_step(ctx.now) {
            Ok(BodyStep::Refill) => Step::Again,
            Ok(BodyStep::File { offset, len }) => self.write_span(offset, len, ctx),
            Ok(BodyStep::Pause(until)) => {
                ex.paused = true;
                self.set_deadline(until, ctx);
                Step::Wait
            }
            Ok(BodyStep::Done) => self.finish_response(ctx),
            Err(_) => self.abandon(ctx),
        }
    }

    /// Write what is pending in `out` (head, inline body, copied piece); partial writes count.
    fn write_out(&mut self, ctx: &mut Ctx) -> Step {
        let Some(ex) = self.exchange.as_mut() else {
            return Step::Close;
        };
        if !self.writable {
            return Step::Wait;
        }
        // MSG_MORE when a sendfile span follows, so head and body share a segment.
        let more = !ex.segs.is_empty() && !ex.faults.stall;
        let result = self.transport.write(&ex.out[ex.out_pos..], more);
        let n = match self.wrote(result, ctx) {
            Ok(n) => n,
            Err(step) => return step,
        };
        if let Some(ex) = self.exchange.as_mut() {
            ex.out_pos += n;
            ex.written += n as u64;
        }
        Step::Again
    }

    /// Send a span of the file straight from it (sendfile, or encrypted chunks over TLS).
    fn write_span(&mut self, offset: u64, len: u64, ctx: &mut Ctx) -> Step {
        if !self.writable {
            return Step::Wait;
        }
        let Some(file) = self.exchange.as_ref().and_then(|ex| ex.file.as_ref()) else {
            return Step::Close;
        };
        let result = self
            .transport
            .write_file(file, offset, len, &mut ctx.scratch);
        let n = match self.wrote(result, ctx) {
            Ok(n) => n,
            Err(step) => return step,
        };
        if let Some(ex) = self.exchange.as_mut() {
            ex.advance_span(n as u64);
            ex.written += n as u64;
        }
        Step::Again
    }

    /// Account for a write: progress restarts the send-stall deadline; WouldBlock waits for
    /// the next writable edge; any other error abandons the response.
    fn wrote(&mut self, result: io::Result<usize>, ctx: &mut Ctx) -> Result<usize, Step> {
        match result {
            Ok(n) => {
                // Moving later never lowers the loop's nearest deadline: no update needed.
                self.deadline = ctx.now + limits::SEND_STALL_TIMEOUT;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.writable = false;
                Err(Step::Wait)
            }
            Err(_) => Err(self.abandon(ctx)),
        }
    }

    /// The response cannot be completed (peer gone, file shrank): log it and close.
    fn abandon(&mut self, ctx: &mut Ctx) -> Step {
        self.log_abandoned(ctx);
        Step::Close
    }

    /// Every byte of the response is queued: wait for TLS to flush, log, then keep alive,
    /// drain-and-close, or reset.
    fn finish_response(&mut self, ctx: &mut Ctx) -> Step {
        match self.transport.flush() {
            Ok(true) => {}
            Ok(false) => {
                self.writable = false;
                return Step::Wait;
            }
            Err(_) => return Step::Close,
        }
        self.finish_log(ctx);
        let Some(ex) = self.exchange.take() else {
            return Step::Close;
        };
        if ex.cut.is_some_and(|c| c.reset) {
            // SO_LINGER 0: the close sends RST (fault `reset`).
            self.transport.set_reset_on_close();
            return Step::Close;
        }
        if ex.close || ctx.stopping {
            self.start_close(!ex.faults.no_close_notify, ctx);
            return Step::Again;
        }
        self.state = State::ReadingHead;
        if self.inbuf.is_empty() {
            self.awaiting_head = true;
            self.set_deadline(ctx.now + ctx.cfg.idle_timeout, ctx);
        } else {
            // Pipelined bytes already here: the next head's deadline starts now.
            self.set_deadline(ctx.now + ctx.cfg.header_timeout, ctx);
        }
        Step::Again
    }

    /// Drain and close; `notify`: say close_notify first over TLS (not under that fault).
    fn start_close(&mut self, notify: bool, ctx: &mut Ctx) {
        if notify {
            self.transport.start_close();
        }
        self.inbuf.clear();
        self.state = State::Draining;
        let linger = match self.short_linger {
            true => limits::TIMEOUT_LINGER,
            false => limits::LINGER_TIMEOUT,
        };
        self.set_deadline(ctx.now + linger, ctx);
    }

    fn step_drain(&mut self, ctx: &mut Ctx) -> Step {
        if !self.shut {
            match self.transport.flush() {
                Ok(true) => {
                    self.transport.shutdown_write();
                    self.shut = true;
                }
                Ok(false) => {
                    self.writable = false;
                    if !self.readable {
                        return Step::Wait;
                    }
                }
                Err(_) => return Step::Close,
            }
        }
        self.step_discard(ctx)
    }

    /// Read and throw away input until EOF (Stalled, Draining).
    fn step_discard(&mut self, ctx: &mut Ctx) -> Step {
        while self.readable {
            self.inbuf.clear();
            match self.fill(INBUF_CAP, ctx) {
                Ok(true) => {}
                Ok(false) | Err(_) => return Step::Close,
            }
        }
        self.inbuf.clear();
        Step::Wait
    }

    fn finish_log(&mut self, ctx: &mut Ctx) {
        if let Some(ex) = self.exchange.as_ref() {
            push_log(&mut ctx.log, self.peer, ex, ctx.now);
        }
    }

    fn log_abandoned(&mut self, ctx: &mut Ctx) {
        if self.state == State::Sending {
            self.finish_log(ctx);
        }
        self.exchange = None;
    }
}

fn push_log(log: &mut LogBuf, peer: SocketAddr, ex: &Exchange, now: Instant) {
    if !log.is_on() {
        return;
    }
    log.push(&Entry {
        peer,
        request: ex
            .request
            .as_ref()
            .map(|(m, t, v)| (m.as_str(), t.as_str(), *v)),
        status: ex.status,
        bytes: ex.written.saturating_sub(ex.head_len as u64),
        micros: now.saturating_duration_since(ex.started).as_micros() as u64,
    });
}

/// A reply that says the client is confused about what it talks to (a bad target, a proxy
/// request via CONNECT): what it sends next cannot be trusted either, so close after it, as
/// nginx does (issue 13).
fn signals_confusion(status: u16, method: &str) -> bool {
    status == 400 || (status == 405 && method == "CONNECT")
}

/// RFC 9112 §9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only when the client
/// asked for keep-alive.
fn wants_keep_alive(head: &RequestHead) -> bool {
    if head.headers.has_token("Connection", "close") {
        return false;
    }
    head.minor_version >= 1 || head.headers.has_token("Connection", "keep-alive")
}

fn is_echo(head: &RequestHead, ctx: &Ctx) -> bool {
    match ctx.cfg.echo.as_deref() {
        Some(prefix) => {
            let (path, _) = crate::proto::target::path_and_query(&head.target);
            path.starts_with(prefix)
                && (prefix.ends_with('/')
                    || path.len() == prefix.len()
                    || path.as_bytes()[prefix.len()] == b'/')
        }
        None => false,
    }
}

/// What a plain-HTTP client on the TLS port reads: nginx's words ("The plain HTTP request was
/// sent to HTTPS port", which `rawhttp fetch` recognises), in text.
fn plain_http_on_tls_response() -> Response {
    const BODY: &[u8] = b"400 Bad Request: The plain HTTP request was sent to HTTPS port\n";
    let mut resp = error_response(400);
    for (name, value) in resp.headers.iter_mut() {
        if name.eq_ignore_ascii_case("Content-Length") {
            *value = BODY.len().to_string();
        }
    }
    resp.body = BodySource::Bytes(BODY.to_vec());
    resp
}

/// --echo: the request's own bytes back as text/plain.
fn echo_response(bytes: Vec<u8>) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("Date".to_string(), super::clock::http_date_now()),
            ("Server".to_string(), "rawhttp".to_string()),
            (
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            ),
            ("Content-Length".to_string(), bytes.len().to_string()),
        ],
        body: BodySource::Bytes(bytes),
    }
}

/// The faults this request asks for: library rules (per path, per Nth) and, under `--faults`,
/// query parameters.
fn faults_for(plan: &FaultPlan, head: &RequestHead) -> Faults {
    let (path, query) = crate::proto::target::path_and_query(&head.target);
    plan.next_faults(path, query)
}

/// The request as the fixture log keeps it.
fn recorded(head: &RequestHead, body_len: u64, conn: &Conn) -> RecordedRequest {
    let headers = head
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    RecordedRequest {
        method: head.method.clone(),
        target: head.target.clone(),
        headers,
        body_len,
        connection_id: conn.id,
        version: format!("HTTP/1.{}", head.minor_version),
        peer: conn.peer,
        tls: conn.transport.tls_details(),
    }
}

/// Turn a response into bytes to write and body segments; `framing` (from the faults) says
/// whether the body goes chunked or close-delimited.
fn build_exchange(
    resp: Response,
    minor: u8,
    keep_alive: bool,
    mut faults: Faults,
    framing: WireFraming,
    now: Instant,
) -> Exchange {
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
        chunk_trailer_sent: false,
        rate_start: now,
        paused: false,
        yield_due: false,
        request: None,
        status: resp.status,
        started: now,
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

impl Exchange {
    /// Decide the next body move, refilling `out` for copied pieces.
    fn next_step(&mut self, now: Instant) -> io::Result<BodyStep> {
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
