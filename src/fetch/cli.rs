//! `rawhttp fetch`: flags -> `Request` per URL -> head/body to their destinations, one stderr
//! line per failure. All HTTP work is the library's (`client`); this is only the glue.

use std::fs::{self, File};
use std::io::{IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};

use url::Url;

use super::body::BUF_SIZE;
use super::connect::{Family, ResolveOverride};
use super::outputs::{self, OutputSpec};
use super::progress::Progress;
use super::proxy::Proxies;
use super::ratelimit::RateLimit;
use super::request::{parse_header_arg, HeaderEdit};
use super::save::{disposition_name, ensure_dir, remote_name, Destination, Sink};
use super::timecond::{parse_time_cond, remote_time, TimeCond};
use super::trace::{verbose_lines, Tracer};
use super::{FetchArgs, Request, Response};
use crate::proto::framing::BodyKind;
use crate::Error;

/// Flags turned into values once, before any URL is fetched.
struct Options {
    args: FetchArgs,
    edits: Vec<HeaderEdit>,
    resolve: Vec<ResolveOverride>,
    /// `-o`/`-O` in the order they pair with URLs.
    outputs: Vec<OutputSpec>,
    /// `-z`: the conditional field every request carries.
    time_cond: Option<TimeCond>,
    /// `-x`/`--noproxy` over curl's proxy variables.
    proxies: Proxies,
}

impl Options {
    fn new(args: FetchArgs) -> Result<Options, Error> {
        let edits = args
            .headers
            .iter()
            .map(|h| parse_header_arg(h))
            .collect::<Result<Vec<_>, _>>()?;
        let resolve = args
            .resolve
            .iter()
            .map(|r| ResolveOverride::parse(r))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(ua) = &args.user_agent {
            super::request::check_value(ua)?;
        }
        let time_cond = args.time_cond.as_deref().and_then(|value| {
            let cond = parse_time_cond(value, |p| fs::metadata(p).and_then(|m| m.modified()).ok());
            if cond.is_none() && !args.silent {
                eprintln!(
                    "rawhttp: warning: --time-cond {value:?} is neither a file nor a date; \
                     fetching unconditionally"
                );
            }
            cond
        });
        let proxies =
            Proxies::from_settings(args.proxy.as_deref(), args.noproxy.as_deref(), |name| {
                std::env::var(name).ok()
            });
        Ok(Options {
            time_cond,
            proxies,
            outputs: args.ordered_outputs(),
            args,
            edits,
            resolve,
        })
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
        let mut req = Request::new(method, url)
            .proxies(self.proxies.clone())
            .http10(a.http10)
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
        if let Some(path) = &a.cacert {
            req = req.cacert(path.clone());
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
        if let Some(n) = a.max_filesize {
            req = req.max_filesize(n);
        }
        if a.location {
            req = req.follow_redirects(a.max_redirs);
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

/// Run every URL in order; carry on after a failure and return the last failure's code.
pub fn run(args: FetchArgs) -> i32 {
    let quiet = args.silent && !args.show_error;
    let opts = match Options::new(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rawhttp: {e}");
            return e.exit_code();
        }
    };
    if let Err(e) = super::interrupt::install(quiet) {
        eprintln!("rawhttp: warning: Ctrl-C will not clean up part files: {e}");
    }
    if opts.args.insecure && !opts.args.silent {
        eprintln!("rawhttp: warning: --insecure: server certificates are not verified");
    }
    let mut code = 0;
    for (index, url) in opts.args.urls.iter().enumerate() {
        if let Err(e) = fetch_one(&opts, index, url) {
            let e = e.at_url(url);
            if !quiet {
                eprintln!("rawhttp: {e}");
            }
            code = e.exit_code();
        }
    }
    code
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

fn fetch_one(opts: &Options, index: usize, arg: &str) -> Result<(), Error> {
    let args = &opts.args;
    let url = parse_url(arg)?;
    let mut response = opts.request(url.clone()).send()?;
    let at = response.url().as_str().to_string();
    let fail = |e: Error| e.at_url(&at);
    if let Some(path) = &args.dump_header {
        dump_heads(path, &response).map_err(fail)?;
    }
    let spec = opts.output_for(index);
    let shows_head = args.include || args.head;
    if response.status() >= 400 && !args.no_fail {
        // As curl -i / -I: the head is still shown when it goes to stdout (a file destination
        // stays untouched: a failure never writes it).
        if shows_head && is_stdout(&spec) {
            write_heads(&mut Sink::open(&Destination::Stdout)?, &response).map_err(fail)?;
        }
        return Err(fail(Error::HttpStatus(response.status())));
    }
    let dest = destination(args, &spec, &url, &response).map_err(fail)?;
    if !shows_head && response.body_kind() == BodyKind::NoBody {
        // 304, 204, HEAD: no body by definition (RFC 9110 §15.4.5, §15.3.5); an existing
        // file keeps its bytes rather than being emptied.
        note_kept(opts, &dest, &response, &at);
        return Ok(());
    }
    prepare_dir(args, &spec, &dest).map_err(fail)?;
    let mut sink = Sink::open(&dest).map_err(fail)?;
    if shows_head {
        write_heads(&mut sink, &response).map_err(fail)?;
    }
    if args.head {
        return sink.commit().map_err(fail);
    }
    let progress = Progress::start(args.silent, sink.is_file(), response.content_length());
    let guard = matches!(spec, OutputSpec::Stdout) && std::io::stdout().is_terminal();
    let limit = args.limit_rate.filter(|&r| r > 0).map(RateLimit::new);
    let copied = copy_body(&mut response, &mut sink, progress.as_ref(), guard, limit);
    let saved_as = sink.path().map(Path::to_path_buf);
    let stats = progress.map(Progress::finish);
    copied.map_err(fail)?;
    if args.remote_time {
        if let Some(time) = remote_time(response.headers().get("last-modified")) {
            sink.set_modified(time).map_err(fail)?;
        }
    }
    sink.commit().map_err(fail)?;
    if let (Some(stats), Some(path)) = (stats, saved_as) {
        stats.print_summary(&path);
    }
    Ok(())
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
    if opts.args.silent || !path.is_file() {
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
fn prepare_dir(args: &FetchArgs, spec: &OutputSpec, dest: &Destination) -> Result<(), Error> {
    let Destination::File { path, .. } = dest else {
        return Ok(());
    };
    let wanted = matches!(spec, OutputSpec::RemoteName) || args.create_dirs;
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

/// Stream the body to the sink through one fixed buffer. With `guard` (stdout is a terminal
/// nobody chose with `-o -`), a first block that is not text is refused, as curl does.
fn copy_body(
    response: &mut Response,
    sink: &mut Sink,
    progress: Option<&Progress>,
    mut guard: bool,
    mut limit: Option<RateLimit>,
) -> Result<(), Error> {
    let mut buf = vec![0u8; BUF_SIZE];
    let slice = limit.as_ref().map_or(BUF_SIZE, |l| l.slice(BUF_SIZE));
    loop {
        let n = response.read_body(&mut buf[..slice])?;
        if n == 0 {
            return Ok(());
        }
        if guard && looks_binary(&buf[..n]) {
            return Err(Error::Write(std::io::Error::other(
                "binary body not shown on a terminal; save it with -o FILE, or print it anyway \
                 with -o -",
            )));
        }
        guard = false;
        sink.write_all(&buf[..n])?;
        if let Some(bar) = progress {
            bar.inc(n as u64);
        }
        if let Some(limit) = &mut limit {
            limit.pace(n);
        }
    }
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
