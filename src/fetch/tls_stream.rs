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

use super::tls_errors::describe_tls_error;
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
pub struct ClientTlsStream {
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

impl std::fmt::Debug for ClientTlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTlsStream")
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
            TlsFailure::Tls(e) => {
                io::Error::new(io::ErrorKind::InvalidData, describe_tls_error(&e))
            }
            TlsFailure::Closed => io::ErrorKind::UnexpectedEof.into(),
        }
    }
}

impl ClientTlsStream {
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

    /// What the handshake settled (version, cipher suite, ALPN, the server's certificates).
    pub fn state(&self) -> &rustls::CommonState {
        &self.conn
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
    append_grown(outgoing, |buf| {
        enc.encode(buf).map_err(|e| match e {
            EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Grow::To(required_size)
            }
            e => Grow::Fail(e.to_string()),
        })
    })
}

/// Encrypt `data` (at most WRITE_CHUNK) into `outgoing` after what is already there.
fn encrypt(
    traffic: &mut rustls::unbuffered::WriteTraffic<'_, rustls::client::ClientConnectionData>,
    data: &[u8],
    outgoing: &mut Vec<u8>,
) -> Result<(), TlsFailure> {
    append_grown(outgoing, |buf| {
        traffic.encrypt(data, buf).map_err(|e| match e {
            EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => {
                Grow::To(required_size)
            }
            e => Grow::Fail(e.to_string()),
        })
    })
}

/// Why a write into the tail of `outgoing` did not fit.
enum Grow {
    /// rustls needs this many bytes of room.
    To(usize),
    /// Any other failure.
    Fail(String),
}

/// Append what `write` puts into the tail of `outgoing`, resizing the tail to what rustls asks
/// for until it fits (rustls' unbuffered API reports the size it needs instead of growing).
fn append_grown(
    outgoing: &mut Vec<u8>,
    mut write: impl FnMut(&mut [u8]) -> Result<usize, Grow>,
) -> Result<(), TlsFailure> {
    let at = outgoing.len();
    loop {
        match write(&mut outgoing[at..]) {
            Ok(n) => {
                outgoing.truncate(at + n);
                return Ok(());
            }
            Err(Grow::To(room)) => outgoing.resize(at + room, 0),
            Err(Grow::Fail(why)) => return Err(TlsFailure::Tls(rustls::Error::General(why))),
        }
    }
}

impl Read for ClientTlsStream {
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

impl Write for ClientTlsStream {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    /// How the test server ends the connection after its payload.
    #[derive(Clone, Copy)]
    enum End {
        CloseNotify,
        TcpClose,
    }

    /// A one-shot rustls server on 127.0.0.1:0 that sends `body` (after reading the client's
    /// `ping`) and then ends as told; returns a connected, handshaken client.
    fn pair(body: Vec<u8>, end: End) -> (ClientTlsStream, thread::JoinHandle<()>) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(crate::tls::provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .expect("server config");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ck.cert.der().clone()).expect("root");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let serve = thread::spawn(move || {
            let (tcp, _) = listener.accept().expect("accept");
            let conn = rustls::ServerConnection::new(Arc::new(server)).expect("conn");
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut ping = [0; 4];
            tls.read_exact(&mut ping).expect("ping");
            assert_eq!(&ping, b"ping");
            tls.write_all(&body).expect("body");
            if let End::CloseNotify = end {
                tls.conn.send_close_notify();
            }
            tls.flush().expect("flush");
            while tls.conn.wants_write() {
                tls.conn.write_tls(&mut tls.sock).expect("write_tls");
            }
        });
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let name = ServerName::try_from("localhost").expect("name");
        let conn = UnbufferedClientConnection::new(crate::tls::client_config(roots), name)
            .expect("client");
        let mut client = ClientTlsStream::new(conn, tcp);
        let deadline = Instant::now() + Duration::from_secs(10);
        client.handshake_until(deadline).expect("handshake");
        client.write_all(b"ping").expect("ping");
        (client, serve)
    }

    fn body() -> Vec<u8> {
        (0..300_000u32).map(|i| (i % 251) as u8).collect()
    }

    /// Read to EOF in `step`-byte reads.
    fn read_all(client: &mut ClientTlsStream, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = vec![0; step];
        loop {
            match client.read(&mut buf).expect("read") {
                0 => return got,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn large_and_tiny_reads_see_every_byte_then_eof() {
        for (step, end) in [(128 * 1024, End::CloseNotify), (7, End::TcpClose)] {
            let (mut client, serve) = pair(body(), end);
            assert_eq!(read_all(&mut client, step), body(), "step {step}");
            assert_eq!(client.read(&mut [0; 16]).expect("after eof"), 0);
            serve.join().expect("server");
        }
    }

    #[test]
    fn garbage_after_the_handshake_is_an_error_not_a_panic() {
        let (mut client, serve) = pair(Vec::new(), End::CloseNotify);
        serve.join().expect("server");
        // Pretend the socket delivered a bogus record: content type 0x17, absurd length.
        client.incoming[..5].copy_from_slice(&[0x17, 0x03, 0x03, 0xff, 0xff]);
        (client.start, client.end) = (0, 5);
        let err = client.read(&mut [0; 64]).expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
