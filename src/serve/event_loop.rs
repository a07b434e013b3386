//! mio Poll per thread: accept until WouldBlock, drive connections, timers, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::faults::FaultPlan;
use super::record::RequestLog;
use super::respond::Site;
use super::LogFormat;
use crate::error::Error;

/// Everything an engine needs; built by `serve::run` (CLI) or `fixture::Server` (library).
#[derive(Clone)]
pub struct EngineConfig {
    pub site: Arc<Site>,
    /// Serve HTTPS with this configuration (ALPN http/1.1 already set).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Event-loop threads (>= 1).
    pub threads: usize,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub log: LogFormat,
    /// Fault injection, when enabled (`--faults` or library rules).
    pub faults: Option<Arc<FaultPlan>>,
    /// `--echo PATH`: requests under this path prefix get their own bytes back.
    pub echo: Option<String>,
    /// Record every request here (fixture library).
    pub record: Option<RequestLog>,
}

/// Running event loops. Dropping without `shutdown` leaves the threads running.
pub struct Engine {
    _todo: (),
}

impl Engine {
    /// Bind every address (port 0 = any free port, the same port for all loop threads) and start
    /// the loops. Bind failures are `Error::Bind`.
    pub fn bind(config: EngineConfig, addrs: &[SocketAddr]) -> Result<Engine, Error> {
        let _ = (config, addrs);
        todo!("issue 3: engine helper")
    }

    /// The addresses actually listened on (real ports), one per requested address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        todo!("issue 3: engine helper")
    }

    /// Stop accepting and let responses in flight finish (up to `SHUTDOWN_GRACE`). Idempotent,
    /// returns at once; `wait` joins.
    pub fn shutdown(&self) {
        todo!("issue 3: engine helper")
    }

    /// Join the loop threads (after `shutdown`, or when they end on their own).
    pub fn wait(self) {
        todo!("issue 3: engine helper")
    }
}
