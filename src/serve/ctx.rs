//! Per-loop context: what every connection of one event loop shares (configuration, the clock
//! read once per wake-up, the nearest deadline, pooled read buffers, the small-file cache, the
//! access log). Owned by `event_loop`, lent to `conn` for each event; it does no I/O itself.

use std::time::{Duration, Instant};

use super::cache::FileCache;
use super::config::EngineConfig;
use super::log::LogBuf;
use crate::proto::limits;

/// Bytes held for unparsed input: one maximal head plus room for pipelined requests behind it.
pub(super) const INBUF_CAP: usize = limits::MAX_REQUEST_HEAD + limits::MAX_REQUEST_LINE + 16 * 1024;

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
    pub(super) cache: FileCache,
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

    /// A read buffer for a connection that is mid-request.
    pub(super) fn take_buf(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }

    /// Take back a connection's read buffer once it holds nothing.
    pub(super) fn give_buf(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        // Keep a few warm buffers; a burst of pipelining must not pin memory forever.
        if buf.capacity() > 0 && buf.capacity() <= INBUF_CAP && self.pool.len() < 64 {
            self.pool.push(buf);
        }
    }
}
