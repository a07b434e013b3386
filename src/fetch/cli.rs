//! `rawhttp fetch`: flags -> `Request` per URL -> head/body to their destinations, one stderr
//! line per failure. All HTTP work is the library's (`client`); this is only the glue.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use url::Url;

use super::args::ClientOptions;
use super::batch::{Batch, Context, Flow, Job};
use super::cli_output::{is_stdout, CliOutput};
use super::decode::ACCEPT_ENCODING;
use super::input::{Entries, Entry};
use super::outputs::{self, OutputSpec};
use super::progress::Board;
use super::ratelimit::RateLimit;
use super::timecond::{parse_time_cond, TimeCond};
use super::trace::{verbose_lines, Tracer};
use super::transfer::{transfer, TransferOptions};
use super::writeout::{self, Piece, Record, Var};
use super::{FetchArgs, Origin, Pool, Request};
use crate::Error;

/// What one URL of the batch ends with: its argument, its `-w` record, and how it went.
type Finished = (String, Record, Result<(), Error>);

/// Flags turned into values once, before any URL is fetched.
struct Options {
    args: FetchArgs,
    /// The connection flags shared with `save`, parsed.
    client: ClientOptions,
    /// `-o`/`-O` in the order they pair with URLs.
    outputs: Vec<OutputSpec>,
    /// `-w`, parsed.
    write_out: Option<Vec<Piece>>,
    /// Retry, resume and checksum settings shared by every transfer.
    transfer: TransferOptions,
    /// `-z`: the conditional field every request carries.
    time_cond: Option<TimeCond>,
}

impl Options {
    fn new(args: FetchArgs) -> Result<Options, Error> {
        let client = args.client.parse()?;
        let write_out = args
            .batch
            .write_out
            .as_deref()
            .map(|w| writeout::parse_format(&read_format(w)?))
            .transpose()?;
        let transfer = TransferOptions {
            retry: args.batch.retry_policy(),
            resume: args.continue_at,
            no_restart: args.no_restart,
            expect_sha256: None,
            // Only when something prints the digest: hashing a large body costs CPU.
            hash: write_out.as_ref().is_some_and(|w| {
                w.iter()
                    .any(|p| matches!(p, Piece::Var(Var::Json | Var::Sha256)))
            }),
            decode: args.compressed,
            max_decoded: args.max_filesize,
        };
        let time_cond = args.time_cond.as_deref().and_then(|value| {
            let cond = parse_time_cond(value, |p| fs::metadata(p).and_then(|m| m.modified()).ok());
            if cond.is_none() && !args.client.silent {
                eprintln!(
                    "rawhttp: warning: --time-cond {value:?} is neither a file nor a date; \
                     fetching unconditionally"
                );
            }
            cond
        });
        Ok(Options {
            client,
            time_cond,
            outputs: args.ordered_outputs(),
            args,
            write_out,
            transfer,
        })
    }

    /// The command line's URLs as jobs, each with its `-o`/`-O`. With `-C`, a lone `-` is
    /// curl's `-C -` spelling, not a URL.
    fn argv_jobs(&self) -> Vec<UrlJob> {
        self.args
            .urls
            .iter()
            .filter(|u| !(self.args.continue_at && u.as_str() == "-"))
            .enumerate()
            .map(|(i, u)| UrlJob::new(i, u.clone(), self.output_for(i)))
            .collect()
    }

    /// The output of URL number `index`. `-J` without any `-O` names every URL, as it always
    /// has; `--remote-name-all` names those without their own `-o`/`-O`.
    fn output_for(&self, index: usize) -> OutputSpec {
        let a = &self.args;
        let name_all = a.remote_name_all || (a.remote_header_name && a.remote_name.is_empty());
        outputs::output_for(&self.outputs, index, name_all)
    }

    /// The library request for one URL, with every flag applied.
    fn request(&self, url: Url) -> Request {
        let a = &self.args;
        let method = if a.head { "HEAD" } else { "GET" };
        let mut req = self.client.request(method, url).http10(a.http10);
        if let Some(n) = a.max_filesize {
            req = req.max_filesize(n);
        }
        if a.location {
            req = req.follow_redirects(a.max_redirs);
        }
        self.with_habits(req)
    }

