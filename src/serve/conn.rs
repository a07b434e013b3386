//! One connection's state machine: reading head -> (reading body) -> sending -> back to reading
//! head (keep-alive) or draining -> closed (ARCHITECTURE.md rule 3). Each state holds its own
//! data (the request being read, the response being sent). It turns readiness into progress;
//! what to answer is `dispatch`'s decision, what bytes to send next is the `plan`'s, how bytes
//! move is `transport`'s, and when timers fire is the event loop's.
//!
//! Interest: each socket is registered once for both directions, edge-triggered (as nginx
//! does), so a state change costs no epoll_ctl (ARCHITECTURE.md, "Readiness", says why this
//! departs from rule 3). The state decides which readiness is used:
//! `readable`/`writable` remember edges not yet consumed (cleared on WouldBlock or a short
//! read), and each step reads only in the reading states and writes only while sending, so an
//! edge that arrives while it is not wanted waits in its flag until the state wants it.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::ctx::{Ctx, INBUF_CAP};
use super::dispatch::{self, Request};
use super::plan::{BodyStep, Exchange};
use super::record::{is_echo, RecordedRequest};
use super::transport::{ReadStatus, Transport};
use crate::proto::limits;
use crate::proto::request_head::{error_status, parse_request_head, RequestHead};

/// What the loop should do with a connection after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep it registered.
    Keep,
    /// Close and forget it.
    Close,
}

/// Where a connection is in its life, with the data of that state; `deadline` means what the
/// comment of the state says.
enum State {
    /// Waiting for a request head. Deadline: the idle timeout while `idle` (kept alive, no byte
    /// of the next head yet), else the header deadline (from accept or from the first byte),
    /// which trickling cannot extend.
    ReadingHead { idle: bool },
    /// A head is parsed; its Content-Length body (<= MAX_DRAINED_BODY) is being read and
    /// discarded (or kept for --echo) so it is never parsed as a request. Deadline: header.
    ReadingBody(Box<Request>),
    /// Writing head and body as the plan says; partial writes are counted in it. Deadline:
    /// send stall.
    Sending(Box<Exchange>),
    /// The plan asked for a pause (a rate fault's next slice, or a listing yielding to other
    /// clients): nothing is written until the deadline, then back to Sending.
    Paused(Box<Exchange>),
    /// A delay fault holds the ready response; nothing is sent until the deadline.
    Delaying(Box<Exchange>),
    /// A stall fault (or TLS `handshake-stall` from accept): head sent, then nothing; input
    /// discarded until the client gives up. Deadline: send stall.
    Stalled,
    /// Closing after the last byte: write side shut once flushed (`shut`; TLS close_notify
    /// first), input discarded until EOF so unread request bytes do not turn our close into an
    /// RST that destroys the response in the client's buffer. Deadline: linger.
    Draining { shut: bool },
    /// Finished: the loop closes it. (Also what a step leaves while it owns the state.)
    Closed,
}

/// What one step of the state machine achieved, and the state it leaves the connection in.
enum Step {
    /// Progress was made or the state changed: run again.
    Again(State),
    /// Blocked on readiness or a timer.
    Wait(State),
    /// Finished (or failed): close.
    Close,
}

