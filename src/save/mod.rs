//! `rawhttp save`: a page with its requisites, or a site, saved so it opens offline. Links are
//! found with field parsers (lol_html for HTML, cssparser for CSS), URLs map to safe local
//! paths by a pure function, files are fetched on fetch's batch engine and written atomically.
//! It never parses a response itself: `fetch` does the HTTP.

mod crawl;
pub mod css;
pub mod html;
mod links;
pub mod paths;
mod scope;
pub mod srcset;
pub mod state;
mod transfer;

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use url::Url;

use crate::fetch::args::{BatchArgs, ClientArgs};
use crate::fetch::transfer::TransferOptions;
use crate::fetch::writeout::{Piece, Record, Var};
use crate::fetch::{parse_url, print_write_out, read_format, Pool};
use crate::Error;
use crawl::{Crawl, Report, Totals};
use scope::{Scope, ScopeFlags};
use transfer::{Done, Shared};

/// `rawhttp save` flags (SPEC.md, save section).
#[derive(clap::Args, Debug, Clone)]
pub struct SaveArgs {
    /// The page (or, with --recursive, the site) to save
    pub(crate) url: String,
    /// Folder to save into (default: the URL's host name)
    pub(crate) dir: Option<PathBuf>,
    /// Follow links to other pages too (a mirror), not only the page's requisites
    #[arg(short = 'r', long = "recursive")]
    pub(crate) recursive: bool,
    /// With --recursive: how many links deep to follow
    #[arg(short = 'l', long = "level", value_name = "N", default_value_t = 5)]
    pub(crate) level: u32,
    /// With --recursive: never follow pages above the start URL's folder
    #[arg(long = "no-parent")]
    pub(crate) no_parent: bool,
    /// Also save from origins other than the start URL's
    #[arg(long = "span-hosts")]
    pub(crate) span_hosts: bool,
    /// Save only files whose name matches GLOB (comma-separated, repeatable; `png` = `*png`)
    #[arg(long = "accept", value_name = "GLOB")]
    pub(crate) accept: Vec<String>,
    /// Never save files whose name matches GLOB (comma-separated, repeatable)
    #[arg(long = "reject", value_name = "GLOB")]
    pub(crate) reject: Vec<String>,
    /// Seconds to wait between requests (implies one transfer at a time; 0 = no wait)
    #[arg(long = "wait", value_name = "SECS", value_parser = crate::fetch::parse_delay)]
    pub(crate) wait: Option<Duration>,
    /// With --recursive: ignore robots.txt
    #[arg(long = "no-robots")]
    pub(crate) no_robots: bool,
    /// Connection flags shared with `fetch`
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// Batch flags shared with `fetch`
    #[command(flatten)]
    pub(crate) batch: BatchArgs,
}

/// Run `rawhttp save`; prints one stderr line per failure and returns the exit code.
pub fn run(args: SaveArgs) -> i32 {
    let shows_errors = args.client.shows_errors();
    match prepare(&args) {
        Ok((shared, scope, write_out)) => {
            if let Err(e) = crate::fetch::interrupt::install(!shows_errors) {
                eprintln!("rawhttp: warning: Ctrl-C will not clean up part files: {e}");
            }
            if args.client.insecure && !args.client.silent {
                eprintln!("rawhttp: warning: --insecure: server certificates are not verified");
            }
            let mut report = Terminal::new(&args, write_out);
            let robots = args.recursive && !args.no_robots;
            let (code, totals) =
                Crawl::new(scope, robots, &mut report).run(&shared, parallelism(&args));
            report.finish(&shared, totals);
            code
        }
        Err(e) => {
            if shows_errors {
                eprintln!("rawhttp: {e}");
            }
            e.exit_code()
        }
    }
}

/// Transfers at once: 1 without `-Z` or with `--wait`.
fn parallelism(args: &SaveArgs) -> usize {
    match args.wait {
        Some(wait) if !wait.is_zero() => 1,
        _ => args.batch.parallelism(),
    }
}

/// Check every flag and build what the workers share, before anything is fetched.
fn prepare(args: &SaveArgs) -> Result<(Shared, Scope, Option<Vec<Piece>>), Error> {
    let start = parse_url(&args.url)?;
    let mut start_key = start.clone();
    start_key.set_fragment(None);
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_dir(&start_key),
    };
    let flags = ScopeFlags {
        recursive: args.recursive,
        level: args.level,
        no_parent: args.no_parent,
        span_hosts: args.span_hosts,
        accept: args.accept.clone(),
        reject: args.reject.clone(),
    };
    let scope = Scope::new(start_key.clone(), &flags)?;
    let client = args.client.parse()?.with_shared_tls()?;
    let write_out = args
        .batch
        .write_out
        .as_deref()
        .map(|w| crate::fetch::writeout::parse_format(&read_format(w)?))
        .transpose()?;
    let transfer = TransferOptions {
        retry: args.batch.retry_policy(),
        // As fetch: only when something prints the digest.
        hash: write_out.as_ref().is_some_and(|w| {
            w.iter()
                .any(|p| matches!(p, Piece::Var(Var::Json | Var::Sha256)))
        }),
        ..TransferOptions::default()
    };
    let shared = Shared {
        transfer,
        walked: AtomicU64::new(0),
        previous: state::load(&dir),
        dir,
        start: start_key,
        client,
        pool: Arc::new(Pool::new(parallelism(args))),
        claimed: Mutex::new(HashSet::new()),
        wait: args.wait.filter(|w| !w.is_zero()),
        started: AtomicBool::new(false),
        received: AtomicU64::new(0),
    };
    Ok((shared, scope, write_out))
}

/// The host name as a folder name (`[::1]` -> `__1_`, never empty).
fn default_dir(url: &Url) -> PathBuf {
    let host = url.host_str().unwrap_or("site");
    let name: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match name.trim_start_matches('.') {
        "" => PathBuf::from("site"),
        clean => PathBuf::from(clean),
    }
}

/// Messages on stderr; a progress line and a summary only on a terminal.
struct Terminal {
    shows_errors: bool,
    /// `-w`, parsed: printed on stdout after each transfer.
    write_out: Option<Vec<Piece>>,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Terminal {
    fn new(args: &SaveArgs, write_out: Option<Vec<Piece>>) -> Terminal {
        let tty = !args.client.silent && std::io::stderr().is_terminal();
        let bar = tty.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            // The template is a constant; a failure would only lose the style.
            if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} files {wide_msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Terminal {
            shows_errors: args.client.shows_errors(),
            write_out,
            bar,
            started: Instant::now(),
        }
    }

    /// Clear the progress line; on a terminal, say what was done.
    fn finish(self, shared: &Shared, totals: Totals) {
        let Some(bar) = self.bar else {
            return;
        };
        bar.finish_and_clear();
        eprintln!(
            "rawhttp: saved {} files ({}) to {} in {:.1} s, {} failed",
            totals.files,
            HumanBytes(totals.bytes),
            shared.dir.display(),
            self.started.elapsed().as_secs_f64(),
            totals.failures
        );
    }
}

impl Report for Terminal {
    fn transferred(&mut self, record: &Record) {
        let Some(format) = &self.write_out else {
            return;
        };
        match &self.bar {
            Some(bar) => bar.suspend(|| print_write_out(format, record)),
            None => print_write_out(format, record),
        }
    }

    fn saved(&mut self, url: &Url, done: &Done) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("{} ({})", done.entry.path.display(), url));
        }
    }

    fn failed(&mut self, error: &Error) {
        if !self.shows_errors {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("rawhttp: {error}")),
            None => eprintln!("rawhttp: {error}"),
        }
    }
}
