//! One transfer as `rawhttp fetch` (and `save`) run it: send, resume `NAME.part` when asked
//! (Range + If-Range), stream the body into its sink while hashing it, check `--expect-sha256`,
//! commit, and retry transient failures with backoff. Returns the [`Record`] `-w` prints.
//! Where the body goes (and what a status means) is the caller's [`Output`]; the decisions are
//! the pure functions of `retry` and `resume`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::body::BUF_SIZE;
use super::decode::{decoded, parse_codings, Coding};
use super::resume::{judge, meta_path, ResumeVerdict, Validator};
use super::retry::{self, RetryPolicy};
use super::sink::{part_path, Sink};
use super::writeout::{Record, Verdict};
use super::{Request, Response};
use crate::proto::framing::BodyKind;
use crate::Error;

/// How a transfer treats failures and part files.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransferOptions {
    /// `--retry N`, `--retry-delay`, `--retry-max-time`.
    pub retry: RetryPolicy,
    /// `-C`: continue an existing `NAME.part` from the first attempt on.
    pub resume: bool,
    /// `--no-restart`: a server that will not continue the part file is exit 33, not a
    /// restart from zero.
    pub no_restart: bool,
    /// `--expect-sha256`: the digest the saved bytes must have.
    pub expect_sha256: Option<[u8; 32]>,
    /// Compute the SHA-256 of the saved bytes for the record (`%{json}`, `%{sha256}`); always
    /// done when `expect_sha256` is set. Off, a large body costs no hashing.
    pub hash: bool,
    /// `--compressed`: undo the response's Content-Encoding before saving. The part file then
    /// holds decoded bytes, which a Range over the encoded ones cannot continue: no resume.
    pub decode: bool,
    /// `--max-filesize` applied to the decoded bytes (a small body may inflate past it).
    pub max_decoded: Option<u64>,
}

impl TransferOptions {
    /// Part files survive a failure (so a later attempt or run resumes) with `-C` or `--retry`.
    pub(crate) fn keeps_part(&self) -> bool {
        self.resume || self.retry.max_retries > 0
    }
}

/// Where a transfer's body goes: the caller's policy for statuses, names and progress.
pub(crate) trait Output {
    /// The destination file, when it is known before the request (required to resume).
    fn resume_path(&self) -> Option<PathBuf>;

    /// A final response arrived (not a continued part file): fail on its status, or return
    /// the sink for its body; `None` means nothing is to be written (a 304 keeping a file).
    fn open(&mut self, response: &Response) -> Result<Option<Sink>, Error>;

    /// A body of `total` bytes (when known) starts, `already` of them kept from a part file.
    fn started(&mut self, _response: &Response, _already: u64) {}

    /// A block is about to be written: refuse it (a binary body on a terminal) or count it.
    fn before_write(&mut self, _block: &[u8]) -> Result<(), Error> {
        Ok(())
    }

    /// How much of a `buf`-byte buffer one read may fill (a rate limit reads in slices).
    fn read_size(&self, buf: usize) -> usize {
        buf
    }

    /// The body is complete and about to be renamed into place (e.g. to set its mtime).
    fn before_commit(&mut self, _response: &Response, _sink: &mut Sink) -> Result<(), Error> {
        Ok(())
    }

    /// The transfer attempt ended; `saved` is the file now in place, on success.
    fn finished(&mut self, _saved: Option<&Path>) {}

    /// The batch was stopped (`--fail-early`): no further retry.
    fn stopped(&self) -> bool {
        false
    }
}

/// Run `request` to completion into `out`, with retries; the record says what happened and
/// `Err` is the failure that ended it.
pub(crate) fn transfer(
    request: &Request,
    opts: &TransferOptions,
    out: &mut dyn Output,
) -> (Record, Result<(), Error>) {
    let started = Instant::now();
    let mut record = Record::new(request.url().as_str());
    let mut retry_no = 0;
    // Body bytes went where they cannot be taken back (stdout, a device): a retry would
    // repeat them, so there is none (curl refuses too).
    let mut spilled = false;
    loop {
        let resume = opts.resume || retry_no > 0;
        let result = attempt(request, opts, resume, out, &mut record, &mut spilled);
        record.time_total = started.elapsed();
        let (error, retry_after) = match result {
            Ok(()) => return (record, Ok(())),
            Err(failure) => failure,
        };
        let delay = retry::next_delay(&opts.retry, retry_no, retry_after, retry::jitter());
        let again = retry::is_transient(&error)
            && !spilled
            && !out.stopped()
            && retry::may_retry(&opts.retry, retry_no, started.elapsed(), delay);
        if !again {
            record.fail(&error);
            return (record, Err(error));
        }
        std::thread::sleep(delay);
        retry_no += 1;
        record.retries = retry_no;
    }
}

