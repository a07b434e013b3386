//! The responder: `rawhttp serve` and the fixture library. Event loops in `event_loop`/`conn`,
//! decisions in `files`/`reply` (pure), the `Response` in `response`, filesystem access in
//! `respond` (files opened only by `open`).

mod accept;
pub mod badssl;
mod cache;
mod certs;
mod clock;
mod config;
mod conn;
mod ctx;
mod dirread;
mod dirstream;
mod dispatch;
mod entries;
mod etag_cache;
mod event_loop;
pub mod faults;
mod fdlimit;
pub mod files;
pub mod fixture;
mod listing;
mod log;
mod open;
mod page;
mod plan;
pub mod record;
pub mod reply;
mod respond;
mod response;
pub mod routes;
mod site;
mod tls_config;
mod transport;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::Error;
use config::EngineConfig;
use event_loop::Engine;
use faults::FaultPlan;
use site::Site;

pub use fixture::{Server, ServerHandle};

/// Access log format (README: `--log`).
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

/// `rawhttp serve` flags (README, serve table).
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
    /// With --self-signed: a certificate or TLS fault (a local badssl)
    #[arg(long, value_enum, requires = "self_signed")]
    pub tls_fault: Option<badssl::TlsFault>,
    /// Offer only this TLS version (default: 1.2 and 1.3)
    #[arg(long, value_enum)]
    pub tls_version: Option<badssl::TlsVersion>,
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
    /// Maximum open connections per client address (default 256, loopback exempt unless
    /// given; 0 = no cap)
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,
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
    /// Canned replies from a JSON array of {method, path, status, headers, body}
    #[arg(long, value_name = "FILE")]
    pub routes: Option<PathBuf>,
}

/// Run `rawhttp serve` until SIGINT/SIGTERM; returns the exit code (0, 1 or 2, as the README says).
pub fn run(args: ServeArgs) -> i32 {
    match serve(&args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rawhttp: {e}");
            e.exit_code()
        }
    }
}

fn serve(args: &ServeArgs) -> Result<(), Error> {
    let site = build_site(args)?;
    let (tls, ca_pem) = build_tls(args)?;
    let addrs = bind_addrs(args)?;
    let threads = match args.threads {
        Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if let (Some(path), Some(pem)) = (&args.write_ca, &ca_pem) {
        std::fs::write(path, pem)
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let _temp_ca = match (&args.write_ca, &ca_pem) {
        (None, Some(pem)) => Some(write_temp_ca(pem)?),
        _ => None,
    };
    // Registered before the ready line, so a signal sent right after it is never lost.
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(Error::Io)?;
    let config = engine_config(args, site, tls.clone(), threads);
    // Raised before the loops accept; the warning only once binding worked (so a failed start
    // still prints its one line).
    let fd_warning = fdlimit::raise(args.max_connections);
    let engine = Engine::bind(config, &addrs)?;
    if let Some(warning) = fd_warning {
        eprintln!("rawhttp: serve: warning: {warning}");
    }
    announce(&args.dir, tls.is_some(), engine.local_addrs())?;
    let _ = signals.forever().next();
    engine.shutdown();
    engine.wait();
    Ok(())
}

/// The engine's settings from the flags: limits at least 1, fault rules from `--faults` and
/// `--tls-fault`.
fn engine_config(
    args: &ServeArgs,
    site: Site,
    tls: Option<Arc<rustls::ServerConfig>>,
    threads: usize,
) -> EngineConfig {
    let mut plan = match args.faults {
        true => FaultPlan::query_only(),
        false => FaultPlan::default(),
    };
    let tls_level = badssl::add_to_plan(args.tls_fault, &mut plan);
    let faults = (args.faults || tls_level).then(|| Arc::new(plan));
    EngineConfig {
        site: Arc::new(site),
        tls,
        threads,
        max_connections: args.max_connections.max(1),
        per_ip: per_ip_cap(args.max_connections_per_ip),
        header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        log: args.log,
        faults,
        echo: args.echo.clone(),
        record: None,
    }
}

/// `--max-connections-per-ip`: given, it applies to loopback too; absent, the default spares
/// loopback (issue 13).
fn per_ip_cap(flag: Option<usize>) -> config::PerIpCap {
    match flag {
        Some(max) => config::PerIpCap {
            max,
            loopback: true,
        },
        None => config::PerIpCap::default(),
    }
}

/// The served folder must be a readable directory (exit 2 otherwise).
fn build_site(args: &ServeArgs) -> Result<Site, Error> {
    let bad = |why: String| Error::Usage(format!("cannot serve {}: {why}", args.dir.display()));
    let root = std::fs::canonicalize(&args.dir).map_err(|e| bad(port_hint(&args.dir, e)))?;
    if !root.is_dir() {
        return Err(bad("not a directory".into()));
    }
    std::fs::read_dir(&root).map_err(|e| bad(e.to_string()))?;
    let mut extra_headers = Vec::with_capacity(args.headers.len());
    for h in &args.headers {
        extra_headers.push(parse_header_flag(h)?);
    }
    Ok(Site {
        root,
        listing: !args.no_listing,
        hidden: args.hidden,
        follow_symlinks: args.follow_symlinks,
        cors: args.cors,
        extra_headers,
        fixed_mtime: None,
        content_etag: false,
        routes: match &args.routes {
            Some(path) => routes::load(path)?,
            None => Vec::new(),
        },
    })
}

/// `rawhttp serve 9000` names a folder that does not exist: the user meant a port.
fn port_hint(dir: &std::path::Path, e: std::io::Error) -> String {
    let digits = dir
        .to_str()
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    match digits {
        Some(port) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("{e}; did you mean -p {port}?")
        }
        _ => e.to_string(),
    }
}

/// `--self-signed` without `--write-ca`: the CA goes to a private temporary file, named on
/// stderr, so a client can trust it while the server runs (removed when it stops).
fn write_temp_ca(pem: &str) -> Result<tempfile::NamedTempFile, Error> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix("rawhttp-ca-")
        .suffix(".pem")
        .tempfile()
        .map_err(Error::Io)?;
    file.write_all(pem.as_bytes()).map_err(Error::Io)?;
    eprintln!(
        "rawhttp: serve: clients can trust this server with --cacert {} (kept while serving; \
         --write-ca FILE keeps one)",
        file.path().display()
    );
    Ok(file)
}

