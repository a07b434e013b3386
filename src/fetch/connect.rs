//! Resolve a host, race its addresses (Happy Eyeballs, RFC 8305) within the connect timeout,
//! and hand back a blocking `Stream` (plain TCP, or rustls over TCP). No HTTP here.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use url::Host;

use super::tls_errors::{describe_certificate_error, describe_tls_error};
use super::tls_stream::{ClientTlsStream, TlsFailure};
use crate::Error;

/// Which address families may be used (`-4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// Whatever the name resolves to (`-4`/`-6` not given).
    #[default]
    Any,
    /// IPv4 only (`-4`).
    V4,
    /// IPv6 only (`-6`).
    V6,
}

impl Family {
    fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }
}

/// One `--resolve HOST:PORT:ADDR` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOverride {
    /// The host name as written in URLs.
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// The address to connect to instead of resolving.
    pub addr: IpAddr,
}

impl ResolveOverride {
    /// Parse `HOST:PORT:ADDR`; ADDR may be an IPv6 literal, bracketed or not.
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let bad = || Error::Usage(format!("--resolve {spec:?}: expected HOST:PORT:ADDR"));
        let (host, rest) = spec.split_once(':').ok_or_else(bad)?;
        let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
        let port = port.parse::<u16>().map_err(|_| bad())?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr = addr.parse::<IpAddr>().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
            port,
            addr,
        })
    }
}