    /// `--compressed` (unless `-H` says its own Accept-Encoding), `-z`, and `-v`.
    fn with_habits(&self, mut req: Request) -> Request {
        let a = &self.args;
        let asks_encoding = self.client.edits_header("accept-encoding");
        if a.compressed && !asks_encoding {
            req = req.header("Accept-Encoding", ACCEPT_ENCODING);
        }
        if let Some(cond) = &self.time_cond {
            req = req.header(cond.field, &cond.date);
        }
        if a.verbose {
            req = req.trace(Tracer::new(|event| {
                let _ = std::io::stderr().write_all(verbose_lines(event).as_bytes());
            }));
        }
        req
    }

    /// `--input-file`, opened (streamed: entries are read as the batch needs them).
    fn open_input(&self) -> Result<Option<Entries>, Error> {
        self.args
            .input_file
            .as_deref()
            .map(Entries::open)
            .transpose()
    }

    /// Before the first URL: part-file clean-up on SIGINT/SIGTERM, and the `--insecure`
    /// warning.
    fn prepare_process(&self, quiet: bool) {
        if let Err(e) = super::interrupt::install(quiet) {
            eprintln!("rawhttp: warning: Ctrl-C will not clean up part files: {e}");
        }
        super::interrupt::keep_part_files(self.transfer.keeps_part());
        if self.args.client.insecure && !self.args.client.silent {
            eprintln!("rawhttp: warning: --insecure: server certificates are not verified");
        }
    }

    /// One URL is done: its `-w` line, its error line, and whether the batch goes on.
    fn report(&self, (arg, record, result): Finished, quiet: bool, code: &mut i32) -> Flow {
        if let Some(format) = &self.write_out {
            print_write_out(format, &record);
        }
        let Err(e) = result else {
            return Flow::Continue;
        };
        let e = e.at_url(&arg);
        if !quiet {
            eprintln!("rawhttp: {e}");
        }
        *code = e.exit_code();
        match self.args.fail_early {
            true => Flow::Stop,
            false => Flow::Continue,
        }
    }
}

/// Run every URL (argv, then `--input-file`) through the batch engine: in order, or `-Z` up
/// to `--parallel-max` at once, over one pool of kept-alive connections. A failure never
/// stops the others (unless `--fail-early`); the exit code is the last failure's.
pub(super) fn run(args: FetchArgs) -> i32 {
    let quiet = !args.client.shows_errors();
    let opened = Options::new(args).and_then(|opts| Ok((opts.open_input()?, opts)));
    let (mut input, opts) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("rawhttp: {e}");
            return e.exit_code();
        }
    };
    opts.prepare_process(quiet);
    let parallel = opts.args.batch.parallelism();
    let pool = Arc::new(Pool::new(parallel));
    let board = match parallel > 1 {
        true => Board::start(opts.args.client.silent),
        false => None,
    };
    let argv = opts.argv_jobs();
    let listed = listed_jobs(input.iter_mut().flatten(), argv.len());
    let mut code = 0;
    Batch::new(parallel).run(
        argv.into_iter().chain(listed),
        |job, ctx| fetch_one(&opts, &pool, board.as_ref(), job, ctx),
        |finished, _| opts.report(finished, quiet, &mut code),
    );
    if let Some(board) = board {
        board.finish();
    }
    if let Some(e) = input.and_then(|i| i.error) {
        eprintln!("rawhttp: {e}");
        code = e.exit_code();
    }
    code
}

/// `--input-file` entries as jobs, numbered after the command line's `first` URLs. A name
/// given in the file is an `-o` path; without one the URL names the file as `-O` does.
fn listed_jobs<'a>(
    entries: impl Iterator<Item = Entry> + 'a,
    first: usize,
) -> impl Iterator<Item = UrlJob> + 'a {
    entries.enumerate().map(move |(i, entry)| {
        let spec = match entry.name {
            Some(name) => OutputSpec::Path(PathBuf::from(name)),
            None => OutputSpec::RemoteName,
        };
        UrlJob {
            listed: true,
            ..UrlJob::new(first + i, entry.url, spec)
        }
    })
}

/// `-w`: the format filled from one transfer's record, on stdout.
pub(crate) fn print_write_out(format: &[Piece], record: &Record) {
    let text = writeout::render(format, record);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A `-w` argument: the format itself, or `@FILE` / `@-` to read it (as curl).
pub(crate) fn read_format(arg: &str) -> Result<String, Error> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.to_string());
    };
    let read = if path == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    read.map_err(|e| Error::Usage(format!("cannot read --write-out file {path}: {e}")))
}