/// A failed attempt: the error and the server's `Retry-After`, when it sent one.
type Failure = (Error, Option<Duration>);

/// What an attempt found in the part file before sending.
struct Resumable {
    path: PathBuf,
    offset: u64,
    validator: Validator,
}

/// One request and its body. `resume`: continue `NAME.part` if there is one.
fn attempt(
    request: &Request,
    opts: &TransferOptions,
    resume: bool,
    out: &mut dyn Output,
    record: &mut Record,
    spilled: &mut bool,
) -> Result<(), Failure> {
    let plain = |e: Error| (e, None);
    let mut from = if resume && !opts.decode {
        resumable(out)
    } else {
        None
    };
    loop {
        let mut req = request.clone();
        if let Some(r) = &from {
            req = req.header("Range", &format!("bytes={}-", r.offset));
            if let Some(v) = r.validator.if_range() {
                req = req.header("If-Range", v);
            }
        }
        let response = req.send().map_err(plain)?;
        note_response(record, &response);
        let Some(r) = &from else {
            return fresh(response, opts, out, record, spilled);
        };
        let range = response.headers().get("content-range");
        match judge(response.status(), range, r.offset, r.validator.length) {
            ResumeVerdict::Append => return append(response, r, opts, out, record),
            ResumeVerdict::Complete => return complete(response, r, opts, out, record),
            ResumeVerdict::NotResume => return fresh(response, opts, out, record, spilled),
            verdict if opts.no_restart => {
                let why = match verdict {
                    ResumeVerdict::RestartWithThis => "the server sent the whole file again",
                    _ => "the server's range does not continue the part file",
                };
                return Err(plain(Error::ResumeImpossible(format!(
                    "{why} and --no-restart is given; {} kept",
                    part_path(&r.path).unwrap_or_default().display()
                ))));
            }
            ResumeVerdict::RestartWithThis => return fresh(response, opts, out, record, spilled),
            ResumeVerdict::RestartFresh => {
                drop(response);
                from = None;
            }
        }
    }
}

/// The part file to continue and its saved validator, when there is a non-empty one.
fn resumable(out: &dyn Output) -> Option<Resumable> {
    let path = out.resume_path()?;
    let part = part_path(&path)?;
    let offset = fs::metadata(&part).ok().filter(|m| m.is_file())?.len();
    if offset == 0 {
        return None;
    }
    let validator = fs::read_to_string(meta_path(&part))
        .map(|t| Validator::from_meta(&t))
        .unwrap_or_default();
    Some(Resumable {
        path,
        offset,
        validator,
    })
}

fn note_response(record: &mut Record, response: &Response) {
    let t = response.timings();
    record.http_code = response.status();
    record.url_effective = response.url().to_string();
    record.num_redirects = response.redirect_heads().len() as u32;
    record.time_namelookup = t.namelookup;
    record.time_connect = t.connect;
    record.time_appconnect = t.appconnect;
    record.time_starttransfer = t.starttransfer;
    record.remote_ip = response.remote_addr().map(|a| a.ip());
    record.connection_reused = response.connection_reused();
    record.size_download = 0;
    record.resumed_from = 0;
    record.verdict = Verdict::Unverified;
}

/// nginx and `rawhttp serve` answer plain HTTP on an HTTPS port with a 400 whose body says
/// "The plain HTTP request was sent to HTTPS port": the same mistake as getting a TLS record
/// back, so a status failure becomes the same hint (use https://, exit 8). Reads at most 1 KiB
/// of a body that is discarded anyway.
fn tls_port_hint(e: Error, response: &mut Response) -> Error {
    if e.exit_code() != 22 || response.status() != 400 || response.url().scheme() != "http" {
        return e;
    }
    let mut start = Vec::new();
    // A body that cannot be read is simply not the telltale one.
    let _ = response.by_ref().take(1024).read_to_end(&mut start);
    let telltale = String::from_utf8_lossy(&start)
        .to_ascii_lowercase()
        .contains("plain http request was sent to https port");
    match telltale {
        true => Error::Protocol(crate::ProtoError::TlsRecord).at_url(response.url().as_str()),
        false => e,
    }
}

/// `Retry-After` of a response, as a wait from now.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get("retry-after")?;
    retry::parse_retry_after(value, SystemTime::now())
}

