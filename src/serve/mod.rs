//! The responder: `rawhttp serve` and the fixture library. Event loops in `event_loop`/`conn`,
//! decisions in `files`/`reply` (pure), filesystem access in `respond`.

pub mod conn;
pub mod event_loop;
pub mod faults;
pub mod files;
pub mod fixture;
pub mod listing;
pub mod record;
pub mod reply;
pub mod respond;
pub mod tls;
pub mod transport;

use std::path::PathBuf;

pub use fixture::{Server, ServerHandle};

/// Access log format (SPEC: `--log`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Common Log Format, one line per request.
    #[default]
    Common,
    /// One JSON object per line.
    Json,
    /// No access log.
    Off,
}

/// `rawhttp serve` flags (SPEC.md, serve table).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Folder to serve
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Address to listen on (repeatable); `::` for every interface
    #[arg(short = 'b', long = "bind", default_value = "127.0.0.1")]
    pub bind: Vec<String>,
    /// Port; 0 picks any free port
    #[arg(short = 'p', long, default_value_t = 8000)]
    pub port: u16,
    /// PEM certificate chain: serve HTTPS (with --tls-key)
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC)
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// HTTPS with a fresh certificate for localhost, 127.0.0.1 and ::1
    #[arg(long, conflicts_with = "tls_cert")]
    pub self_signed: bool,
    /// Write the PEM certificate clients should trust (with --self-signed)
    #[arg(long, requires = "self_signed")]
    pub write_ca: Option<PathBuf>,
    /// Event-loop threads (default: one per core)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Directories without index.html answer 404
    #[arg(long)]
    pub no_listing: bool,
    /// Serve dotfiles
    #[arg(long)]
    pub hidden: bool,
    /// Follow symlinks that leave DIR
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Add `Access-Control-Allow-Origin: *`
    #[arg(long)]
    pub cors: bool,
    /// Extra response header 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Access log on stderr
    #[arg(long, value_enum, default_value_t = LogFormat::Common)]
    pub log: LogFormat,
    /// Maximum open connections
    #[arg(long, default_value_t = crate::proto::limits::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a client has to send a whole request head
    #[arg(long, default_value_t = crate::proto::limits::HEADER_TIMEOUT.as_secs())]
    pub header_timeout: u64,
    /// Seconds an idle keep-alive connection is kept
    #[arg(long, default_value_t = crate::proto::limits::IDLE_TIMEOUT.as_secs())]
    pub idle_timeout: u64,
    /// Honour fault-injection query parameters (?delay=, ?truncate=, ...)
    #[arg(long)]
    pub faults: bool,
    /// Answer requests under PATH with the exact bytes received
    #[arg(long, value_name = "PATH")]
    pub echo: Option<String>,
}

/// Run `rawhttp serve` until SIGINT/SIGTERM; returns the exit code (0, 1 or 2 per SPEC).
pub fn run(args: ServeArgs) -> i32 {
    let _ = args;
    todo!("issue 3: engine helper")
}