/// One URL of the batch with the output it is paired with.
struct UrlJob {
    /// Position in the batch (pairs `--expect-sha256` values).
    index: usize,
    /// From `--input-file` (its names create their directories as `-O` names do).
    listed: bool,
    arg: String,
    spec: OutputSpec,
    origin: Option<Origin>,
}

impl UrlJob {
    fn new(index: usize, arg: String, spec: OutputSpec) -> UrlJob {
        let origin = parse_url(&arg).ok().and_then(|u| Origin::of(&u));
        UrlJob {
            index,
            listed: false,
            arg,
            spec,
            origin,
        }
    }
}

impl Job for UrlJob {
    fn origin(&self) -> Option<Origin> {
        self.origin.clone()
    }
}

/// Parse a command-line URL; `http://` is assumed when no scheme is given (as curl does).
/// A raw space or control byte is refused (exit 3) rather than quietly percent-encoded, as curl
/// does: a URL pasted with a space in it is more often two arguments run together than a name.
pub(crate) fn parse_url(arg: &str) -> Result<Url, Error> {
    if let Some(b) = arg.bytes().find(|b| b.is_ascii_control() || *b == b' ') {
        let what = if b == b' ' {
            "a space"
        } else {
            "a control byte"
        };
        return Err(Error::BadUrl(format!(
            "{what} in the URL; write it percent-encoded (%{b:02X})"
        )));
    }
    let full = if arg.contains("://") {
        arg.to_string()
    } else {
        format!("http://{arg}")
    };
    let url = Url::parse(&full).map_err(|e| Error::BadUrl(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(Error::UnsupportedScheme(other.to_string())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::BadUrl("no host".into()));
    }
    Ok(url)
}

/// One URL: its request over the shared pool (`Connection: close` when no later URL of the
/// batch goes to its origin), then the transfer loop with retries and resume.
fn fetch_one(
    opts: &Options,
    pool: &Arc<Pool>,
    board: Option<&Board>,
    job: UrlJob,
    ctx: &Context,
) -> Finished {
    let url = match parse_url(&job.arg) {
        Ok(url) => url,
        Err(e) => {
            let mut record = Record::new(&job.arg);
            record.fail(&e);
            return (job.arg, record, Err(e));
        }
    };
    let request = opts
        .request(url.clone())
        .pool(pool.clone())
        .connection_close(ctx.last_for_origin());
    let mut transfer_opts = opts.transfer.clone();
    transfer_opts.expect_sha256 = opts.args.expect_sha256.get(job.index).copied();
    let guard = matches!(job.spec, OutputSpec::Stdout) && std::io::stdout().is_terminal();
    let mut out = CliOutput {
        args: &opts.args,
        listed: job.listed,
        to_file: !is_stdout(&job.spec),
        spec: job.spec,
        url,
        ctx,
        board,
        progress: None,
        guard,
        limit: opts.args.limit_rate.filter(|&r| r > 0).map(RateLimit::new),
    };
    let (record, result) = transfer(&request, &transfer_opts, &mut out);
    (job.arg, record, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_curl_defaults() {
        let ok = |s: &str| {
            parse_url(s)
                .map(|u| u.to_string())
                .map_err(|e| e.exit_code())
        };
        assert_eq!(ok("example.com"), Ok("http://example.com/".into()));
        assert_eq!(ok("127.0.0.1:8080/x"), Ok("http://127.0.0.1:8080/x".into()));
        assert_eq!(ok("HTTPS://A/"), Ok("https://a/".into()));
        assert_eq!(ok("ftp://a/"), Err(1));
        assert_eq!(ok("file:///etc/passwd"), Err(1));
        assert_eq!(ok("http://"), Err(3));
        assert_eq!(ok("http://a:99999/"), Err(3));
        assert_eq!(ok("http://[::1/"), Err(3));
        assert_eq!(ok(""), Err(3));
        assert_eq!(ok("http://a/b c"), Err(3));
        assert_eq!(ok(" http://a/"), Err(3));
        assert_eq!(ok("http://a/\tx"), Err(3));
        assert_eq!(ok("http://a/\x7f"), Err(3));
        assert_eq!(ok("http://a/b%20c"), Ok("http://a/b%20c".into()));
    }
}
