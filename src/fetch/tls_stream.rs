//! A blocking TLS client stream over rustls' unbuffered API: TLS records are read from the
//! socket straight into one buffer we own, decrypted in place there, and each record's plaintext
//! is handed to the caller's buffer. It does not resolve, connect or speak HTTP.
//!
//! Why not `rustls::StreamOwned`: its deframer reads at most 4 KiB per call and compacts its
//! buffer after every record, so a large body was copied socket buffer -> deframer ->
//! plaintext queue -> caller, and memmove was 46% of the client's CPU on a 1 GiB download.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use rustls::client::UnbufferedClientConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError};

/// Largest TLS record on the wire: 2^14 plaintext + 2048 expansion + 5 header (RFC 8446 §5.2
/// allows less, RFC 5246 §6.2.3 this much). rustls refuses anything longer.
const MAX_RECORD: usize = 16 * 1024 + 2048 + 5;

/// Socket read-ahead: several records per syscall. Fixed size: the buffer never grows.
const READ_AHEAD: usize = 128 * 1024;

/// Largest plaintext of one record (RFC 8446 §5.1): `read` stops filling the caller's buffer
/// when less than this is left, so a record never has to be kept back.
const MAX_PLAINTEXT: usize = 16 * 1024;

/// Plaintext written per encrypted record.
const WRITE_CHUNK: usize = 16 * 1024;

/// What one turn of the rustls state machine came to.
enum Turn {
    /// Handshake or post-handshake records were processed or sent; turn again.
    Progress,
    /// `n` bytes of application data were copied into the caller's buffer.
    Data(usize),
    /// `n` bytes of the caller's data were encrypted and sent.
    Sent(usize),
    /// Nothing more can happen without more bytes from the peer.
    NeedInput { handshaking: bool },
    /// The peer sent close_notify: the data before it is complete.
    PeerClosed,
}

/// A TLS client connection on a blocking TCP socket (timeouts set on the socket by the caller).
pub struct TlsStream {
    conn: UnbufferedClientConnection,
    tcp: TcpStream,
    /// Received TLS bytes not yet processed: `incoming[start..end]`.
    incoming: Box<[u8]>,
    start: usize,
    end: usize,
    /// Plaintext of a record the caller's buffer had no room for; `kept[kept_at..]` is unread.
    kept: Vec<u8>,
    kept_at: usize,
    /// Encoded records waiting to be sent.
    outgoing: Vec<u8>,
    /// close_notify received: every later read is EOF.
    peer_closed: bool,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.tcp)
            .field("buffered", &(self.end - self.start))
            .finish_non_exhaustive()
    }
}

/// A failure while driving the connection: from the socket, or from TLS itself.
#[derive(Debug)]
pub enum TlsFailure {
    Io(io::Error),
    Tls(rustls::Error),
    /// The peer closed the TCP connection before the handshake finished.
    Closed,
}

impl From<TlsFailure> for io::Error {
    fn from(f: TlsFailure) -> io::Error {
        match f {
            TlsFailure::Io(e) => e,
            TlsFailure::Tls(e) => io::Error::new(io::ErrorKind::InvalidData, e),
            TlsFailure::Closed => io::ErrorKind::UnexpectedEof.into(),
        }
    }
}

impl TlsStream {
    pub fn new(conn: UnbufferedClientConnection, tcp: TcpStream) -> Self {
        Self {
            conn,
            tcp,
            incoming: vec![0; READ_AHEAD].into_boxed_slice(),
            start: 0,
            end: 0,
            kept: Vec::new(),
            kept_at: 0,
            outgoing: Vec::new(),
            peer_closed: false,
        }
    }

