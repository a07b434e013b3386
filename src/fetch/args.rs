//! The flags `fetch` and `save` share, declared once and flattened into both subcommands:
//! connection flags (`-H`, `-A`, timeouts, TLS trust, proxies, `--resolve`, address family,
//! `-s`/`-S`) with the one place that turns them into a [`Request`], and batch flags (`-Z`,
//! `--parallel-max`, `--retry*`, `-w`). No I/O beyond reading `--cacert`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use url::Url;

use super::connect::{Family, ResolveOverride};
use super::proxy::Proxies;
use super::request_writer::{check_value, parse_header_arg, HeaderEdit};
use super::retry::RetryPolicy;
use super::{parse_delay, parse_secs, Request};
use crate::Error;

/// Flags about how to reach servers, identical in `fetch` and `save` (SPEC.md).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClientArgs {
    /// Add or replace a request header 'Name: value'; 'Name:' removes a default, 'Name;' sends
    /// it empty (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// User-Agent (default rawhttp/<version>)
    #[arg(short = 'A', long = "user-agent", value_name = "UA")]
    pub user_agent: Option<String>,
    /// Seconds for connecting, TLS included (0 = no limit)
    #[arg(long = "connect-timeout", value_name = "SECS", value_parser = parse_secs)]
    pub connect_timeout: Option<Duration>,
    /// Seconds without data before giving up (0 = no limit)
    #[arg(long = "read-timeout", value_name = "SECS", value_parser = parse_secs)]
    pub read_timeout: Option<Duration>,
    /// Seconds for the whole transfer (0 = no limit)
    #[arg(short = 'm', long = "max-time", value_name = "SECS", value_parser = parse_secs)]
    pub max_time: Option<Duration>,
    /// Extra PEM trust anchors
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify server certificates
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Use this HTTP proxy for every URL ([http://][user:pass@]host[:port], port 1080 by
    /// default); '' disables proxies, also those from http_proxy/https_proxy
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub proxy: Option<String>,
    /// Hosts that bypass the proxy, comma-separated (domains with their subdomains, IPs,
    /// CIDR blocks, host:port); '*' for all. Overrides no_proxy
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,
    /// Use ADDR for HOST:PORT (repeatable)
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// IPv4 addresses only
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// IPv6 addresses only
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// No progress and no error messages
    #[arg(short = 's', long = "silent")]
    pub silent: bool,
    /// Error messages even with -s
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,
}

/// [`ClientArgs`] checked and parsed once, before any request: what every request reuses.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The flags as given.
    pub args: ClientArgs,
    edits: Vec<HeaderEdit>,
    resolve: Vec<ResolveOverride>,
    proxies: Proxies,
    tls: Option<Arc<ClientConfig>>,
}

impl ClientArgs {
    /// Error messages are printed (`-s` without `-S` silences them).
    pub fn shows_errors(&self) -> bool {
        !self.silent || self.show_error
    }

    /// Check and parse the flags (a bad `-H`, `-A` or `--resolve` is a usage error).
    pub fn parse(&self) -> Result<ClientOptions, Error> {
        let edits = self
            .headers
            .iter()
            .map(|h| parse_header_arg(h))
            .collect::<Result<Vec<_>, _>>()?;
        let resolve = self
            .resolve
            .iter()
            .map(|r| ResolveOverride::parse(r))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(ua) = &self.user_agent {
            check_value(ua)?;
        }
        let proxies =
            Proxies::from_settings(self.proxy.as_deref(), self.noproxy.as_deref(), |name| {
                std::env::var(name).ok()
            });
        Ok(ClientOptions {
            args: self.clone(),
            edits,
            resolve,
            proxies,
            tls: None,
        })
    }
}

impl ClientOptions {
    /// Build the TLS configuration once (`--cacert` read now, exit 77 when bad) instead of per
    /// request: for runs that make many requests (`save`).
    pub fn with_shared_tls(mut self) -> Result<ClientOptions, Error> {
        let a = &self.args;
        self.tls = Some(super::trust::client_config(
            a.cacert.as_deref(),
            a.insecure,
        )?);
        Ok(self)
    }

    /// Whether a `-H` sets or removes header `name` (so a default must not be added).
    pub fn edits_header(&self, name: &str) -> bool {
        self.edits.iter().any(|e| match e {
            HeaderEdit::Set(n, _) | HeaderEdit::Remove(n) => n.eq_ignore_ascii_case(name),
        })
    }

    /// A request for `url` with every flag applied.
    pub fn request(&self, method: &str, url: Url) -> Request {
        let a = &self.args;
        let mut req = Request::new(method, url)
            .proxies(self.proxies.clone())
            .insecure(a.insecure)
            .family(match (a.ipv4, a.ipv6) {
                (true, _) => Family::V4,
                (_, true) => Family::V6,
                _ => Family::Any,
            });
        for edit in &self.edits {
            req = req.header_edit(edit.clone());
        }
        for pin in &self.resolve {
            req = req.resolve(pin.clone());
        }
        if let Some(ua) = &a.user_agent {
            req = req.user_agent(ua);
        }
        match (&self.tls, &a.cacert) {
            (Some(config), _) => req = req.tls_config(config.clone()),
            (None, Some(path)) => req = req.cacert(path.clone()),
            (None, None) => {}
        }
        if let Some(d) = a.connect_timeout {
            req = req.connect_timeout(d);
        }
        if let Some(d) = a.read_timeout {
            req = req.read_timeout(d);
        }
        if let Some(d) = a.max_time {
            req = req.max_time(d);
        }
        req
    }
}

/// Batch flags, identical in `fetch` and `save` (SPEC.md).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BatchArgs {
    /// Fetch the URLs concurrently
    #[arg(short = 'Z', long = "parallel")]
    pub parallel: bool,
    /// Most transfers at once with -Z
    #[arg(long = "parallel-max", value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub parallel_max: u32,
    /// Retry transient failures N times
    #[arg(long = "retry", value_name = "N", default_value_t = 0)]
    pub retry: u32,
    /// Wait SECS between retries instead of the exponential backoff
    #[arg(long = "retry-delay", value_name = "SECS", value_parser = parse_delay)]
    pub retry_delay: Option<Duration>,
    /// Start no retry after SECS since the first attempt (0 = no limit)
    #[arg(long = "retry-max-time", value_name = "SECS", value_parser = parse_delay)]
    pub retry_max_time: Option<Duration>,
    /// Print FORMAT after each transfer (`@FILE` reads it from FILE, `@-` from stdin)
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,
}

impl BatchArgs {
    /// Transfers at once: `--parallel-max` with `-Z`, else 1.
    pub fn parallelism(&self) -> usize {
        match self.parallel {
            true => self.parallel_max.max(1) as usize,
            false => 1,
        }
    }

    /// `--retry`, `--retry-delay`, `--retry-max-time` (0 = no limit).
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.retry,
            fixed_delay: self.retry_delay,
            max_time: self.retry_max_time.filter(|d| !d.is_zero()),
        }
    }
}
