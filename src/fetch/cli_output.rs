//! Where one URL's response goes in `rawhttp fetch`: `-D`, `-i`/`-I`, `--no-fail`, `-o`/`-O`/`-J`
//! names and their folders, the progress bar, `--limit-rate`, `-R`, and the refusal to print a
//! binary body on a terminal. The transfer loop itself is `transfer`'s; flags are `cli`'s.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};

use url::Url;

use super::batch::Context;
use super::outputs::OutputSpec;
use super::progress::{Board, Progress};
use super::ratelimit::RateLimit;
use super::save::{disposition_name, remote_name};
use super::sink::{ensure_dir, Destination, Sink};
use super::timecond::remote_time;
use super::transfer::Output;
use super::{FetchArgs, Response};
use crate::proto::framing::BodyKind;
use crate::Error;

/// The CLI's side of a transfer: `-D`, `-i`/`-I`, `--no-fail`, names, progress.
pub(super) struct CliOutput<'a> {
    pub(super) args: &'a FetchArgs,
    pub(super) listed: bool,
    pub(super) spec: OutputSpec,
    pub(super) url: Url,
    pub(super) ctx: &'a Context<'a>,
    /// `-Z` on a terminal: bars go on the shared board.
    pub(super) board: Option<&'a Board>,
    pub(super) to_file: bool,
    pub(super) progress: Option<Progress>,
    /// Stdout is a terminal nobody chose with `-o -`: refuse a binary first block.
    pub(super) guard: bool,
    /// `--limit-rate`.
    pub(super) limit: Option<RateLimit>,
}

impl Output for CliOutput<'_> {
    fn resume_path(&self) -> Option<PathBuf> {
        let args = self.args;
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
        let args = self.args;
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
            note_kept(args, &dest, response, &at);
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
        let decoding = self.args.compressed && response.headers().get("content-encoding").is_some();
        let total = response
            .content_length()
            .filter(|_| !decoding)
            .map(|n| n + already);
        self.progress = match self.board {
            Some(board) if self.to_file => {
                Some(board.bar(&remote_name(&self.url).to_string_lossy(), total))
            }
            Some(_) => None,
            None => Progress::start(self.args.client.silent, self.to_file, total),
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
        if self.args.remote_time {
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

/// Whether the output is standard output (`-o -`, or no `-o` at all).
pub(super) fn is_stdout(spec: &OutputSpec) -> bool {
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
fn note_kept(args: &FetchArgs, dest: &Destination, response: &Response, at: &str) {
    let Destination::File { path, .. } = dest else {
        return;
    };
    if args.client.silent || !path.is_file() {
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
