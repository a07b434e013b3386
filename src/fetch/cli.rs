//! `rawhttp fetch`: flags -> `Request` per URL -> head/body to their destinations, one stderr
//! line per failure. All HTTP work is the library's (`client`); this is only the glue.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use url::Url;

use super::body::BUF_SIZE;
use super::connect::{Family, ResolveOverride};
use super::request::{parse_header_arg, HeaderEdit};
use super::save::{disposition_name, ensure_dir, remote_name, Destination, Sink};
use super::{FetchArgs, Request, Response};
use crate::Error;

/// Flags turned into values once, before any URL is fetched.
struct Options {
    args: FetchArgs,
    edits: Vec<HeaderEdit>,
    resolve: Vec<ResolveOverride>,
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
        Ok(Options {
            args,
            edits,
            resolve,
        })
    }

    /// The library request for one URL, with every flag applied.
    fn request(&self, url: Url) -> Request {
        let a = &self.args;
        let method = if a.head { "HEAD" } else { "GET" };
        let mut req = Request::new(method, url)
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
pub fn parse_url(arg: &str) -> Result<Url, Error> {
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
    if response.status() >= 400 && !args.no_fail {
        return Err(fail(Error::HttpStatus(response.status())));
    }
    let dest = destination(args, index, &url, &response).map_err(fail)?;
    let mut sink = Sink::open(&dest).map_err(fail)?;
    if args.include || args.head {
        for head in response.redirect_heads() {
            sink.write_all(head).map_err(fail)?;
        }
        sink.write_all(response.raw_head()).map_err(fail)?;
    }
    if !args.head {
        let progress = progress_bar(args, &sink, &response);
        let copied = copy_body(&mut response, &mut sink, progress.as_ref());
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        copied.map_err(fail)?;
    }
    sink.commit().map_err(fail)
}

/// Where URL number `index` goes: its own `-o`, else the `-O`/`-J` name, else stdout.
fn destination(
    args: &FetchArgs,
    index: usize,
    url: &Url,
    response: &Response,
) -> Result<Destination, Error> {
    if let Some(path) = args.output.get(index) {
        if path.as_os_str() == "-" {
            return Ok(Destination::Stdout);
        }
        let path = match &args.output_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.clone(),
        };
        return Ok(Destination::File {
            path,
            no_clobber: false,
        });
    }
    if !(args.remote_name || args.remote_header_name) {
        return Ok(Destination::Stdout);
    }
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
    ensure_dir(&dir)?;
    Ok(Destination::File {
        path: dir.join(name),
        no_clobber,
    })
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

/// A progress bar on stderr, only for a terminal, a file destination and without `-s`.
fn progress_bar(args: &FetchArgs, sink: &Sink, response: &Response) -> Option<ProgressBar> {
    if args.silent || !sink.is_file() || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match response.content_length() {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = match response.content_length() {
        Some(_) => "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        None => "{spinner} {bytes} {binary_bytes_per_sec}",
    };
    // The templates are constants; a failure would only lose the style, not the transfer.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}

/// Stream the body to the sink through one fixed buffer.
fn copy_body(
    response: &mut Response,
    sink: &mut Sink,
    progress: Option<&ProgressBar>,
) -> Result<(), Error> {
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = response.read_body(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        sink.write_all(&buf[..n])?;
        if let Some(bar) = progress {
            bar.inc(n as u64);
        }
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
    }
}
