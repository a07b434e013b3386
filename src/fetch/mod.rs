//! The client: resolve -> connect (-> TLS) -> write request -> read head -> body -> sink.
//! `Request`/`Response` are the library API; `run` is `rawhttp fetch` built on it. Parsing and
//! framing decisions live in `proto`; nothing here serves.

pub(crate) mod args;
pub mod batch;
mod body;
mod cli;
mod cli_output;
mod client;
mod connect;
pub mod decode;
mod exchange;
pub mod input;
pub(crate) mod interrupt;
mod outputs;
mod pool;
mod progress;
pub mod proxy;
mod ratelimit;
mod redirect;
mod request_writer;
mod response;
pub(crate) mod resume;
pub mod retry;
pub mod save;
pub(crate) mod sink;
mod timecond;
mod tls_errors;
mod tls_stream;
pub mod trace;
pub(crate) mod transfer;
mod trust;
mod tunnel;
pub mod writeout;

use std::path::PathBuf;
use std::time::Duration;

use crate::proto::syntax::parse_decimal;

pub(crate) use cli::{parse_url, print_write_out, read_format};
pub use client::Request;
pub use connect::{Family, ResolveOverride};
pub use pool::{Origin, Pool};
pub use request_writer::HeaderEdit;
pub use response::{Response, Timings};

/// `Error::Timeout` texts, one per timer. The library names its own settings, not CLI flags
/// (`Request::connect_timeout`, `read_timeout`, `max_time`), so they read right from Rust too.
pub(crate) const CONNECT_TIMED_OUT: &str = "connect not finished within the connect timeout";
pub(crate) const READ_TIMED_OUT: &str = "no data within the read timeout";
pub(crate) const MAX_TIME_REACHED: &str = "transfer not finished within the time limit";

/// `rawhttp fetch` flags (README, fetch table).
#[derive(clap::Args, Debug, Clone)]
pub struct FetchArgs {
    /// URLs to fetch (http:// is assumed when the scheme is missing)
    #[arg(required_unless_present = "input_file")]
    pub(crate) urls: Vec<String>,
    /// Write the body to FILE (`-` = stdout); repeatable, one per URL in order
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Vec<PathBuf>,
    /// Name the file after the URL's last path segment; pairs with URLs in order like -o
    /// (repeatable)
    #[arg(short = 'O', long = "remote-name", action = clap::ArgAction::Append, num_args = 0,
          default_missing_value = "true")]
    pub(crate) remote_name: Vec<bool>,
    /// With -O: prefer the server's Content-Disposition name; never overwrite
    #[arg(short = 'J', long = "remote-header-name")]
    pub(crate) remote_header_name: bool,
    /// Directory for -O/-J names (created if missing)
    #[arg(long = "output-dir", value_name = "DIR")]
    pub(crate) output_dir: Option<PathBuf>,
    /// Write the response head before the body
    #[arg(short = 'i', long = "include")]
    pub(crate) include: bool,
    /// Write the response head to FILE (`-` = stdout)
    #[arg(short = 'D', long = "dump-header", value_name = "FILE")]
    pub(crate) dump_header: Option<PathBuf>,
    /// Send HEAD and print the response head
    #[arg(short = 'I', long = "head")]
    pub(crate) head: bool,
    /// Follow redirects
    #[arg(short = 'L', long = "location")]
    pub(crate) location: bool,
    /// Most redirects followed with -L
    #[arg(long = "max-redirs", value_name = "N", default_value_t = crate::proto::limits::MAX_REDIRECTS)]
    pub(crate) max_redirs: u32,
    /// Fail on HTTP status >= 400 (the default; accepted for curl habits)
    #[arg(short = 'f', long = "fail")]
    pub(crate) fail: bool,
    /// Save the body of an HTTP error response and exit 0
    #[arg(long = "no-fail", overrides_with = "fail")]
    pub(crate) no_fail: bool,
    /// Refuse bodies larger than BYTES (suffixes k, M, G)
    #[arg(long = "max-filesize", value_name = "BYTES", value_parser = parse_size)]
    pub(crate) max_filesize: Option<u64>,
    /// Send an HTTP/1.0 request
    #[arg(long = "http1.0")]
    pub(crate) http10: bool,
    /// Name every URL without its own -o/-O after itself, as -O does
    #[arg(long = "remote-name-all")]
    pub(crate) remote_name_all: bool,
    /// Create the missing directories of -o paths
    #[arg(long = "create-dirs")]
    pub(crate) create_dirs: bool,
    /// Give the saved file the server's Last-Modified time
    #[arg(short = 'R', long = "remote-time")]
    pub(crate) remote_time: bool,
    /// Only fetch if newer than FILE's time or DATE (If-Modified-Since; `-DATE`: only if older);
    /// with a 304 the file is kept
    #[arg(
        short = 'z',
        long = "time-cond",
        value_name = "FILE|DATE",
        allow_hyphen_values = true
    )]
    pub(crate) time_cond: Option<String>,
    /// Average download rate at most RATE bytes per second (suffixes k, M, G; 0 = no limit)
    #[arg(long = "limit-rate", value_name = "RATE", value_parser = parse_size)]
    pub(crate) limit_rate: Option<u64>,
    /// Show connection facts, the request head (`> `) and response heads (`< `) on stderr
    #[arg(short = 'v', long = "verbose")]
    pub(crate) verbose: bool,
    /// Ask for a compressed body (gzip, deflate, br, zstd) and save it decoded
    #[arg(long = "compressed")]
    pub(crate) compressed: bool,
    /// `-o`/`-O` in command-line order (filled from clap's indices by the binary; when empty the
    /// `-o` values come first, then one `-O` per occurrence)
    #[arg(skip)]
    pub(crate) output_order: Option<Vec<outputs::OutputSpec>>,
    /// Read URLs from FILE (`-` = stdin), one per line with an optional output name after
    /// it; blank lines and `#` comments are skipped
    #[arg(long = "input-file", value_name = "FILE")]
    pub(crate) input_file: Option<PathBuf>,
    /// Stop at the first failed transfer
    #[arg(long = "fail-early")]
    pub(crate) fail_early: bool,
    /// Continue NAME.part from where it stopped (`-C -` also works, as in curl)
    #[arg(short = 'C', long = "continue")]
    pub(crate) continue_at: bool,
    /// With -C/--retry: fail (exit 33) instead of starting over when the server will not
    /// continue a part file
    #[arg(long = "no-restart")]
    pub(crate) no_restart: bool,
    /// The SHA-256 the saved bytes must have; one per URL in order
    #[arg(long = "expect-sha256", value_name = "HEX", value_parser = transfer::parse_sha256)]
    pub(crate) expect_sha256: Vec<[u8; 32]>,
    /// Connection flags shared with `save`
    #[command(flatten)]
    pub(crate) client: args::ClientArgs,
    /// Batch flags shared with `save`
    #[command(flatten)]
    pub(crate) batch: args::BatchArgs,
}

