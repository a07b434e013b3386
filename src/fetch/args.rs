//! The connection flags `fetch` and `save` share (`-H`, `-A`, timeouts, TLS trust, `--resolve`,
//! address family, `-s`/`-S`), declared once and flattened into both subcommands, and the one
//! place that turns them into a [`Request`]. No I/O beyond reading `--cacert`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use url::Url;

use super::connect::{Family, ResolveOverride};
use super::request::{check_value, parse_header_arg, HeaderEdit};
use super::{parse_secs, Request};
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
        Ok(ClientOptions {
            args: self.clone(),
            edits,
            resolve,
            tls: None,
        })
    }
}

impl ClientOptions {
    /// Build the TLS configuration once (`--cacert` read now, exit 77 when bad) instead of per
    /// request: for runs that make many requests (`save`).
    pub fn with_shared_tls(mut self) -> Result<ClientOptions, Error> {
        let a = &self.args;
        self.tls = Some(super::tls::client_config(a.cacert.as_deref(), a.insecure)?);
        Ok(self)
    }

    /// A request for `url` with every flag applied.
    pub fn request(&self, method: &str, url: Url) -> Request {
        let a = &self.args;
        let mut req =
            Request::new(method, url)
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
