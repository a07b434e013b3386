//! mio Poll per thread: accept until WouldBlock, drive connections, timers, shutdown.
//! Each loop owns its connections and its own listener per address (SO_REUSEPORT spreads new
//! connections across loops); what a connection does with readiness is `conn`'s business.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use super::config::EngineConfig;
use super::conn::{Conn, Next};
use super::ctx::Ctx;
use super::transport::Transport;
use crate::error::Error;
use crate::proto::limits;

/// Pending connections the kernel queues per listener before we accept them.
const LISTEN_BACKLOG: i32 = 1024;
/// After EMFILE/ENFILE (or a full server), how long accepting pauses before it is retried:
/// a descriptor may have been freed meanwhile, and retrying at once would spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// Readiness events taken per poll call.
const EVENTS_PER_POLL: usize = 1024;
const WAKER: Token = Token(usize::MAX);
/// Listener tokens count down from here; connection tokens are slab indexes from 0.
const LISTENER_BASE: usize = usize::MAX - 1;

/// What the loops share: the stop flag, their wakers, the connection count and id sequence.
struct Shared {
    stop: AtomicBool,
    wakers: Vec<Waker>,
    open: AtomicUsize,
    next_id: AtomicU64,
    /// A full loop with a connection waiting asks the others to close one idle connection.
    evict_wanted: AtomicBool,
    /// Open connections per client address, for those `PerIpCap` applies to.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// Running event loops. Dropping without `shutdown` leaves the threads running.
pub struct Engine {
    addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Bind every address (port 0 = any free port, the same port for all loop threads) and start
    /// the loops. Bind failures are `Error::Bind`.
    pub fn bind(config: EngineConfig, addrs: &[SocketAddr]) -> Result<Engine, Error> {
        let threads = config.threads.max(1);
        let (local, per_thread) = bind_all(addrs, threads)?;
        let mut polls = Vec::with_capacity(threads);
        let mut wakers = Vec::with_capacity(threads);
        for listeners in per_thread {
            let poll = Poll::new().map_err(Error::Io)?;
            wakers.push(Waker::new(poll.registry(), WAKER).map_err(Error::Io)?);
            polls.push((poll, listeners));
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            wakers,
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            evict_wanted: AtomicBool::new(false),
            per_ip: Mutex::new(HashMap::new()),
        });
        let mut handles = Vec::with_capacity(threads);
        for (i, (poll, listeners)) in polls.into_iter().enumerate() {
            let lp = Loop::new(poll, listeners, config.clone(), Arc::clone(&shared))?;
            let handle = std::thread::Builder::new()
                .name(format!("rawhttp-loop-{i}"))
                .spawn(move || lp.run())
                .map_err(Error::Io)?;
            handles.push(handle);
        }
        Ok(Engine {
            addrs: local,
            shared,
            threads: handles,
        })
    }

    /// The addresses actually listened on (real ports), one per requested address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stop accepting and let responses in flight finish (up to `SHUTDOWN_GRACE`). Idempotent,
    /// returns at once; `wait` joins.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for w in &self.shared.wakers {
            // A loop that already ended has nothing to wake.
            let _ = w.wake();
        }
    }

    /// Join the loop threads (after `shutdown`, or when they end on their own).
    pub fn wait(self) {
        for h in self.threads {
            let _ = h.join();
        }
    }
}

type Listeners = Vec<std::net::TcpListener>;

/// One listener per address per thread. The first bind is made without SO_REUSEPORT, so an
/// address some other process holds (even another rawhttp with SO_REUSEPORT) fails as "in use"
/// instead of being silently shared; it also picks the real port for port 0. With several
/// threads it is then replaced by listeners that share that port through SO_REUSEPORT.
fn bind_all(
    addrs: &[SocketAddr],
    threads: usize,
) -> Result<(Vec<SocketAddr>, Vec<Listeners>), Error> {
    let mut local = Vec::with_capacity(addrs.len());
    let mut per_thread: Vec<Listeners> = (0..threads).map(|_| Vec::new()).collect();
    for &addr in addrs {
        // Port 0 on several addresses: one shared port when it is free on each, so
        // `localhost:PORT` reaches the server over IPv4 and IPv6 alike.
        let shared = local
            .first()
            .map(|l: &SocketAddr| SocketAddr::new(addr.ip(), l.port()));
        let first = match shared.filter(|_| addr.port() == 0) {
            Some(same) => listen(same, false).or_else(|_| listen(addr, false))?,
            None => listen(addr, false)?,
        };
        let real = first
            .local_addr()
            .map_err(|e| Error::Bind(format!("{addr}: {e}")))?;
        if threads == 1 {
            per_thread[0].push(first);
        } else {
            drop(first);
            for listeners in per_thread.iter_mut() {
                listeners.push(listen(real, true)?);
            }
        }
        local.push(real);
    }
    Ok((local, per_thread))
}

