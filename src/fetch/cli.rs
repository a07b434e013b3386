//! `rawhttp fetch`: flags -> `Request` per URL -> head/body to their destinations, one stderr
//! line per failure. All HTTP work is the library's (`client`); this is only the glue.

use std::fs::{self, File};
use std::io::{IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use url::Url;

use super::args::ClientOptions;
use super::batch::{Batch, Context, Flow, Job};
use super::decode::ACCEPT_ENCODING;
use super::input::Entries;
use super::outputs::{self, OutputSpec};
use super::progress::{Board, Progress};
use super::ratelimit::RateLimit;
use super::save::{disposition_name, remote_name};
use super::sink::{ensure_dir, Destination, Sink};
use super::timecond::{parse_time_cond, remote_time, TimeCond};
use super::trace::{verbose_lines, Tracer};
use super::transfer::{transfer, Output, TransferOptions};
use super::writeout::{self, Piece, Record, Var};
use super::{FetchArgs, Origin, Pool, Request, Response};
use crate::proto::framing::BodyKind;
use crate::Error;

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
}

/// Run every URL (argv, then `--input-file`) through the batch engine: in order, or `-Z` up
/// to `--parallel-max` at once, over one pool of kept-alive connections. A failure never
/// stops the others (unless `--fail-early`); the exit code is the last failure's.
pub fn run(args: FetchArgs) -> i32 {
    let quiet = !args.client.shows_errors();
    let opts = match Options::new(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rawhttp: {e}");
            return e.exit_code();
        }
    };
    let mut input = match opts
        .args
        .input_file
        .as_deref()
        .map(Entries::open)
        .transpose()
    {
        Ok(input) => input,
        Err(e) => {
            eprintln!("rawhttp: {e}");
            return e.exit_code();
        }
    };
    if let Err(e) = super::interrupt::install(quiet) {
        eprintln!("rawhttp: warning: Ctrl-C will not clean up part files: {e}");
    }
    super::interrupt::keep_part_files(opts.transfer.keeps_part());
    if opts.args.client.insecure && !opts.args.client.silent {
        eprintln!("rawhttp: warning: --insecure: server certificates are not verified");
    }
    let parallel = opts.args.batch.parallelism();
    let pool = Arc::new(Pool::new(parallel));
    let board = match parallel > 1 {
        true => Board::start(opts.args.client.silent),
        false => None,
    };
    let argv = opts.argv_jobs();
    let first_listed = argv.len();
    let listed = input.iter_mut().flatten().enumerate().map(|(i, entry)| {
        let spec = match entry.name {
            Some(name) => OutputSpec::Path(PathBuf::from(name)),
            None => OutputSpec::RemoteName,
        };
        UrlJob {
            listed: true,
            ..UrlJob::new(first_listed + i, entry.url, spec)
        }
    });
    let mut code = 0;
    Batch::new(parallel).run(
        argv.into_iter().chain(listed),
        |job, ctx| fetch_one(&opts, &pool, board.as_ref(), job, ctx),
        |(arg, record, result), _| {
            if let Some(format) = &opts.write_out {
                print_write_out(format, &record);
            }
            let Err(e) = result else {
                return Flow::Continue;
            };
            let e = e.at_url(&arg);
            if !quiet {
                eprintln!("rawhttp: {e}");
            }
            code = e.exit_code();
            match opts.args.fail_early {
                true => Flow::Stop,
                false => Flow::Continue,
            }
        },
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
pub fn parse_url(arg: &str) -> Result<Url, Error> {
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
) -> (String, Record, Result<(), Error>) {
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
        opts,
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

/// The CLI's side of a transfer: `-D`, `-i`/`-I`, `--no-fail`, names, progress.
struct CliOutput<'a> {
    opts: &'a Options,
    listed: bool,
    spec: OutputSpec,
    url: Url,
    ctx: &'a Context<'a>,
    /// `-Z` on a terminal: bars go on the shared board.
    board: Option<&'a Board>,
    to_file: bool,
    progress: Option<Progress>,
    /// Stdout is a terminal nobody chose with `-o -`: refuse a binary first block.
    guard: bool,
    /// `--limit-rate`.
    limit: Option<RateLimit>,
}

impl Output for CliOutput<'_> {
    fn resume_path(&self) -> Option<PathBuf> {
        let args = &self.opts.args;
        match &self.spec {
            OutputSpec::Path(p) if p.as_os_str() == "-" => None,
            OutputSpec::Path(p) => Some(match &args.output_dir {
                Some(dir) if p.is_relative() => dir.join(p),
                _ => p.clone(),
            }),
            // -J names come from the response: nothing to continue before it arrives.
            OutputSpec::RemoteName if !args.remote_header_name => {
                let dir = args
                    .output_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("."));
                Some(dir.join(remote_name(&self.url)))
            }
            _ => None,
        }
    }

    fn open(&mut self, response: &Response) -> Result<Option<Sink>, Error> {
        let args = &self.opts.args;
        let at = response.url().as_str().to_string();
        let fail = |e: Error| e.at_url(&at);
        if let Some(path) = &args.dump_header {
            dump_heads(path, response).map_err(fail)?;
        }
        let shows_head = args.include || args.head;
        if response.status() >= 400 && !args.no_fail {
            // As curl -i / -I: the head is still shown when it goes to stdout (a file
            // destination stays untouched: a failure never writes it).
            if shows_head && is_stdout(&self.spec) {
                write_heads(&mut Sink::open(&Destination::Stdout)?, response).map_err(fail)?;
            }
            return Err(fail(Error::HttpStatus(response.status())));
        }
        let dest = destination(args, &self.spec, &self.url, response).map_err(fail)?;
        if !shows_head && response.body_kind() == BodyKind::NoBody {
            // 304, 204, HEAD: no body by definition (RFC 9110 §15.4.5, §15.3.5); an existing
            // file keeps its bytes rather than being emptied.
            note_kept(self.opts, &dest, response, &at);
            return Ok(None);
        }
        prepare_dir(args, &self.spec, &dest, self.listed).map_err(fail)?;
        let mut sink = Sink::open(&dest).map_err(fail)?;
        if shows_head {
            write_heads(&mut sink, response).map_err(fail)?;
        }
        self.to_file = sink.is_file();
        Ok(Some(sink))
    }

    fn started(&mut self, response: &Response, already: u64) {
        // A decoded body has no known length: the bar becomes a spinner.
        let decoding =
            self.opts.args.compressed && response.headers().get("content-encoding").is_some();
        let total = response
            .content_length()
            .filter(|_| !decoding)
            .map(|n| n + already);
        self.progress = match self.board {
            Some(board) if self.to_file => {
                Some(board.bar(&remote_name(&self.url).to_string_lossy(), total))
            }
            Some(_) => None,
            None => Progress::start(self.opts.args.client.silent, self.to_file, total),
        };
        if let Some(bar) = &self.progress {
            bar.inc(already);
        }
    }

    fn before_write(&mut self, block: &[u8]) -> Result<(), Error> {
        if self.guard && looks_binary(block) {
            return Err(Error::Write(std::io::Error::other(
                "binary body not shown on a terminal; save it with -o FILE, or print it anyway \
                 with -o -",
            )));
        }
        self.guard = false;
        if let Some(bar) = &self.progress {
            bar.inc(block.len() as u64);
        }
        if let Some(limit) = &mut self.limit {
            limit.pace(block.len());
        }
        Ok(())
    }

    fn read_size(&self, buf: usize) -> usize {
        self.limit.as_ref().map_or(buf, |l| l.slice(buf))
    }

    fn before_commit(&mut self, response: &Response, sink: &mut Sink) -> Result<(), Error> {
        if self.opts.args.remote_time {
            if let Some(time) = remote_time(response.headers().get("last-modified")) {
                sink.set_modified(time)?;
            }
        }
        Ok(())
    }

    fn finished(&mut self, saved: Option<&Path>) {
        let Some(progress) = self.progress.take() else {
            return;
        };
        if let Some(board) = self.board {
            return board.done(progress);
        }
        let stats = progress.finish();
        if let Some(path) = saved {
            stats.print_summary(path);
        }
    }

    fn stopped(&self) -> bool {
        self.ctx.is_stopped()
    }
}