/// One client connection.
pub struct Conn {
    transport: Transport,
    id: u64,
    peer: SocketAddr,
    state: State,
    inbuf: Vec<u8>,
    /// Edge-triggered readiness not yet consumed (cleared on WouldBlock).
    readable: bool,
    writable: bool,
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
            state: State::ReadingHead { idle: false },
            inbuf: Vec::new(),
            readable: false,
            writable: true,
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
        matches!(self.state, State::ReadingHead { idle: true })
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
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Delaying(ex) | State::Paused(ex) => {
                self.state = State::Sending(ex);
                self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
                self.drive(ctx)
            }
            State::Sending(ex) => {
                self.log(&ex, ctx);
                Next::Close
            }
            State::ReadingHead { .. } if !self.inbuf.is_empty() => self.time_out(None, ctx),
            State::ReadingBody(req) if !req.continue_partly_sent() => {
                self.time_out(Some(&req.head), ctx)
            }
            _ => Next::Close,
        }
    }

    /// The header deadline passed with part of a head received, or while a small request body
    /// was still coming (nginx's `client_body_timeout`): answer 408 (RFC 9110 §15.5.9) so the
    /// client knows why, then close. A client that sent nothing gets no reply (there is no
    /// request to answer, and a keep-alive client may be about to reuse the connection).
    fn time_out(&mut self, head: Option<&RequestHead>, ctx: &mut Ctx) -> Next {
        self.state = self.reject(408, head, ctx);
        // A client this slow gets a short linger: it is not worth holding the slot for.
        self.short_linger = true;
        self.drive(ctx)
    }

    /// A stop was requested: close what is idle, let responses in flight finish, no keep-alive.
    pub fn begin_stop(&mut self) -> Next {
        match &mut self.state {
            State::ReadingBody(req) => req.keep_alive = false,
            State::Sending(ex) | State::Paused(ex) | State::Delaying(ex) => ex.close = true,
            _ => return Next::Close,
        }
        Next::Keep
    }

    /// The connection is going away: hand back its buffer and log a response cut short.
    pub fn release(&mut self, ctx: &mut Ctx) {
        // Cut short (stop grace over, write error): logged with the bytes that did leave.
        if let State::Sending(ex) | State::Paused(ex) = &self.state {
            self.log(ex, ctx);
        }
        self.state = State::Closed;
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
            let step = match std::mem::replace(&mut self.state, State::Closed) {
                State::ReadingHead { idle } => self.step_head(idle, ctx),
                State::ReadingBody(req) => self.step_body(req, ctx),
                State::Sending(ex) => self.step_send(ex, ctx),
                State::Paused(ex) => Step::Wait(State::Paused(ex)),
                State::Delaying(ex) => self.flush_then_wait(State::Delaying(ex)),
                State::Stalled => self.step_discard(State::Stalled, ctx),
                State::Draining { shut } => self.step_drain(shut, ctx),
                State::Closed => Step::Close,
            };
            match step {
                Step::Again(state) => self.state = state,
                Step::Wait(state) => {
                    self.state = state;
                    return Next::Keep;
                }
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

    fn flush_then_wait(&mut self, state: State) -> Step {
        match self.flush_tls() {
            Ok(()) => Step::Wait(state),
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

    /// Read more, then stay in `state` to look at it (a read always clears `readable` or fills
    /// the buffer, so this cannot loop without progress); EOF or an error closes.
    fn read_then(&mut self, state: State, ctx: &mut Ctx) -> Step {
        match self.fill(INBUF_CAP, ctx) {
            Ok(true) => Step::Again(state),
            Ok(false) | Err(_) => Step::Close,
        }
    }

    fn step_head(&mut self, mut idle: bool, ctx: &mut Ctx) -> Step {
        if self.flush_tls().is_err() {
            return Step::Close;
        }
        if self.transport.is_plain_on_tls() {
            // Plain HTTP on the TLS port: a readable 400, then close (issue 9, as nginx).
            self.inbuf.clear();
            let ex = dispatch::plain_http_on_tls(ctx.now);
            return Step::Again(self.start_sending(ex, None, ctx));
        }
        if !self.inbuf.is_empty() {
            if idle {
                // First byte of a new head: the header deadline starts now.
                idle = false;
                self.set_deadline(ctx.now + ctx.cfg.header_timeout, ctx);
            }
            if let Some(next) = self.parse_head(ctx) {
                return Step::Again(next);
            }
        }
        if !self.readable {
            if self.inbuf.is_empty() {
                let buf = std::mem::take(&mut self.inbuf);
                ctx.give_buf(buf);
            }
            return Step::Wait(State::ReadingHead { idle });
        }
        self.read_then(State::ReadingHead { idle }, ctx)
    }

    /// The state after a head in `inbuf` (its request, or a refusal); `None`: need more bytes.
    fn parse_head(&mut self, ctx: &mut Ctx) -> Option<State> {
        match parse_request_head(&self.inbuf) {
            Ok(Some((head, used))) => Some(self.begin_request(head, used, ctx)),
            Ok(None) if self.inbuf.len() >= INBUF_CAP => Some(self.reject(431, None, ctx)),
            Ok(None) => None,
            Err(e) => Some(self.reject(error_status(e), None, ctx)),
        }
    }

    /// A head was parsed from the first `used` bytes of `inbuf`: read its body, or answer.
    fn begin_request(&mut self, head: RequestHead, used: usize, ctx: &mut Ctx) -> State {
        let echo = is_echo(ctx.cfg.echo.as_deref(), &head.target);
        let raw = echo.then(|| self.inbuf[..used].to_vec());
        self.inbuf.drain(..used);
        let request = match Request::new(head, raw, !self.inbuf.is_empty(), ctx.stopping) {
            Ok(request) => request,
            Err((status, head)) => return self.reject(status, Some(&head), ctx),
        };
        if request.remaining == 0 {
            return self.answer(request, ctx);
        }
        self.set_deadline(ctx.now + ctx.cfg.header_timeout, ctx);
        State::ReadingBody(Box::new(request))
    }

    fn step_body(&mut self, mut req: Box<Request>, ctx: &mut Ctx) -> Step {
        let taken = req.take_body(&self.inbuf);
        self.inbuf.drain(..taken);
        if req.remaining == 0 {
            return Step::Again(self.answer(*req, ctx));
        }
        if let Some(owed) = req.continue_owed().filter(|_| self.writable) {
            match self.transport.write(owed, false) {
                Ok(n) => req.continue_wrote(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(_) => return Step::Close,
            }
            return Step::Again(State::ReadingBody(req));
        }
        if !self.readable {
            return Step::Wait(State::ReadingBody(req));
        }
        self.read_then(State::ReadingBody(req), ctx)
    }

    /// Record the request, plan its response (`dispatch`), and start sending.
    fn answer(&mut self, req: Request, ctx: &mut Ctx) -> State {
        if let Some(log) = ctx.cfg.record.as_ref() {
            let tls = self.transport.tls_details();
            log.push(RecordedRequest::new(
                &req.head,
                req.body_len,
                self.id,
                self.peer,
                tls,
            ));
        }
        let unfinished = req.continue_unfinished();
        let (mut ex, delay) = dispatch::answer(req.head, req.raw, req.keep_alive, ctx);
        if !unfinished.is_empty() {
            ex.prepend(unfinished);
        }
        self.start_sending(ex, delay, ctx)
    }

    /// Refuse the request (or what could not be parsed as one) with `status`, then close.
    fn reject(&mut self, status: u16, head: Option<&RequestHead>, ctx: &mut Ctx) -> State {
        self.inbuf.clear();
        let ex = dispatch::refusal(status, head, ctx.now);
        self.start_sending(ex, None, ctx)
    }

    /// Send `ex` now, or after the `delay` a fault asks for.
    fn start_sending(&mut self, ex: Exchange, delay: Option<Duration>, ctx: &mut Ctx) -> State {
        match delay {
            Some(d) => {
                self.set_deadline(ctx.now + d, ctx);
                State::Delaying(Box::new(ex))
            }
            None => {
                self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
                State::Sending(Box::new(ex))
            }
        }
    }

    /// One move of the response: write pending bytes, or make the plan's next body move.
    fn step_send(&mut self, mut ex: Box<Exchange>, ctx: &mut Ctx) -> Step {
        if !ex.pending().is_empty() {
            return self.write_pending(ex, ctx);
        }
        match ex.next_step(ctx.now) {
            Ok(BodyStep::Refill) => Step::Again(State::Sending(ex)),
            Ok(BodyStep::File { offset, len }) => self.write_span(ex, offset, len, ctx),
            Ok(BodyStep::Pause(until)) => {
                self.set_deadline(until, ctx);
                Step::Wait(State::Paused(ex))
            }
            Ok(BodyStep::Stall) => {
                self.log(&ex, ctx);
                self.set_deadline(ctx.now + limits::SEND_STALL_TIMEOUT, ctx);
                Step::Again(State::Stalled)
            }
            Ok(BodyStep::Done) => self.finish_response(ex, ctx),
            Err(_) => self.abandon(&ex, ctx),
        }
    }

    /// Write what is pending (head, inline body, copied piece); partial writes count.
    fn write_pending(&mut self, ex: Box<Exchange>, ctx: &mut Ctx) -> Step {
        if !self.writable {
            return Step::Wait(State::Sending(ex));
        }
        // MSG_MORE when a sendfile span follows, so head and body share a segment.
        let result = self.transport.write(ex.pending(), ex.more_follows());
        self.wrote(result, ex, Exchange::wrote_pending, ctx)
    }

    /// Send a span of the file straight from it (sendfile, or encrypted chunks over TLS).
    fn write_span(&mut self, ex: Box<Exchange>, offset: u64, len: u64, ctx: &mut Ctx) -> Step {
        if !self.writable {
            return Step::Wait(State::Sending(ex));
        }
        let Some(file) = ex.file() else {
            return self.abandon(&ex, ctx);
        };
        let result = self
            .transport
            .write_file(file, offset, len, &mut ctx.scratch);
        self.wrote(result, ex, Exchange::wrote_span, ctx)
    }

    /// Account for a write of `ex`'s bytes: progress (counted by `count`) restarts the
    /// send-stall deadline; WouldBlock waits for the next writable edge; any other error
    /// abandons the response.
    fn wrote(
        &mut self,
        result: io::Result<usize>,
        mut ex: Box<Exchange>,
        count: fn(&mut Exchange, usize),
        ctx: &mut Ctx,
    ) -> Step {
        match result {
            Ok(n) => {
                // Moving later never lowers the loop's nearest deadline: no update needed.
                self.deadline = ctx.now + limits::SEND_STALL_TIMEOUT;
                count(&mut ex, n);
                Step::Again(State::Sending(ex))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.writable = false;
                Step::Wait(State::Sending(ex))
            }
            Err(_) => self.abandon(&ex, ctx),
        }
    }

    /// The response cannot be completed (peer gone, file shrank): log it and close.
    fn abandon(&mut self, ex: &Exchange, ctx: &mut Ctx) -> Step {
        self.log(ex, ctx);
        Step::Close
    }

    /// Every byte of the response is queued: wait for TLS to flush, log, then keep alive,
    /// drain-and-close, or reset.
    fn finish_response(&mut self, ex: Box<Exchange>, ctx: &mut Ctx) -> Step {
        match self.transport.flush() {
            Ok(true) => {}
            Ok(false) => {
                self.writable = false;
                return Step::Wait(State::Sending(ex));
            }
            Err(_) => return self.abandon(&ex, ctx),
        }
        self.log(&ex, ctx);
        if ex.resets() {
            // SO_LINGER 0: the close sends RST (fault `reset`).
            self.transport.set_reset_on_close();
            return Step::Close;
        }
        if ex.close || ctx.stopping {
            return Step::Again(self.start_close(ex.notifies_close(), ctx));
        }
        let idle = self.inbuf.is_empty();
        // Pipelined bytes already here: the next head's deadline starts now.
        let wait = match idle {
            true => ctx.cfg.idle_timeout,
            false => ctx.cfg.header_timeout,
        };
        self.set_deadline(ctx.now + wait, ctx);
        Step::Again(State::ReadingHead { idle })
    }

    /// Drain and close; `notify`: say close_notify first over TLS (not under that fault).
    fn start_close(&mut self, notify: bool, ctx: &mut Ctx) -> State {
        if notify {
            self.transport.start_close();
        }
        self.inbuf.clear();
        let linger = match self.short_linger {
            true => limits::TIMEOUT_LINGER,
            false => limits::LINGER_TIMEOUT,
        };
        self.set_deadline(ctx.now + linger, ctx);
        State::Draining { shut: false }
    }

    fn step_drain(&mut self, mut shut: bool, ctx: &mut Ctx) -> Step {
        if !shut {
            match self.transport.flush() {
                Ok(true) => {
                    self.transport.shutdown_write();
                    shut = true;
                }
                Ok(false) => {
                    self.writable = false;
                    if !self.readable {
                        return Step::Wait(State::Draining { shut });
                    }
                }
                Err(_) => return Step::Close,
            }
        }
        self.step_discard(State::Draining { shut }, ctx)
    }

    /// Read and throw away input until EOF (Stalled, Draining).
    fn step_discard(&mut self, state: State, ctx: &mut Ctx) -> Step {
        while self.readable {
            self.inbuf.clear();
            match self.fill(INBUF_CAP, ctx) {
                Ok(true) => {}
                Ok(false) | Err(_) => return Step::Close,
            }
        }
        self.inbuf.clear();
        Step::Wait(state)
    }

    fn log(&self, ex: &Exchange, ctx: &mut Ctx) {
        if ctx.log.is_on() {
            ctx.log.push(&ex.log_entry(self.peer, ctx.now));
        }
    }
}
