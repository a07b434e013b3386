//! The bytes between socket and parser: plain TCP or a rustls ServerConnection pumped by hand.
//! It moves bytes and reports progress (partial writes, WouldBlock, EOF); it never parses HTTP
//! nor decides what to send.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpStream;

use crate::proto::limits::TLS_BUFFER_LIMIT;

/// Plaintext produced per TLS record batch when a file body is encrypted: one maximal record.
const TLS_FILE_CHUNK: usize = 16 * 1024;
/// Free room guaranteed before a plain read, so one `recv` can take a whole typical request.
const READ_ROOM: usize = 4096;
/// How much a read buffer grows at a time.
const READ_GROW: usize = 16 * 1024;

/// What a read pass saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// The socket has nothing more for now (edge-triggered readiness consumed).
    Drained,
    /// Stopped because the buffer reached its cap; more may be waiting.
    Full,
    /// The peer closed its sending side (or sent close_notify).
    Eof,
}

/// A connection's byte stream.
pub enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// Boxed: a rustls connection is large, and most connections are plain.
    Tls(Box<ServerTlsStream>),
}

/// A TCP stream with a rustls server session pumped over it.
pub struct ServerTlsStream {
    sock: TcpStream,
    tls: rustls::ServerConnection,
    /// The first byte was looked at (see `check_first_byte`).
    checked: bool,
    /// The client spoke plain HTTP: rustls is bypassed so a plain-text 400 can be sent.
    plain: bool,
}

impl Transport {
    /// Wrap an accepted socket; with a TLS configuration, start a server session on it.
    pub fn new(sock: TcpStream, tls: Option<&Arc<rustls::ServerConfig>>) -> io::Result<Self> {
        match tls {
            None => Ok(Transport::Plain(sock)),
            Some(config) => {
                let mut tls = rustls::ServerConnection::new(Arc::clone(config))
                    .map_err(|e| io::Error::other(e.to_string()))?;
                // Bound the plaintext rustls queues for us (issue 4: at most 64 KiB).
                tls.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
                Ok(Transport::Tls(Box::new(ServerTlsStream {
                    sock,
                    tls,
                    checked: false,
                    plain: false,
                })))
            }
        }
    }

    /// The TCP socket underneath.
    pub fn socket(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.sock,
        }
    }

    /// The TCP socket underneath, for (de)registration.
    pub fn socket_mut(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &mut t.sock,
        }
    }

    /// A TLS port received plain HTTP: from now on bytes move unencrypted, so the connection
    /// can answer a plain-text 400 (as nginx does) instead of a TLS alert nobody can read.
    pub fn is_plain_on_tls(&self) -> bool {
        matches!(self, Transport::Tls(t) if t.plain)
    }

    /// What the handshake agreed on (SNI, ALPN, version), for the fixture's request log;
    /// `None` for plain connections.
    pub fn tls_details(&self) -> Option<super::record::TlsDetails> {
        let Transport::Tls(t) = self else {
            return None;
        };
        let version = match t.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        };
        Some(super::record::TlsDetails {
            sni: t.tls.server_name().map(str::to_string),
            alpn: t
                .tls
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            version,
        })
    }

    /// Ciphertext is queued and waits for the socket to become writable.
    pub fn wants_write(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(t) => !t.plain && t.tls.wants_write(),
        }
    }

    /// Append received application bytes to `buf` until the socket would block, the peer
    /// closes, or `buf` holds `cap` bytes.
    pub fn read(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<ReadStatus> {
        match self {
            Transport::Plain(s) => read_plain(s, buf, cap),
            Transport::Tls(t) if t.plain => read_plain(&t.sock, buf, cap),
            Transport::Tls(t) => t.read(buf, cap),
        }
    }

    /// Write some of `data`; `Ok(n)` with `n > 0`, or `Err(WouldBlock)`. `more` says a body
    /// follows at once (plain: MSG_MORE, so head and first body bytes share a segment).
    pub fn write(&mut self, data: &[u8], more: bool) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => send_plain(s, data, more),
            Transport::Tls(t) if t.plain => send_plain(&t.sock, data, more),
            Transport::Tls(t) => t.write(data),
        }
    }

    /// Send up to `len` bytes of `file` from `offset`: sendfile(2) on plain sockets, read and
    /// encrypted in record-sized chunks over TLS (never the whole file in memory).
    pub fn write_file(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        scratch: &mut Vec<u8>,
    ) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => sendfile(s, file, offset, len),
            Transport::Tls(t) if t.plain => sendfile(&t.sock, file, offset, len),
            Transport::Tls(t) => t.write_file(file, offset, len, scratch),
        }
    }

    /// Push queued ciphertext. `Ok(true)`: nothing left queued.
    pub fn flush(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain(_) => Ok(true),
            Transport::Tls(t) if t.plain => Ok(true),
            Transport::Tls(t) => t.flush(),
        }
    }

    /// Begin an orderly close: TLS close_notify (RFC 8446 §6.1), then the TCP write side is
    /// shut once everything queued has been flushed (see `finish_close`).
    pub fn start_close(&mut self) {
        if let Transport::Tls(t) = self {
            if !t.plain {
                t.tls.send_close_notify();
            }
        }
    }

    /// Shut the TCP write side (FIN) after the last byte.
    pub fn shutdown_write(&self) {
        let _ = self.socket().shutdown(std::net::Shutdown::Write);
    }

    /// Make the coming close send RST instead of FIN (fault `reset`): SO_LINGER with 0 s.
    pub fn set_reset_on_close(&self) {
        let _ = socket2::SockRef::from(self.socket()).set_linger(Some(Duration::ZERO));
    }
}