    /// The TCP socket underneath, for timeouts.
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Drive the handshake to completion before `deadline` (a socket read past it fails with
    /// `TimedOut`; writes are bounded by the socket's write timeout, set by the caller).
    pub fn handshake_until(&mut self, deadline: Instant) -> Result<(), TlsFailure> {
        loop {
            match self.turn(&mut [], None) {
                Ok(Turn::NeedInput { handshaking: false }) => return Ok(()),
                Ok(Turn::NeedInput { handshaking: true }) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(TlsFailure::Io(io::ErrorKind::TimedOut.into()));
                    }
                    self.tcp
                        .set_read_timeout(Some(left))
                        .map_err(TlsFailure::Io)?;
                    if self.fill()? == 0 {
                        return Err(TlsFailure::Closed);
                    }
                }
                Ok(Turn::PeerClosed) => return Err(TlsFailure::Closed),
                Ok(_) => {}
                Err(e) => {
                    self.send_alert();
                    return Err(e);
                }
            }
        }
    }

    /// Best effort: send the alert rustls queued for a fatal error, so the server sees why.
    fn send_alert(&mut self) {
        let status = self.conn.process_tls_records(&mut []);
        if let Ok(ConnectionState::EncodeTlsData(mut enc)) = status.state {
            if encode(&mut enc, &mut self.outgoing).is_ok() {
                let _ = self.tcp.write_all(&self.outgoing);
            }
        }
    }

    /// Read more TLS bytes from the socket; 0 is EOF. Room for a whole record is made first by
    /// moving the (at most one partial record) unprocessed tail to the front.
    fn fill(&mut self) -> Result<usize, TlsFailure> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.incoming.len() - self.end < MAX_RECORD {
            self.incoming.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
        }
        if self.end == self.incoming.len() {
            // Unreachable while rustls refuses records over MAX_RECORD; never spin on it.
            return Err(TlsFailure::Tls(rustls::Error::General(
                "TLS record larger than the read buffer".into(),
            )));
        }
        let n = loop {
            match self.tcp.read(&mut self.incoming[self.end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(TlsFailure::Io)?,
            }
        };
        self.end += n;
        Ok(n)
    }

    /// One call of `process_tls_records` and the handling of the state it returns. Application
    /// data goes to `out` (the rest of a record that does not fit to `kept`); `data`, when
    /// given, is encrypted and sent once the connection may send.
    fn turn(&mut self, out: &mut [u8], data: Option<&[u8]>) -> Result<Turn, TlsFailure> {
        let status = self
            .conn
            .process_tls_records(&mut self.incoming[self.start..self.end]);
        let mut discard = status.discard;
        let turn = match status.state.map_err(TlsFailure::Tls)? {
            ConnectionState::ReadTraffic(mut traffic) => match traffic.next_record() {
                Some(record) => {
                    let record = record.map_err(TlsFailure::Tls)?;
                    discard += record.discard;
                    let n = record.payload.len().min(out.len());
                    out[..n].copy_from_slice(&record.payload[..n]);
                    self.kept.extend_from_slice(&record.payload[n..]);
                    Turn::Data(n)
                }
                None => Turn::Progress,
            },
            ConnectionState::EncodeTlsData(mut enc) => {
                encode(&mut enc, &mut self.outgoing)?;
                Turn::Progress
            }
            ConnectionState::TransmitTlsData(sent) => {
                self.tcp.write_all(&self.outgoing).map_err(TlsFailure::Io)?;
                self.outgoing.clear();
                sent.done();
                Turn::Progress
            }
            ConnectionState::BlockedHandshake => Turn::NeedInput { handshaking: true },
            ConnectionState::WriteTraffic(mut traffic) => match data {
                Some(data) => {
                    let data = &data[..data.len().min(WRITE_CHUNK)];
                    encrypt(&mut traffic, data, &mut self.outgoing)?;
                    self.tcp.write_all(&self.outgoing).map_err(TlsFailure::Io)?;
                    self.outgoing.clear();
                    Turn::Sent(data.len())
                }
                None => Turn::NeedInput { handshaking: false },
            },
            ConnectionState::PeerClosed | ConnectionState::Closed => Turn::PeerClosed,
            // Early data is a server-side state; anything new in rustls is refused, not guessed.
            _ => {
                return Err(TlsFailure::Tls(rustls::Error::General(
                    "unexpected TLS connection state".into(),
                )))
            }
        };
        self.start += discard;
        Ok(turn)
    }

    /// Copy kept-back plaintext into `out`.
    fn take_kept(&mut self, out: &mut [u8]) -> usize {
        let n = (self.kept.len() - self.kept_at).min(out.len());
        out[..n].copy_from_slice(&self.kept[self.kept_at..self.kept_at + n]);
        self.kept_at += n;
        if self.kept_at == self.kept.len() {
            self.kept.clear();
            self.kept_at = 0;
        }
        n
    }

    /// Fill `out` with as many records as are already buffered; block on the socket only when
    /// nothing has been produced yet. Ok(0) is close_notify or a TCP close (see `Stream::read`).
    fn read_records(&mut self, out: &mut [u8]) -> Result<usize, TlsFailure> {
        let mut got = 0;
        while !self.peer_closed && got < out.len() && (got == 0 || out.len() - got >= MAX_PLAINTEXT)
        {
            match self.turn(&mut out[got..], None)? {
                Turn::Data(n) => got += n,
                Turn::PeerClosed => self.peer_closed = true,
                Turn::NeedInput { .. } if got > 0 => break,
                Turn::NeedInput { .. } => {
                    if self.fill()? == 0 {
                        break;
                    }
                }
                Turn::Progress | Turn::Sent(_) => {}
            }
        }
        Ok(got)
    }
}