/// A whole body from byte zero: the output decides where it goes.
fn fresh(
    mut response: Response,
    opts: &TransferOptions,
    out: &mut dyn Output,
    record: &mut Record,
    spilled: &mut bool,
) -> Result<(), Failure> {
    let sink = match out.open(&response) {
        Ok(Some(sink)) => sink,
        Ok(None) => {
            record.verdict = Verdict::Complete;
            response.release();
            return Ok(());
        }
        Err(e) => {
            let e = tls_port_hint(e, &mut response);
            return Err((e, retry_after(&response)));
        }
    };
    let mut sink = sink;
    if opts.keeps_part() {
        sink.keep_part_on_failure(true);
        if let Some(part) = sink.part_path() {
            let length = response.content_length();
            let meta = Validator::from_headers(response.headers(), length).to_meta();
            // Best effort: without it a later resume only lacks If-Range, it stays correct.
            let _ = fs::write(meta_path(part), meta);
        }
    }
    let in_place = sink.part_path().is_none();
    out.started(&response, 0);
    let hasher = (opts.hash || opts.expect_sha256.is_some()).then(Sha256::new);
    let result = stream_body(&mut response, sink, hasher, opts, out, record);
    *spilled = in_place && response.body_received() > 0;
    finish(response, result, out)
}

/// The part file reopened at its end to continue it (kept if this attempt fails too), with
/// the hash of the bytes it already holds.
fn reopen_part(
    from: &Resumable,
    opts: &TransferOptions,
    record: &mut Record,
) -> Result<(Sink, Option<Sha256>), Failure> {
    let plain = |e: Error| (e, None);
    let mut sink = Sink::open_part_at(&from.path, from.offset).map_err(plain)?;
    sink.keep_part_on_failure(true);
    let hasher = hash_prefix(opts, &from.path, from.offset).map_err(plain)?;
    record.resumed_from = from.offset;
    Ok((sink, hasher))
}

/// A 206 continuing the part file: hash what is kept, append the rest.
fn append(
    mut response: Response,
    from: &Resumable,
    opts: &TransferOptions,
    out: &mut dyn Output,
    record: &mut Record,
) -> Result<(), Failure> {
    let (sink, hasher) = reopen_part(from, opts, record)?;
    out.started(&response, from.offset);
    let result = stream_body(&mut response, sink, hasher, opts, out, record);
    finish(response, result, out)
}

/// A 416 whose `bytes */LEN` equals the part file's size: the part file is the whole file.
fn complete(
    response: Response,
    from: &Resumable,
    opts: &TransferOptions,
    out: &mut dyn Output,
    record: &mut Record,
) -> Result<(), Failure> {
    let (sink, hasher) = reopen_part(from, opts, record)?;
    record.http_code = response.status();
    let result = seal(sink, hasher, opts, record, true);
    finish(response, result, out)
}

fn finish(
    response: Response,
    result: Result<Option<PathBuf>, Error>,
    out: &mut dyn Output,
) -> Result<(), Failure> {
    match result {
        Ok(saved) => {
            response.release();
            out.finished(saved.as_deref());
            Ok(())
        }
        Err(e) => {
            out.finished(None);
            Err((e, None))
        }
    }
}

/// Copy the body into the sink, hashing it, then verify and commit. Returns the saved path.
fn stream_body(
    response: &mut Response,
    mut sink: Sink,
    mut hasher: Option<Sha256>,
    opts: &TransferOptions,
    out: &mut dyn Output,
    record: &mut Record,
) -> Result<Option<PathBuf>, Error> {
    let codings = codings_to_undo(opts, response)?;
    with_buffer(|buf| {
        let len = out.read_size(buf.len()).clamp(1, buf.len());
        let buf = &mut buf[..len];
        if codings.is_empty() {
            let mut read = |b: &mut [u8]| response.read_body(b);
            return copy_into(&mut read, &mut sink, &mut hasher, out, buf);
        }
        let mut body = decoded(&mut *response, &codings, opts.max_decoded)?;
        // The crate's own error comes back out of the io::Error (see Error's From).
        let mut read = |b: &mut [u8]| body.read(b).map_err(Error::from);
        copy_into(&mut read, &mut sink, &mut hasher, out, buf)
    })
    .inspect_err(|_| record.size_download = response.body_received())?;
    record.size_download = response.body_received();
    out.before_commit(response, &mut sink)?;
    let verified = response.is_verified() || response.body_kind() == BodyKind::NoBody;
    seal(sink, hasher, opts, record, verified)
}