/// `-H 'Name: value'`: a token name and a value without control bytes (no header injection).
fn parse_header_flag(flag: &str) -> Result<(String, String), Error> {
    let bad = || Error::Usage(format!("bad --header {flag:?}: expected 'Name: value'"));
    let (name, value) = flag.split_once(':').ok_or_else(bad)?;
    let value = value.trim();
    // RFC 9110 §5.1 (field-name = token) and §5.5 (field-value characters).
    let value_ok = value.bytes().all(crate::proto::syntax::is_field_vchar);
    if !crate::proto::syntax::is_token(name.as_bytes()) || !value_ok {
        return Err(bad());
    }
    Ok((name.to_string(), value.to_string()))
}

type TlsSetup = (Option<Arc<rustls::ServerConfig>>, Option<String>);

fn build_tls(args: &ServeArgs) -> Result<TlsSetup, Error> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let versions = args
            .tls_version
            .map_or(tls_config::TLS_VERSIONS, badssl::TlsVersion::versions);
        return Ok((
            Some(certs::load_server_config_for(cert, key, versions)?),
            None,
        ));
    }
    if args.self_signed {
        let s = badssl::self_signed(args.tls_fault, args.tls_version)?;
        return Ok((Some(s.config), Some(s.ca_pem)));
    }
    if args.tls_version.is_some() {
        return Err(Error::Usage(
            "--tls-version needs HTTPS: --self-signed or --tls-cert/--tls-key".into(),
        ));
    }
    Ok((None, None))
}

/// `--bind` values as socket addresses on `--port` (`::1` and `[::1]` both accepted).
fn bind_addrs(args: &ServeArgs) -> Result<Vec<SocketAddr>, Error> {
    args.bind
        .iter()
        .map(|b| {
            let host = b.trim_start_matches('[').trim_end_matches(']');
            let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
                IpAddr::from([127, 0, 0, 1])
            } else {
                host.parse()
                    .map_err(|_| Error::Usage(format!("bad --bind address {b:?}")))?
            };
            Ok(SocketAddr::new(ip, args.port))
        })
        .collect()
}

/// The ready line per address (README), flushed so a waiting script sees it at once.
fn announce(dir: &Path, tls: bool, addrs: &[SocketAddr]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    for addr in addrs {
        writeln!(out, "serving {} at {}", dir.display(), base_url(*addr, tls))
            .map_err(Error::Io)?;
    }
    out.flush().map_err(Error::Io)
}

/// `http://127.0.0.1:PORT/` or `https://[::1]:PORT/` (RFC 3986 §3.2.2 brackets for IPv6).
pub fn base_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    match addr {
        SocketAddr::V4(a) => format!("{scheme}://{}:{}/", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("{scheme}://[{}]:{}/", a.ip(), a.port()),
    }
}