impl FetchArgs {
    /// Record the order `-o` and `-O` were written in (clap's derive loses it), so each URL gets
    /// the output written for it (curl's pairing). `matches` are the `fetch` subcommand's.
    pub fn record_output_order(&mut self, matches: &clap::ArgMatches) {
        let paths: Vec<(usize, PathBuf)> = match (
            matches.indices_of("output"),
            matches.get_many::<PathBuf>("output"),
        ) {
            (Some(i), Some(v)) => i.zip(v.cloned()).collect(),
            _ => Vec::new(),
        };
        let names: Vec<usize> = matches
            .indices_of("remote_name")
            .map(|i| i.collect())
            .unwrap_or_default();
        self.output_order = Some(outputs::in_command_line_order(paths, names));
    }

    /// The output specs in pairing order (see [`FetchArgs::record_output_order`]).
    pub(crate) fn ordered_outputs(&self) -> Vec<outputs::OutputSpec> {
        if let Some(order) = &self.output_order {
            return order.clone();
        }
        let paths = self.output.iter().cloned().enumerate().collect();
        let names = (self.output.len()..self.output.len() + self.remote_name.len()).collect();
        outputs::in_command_line_order(paths, names)
    }
}

/// Seconds as a decimal number; 0 means no limit.
pub(crate) fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a number of seconds"));
    }
    if secs == 0.0 {
        // Far enough away to never fire, close enough not to overflow an Instant.
        return Ok(Duration::from_secs(100 * 365 * 24 * 3600));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// Seconds as a decimal number where 0 means "none" (a wait: `--retry-delay`, save's `--wait` as
/// wget's), not "no limit" as in the timeout parser, whose 0 would be a pause that never ends.
pub(crate) fn parse_delay(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a number of seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// A byte count with an optional k/M/G suffix (powers of 1024, as curl).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not a byte count");
    let (digits, shift) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n = parse_decimal(digits.as_bytes()).ok_or_else(bad)?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

/// Run `rawhttp fetch`; prints one stderr line per failure and returns the exit code.
pub fn run(args: FetchArgs) -> i32 {
    cli::run(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_sizes_parse_strictly() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("0").expect("0 = no limit") > Duration::from_secs(1 << 30));
        for bad in ["-1", "nan", "inf", "x", ""] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        for bad in [
            "",
            "k",
            "+5",
            "-5",
            "1.5",
            "99999999999999999999",
            "17179869184G",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