/// Run `f` with this thread's body buffer: one allocation per worker thread instead of one
/// per transfer (a 128 KiB zeroed buffer per 2 KiB file showed in batch profiles).
fn with_buffer<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < BUF_SIZE {
                buf.resize(BUF_SIZE, 0);
            }
            f(&mut buf)
        }
        // Re-entered (not done today): a buffer of its own.
        Err(_) => f(&mut vec![0u8; BUF_SIZE]),
    })
}

fn copy_into(
    read: &mut dyn FnMut(&mut [u8]) -> Result<usize, Error>,
    sink: &mut Sink,
    hasher: &mut Option<Sha256>,
    out: &mut dyn Output,
    buf: &mut [u8],
) -> Result<(), Error> {
    loop {
        let n = match read(buf) {
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            n => n?,
        };
        if n == 0 {
            return Ok(());
        }
        out.before_write(&buf[..n])?;
        if let Some(h) = hasher.as_mut() {
            h.update(&buf[..n]);
        }
        sink.write_all(&buf[..n])?;
    }
}

/// `--compressed`: the codings of Content-Encoding to undo, last applied first undone.
fn codings_to_undo(opts: &TransferOptions, response: &Response) -> Result<Vec<Coding>, Error> {
    match response.headers().get("content-encoding") {
        Some(value) if opts.decode => parse_codings(value).map_err(|why| Error::Decoding {
            why,
            truncated: false,
        }),
        _ => Ok(Vec::new()),
    }
}

/// Check the digest and rename the part file into place.
fn seal(
    mut sink: Sink,
    hasher: Option<Sha256>,
    opts: &TransferOptions,
    record: &mut Record,
    verified: bool,
) -> Result<Option<PathBuf>, Error> {
    let digest: Option<[u8; 32]> = hasher.map(|h| h.finalize().into());
    record.sha256 = digest.as_ref().map(|d| hex(d));
    record.verdict = if verified {
        Verdict::Complete
    } else {
        Verdict::Unverified
    };
    if let (Some(expected), Some(digest)) = (opts.expect_sha256, digest) {
        if expected != digest {
            // Wrong bytes are not worth resuming: the part file goes too.
            sink.keep_part_on_failure(false);
            if opts.keeps_part() {
                remove_meta(&sink);
            }
            return Err(Error::ChecksumMismatch {
                expected: hex(&expected),
                got: hex(&digest),
            });
        }
    }
    let saved = sink.path().map(Path::to_path_buf);
    if opts.keeps_part() {
        remove_meta(&sink);
    }
    sink.commit()?;
    record.filename_effective = saved.as_ref().map(|p| p.display().to_string());
    Ok(saved)
}

fn remove_meta(sink: &Sink) {
    if let Some(part) = sink.part_path() {
        let _ = fs::remove_file(meta_path(part));
    }
}

/// SHA-256 state over the first `len` bytes of `NAME.part` (the bytes a resume keeps).
fn hash_prefix(opts: &TransferOptions, path: &Path, len: u64) -> Result<Option<Sha256>, Error> {
    if !opts.hash && opts.expect_sha256.is_none() {
        return Ok(None);
    }
    let mut hasher = Sha256::new();
    let part = part_path(path).unwrap_or_default();
    let file = fs::File::open(&part).map_err(Error::Write)?;
    let mut reader = file.take(len);
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = reader.read(&mut buf).map_err(Error::Write)?;
        if n == 0 {
            return Ok(Some(hasher));
        }
        hasher.update(&buf[..n]);
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// `--expect-sha256 HEX`: 64 hex digits, either case.
pub(crate) fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a SHA-256 digest (64 hex digits)");
    // Digits only: `from_str_radix` alone would accept a `+` sign.
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_and_print_as_hex() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let bytes = parse_sha256(empty).expect("valid");
        assert_eq!(hex(&bytes), empty);
        let digest: [u8; 32] = Sha256::new().finalize().into();
        assert_eq!(digest, bytes);
        assert_eq!(
            parse_sha256(&empty.to_uppercase()).map(|b| hex(&b)),
            Ok(empty.to_string())
        );
        for bad in [
            "",
            "abc",
            &empty[1..],
            &format!("{}g", &empty[1..]),
            &"é".repeat(32),
        ] {
            assert!(parse_sha256(bad).is_err(), "{bad}");
        }
        let signed = "+3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(parse_sha256(signed).is_err());
    }
}