/// The addresses to try for `host:port`: overrides first, IP literals as they are, names through
/// the system resolver. Filtered by family; none left is a resolve failure (exit 6).
pub(super) fn resolve(
    host: &Host<&str>,
    port: u16,
    overrides: &[ResolveOverride],
    family: Family,
) -> Result<Vec<SocketAddr>, Error> {
    let name = match host {
        Host::Domain(d) => d.to_string(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    let fail = |why: String| Error::Resolve {
        host: name.clone(),
        why,
    };
    let pinned: Vec<SocketAddr> = overrides
        .iter()
        .filter(|o| o.port == port && o.host.eq_ignore_ascii_case(&name))
        .map(|o| SocketAddr::new(o.addr, port))
        .collect();
    let found = if !pinned.is_empty() {
        pinned
    } else {
        match host {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(*ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(*ip), port)],
            Host::Domain(d) => (*d, port)
                .to_socket_addrs()
                .map_err(|e| fail(e.to_string()))?
                .collect(),
        }
    };
    let kept: Vec<SocketAddr> = found.into_iter().filter(|a| family.allows(a)).collect();
    if kept.is_empty() {
        return Err(fail("no address of the requested family".into()));
    }
    Ok(interleave(kept))
}

/// RFC 8305 §4: alternate families, starting with the family of the resolver's first answer;
/// duplicates dropped, order within a family kept.
pub(super) fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let mut unique: Vec<SocketAddr> = Vec::with_capacity(addrs.len());
    for a in addrs {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    let first_v6 = unique.first().is_some_and(|a| a.is_ipv6());
    let (mut primary, mut secondary): (Vec<_>, Vec<_>) =
        unique.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(primary.len() + secondary.len());
    primary.reverse();
    secondary.reverse();
    loop {
        match (primary.pop(), secondary.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One connection attempt in flight.
struct Attempt {
    socket: Socket,
    addr: SocketAddr,
}

/// Start a non-blocking connect. `Ok(Err(attempt))` is still in progress; `Ok(Ok(socket))`
/// connected at once (common on loopback).
fn start_attempt(addr: SocketAddr) -> io::Result<Result<Socket, Attempt>> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => Ok(Ok(socket)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(Err(Attempt { socket, addr })),
        Err(e) => Err(e),
    }
}

/// Wait until one of `attempts` is writable (connected or failed) or `wait` passes.
/// Returns the indices that are ready.
fn poll_attempts(attempts: &[Attempt], wait: Duration) -> io::Result<Vec<usize>> {
    let mut fds: Vec<libc::pollfd> = attempts
        .iter()
        .map(|a| libc::pollfd {
            fd: a.socket.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        })
        .collect();
    // Round up so a sub-millisecond wait does not spin.
    let ms = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()` pollfd structs whose
    // descriptors stay open (owned by `attempts`) for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    Ok(fds
        .iter()
        .enumerate()
        .filter(|(_, f)| f.revents != 0)
        .map(|(i, _)| i)
        .collect())
}

/// The state of one Happy-Eyeballs race (RFC 8305 §5).
struct Race<'a> {
    addrs: &'a [SocketAddr],
    /// Index of the next address to try.
    next: usize,
    /// When the next attempt may start even if others are still pending.
    next_start: Instant,
    pending: Vec<Attempt>,
    last_error: Option<String>,
}

impl Race<'_> {
    fn has_more(&self) -> bool {
        self.next < self.addrs.len()
    }

    /// Start the next address; `Some` when it connected at once.
    fn start_next(&mut self, now: Instant, attempt_delay: Duration) -> Option<Socket> {
        let addr = self.addrs[self.next];
        self.next += 1;
        self.next_start = now + attempt_delay;
        match start_attempt(addr) {
            Ok(Ok(socket)) => return Some(socket),
            Ok(Err(attempt)) => self.pending.push(attempt),
            Err(e) => self.last_error = Some(format!("{addr}: {e}")),
        }
        None
    }

    /// Settle the attempts `poll` reported; `Some` for the first that connected.
    fn settle(&mut self, ready: Vec<usize>) -> Option<Socket> {
        // Descending, so swap_remove never moves an index still to be visited.
        for i in ready.into_iter().rev() {
            let attempt = self.pending.swap_remove(i);
            match attempt.socket.take_error() {
                Ok(None) => return Some(attempt.socket),
                Ok(Some(e)) | Err(e) => {
                    self.last_error = Some(format!("{}: {e}", attempt.addr));
                    // RFC 8305 §5: a failure starts the next attempt without waiting.
                    self.next_start = Instant::now();
                }
            }
        }
        None
    }
}

/// Connect to the first address that answers. A new attempt starts every `attempt_delay`
/// (or at once when one fails) until all are started; the first success wins, the others are
/// dropped. Timeout past `deadline` (exit 28); every address failing is exit 7.
pub(super) fn connect_any(
    addrs: &[SocketAddr],
    deadline: Instant,
    attempt_delay: Duration,
) -> Result<TcpStream, Error> {
    let mut race = Race {
        addrs,
        next: 0,
        next_start: Instant::now(),
        pending: Vec::new(),
        last_error: None,
    };
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout(super::CONNECT_TIMED_OUT));
        }
        if race.has_more() && (race.pending.is_empty() || now >= race.next_start) {
            if let Some(socket) = race.start_next(now, attempt_delay) {
                return into_stream(socket);
            }
            continue;
        }
        if race.pending.is_empty() {
            let why = race
                .last_error
                .unwrap_or_else(|| "no address to try".into());
            return Err(Error::Connect(why));
        }
        let until = match race.has_more() {
            true => race.next_start.min(deadline),
            false => deadline,
        };
        let ready = poll_attempts(&race.pending, until.saturating_duration_since(now))
            .map_err(|e| Error::Connect(e.to_string()))?;
        if let Some(socket) = race.settle(ready) {
            return into_stream(socket);
        }
    }
}

fn into_stream(socket: Socket) -> Result<TcpStream, Error> {
    let setup = || -> io::Result<TcpStream> {
        socket.set_nonblocking(false)?;
        socket.set_tcp_nodelay(true)?;
        Ok(socket.into())
    };
    setup().map_err(|e| Error::Connect(e.to_string()))
}

/// A connected transport: plain TCP or TLS over TCP. Blocking, with socket timeouts.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP (`http://`).
    Plain(TcpStream),
    /// TLS over TCP (`https://`), boxed: a rustls session is large.
    Tls(Box<ClientTlsStream>),
}

impl Stream {
    /// The TCP socket underneath, for timeouts.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.tcp(),
        }
    }

    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// What the TLS handshake settled, for `-v`; `None` for plain TCP.
    pub fn tls_facts(&self) -> Option<super::trace::TlsFacts> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(super::trace::TlsFacts::of(s.state())),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            // A TCP close without close_notify reads as EOF, as a close_notify does. The body
            // layer treats any EOF before the framing is satisfied as truncation (18), and an
            // until-EOF body is unverified anyway, so both ends look the same from here.
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// The TLS server name: DNS names are sent as SNI, IP literals are not (RFC 6066 §3).
fn server_name(host: &Host<&str>) -> Result<ServerName<'static>, Error> {
    match host {
        Host::Domain(d) => ServerName::try_from(d.to_string())
            .map_err(|e| Error::TlsHandshake(format!("invalid server name {d}: {e}"))),
        Host::Ipv4(ip) => Ok(ServerName::IpAddress(IpAddr::V4(*ip).into())),
        Host::Ipv6(ip) => Ok(ServerName::IpAddress(IpAddr::V6(*ip).into())),
    }
}

/// Run the TLS handshake on `tcp` before `deadline`; certificate problems are exit 60, any
/// other failure 35, the deadline 28.
pub(super) fn handshake(
    tcp: TcpStream,
    host: &Host<&str>,
    config: Arc<ClientConfig>,
    deadline: Instant,
) -> Result<Stream, Error> {
    let conn = UnbufferedClientConnection::new(config, server_name(host)?)
        .map_err(|e| Error::TlsHandshake(e.to_string()))?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout(super::CONNECT_TIMED_OUT));
    }
    // One timeout for the whole handshake: each socket read or write is bounded by what is
    // left of the connect deadline when it starts, checked again before every read below.
    tcp.set_read_timeout(Some(left))
        .and_then(|()| tcp.set_write_timeout(Some(left)))
        .map_err(|e| Error::TlsHandshake(e.to_string()))?;
    let mut tls = ClientTlsStream::new(conn, tcp);
    tls.handshake_until(deadline).map_err(handshake_error)?;
    Ok(Stream::Tls(Box::new(tls)))
}