fn listen(addr: SocketAddr, reuse_port: bool) -> Result<std::net::TcpListener, Error> {
    let fail = |e: io::Error| Error::Bind(format!("{addr}: {e}"));
    let socket =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).map_err(fail)?;
    // Restarting must not wait for TIME_WAIT connections of the previous run.
    socket.set_reuse_address(true).map_err(fail)?;
    if reuse_port {
        socket.set_reuse_port(true).map_err(fail)?;
    }
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // README: `::` means every interface, IPv4 included (dual-stack).
        socket.set_only_v6(false).map_err(fail)?;
    }
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(LISTEN_BACKLOG).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    Ok(socket.into())
}

/// One thread's poller, listeners and connections.
struct Loop {
    poll: Poll,
    listeners: Vec<TcpListener>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    ctx: Ctx,
    shared: Arc<Shared>,
    /// Accepting is paused (full, or EMFILE) until this instant.
    accept_retry: Option<Instant>,
    /// Stop requested: the loop ends when its connections are gone or at this instant.
    stop_at: Option<Instant>,
}

impl Loop {
    fn new(
        poll: Poll,
        listeners: Listeners,
        cfg: EngineConfig,
        shared: Arc<Shared>,
    ) -> Result<Loop, Error> {
        let mut mio_listeners = Vec::with_capacity(listeners.len());
        for (i, l) in listeners.into_iter().enumerate() {
            let mut l = TcpListener::from_std(l);
            poll.registry()
                .register(&mut l, Token(LISTENER_BASE - i), Interest::READABLE)
                .map_err(Error::Io)?;
            mio_listeners.push(l);
        }
        Ok(Loop {
            poll,
            listeners: mio_listeners,
            conns: Vec::new(),
            free: Vec::new(),
            ctx: Ctx::new(cfg, Instant::now()),
            shared,
            accept_retry: None,
            stop_at: None,
        })
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        loop {
            let timeout = self.timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!("rawhttp: event loop failed: {e}");
                break;
            }
            self.ctx.now = Instant::now();
            for event in events.iter() {
                self.dispatch(event);
            }
            self.after_events();
            self.ctx.log.flush();
            if let Some(at) = self.stop_at {
                if self.open() == 0 || self.ctx.now >= at {
                    break;
                }
            }
        }
        // The stop grace is over: what is still open is cut short (and logged as such).
        for slot in 0..self.conns.len() {
            self.close(slot);
        }
        self.ctx.log.flush_at_exit();
    }

    fn dispatch(&mut self, event: &mio::event::Event) {
        let token = event.token();
        if token == WAKER {
            return;
        }
        if token.0 > LISTENER_BASE - self.listeners.len().max(1) && token.0 <= LISTENER_BASE {
            self.accept(LISTENER_BASE - token.0);
            return;
        }
        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
        let writable = event.is_writable() || event.is_write_closed() || event.is_error();
        let Some(Some(conn)) = self.conns.get_mut(token.0) else {
            return;
        };
        if conn.on_ready(readable, writable, &mut self.ctx) == Next::Close {
            self.close(token.0);
        }
    }

    /// Timers, stop requests and paused accepting, once per wake-up.
    fn after_events(&mut self) {
        let now = self.ctx.now;
        if self.stop_at.is_none() && self.shared.stop.load(Ordering::SeqCst) {
            self.begin_stop();
        }
        if now >= self.ctx.next_deadline {
            self.sweep();
        }
        self.give_room();
        if self.accept_retry.is_some_and(|at| now >= at) && self.stop_at.is_none() {
            self.accept_retry = None;
            for i in 0..self.listeners.len() {
                self.accept(i);
            }
        }
    }

    fn timeout(&self) -> Duration {
        let mut at = self.ctx.next_deadline;
        if let Some(retry) = self.accept_retry {
            at = at.min(retry);
        }
        if let Some(stop) = self.stop_at {
            at = at.min(stop);
        }
        if self.ctx.log.has_backlog() {
            // stderr did not take everything: retry soon, without a busy loop.
            at = at.min(self.ctx.now + limits::LOG_RETRY);
        }
        at.saturating_duration_since(Instant::now())
    }

    fn open(&self) -> usize {
        self.conns.len() - self.free.len()
    }

    /// Accept until WouldBlock, the connection cap, or a descriptor shortage. At the cap an
    /// idle keep-alive connection (oldest first) is closed to admit a new one, as nginx does:
    /// otherwise clients that send one request and sit idle lock everyone else out.
    fn accept(&mut self, index: usize) {
        loop {
            if self.stop_at.is_some() {
                return;
            }
            let full =
                self.shared.open.fetch_add(1, Ordering::SeqCst) >= self.ctx.cfg.max_connections;
            if full && self.oldest_idle().is_none() {
                // Full and nothing of ours to give up: leave new connections in the kernel's
                // queue, ask the other loops for room if one is waiting, retry when one closes.
                self.shared.open.fetch_sub(1, Ordering::SeqCst);
                if self.has_pending(index) {
                    self.ask_for_room();
                }
                self.pause_accept();
                return;
            }
            let Some(listener) = self.listeners.get(index) else {
                self.shared.open.fetch_sub(1, Ordering::SeqCst);
                return;
            };
            match listener.accept() {
                Ok((sock, peer)) => self.add(sock, peer, full),
                Err(e) => {
                    self.shared.open.fetch_sub(1, Ordering::SeqCst);
                    match e.raw_os_error() {
                        _ if e.kind() == io::ErrorKind::WouldBlock => return,
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                            self.pause_accept();
                            return;
                        }
                        // ECONNABORTED, EINTR, EPROTO ...: that one connection is gone.
                        _ => continue,
                    }
                }
            }
        }
    }

    /// This loop's idle keep-alive connection with the earliest deadline (idle the longest).
    fn oldest_idle(&self) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| c.as_ref().filter(|c| c.is_idle()).map(|c| (slot, c)))
            .min_by_key(|(_, c)| c.deadline())
            .map(|(slot, _)| slot)
    }

    /// Close the oldest idle connection, if any.
    fn evict_oldest_idle(&mut self) {
        if let Some(slot) = self.oldest_idle() {
            self.close(slot);
        }
    }

    /// Whether a connection waits in this listener's queue (poll(2) with a zero timeout), so
    /// room is asked for only when someone needs it.
    fn has_pending(&self, index: usize) -> bool {
        let Some(listener) = self.listeners.get(index) else {
            return false;
        };
        let mut fd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `fd` is one valid pollfd and the count says one; the listener stays open.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        n > 0 && fd.revents & libc::POLLIN != 0
    }

    /// Ask the other loops (SO_REUSEPORT gives each its own queue) to close one idle
    /// connection; the first that has one does (see `give_room`).
    fn ask_for_room(&self) {
        if !self.shared.evict_wanted.swap(true, Ordering::SeqCst) {
            for w in &self.shared.wakers {
                let _ = w.wake();
            }
        }
    }

    /// Another loop asked for room: close our oldest idle connection if we have one and the
    /// table is still full (a request nobody could serve must not linger and cost a later idle
    /// connection its place when room came otherwise).
    fn give_room(&mut self) {
        if !self.shared.evict_wanted.load(Ordering::SeqCst) {
            return;
        }
        if self.shared.open.load(Ordering::SeqCst) < self.ctx.cfg.max_connections {
            self.shared.evict_wanted.store(false, Ordering::SeqCst);
            return;
        }
        if self.oldest_idle().is_some() && self.shared.evict_wanted.swap(false, Ordering::SeqCst) {
            self.evict_oldest_idle();
        }
    }

    fn pause_accept(&mut self) {
        let at = self.ctx.now + ACCEPT_RETRY;
        self.accept_retry = Some(self.accept_retry.map_or(at, |r| r.min(at)));
    }

    /// Take an accepted socket (counted in `shared.open` already); one from an address
    /// already at its cap is closed at once (dropped), as is one that cannot be registered.
    /// `full`: the table was full, so an idle connection makes room for an admitted one.
    fn add(&mut self, sock: mio::net::TcpStream, peer: SocketAddr, full: bool) {
        if !self.admit_peer(peer.ip()) {
            self.shared.open.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        if full {
            self.evict_oldest_idle();
        }
        if !self.register(sock, peer) {
            self.forget_peer(peer.ip());
            self.shared.open.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Wrap the socket in a connection and register it with the poller; false on failure.
    fn register(&mut self, sock: mio::net::TcpStream, peer: SocketAddr) -> bool {
        // Small heads and bodies go out at once, not after Nagle's delay.
        let _ = sock.set_nodelay(true);
        let faults = self.ctx.cfg.faults.as_deref();
        let stall = faults.is_some_and(|f| f.handshake_stall);
        // A stalled handshake is a plain socket that never answers: no TLS session at all.
        let tls = self.ctx.cfg.tls.as_ref().filter(|_| !stall);
        let Ok(transport) = Transport::new(sock, tls) else {
            return false;
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut conn = Conn::new(transport, id, peer, &mut self.ctx);
        if stall {
            conn.stall(&mut self.ctx);
        }
        let slot = self.free.pop().unwrap_or(self.conns.len());
        // Both directions once, edge-triggered: no epoll_ctl per state change; the state
        // decides what readiness is used for (the conn tracks unconsumed edges).
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(conn.transport_mut().socket_mut(), Token(slot), interest)
            .is_err()
        {
            self.free.push(slot);
            return false;
        }
        if slot == self.conns.len() {
            self.conns.push(Some(conn));
        } else {
            self.conns[slot] = Some(conn);
        }
        true
    }

    /// Count a connection from `ip` against its cap; false when the address is at it.
    fn admit_peer(&self, ip: IpAddr) -> bool {
        let cap = self.ctx.cfg.per_ip;
        if !cap.applies_to(ip) {
            return true;
        }
        // A poisoned lock only means another loop panicked mid-update; the counts still hold.
        let mut counts = self.shared.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip.to_canonical()).or_insert(0);
        if *n >= cap.max {
            return false;
        }
        *n += 1;
        true
    }

    /// Undo `admit_peer` for a connection that closed.
    fn forget_peer(&self, ip: IpAddr) {
        if !self.ctx.cfg.per_ip.applies_to(ip) {
            return;
        }
        let mut counts = self.shared.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let ip = ip.to_canonical();
        if let Some(n) = counts.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&ip);
            }
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) {
            self.forget_peer(conn.peer().ip());
            conn.release(&mut self.ctx);
            let _ = self
                .poll
                .registry()
                .deregister(conn.transport_mut().socket_mut());
            self.free.push(slot);
            self.shared.open.fetch_sub(1, Ordering::SeqCst);
            if self.accept_retry.is_some() && self.stop_at.is_none() {
                // A slot freed: accept at once rather than at the retry tick.
                self.accept_retry = Some(self.ctx.now);
            }
        }
    }

    /// Fire every passed deadline and find the next one.
    fn sweep(&mut self) {
        let now = self.ctx.now;
        self.ctx.next_deadline = now + Duration::from_secs(3600);
        for slot in 0..self.conns.len() {
            let Some(conn) = self.conns[slot].as_mut() else {
                continue;
            };
            if conn.deadline() <= now && conn.on_deadline(&mut self.ctx) == Next::Close {
                self.close(slot);
                continue;
            }
            if let Some(conn) = self.conns[slot].as_ref() {
                self.ctx.next_deadline = self.ctx.next_deadline.min(conn.deadline());
            }
        }
    }

    /// Stop accepting, close idle connections, let the rest finish within the grace period.
    fn begin_stop(&mut self) {
        for mut l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        self.accept_retry = None;
        self.ctx.stopping = true;
        self.stop_at = Some(self.ctx.now + limits::SHUTDOWN_GRACE);
        for slot in 0..self.conns.len() {
            if let Some(conn) = self.conns[slot].as_mut() {
                if conn.begin_stop() == Next::Close {
                    self.close(slot);
                }
            }
        }
    }
}