/// Copy a queued handshake record into `outgoing`, growing it to the size rustls asks for
/// (one handshake flight: bounded by rustls).
fn encode(
    enc: &mut rustls::unbuffered::EncodeTlsData<'_, rustls::client::ClientConnectionData>,
    outgoing: &mut Vec<u8>,
) -> Result<(), TlsFailure> {
    let at = outgoing.len();
    loop {
        match enc.encode(&mut outgoing[at..]) {
            Ok(n) => {
                outgoing.truncate(at + n);
                return Ok(());
            }
            Err(EncodeError::InsufficientSize(InsufficientSizeError { required_size })) => {
                outgoing.resize(at + required_size, 0);
            }
            Err(e) => return Err(TlsFailure::Tls(rustls::Error::General(e.to_string()))),
        }
    }
}

/// Encrypt `data` (at most WRITE_CHUNK) into `outgoing` after what is already there.
fn encrypt(
    traffic: &mut rustls::unbuffered::WriteTraffic<'_, rustls::client::ClientConnectionData>,
    data: &[u8],
    outgoing: &mut Vec<u8>,
) -> Result<(), TlsFailure> {
    let at = outgoing.len();
    loop {
        match traffic.encrypt(data, &mut outgoing[at..]) {
            Ok(n) => {
                outgoing.truncate(at + n);
                return Ok(());
            }
            Err(EncryptError::InsufficientSize(InsufficientSizeError { required_size })) => {
                outgoing.resize(at + required_size, 0);
            }
            Err(e) => return Err(TlsFailure::Tls(rustls::Error::General(e.to_string()))),
        }
    }
}

impl Read for TlsStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.kept_at < self.kept.len() {
            return Ok(self.take_kept(out));
        }
        if out.is_empty() {
            return Ok(0);
        }
        Ok(self.read_records(out)?)
    }
}

impl Write for TlsStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        loop {
            match self.turn(&mut [], Some(data))? {
                Turn::Sent(n) => return Ok(n),
                Turn::PeerClosed => self.peer_closed = true,
                Turn::NeedInput { .. } => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "TLS connection cannot send",
                    ))
                }
                // Application data arriving before the request is sent was kept (`kept`).
                Turn::Data(_) | Turn::Progress => {}
            }
        }
    }

    /// Records are sent as they are made: nothing is held back.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
