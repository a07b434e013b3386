//! What an engine is told: the configuration `serve::run` (CLI) or `fixture::Server` (library)
//! builds and every event loop reads. Plain data; nothing here runs.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::faults::FaultPlan;
use super::record::RequestLog;
use super::respond::Site;
use super::LogFormat;
use crate::proto::limits;

/// Everything an engine needs; built by `serve::run` (CLI) or `fixture::Server` (library).
#[derive(Clone)]
pub struct EngineConfig {
    /// What is served and how.
    pub site: Arc<Site>,
    /// Serve HTTPS with this configuration (ALPN http/1.1 already set).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Event-loop threads (>= 1).
    pub threads: usize,
    /// Open connections allowed at once (`--max-connections`).
    pub max_connections: usize,
    /// Open connections one client address may hold (`--max-connections-per-ip`).
    pub per_ip: PerIpCap,
    /// Time a client has to send a whole head (`--header-timeout`).
    pub header_timeout: Duration,
    /// How long an idle kept-alive connection stays (`--idle-timeout`).
    pub idle_timeout: Duration,
    /// Access log format (`--log`).
    pub log: LogFormat,
    /// Fault injection, when enabled (`--faults` or library rules).
    pub faults: Option<Arc<FaultPlan>>,
    /// `--echo PATH`: requests under this path prefix get their own bytes back.
    pub echo: Option<String>,
    /// Record every request here (fixture library).
    pub record: Option<RequestLog>,
}

/// The per-client-address connection cap (issue 13): one address cannot hold the whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerIpCap {
    /// Most open connections per address; 0 = no cap.
    pub max: usize,
    /// Whether loopback addresses are capped too (only when the flag was given explicitly, so
    /// tests and benchmarks, which all come from 127.0.0.1, are unaffected by the default).
    pub loopback: bool,
}

impl Default for PerIpCap {
    fn default() -> Self {
        PerIpCap {
            max: limits::MAX_CONNECTIONS_PER_IP,
            loopback: false,
        }
    }
}

impl PerIpCap {
    /// Whether connections from `ip` are counted against the cap.
    pub(crate) fn applies_to(&self, ip: IpAddr) -> bool {
        self.max > 0 && (self.loopback || !ip.to_canonical().is_loopback())
    }
}
