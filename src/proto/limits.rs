//! Every bound rawhttp puts on its peers, in one place, each with the reason for its value.

use std::time::Duration;

// ---- client (fetch) ----

/// Response head cap: curl allows 100 KiB per header line; 64 KiB for the whole head is far above
/// any real server's head and keeps a hostile one from growing our buffer (exit 56 past it).
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Response header field cap (exit 56 past it).
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// Interim (1xx) responses skipped before we give up on a server that never answers finally.
pub const MAX_INTERIM_RESPONSES: usize = 16;
/// Longest chunk-size line (hex digits plus extensions): extensions are legal (RFC 9112 §7.1.1)
/// but nothing real sends kilobytes of them.
pub const MAX_CHUNK_LINE: usize = 4096;
/// Trailer section cap (RFC 9112 §7.1.2), counted like a head.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;
/// Default whole connect phase, TLS handshake included (README: `--connect-timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default idle read timeout (README: `--read-timeout`).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Happy Eyeballs v2 "Connection Attempt Delay" (RFC 8305 §5 recommends 250 ms).
pub const CONNECT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);
/// Redirects followed with -L unless --max-redirs says otherwise (curl's default is 50; ours 20).
pub const MAX_REDIRECTS: u32 = 20;
/// Idle kept-alive connections a fetch pool holds in all (batches over many origins): each is
/// a socket and, over TLS, a session; more idle ones than this would rarely be reused.
pub const POOL_MAX_IDLE: usize = 64;
/// An idle pooled connection older than this is closed instead of reused: servers close idle
/// keep-alive connections after 5 s (Apache) to 75 s (nginx), and a stale one costs a retry.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A redirect's own body is read and discarded up to this size so its connection can carry the
/// next hop (RFC 9112 §9.3); a larger one is not worth reading: the connection is closed.
pub const MAX_DRAINED_REDIRECT_BODY: u64 = 64 * 1024;

// ---- server (serve) ----

/// Request line cap: above it, 414 (README; RFC 9112 §3 recommends supporting at least 8000).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Request header section cap: above it, 431 (README; RFC 6585 §5).
pub const MAX_REQUEST_HEAD: usize = 32 * 1024;
/// Request header field cap: above it, 431.
pub const MAX_REQUEST_HEADERS: usize = 100;
/// Request body bytes we read and discard to keep a connection alive; a bigger body closes it.
pub const MAX_DRAINED_BODY: u64 = 64 * 1024;
/// Ranges honoured in one request; more parts than this answer 200 with the whole file, as
/// nginx does past `max_ranges`, so many-tiny-ranges requests cannot amplify work.
pub const MAX_RANGES: usize = 16;
/// Default whole-head deadline, from accept (or end of the previous response) to the blank line;
/// trickling bytes does not extend it (unlike darkhttpd's per-byte timer).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default idle keep-alive timeout between requests.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A response that makes no write progress for this long is abandoned.
pub const SEND_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on open connections; accepting pauses while full.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Default cap on open connections per client address (`--max-connections-per-ip`), so one
/// address cannot hold the whole table; loopback is exempt unless the flag is given (tests and
/// benchmarks connect from 127.0.0.1). nginx has no default; 256 is far above what one browser
/// opens (6 per origin) and what a NAT of ordinary users needs from a file server.
pub const MAX_CONNECTIONS_PER_IP: usize = 256;
/// Descriptors kept aside from `--max-connections` when checking RLIMIT_NOFILE at start:
/// listeners, epoll and waker descriptors, inotify, stdio, and files being sent.
pub const FD_RESERVE: u64 = 64;
/// Access log bytes a loop holds while stderr does not take them (a pipe nobody reads);
/// past it lines are dropped and counted, never waited for (a log must not stall serving).
pub const LOG_BACKLOG: usize = 256 * 1024;
/// How often a loop with a log backlog wakes to retry stderr.
pub const LOG_RETRY: Duration = Duration::from_millis(50);
/// At exit, how long the log backlog may wait for a slow stderr before it is given up.
pub const LOG_EXIT_WAIT: Duration = Duration::from_secs(1);
/// How long a stop waits for responses in flight (README: 5 s).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Plaintext that rustls may buffer per connection before we stop producing (issue 4).
pub const TLS_BUFFER_LIMIT: usize = 64 * 1024;
/// After the last byte of a closing connection, unread input is discarded for at most this long
/// before the socket closes, so the close does not become an RST that destroys the response.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// Linger after a 408 for a head that did not arrive in time: the client is slow or hostile, so
/// its unread bytes get a short grace only (the 408 is small and already in its buffer).
pub const TIMEOUT_LINGER: Duration = Duration::from_millis(500);
/// Largest PEM certificate or key file `serve` reads: real chains are a few KiB; the cap keeps a
/// mistaken `--tls-cert /dev/zero` or a huge log file from being read whole.
pub const MAX_PEM_FILE: u64 = 1024 * 1024;
/// TLS 1.2 session-id cache entries (stateful resumption for clients without ticket support);
/// about 1 KiB each, and clients that support tickets do not use it.
pub const TLS_SESSION_CACHE: usize = 4096;

// ---- directory listings (issue 13) ----

/// Entries a listing reads before answering with one in-memory, Content-Length body; a bigger
/// directory streams chunked as the socket drains.
pub const LISTING_INLINE_ENTRIES: usize = 256;
/// Entries a listing holds to sort (about 100 bytes each, so about 1 MiB per connection at
/// most). A bigger directory's page shows this many, sorted, and says so; its JSON listing
/// streams every entry, the rest in directory order.
pub const LISTING_SORT_CAP: usize = 10_000;