/// Classify a handshake failure: certificate problems 60, the deadline 28, the rest 35.
fn handshake_error(f: TlsFailure) -> Error {
    match f {
        TlsFailure::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Error::Timeout(super::CONNECT_TIMED_OUT)
        }
        TlsFailure::Io(e) => Error::TlsHandshake(e.to_string()),
        TlsFailure::Tls(rustls::Error::InvalidCertificate(cert)) => {
            Error::CertNotTrusted(describe_certificate_error(&cert))
        }
        TlsFailure::Tls(other) => Error::TlsHandshake(describe_tls_error(&other)),
        TlsFailure::Closed => Error::TlsHandshake("connection closed during the handshake".into()),
    }
}

/// When the connect phase must be over: the connect timeout, cut short by the whole-transfer
/// deadline.
pub(super) fn connect_deadline(connect_timeout: Duration, deadline: Option<Instant>) -> Instant {
    let now = Instant::now();
    let connect = now
        .checked_add(connect_timeout)
        .unwrap_or(now + crate::proto::limits::CONNECT_TIMEOUT);
    match deadline {
        Some(d) => d.min(connect),
        None => connect,
    }
}

/// A connect-phase timeout is --max-time's when that deadline is what ran out.
pub(super) fn which_timeout(e: Error, deadline: Option<Instant>) -> Error {
    match (&e, deadline) {
        (Error::Timeout(_), Some(d)) if Instant::now() >= d => {
            Error::Timeout(super::MAX_TIME_REACHED)
        }
        (Error::Timeout(_), _) => Error::Timeout(super::CONNECT_TIMED_OUT),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn a(s: &str) -> SocketAddr {
        s.parse().expect("test addresses are valid")
    }

    #[test]
    fn interleaving_alternates_families_from_the_first() {
        let got = interleave(vec![
            a("[::1]:1"),
            a("[::2]:1"),
            a("[::3]:1"),
            a("1.1.1.1:1"),
            a("[::1]:1"),
        ]);
        assert_eq!(
            got,
            vec![a("[::1]:1"), a("1.1.1.1:1"), a("[::2]:1"), a("[::3]:1")]
        );
        let got = interleave(vec![a("1.1.1.1:1"), a("2.2.2.2:1"), a("[::1]:1")]);
        assert_eq!(got, vec![a("1.1.1.1:1"), a("[::1]:1"), a("2.2.2.2:1")]);
    }

    #[test]
    fn resolve_overrides_parse_and_win() {
        let o = ResolveOverride::parse("Example.com:443:[::1]").expect("valid");
        assert_eq!(o.addr, a("[::1]:1").ip());
        assert_eq!(o.host, "example.com");
        for bad in ["x", "x:1", "x:70000:1.2.3.4", "x:1:nothere", ":1:1.2.3.4"] {
            assert!(ResolveOverride::parse(bad).is_err(), "{bad}");
        }
        let o = ResolveOverride::parse("nonexistent.invalid:80:127.0.0.1").expect("valid");
        let host = Host::Domain("nonexistent.invalid");
        let got = resolve(&host, 80, std::slice::from_ref(&o), Family::Any).expect("pinned");
        assert_eq!(got, vec![a("127.0.0.1:80")]);
        let err = resolve(&host, 80, &[o], Family::V6).expect_err("family filtered");
        assert_eq!(err.exit_code(), 6);
    }

    #[test]
    fn connect_skips_a_refused_address_and_uses_the_next() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let good = listener.local_addr().expect("addr");
        let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
        let refused = closed.local_addr().expect("addr");
        drop(closed);
        let deadline = Instant::now() + Duration::from_secs(5);
        let stream = connect_any(&[refused, good], deadline, Duration::from_secs(3))
            .expect("second address connects");
        assert_eq!(stream.peer_addr().expect("peer"), good);
    }

    /// A loopback address whose SYNs go unanswered: a listener with a full accept queue
    /// (Linux drops SYNs then), kept alive with the connections that filled it.
    fn unanswering() -> (Socket, Vec<TcpStream>, SocketAddr) {
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        sock.bind(&SockAddr::from(a("127.0.0.1:0"))).expect("bind");
        sock.listen(0).expect("listen");
        let addr = sock.local_addr().expect("addr").as_socket().expect("inet");
        let mut fillers = Vec::new();
        // Fill the queue: stop at the first connect that does not finish quickly.
        for _ in 0..8 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => fillers.push(s),
                Err(_) => break,
            }
        }
        (sock, fillers, addr)
    }

    #[test]
    fn a_silent_address_is_raced_and_the_next_one_wins_after_the_attempt_delay() {
        let (_hold, _fillers, silent) = unanswering();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let good = listener.local_addr().expect("addr");
        let start = Instant::now();
        let deadline = start + Duration::from_secs(5);
        let stream = connect_any(&[silent, good], deadline, Duration::from_millis(100))
            .expect("the second address connects");
        assert_eq!(stream.peer_addr().expect("peer"), good);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(100),
            "started early: {took:?}"
        );
        assert!(
            took < Duration::from_secs(4),
            "waited for the first: {took:?}"
        );
    }

    #[test]
    fn a_silent_address_times_out_as_exit_28() {
        let (_hold, _fillers, silent) = unanswering();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(300);
        let err = connect_any(&[silent], deadline, Duration::from_millis(250))
            .expect_err("nothing answers");
        assert_eq!(err.exit_code(), 28);
        assert!(start.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn all_refused_is_exit_7() {
        let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
        let refused = closed.local_addr().expect("addr");
        drop(closed);
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = connect_any(&[refused, refused], deadline, Duration::from_millis(250))
            .expect_err("refused");
        assert_eq!(err.exit_code(), 7);
    }
}