fn is_stdout(spec: &OutputSpec) -> bool {
    match spec {
        OutputSpec::Stdout => true,
        OutputSpec::Path(p) => p.as_os_str() == "-",
        OutputSpec::RemoteName => false,
    }
}

/// The heads of the redirects followed, then the final one (`-i`, `-I`).
fn write_heads(sink: &mut Sink, response: &Response) -> Result<(), Error> {
    for head in response.redirect_heads() {
        sink.write_all(head)?;
    }
    sink.write_all(response.raw_head())
}

/// A response without a body left the destination alone: say so when a file was kept.
fn note_kept(opts: &Options, dest: &Destination, response: &Response, at: &str) {
    let Destination::File { path, .. } = dest else {
        return;
    };
    if opts.args.client.silent || !path.is_file() {
        return;
    }
    let status = response.status();
    let what = match status {
        304 => "not modified".to_string(),
        _ => format!("{status} {}", response.reason()),
    };
    eprintln!("rawhttp: {what}: {} left as it was ({at})", path.display());
}

/// Where a URL's output goes, from its paired `-o`/`-O` spec. Touches nothing on disk.
fn destination(
    args: &FetchArgs,
    spec: &OutputSpec,
    url: &Url,
    response: &Response,
) -> Result<Destination, Error> {
    match spec {
        OutputSpec::Stdout => Ok(Destination::Stdout),
        OutputSpec::Path(path) if path.as_os_str() == "-" => Ok(Destination::Stdout),
        OutputSpec::Path(path) => {
            let path = match &args.output_dir {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path.clone(),
            };
            Ok(Destination::File {
                path,
                no_clobber: false,
            })
        }
        OutputSpec::RemoteName => Ok(remote_destination(args, url, response)),
    }
}