/// Read with recv(2) straight into the vector's spare capacity (no zero-fill per read).
fn read_plain(s: &TcpStream, buf: &mut Vec<u8>, cap: usize) -> io::Result<ReadStatus> {
    loop {
        if buf.len() >= cap {
            return Ok(ReadStatus::Full);
        }
        if buf.capacity() - buf.len() < READ_ROOM {
            buf.reserve(READ_GROW.min(cap - buf.len()).max(READ_ROOM));
        }
        let room = (buf.capacity() - buf.len()).min(cap - buf.len());
        let spare = buf.spare_capacity_mut();
        // SAFETY: `spare` points to at least `room` writable bytes owned by `buf`; recv writes at
        // most `room` bytes there and we only extend the length by what it reports written.
        let n = unsafe { libc::recv(s.as_raw_fd(), spare.as_mut_ptr().cast(), room, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(ReadStatus::Drained),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
        if n == 0 {
            return Ok(ReadStatus::Eof);
        }
        // SAFETY: recv initialised exactly `n` (<= room) bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n as usize) };
        if (n as usize) < room {
            // A short read emptied the socket's receive queue. With edge-triggered epoll any
            // later arrival (data or FIN) raises a new event, so skip the recv that would only
            // say EAGAIN (nginx does the same): one syscall less per request.
            return Ok(ReadStatus::Drained);
        }
    }
}

fn send_plain(s: &TcpStream, data: &[u8], more: bool) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    loop {
        // SAFETY: `data` is a valid readable slice for its whole length.
        let n = unsafe { libc::send(s.as_raw_fd(), data.as_ptr().cast(), data.len(), flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn sendfile(s: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<usize> {
    let mut off = offset as libc::off_t;
    // Linux sends at most 0x7ffff000 bytes per call anyway.
    let count = len.min(0x7fff_f000) as usize;
    loop {
        // SAFETY: both descriptors are open for the duration of the call; `off` is a valid
        // pointer to an off_t the kernel updates.
        let n = unsafe { libc::sendfile(s.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
        if n > 0 {
            return Ok(n as usize);
        }
        if n == 0 {
            // The file is shorter than announced (it shrank after its metadata was read).
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl ServerTlsStream {
    fn read(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<ReadStatus> {
        if !self.checked {
            if let Some(status) = self.check_first_byte()? {
                return Ok(status);
            }
            if self.plain {
                return read_plain(&self.sock, buf, cap);
            }
        }
        // Plaintext rustls already decrypted comes first.
        if let Some(status) = self.drain_plaintext(buf, cap)? {
            return Ok(status);
        }
        let status = loop {
            match self.tls.read_tls(&mut self.sock) {
                Ok(0) => {
                    // TCP EOF: whatever rustls holds is all there will be.
                    self.process()?;
                    break self.drain_plaintext(buf, cap)?.unwrap_or(ReadStatus::Eof);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break ReadStatus::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.process()?;
            if let Some(status) = self.drain_plaintext(buf, cap)? {
                break status;
            }
        };
        // Handshake messages and alerts produced above go out now, as far as the socket takes.
        self.flush_ignoring_block()?;
        Ok(status)
    }

    /// Look at the first byte before rustls sees it (MSG_PEEK leaves it queued): every TLS
    /// connection opens with a handshake record, content type 22 (RFC 8446 §5.1); a letter is
    /// an HTTP method, i.e. plain HTTP sent to the TLS port. `Some` when there is nothing yet.
    fn check_first_byte(&mut self) -> io::Result<Option<ReadStatus>> {
        let mut byte = 0u8;
        loop {
            // SAFETY: `byte` is one writable byte we own; recv writes at most one byte there.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    (&mut byte as *mut u8).cast(),
                    1,
                    libc::MSG_PEEK,
                )
            };
            if n > 0 {
                break;
            }
            if n == 0 {
                return Ok(Some(ReadStatus::Eof));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return Ok(Some(ReadStatus::Drained)),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            }
        }
        self.checked = true;
        self.plain = byte.is_ascii_alphabetic();
        Ok(None)
    }

    /// Decrypt what was read; on a protocol error send the alert rustls queued, then fail.
    fn process(&mut self) -> io::Result<()> {
        if let Err(e) = self.tls.process_new_packets() {
            let _ = self.tls.write_tls(&mut self.sock);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(())
    }

    /// Move plaintext out of rustls. `None`: rustls has no more for now.
    fn drain_plaintext(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<Option<ReadStatus>> {
        let mut chunk = [0u8; 4096];
        loop {
            if buf.len() >= cap {
                return Ok(Some(ReadStatus::Full));
            }
            let room = (cap - buf.len()).min(chunk.len());
            match self.tls.reader().read(&mut chunk[..room]) {
                Ok(0) => return Ok(Some(ReadStatus::Eof)),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                // TCP closed without close_notify: treat as the end of the stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(Some(ReadStatus::Eof))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Accept plaintext only once earlier ciphertext has left, so rustls never holds more
    /// than one write's worth (bounded by TLS_BUFFER_LIMIT).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.flush()? || self.tls.is_handshaking() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.tls.writer().write(data)?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.flush_ignoring_block()?;
        Ok(n)
    }

    fn write_file(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        scratch: &mut Vec<u8>,
    ) -> io::Result<usize> {
        if !self.flush()? || self.tls.is_handshaking() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let want = len.min((TLS_FILE_CHUNK * 4).min(TLS_BUFFER_LIMIT) as u64) as usize;
        scratch.resize(want, 0);
        let got = file.read_at(&mut scratch[..want], offset)?;
        if got == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        let n = self.tls.writer().write(&scratch[..got])?;
        self.flush_ignoring_block()?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<bool> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn flush_ignoring_block(&mut self) -> io::Result<()> {
        self.flush().map(|_| ())
    }
}