/// `-O` (and `-J`): the name from the URL given or the server's Content-Disposition.
fn remote_destination(args: &FetchArgs, url: &Url, response: &Response) -> Destination {
    let from_header = args
        .remote_header_name
        .then(|| response.headers().get("content-disposition"))
        .flatten()
        .and_then(disposition_name);
    let no_clobber = from_header.is_some();
    // -O names come from the URL given, not from where redirects led (as curl).
    let name = from_header.unwrap_or_else(|| remote_name(url));
    let dir = args
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    Destination::File {
        path: dir.join(name),
        no_clobber,
    }
}

/// Create `--output-dir` for `-O` names, and the parents of `-o` paths with `--create-dirs`.
/// Names from `--input-file` land in `--output-dir` the way `-O` names do: created if missing.
fn prepare_dir(
    args: &FetchArgs,
    spec: &OutputSpec,
    dest: &Destination,
    listed: bool,
) -> Result<(), Error> {
    let Destination::File { path, .. } = dest else {
        return Ok(());
    };
    let wanted = matches!(spec, OutputSpec::RemoteName) || args.create_dirs || listed;
    match path.parent() {
        Some(parent) if wanted && !parent.as_os_str().is_empty() => ensure_dir(parent),
        _ => Ok(()),
    }
}

/// `-D FILE`: every head received (redirects included), written in place.
fn dump_heads(path: &Path, response: &Response) -> Result<(), Error> {
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        for head in response.redirect_heads() {
            out.write_all(head)?;
        }
        out.write_all(response.raw_head())?;
        out.flush()
    };
    let result = if path.as_os_str() == "-" {
        // SAFETY: fd 1 stays open for the whole process; ManuallyDrop never closes it.
        let mut stdout = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        write(&mut *stdout)
    } else {
        File::create(path).and_then(|mut f| write(&mut f))
    };
    result.map_err(|e| {
        Error::Write(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

/// A NUL byte, or bytes that are not UTF-8 (a character cut at the block's end is fine).
fn looks_binary(block: &[u8]) -> bool {
    if block.contains(&0) {
        return true;
    }
    match std::str::from_utf8(block) {
        Ok(_) => false,
        Err(e) => e.error_len().is_some(),
    }
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
