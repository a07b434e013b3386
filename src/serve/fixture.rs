//! The test-fixture library: `Server::new(dir).start()` -> a handle with `url()`, TLS trust,
//! recorded requests and a clean shutdown, like Go's httptest. It only configures and owns an
//! [`Engine`]; answering requests is the engine's and the responder's job.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Read;
//! let server = rawhttp::serve::Server::new("fixtures/www").self_signed_tls().start()?; // 127.0.0.1:0
//! let url: url::Url = server.url();           // https://127.0.0.1:PORT/
//! let mut response = rawhttp::fetch::Request::get(url.join("hello.txt")?)
//!     .tls_config(server.client_tls_config()) // Arc<rustls::ClientConfig> trusting this server only
//!     .send()?;
//! assert_eq!(response.status(), 200);         // also: response.headers()
//! let mut body = Vec::new();
//! response.read_to_end(&mut body)?;           // Response is an io::Read over the body
//! let addr = server.addr();                   // std::net::SocketAddr
//! assert_eq!(server.requests()[0].target, "/hello.txt");
//! drop(server);                               // stops: listener closed, in-flight finished
//! assert!(std::net::TcpStream::connect(addr).is_err());
//! # Ok(())
//! # }
//! ```
//!
//! Debugging: with `RAWHTTP_FIXTURE_KEEP=1` in the environment, each fixture prints its URL on
//! stderr when it starts and, instead of stopping, keeps serving when the test drops it (the
//! test then blocks until interrupted), like Go's `-httptest.serve`. For a TLS fixture the CA
//! is written to a file named in that line, for `curl --cacert`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::badssl::{self, TlsFault, TlsVersion};
use super::config::EngineConfig;
use super::event_loop::Engine;
use super::faults::{FaultPlan, FaultRule, Faults};
use super::record::{self, RecordedRequest, RequestLog};
use super::routes::{self, Reply, Route};
use super::site::Site;
use super::LogFormat;
use crate::error::Error;
use crate::proto::limits;
use crate::tls::client_config;

/// Set to `1` to keep fixtures alive after their test and print their URLs (see module docs).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// assert_eq!(rawhttp::serve::fixture::KEEP_ENV, "RAWHTTP_FIXTURE_KEEP");
/// # Ok(())
/// # }
/// ```
pub const KEEP_ENV: &str = "RAWHTTP_FIXTURE_KEEP";

/// The modification time every file reports with [`Server::reproducible_validators`]:
/// 2001-09-09T01:46:40Z (10^9 seconds), fixed so Last-Modified is the same on every run.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rawhttp::serve::Server::in_memory().file("a", "a").reproducible_validators().start()?;
/// let response = rawhttp::fetch::Request::head(server.url().join("a")?).send()?;
/// let modified = response.headers().get_str("Last-Modified").ok_or("no Last-Modified")?;
/// let secs = rawhttp::serve::fixture::FIXED_MTIME_SECS;
/// let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
/// assert_eq!(httpdate::parse_http_date(modified)?, fixed);
/// # Ok(())
/// # }
/// ```
pub const FIXED_MTIME_SECS: u64 = 1_000_000_000;

/// Builder for a fixture server. Nothing runs until [`Server::start`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rawhttp::serve::Server::new("fixtures/www").start()?;
/// assert!(server.url().as_str().starts_with("http://127.0.0.1:"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    root: Root,
    tls: bool,
    tls_fault: Option<TlsFault>,
    tls_version: Option<TlsVersion>,
    routes: Vec<Route>,
    log_cap: usize,
    /// Addresses to listen on; empty = loopback port 0.
    binds: Vec<String>,
    plan: FaultPlan,
    echo: Option<String>,
    reproducible: bool,
    /// `file` was called on a `Server::new(dir)` server: reported by `start`.
    file_on_dir: bool,
}

/// Where the served files come from.
#[derive(Debug, Clone)]
enum Root {
    /// An existing folder, served in place.
    Dir(PathBuf),
    /// Files given in code, written to a private temporary folder at start.
    Memory(Vec<(String, Vec<u8>)>),
}

impl Server {
    /// Serve the folder `dir` (relative paths are relative to the current directory, which is
    /// the package root under `cargo test`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::new("fixtures/www").start()?;
    /// let response = rawhttp::fetch::Request::get(server.url().join("hello.txt")?).send()?;
    /// assert_eq!(response.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Server {
        Server::with_root(Root::Dir(dir.into()))
    }

    /// Serve files given with [`Server::file`]; they live in a temporary folder owned by the
    /// handle and removed when it stops. Dotfiles are served too: you asked for them.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Read;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .file("a/b.txt", "hello\n")
    ///     .reproducible_validators()
    ///     .start()?;
    /// let mut response = rawhttp::fetch::Request::get(server.url().join("a/b.txt")?).send()?;
    /// let mut body = String::new();
    /// response.read_to_string(&mut body)?;
    /// assert_eq!(body, "hello\n");
    /// assert_eq!(
    ///     response.headers().get_str("Last-Modified"),
    ///     Some("Sun, 09 Sep 2001 01:46:40 GMT")
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn in_memory() -> Server {
        Server::with_root(Root::Memory(Vec::new()))
    }

    fn with_root(root: Root) -> Server {
        Server {
            root,
            tls: false,
            tls_fault: None,
            tls_version: None,
            routes: Vec::new(),
            log_cap: record::DEFAULT_LOG_CAP,
            binds: Vec::new(),
            plan: FaultPlan::default(),
            echo: None,
            reproducible: false,
            file_on_dir: false,
        }
    }

    /// Add a file at `path` (`a/b.txt` or `/a/b.txt`) to an in-memory server; a later call with
    /// the same path replaces the content. On a [`Server::new`] server, `start` refuses it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().file("/data/x.json", "{}").start()?;
    /// assert!(server.root().join("data/x.json").is_file());
    /// # Ok(())
    /// # }
    /// ```
    pub fn file(mut self, path: &str, content: impl Into<Vec<u8>>) -> Server {
        match &mut self.root {
            Root::Memory(files) => {
                files.retain(|(p, _)| p != path);
                files.push((path.to_string(), content.into()));
            }
            Root::Dir(_) => self.file_on_dir = true,
        }
        self
    }

    /// Serve HTTPS with a fresh CA and a leaf for localhost, 127.0.0.1 and ::1.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().file("a", "a").self_signed_tls().start()?;
    /// assert_eq!(server.url().scheme(), "https");
    /// let response = rawhttp::fetch::Request::get(server.url().join("a")?)
    ///     .tls_config(server.client_tls_config())
    ///     .send()?;
    /// assert_eq!(response.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn self_signed_tls(mut self) -> Server {
        self.tls = true;
        self
    }

    /// Serve HTTPS with a certificate that expired (valid 2000-01-01 to 2001-01-01), signed by
    /// the CA [`ServerHandle::client_tls_config`] trusts: a verifying client must refuse it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().file("a", "a").tls_expired().start()?;
    /// let got = rawhttp::fetch::Request::get(server.url().join("a")?)
    ///     .tls_config(server.client_tls_config())
    ///     .send();
    /// assert_eq!(got.err().map(|e| e.exit_code()), Some(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_expired(self) -> Server {
        self.tls_fault(TlsFault::Expired)
    }

    /// Serve HTTPS with a certificate valid only from the year 4000 (see [`Server::tls_expired`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().tls_not_yet_valid().start()?;
    /// let got = rawhttp::fetch::Request::get(server.url())
    ///     .tls_config(server.client_tls_config())
    ///     .send();
    /// assert_eq!(got.err().map(|e| e.exit_code()), Some(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_not_yet_valid(self) -> Server {
        self.tls_fault(TlsFault::NotYetValid)
    }

    /// Serve HTTPS with a certificate for `wrong.host.invalid` only (see [`Server::tls_expired`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().tls_wrong_host().start()?;
    /// let got = rawhttp::fetch::Request::get(server.url())
    ///     .tls_config(server.client_tls_config())
    ///     .send();
    /// assert_eq!(got.err().map(|e| e.exit_code()), Some(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_wrong_host(self) -> Server {
        self.tls_fault(TlsFault::WrongHost)
    }

    /// Serve HTTPS with a certificate signed by a CA that [`ServerHandle::client_tls_config`]
    /// and [`ServerHandle::ca_pem`] do not hold.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().tls_untrusted().start()?;
    /// let got = rawhttp::fetch::Request::get(server.url())
    ///     .tls_config(server.client_tls_config())
    ///     .send();
    /// assert_eq!(got.err().map(|e| e.exit_code()), Some(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_untrusted(self) -> Server {
        self.tls_fault(TlsFault::Untrusted)
    }

    /// Serve HTTPS with a self-signed `CA:TRUE` end-entity certificate, which is also what
    /// [`ServerHandle::ca_pem`] returns. [`ServerHandle::client_tls_config`] (webpki, the CA as
    /// a root) refuses a CA used as a leaf; OpenSSL clients (curl, Python) and `rawhttp fetch
    /// --cacert` accept it because it is byte-identical to a certificate they trust.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().tls_self_signed_leaf().start()?;
    /// let got = rawhttp::fetch::Request::get(server.url())
    ///     .tls_config(server.client_tls_config())
    ///     .send();
    /// assert_eq!(got.err().map(|e| e.exit_code()), Some(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_self_signed_leaf(self) -> Server {
        self.tls_fault(TlsFault::SelfSignedLeaf)
    }

    /// Serve HTTPS with `fault` (any [`TlsFault`], the CLI's `--tls-fault`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::badssl::TlsFault;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .tls_fault(TlsFault::HandshakeAlert)
    ///     .start()?;
    /// let got = rawhttp::fetch::Request::get(server.url())
    ///     .tls_config(server.client_tls_config())
    ///     .send();
    /// assert_eq!(got.err().map(|e| e.exit_code()), Some(35));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_fault(mut self, fault: TlsFault) -> Server {
        self.tls = true;
        self.tls_fault = Some(fault);
        self
    }

    /// Serve HTTPS offering only `version` (TLS 1.2 or 1.3); implies [`Server::self_signed_tls`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::badssl::TlsVersion;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .file("a", "a")
    ///     .tls_version(TlsVersion::Tls12)
    ///     .start()?;
    /// let response = rawhttp::fetch::Request::get(server.url().join("a")?)
    ///     .tls_config(server.client_tls_config())
    ///     .send()?;
    /// assert_eq!(response.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_version(mut self, version: TlsVersion) -> Server {
        self.tls = true;
        self.tls_version = Some(version);
        self
    }

    /// Answer `method` requests for `path` with `reply` (a `GET` route answers HEAD too);
    /// requests no route matches fall through to the files. The first matching route wins.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::routes::Reply;
    /// use std::io::Read;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .route("GET", "/api/x", Reply::status(201).header("X-Made", "yes").body("made\n"))
    ///     .start()?;
    /// let mut response = rawhttp::fetch::Request::get(server.url().join("api/x")?).send()?;
    /// assert_eq!(response.status(), 201);
    /// assert_eq!(response.headers().get_str("X-Made"), Some("yes"));
    /// let mut body = String::new();
    /// response.read_to_string(&mut body)?;
    /// assert_eq!(body, "made\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn route(self, method: &str, path: &str, reply: Reply) -> Server {
        self.add_route(Route::new(method, path, reply))
    }

    /// Add a route that may also match on query parameters and request headers.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::routes::{Reply, Route};
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .add_route(Route::new("GET", "/s", Reply::status(200).body("two")).query("page=2"))
    ///     .start()?;
    /// let hit = rawhttp::fetch::Request::get(server.url().join("s?page=2")?).send()?;
    /// assert_eq!(hit.status(), 200);
    /// let miss = rawhttp::fetch::Request::get(server.url().join("s?page=3")?).send()?;
    /// assert_eq!(miss.status(), 404); // falls through to the files: there is none
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_route(mut self, route: Route) -> Server {
        self.routes.push(route);
        self
    }

    /// Keep at most `cap` requests for [`ServerHandle::requests`] (default
    /// [`DEFAULT_LOG_CAP`](record::DEFAULT_LOG_CAP)); older ones are dropped, counted by
    /// [`ServerHandle::dropped_requests`] and noted once on stderr.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().request_log_cap(1).start()?;
    /// for _ in 0..3 {
    ///     rawhttp::fetch::Request::get(server.url()).send()?;
    /// }
    /// assert_eq!(server.requests().len(), 1);
    /// assert_eq!(server.dropped_requests(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn request_log_cap(mut self, cap: usize) -> Server {
        self.log_cap = cap;
        self
    }

    /// Listen on `addr` (`"[::1]:0"`, `"127.0.0.1:8080"`) instead of `127.0.0.1:0`; call it
    /// again for several addresses. Port 0 picks a free port, shared by all the port-0
    /// addresses when possible. [`ServerHandle::url`] names the first; `urls` lists all. A bad
    /// address is a usage error at `start`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # if std::net::TcpListener::bind("[::1]:0").is_err() { return Ok(()); } // no IPv6 here
    /// let server = rawhttp::serve::Server::in_memory().bind("[::1]:0").start()?;
    /// assert!(server.url().as_str().starts_with("http://[::1]:"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind(mut self, addr: &str) -> Server {
        self.binds.push(addr.to_string());
        self
    }

    /// Apply `faults` to every request.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::faults::Faults;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .file("a", "0123456789")
    ///     .faults(Faults { status: Some(503), ..Faults::default() })
    ///     .start()?;
    /// let response = rawhttp::fetch::Request::get(server.url().join("a")?).send()?;
    /// assert_eq!(response.status(), 503);
    /// # Ok(())
    /// # }
    /// ```
    pub fn faults(self, faults: Faults) -> Server {
        self.rule(None, None, faults)
    }

    /// Apply `faults` to every request whose path (before `?`, as sent) is `path`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::faults::Faults;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .file("a", "a")
    ///     .file("b", "b")
    ///     .fault_for_path("/b", Faults { status: Some(500), ..Faults::default() })
    ///     .start()?;
    /// let a = rawhttp::fetch::Request::get(server.url().join("a")?).send()?;
    /// let b = rawhttp::fetch::Request::get(server.url().join("b")?).send()?;
    /// assert_eq!((a.status(), b.status()), (200, 500));
    /// # Ok(())
    /// # }
    /// ```
    pub fn fault_for_path(self, path: &str, faults: Faults) -> Server {
        self.rule(Some(path), None, faults)
    }

    /// Apply `faults` to the `n`-th request (1-based) to `path` only: e.g. fail the first
    /// attempt and let a retry succeed.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use rawhttp::serve::faults::Faults;
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .file("a", "a")
    ///     .fault_for_nth("/a", 1, Faults { status: Some(503), ..Faults::default() })
    ///     .start()?;
    /// let first = rawhttp::fetch::Request::get(server.url().join("a")?).send()?;
    /// let second = rawhttp::fetch::Request::get(server.url().join("a")?).send()?;
    /// assert_eq!((first.status(), second.status()), (503, 200));
    /// # Ok(())
    /// # }
    /// ```
    pub fn fault_for_nth(self, path: &str, n: u64, faults: Faults) -> Server {
        self.rule(Some(path), Some(n), faults)
    }

    fn rule(mut self, path: Option<&str>, nth: Option<u64>, faults: Faults) -> Server {
        let path = path.map(|p| format!("/{}", p.trim_start_matches('/')));
        self.plan.rules.push(FaultRule { path, nth, faults });
        self
    }

    /// Honour fault query parameters (`?delay=200&truncate=10`), as `serve --faults` does.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().file("a", "a").query_faults().start()?;
    /// let response = rawhttp::fetch::Request::get(server.url().join("a?status=418")?).send()?;
    /// assert_eq!(response.status(), 418);
    /// # Ok(())
    /// # }
    /// ```
    pub fn query_faults(mut self) -> Server {
        self.plan.from_query = true;
        self
    }

    /// Answer requests under `path` with the exact bytes received (head and body), text/plain.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::io::Read;
    /// let server = rawhttp::serve::Server::in_memory().echo("/echo").start()?;
    /// let mut response = rawhttp::fetch::Request::get(server.url().join("echo/x")?).send()?;
    /// let mut body = String::new();
    /// response.read_to_string(&mut body)?;
    /// assert!(body.starts_with("GET /echo/x HTTP/1.1\r\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn echo(mut self, path: &str) -> Server {
        self.echo = Some(path.to_string());
        self
    }

    /// A fixed modification time and a content-hash ETag, so validators are the same on every
    /// run and across servers serving the same bytes.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let etag = |s: &rawhttp::serve::ServerHandle| -> Result<Option<String>, rawhttp::Error> {
    ///     let r = rawhttp::fetch::Request::head(s.url().join("a").expect("url")).send()?;
    ///     Ok(r.headers().get_str("ETag").map(str::to_string))
    /// };
    /// let one = rawhttp::serve::Server::in_memory().file("a", "same").reproducible_validators().start()?;
    /// let two = rawhttp::serve::Server::in_memory().file("a", "same").reproducible_validators().start()?;
    /// assert_eq!(etag(&one)?, etag(&two)?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn reproducible_validators(mut self) -> Server {
        self.reproducible = true;
        self
    }

    /// Bind `127.0.0.1:0` (or `[::1]:0` when IPv4 loopback is unavailable; or the
    /// [`Server::bind`] addresses) and serve on a thread of its own. Errors: `Usage` for a bad
    /// folder, file path, rule, route or address; `Bind`; `Io`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// assert!(server.addr().ip().is_loopback());
    /// assert_ne!(server.addr().port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn start(self) -> Result<ServerHandle, Error> {
        self.check_rules()?;
        let (root, temp) = self.prepare_root()?;
        let trust = match self.tls {
            true => Some(Trust::self_signed(self.tls_fault, self.tls_version)?),
            false => None,
        };
        let log = RequestLog::with_cap(self.log_cap);
        let config = self.engine_config(root, trust.as_ref(), &log);
        let root = config.site.root.clone();
        let engine = match self.bind_addrs()? {
            Some(addrs) => Engine::bind(config, &addrs)?,
            None => bind_loopback(config)?,
        };
        ServerHandle::new(engine, root, trust, log, temp)
    }

    /// The [`Server::bind`] addresses, parsed; `None` when none was given.
    fn bind_addrs(&self) -> Result<Option<Vec<SocketAddr>>, Error> {
        if self.binds.is_empty() {
            return Ok(None);
        }
        let parse = |b: &String| {
            b.parse::<SocketAddr>()
                .map_err(|_| Error::Usage(format!("bad bind address {b:?}: expected IP:PORT")))
        };
        self.binds
            .iter()
            .map(parse)
            .collect::<Result<_, _>>()
            .map(Some)
    }

    fn check_rules(&self) -> Result<(), Error> {
        routes::check_all(&self.routes)?;
        if self.file_on_dir {
            return Err(Error::Usage(
                "Server::file needs Server::in_memory(), not Server::new(dir)".into(),
            ));
        }
        match self.plan.rules.iter().any(|r| r.nth == Some(0)) {
            true => Err(Error::Usage("fault_for_nth counts from 1".into())),
            false => Ok(()),
        }
    }

    /// The folder to serve, and the temporary folder to remove at the end (in-memory files).
    fn prepare_root(&self) -> Result<(PathBuf, Option<tempfile::TempDir>), Error> {
        match &self.root {
            Root::Dir(dir) => Ok((canonical_dir(dir)?, None)),
            Root::Memory(files) => {
                let temp = tempfile::Builder::new()
                    .prefix("rawhttp-fixture-")
                    .tempdir()
                    .map_err(Error::Io)?;
                for (path, content) in files {
                    write_file(temp.path(), path, content)?;
                }
                Ok((canonical_dir(temp.path())?, Some(temp)))
            }
        }
    }

    fn engine_config(
        &self,
        root: PathBuf,
        trust: Option<&Trust>,
        log: &RequestLog,
    ) -> EngineConfig {
        let site = Site {
            root,
            listing: true,
            hidden: matches!(self.root, Root::Memory(_)),
            fixed_mtime: self
                .reproducible
                .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(FIXED_MTIME_SECS)),
            content_etag: self.reproducible,
            routes: self.routes.clone(),
            ..Site::default()
        };
        let mut plan = self.plan.clone();
        let tls_level = badssl::add_to_plan(self.tls_fault, &mut plan);
        let faults_on = plan.from_query || !plan.rules.is_empty() || tls_level;
        EngineConfig {
            site: Arc::new(site),
            tls: trust.map(|t| t.server.clone()),
            threads: 1,
            max_connections: limits::MAX_CONNECTIONS,
            per_ip: Default::default(),
            header_timeout: limits::HEADER_TIMEOUT,
            idle_timeout: limits::IDLE_TIMEOUT,
            log: if keep_requested() {
                LogFormat::Common
            } else {
                LogFormat::Off
            },
            faults: faults_on.then(|| Arc::new(plan)),
            echo: self.echo.clone(),
            record: Some(log.clone()),
        }
    }
}

/// `dir`, canonical, when it is a readable directory.
fn canonical_dir(dir: &Path) -> Result<PathBuf, Error> {
    let canonical = dir
        .canonicalize()
        .map_err(|e| Error::Usage(format!("cannot serve {}: {e}", dir.display())))?;
    match canonical.is_dir() {
        true => Ok(canonical),
        false => Err(Error::Usage(format!(
            "cannot serve {}: not a directory",
            dir.display()
        ))),
    }
}

/// Write one in-memory file under `root`; its path must stay inside (no `..`, `.`, empty
/// segments or NUL), since a fixture that writes outside its folder would be a nasty surprise.
fn write_file(root: &Path, path: &str, content: &[u8]) -> Result<(), Error> {
    let relative = path.trim_start_matches('/');
    let bad = |s: &str| s.is_empty() || s == "." || s == ".." || s.contains('\0');
    if relative.is_empty() || relative.split('/').any(bad) {
        return Err(Error::Usage(format!("bad fixture file path {path:?}")));
    }
    let target = root.join(relative);
    let failed =
        |e: std::io::Error| Error::Usage(format!("cannot write fixture file {path:?}: {e}"));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    std::fs::write(&target, content).map_err(failed)
}

/// `http://IP:PORT/` or `https://…`, IPv6 in brackets.
fn base_url(addr: SocketAddr, tls: bool) -> url::Url {
    // Invariant: a scheme, an IP literal and a port always make a valid URL.
    url::Url::parse(&super::base_url(addr, tls)).expect("socket address URL parses")
}

/// Bind IPv4 loopback, falling back to IPv6 loopback (hosts without 127.0.0.1 exist in CI).
fn bind_loopback(config: EngineConfig) -> Result<Engine, Error> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    match Engine::bind(config.clone(), &[v4]) {
        Ok(engine) => Ok(engine),
        Err(Error::Bind(_)) => Engine::bind(config, &[SocketAddr::from((Ipv6Addr::LOCALHOST, 0))]),
        Err(e) => Err(e),
    }
}

fn keep_requested() -> bool {
    std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A TLS fixture's trust material: the server side and a client that trusts only its CA.
struct Trust {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    ca_pem: String,
}

impl Trust {
    fn self_signed(fault: Option<TlsFault>, version: Option<TlsVersion>) -> Result<Trust, Error> {
        let made = badssl::self_signed(fault, version)?;
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(made.ca_der)
            .map_err(|e| Error::Io(std::io::Error::other(format!("fixture CA: {e}"))))?;
        Ok(Trust {
            server: made.config,
            client: client_config(roots),
            ca_pem: made.ca_pem,
        })
    }
}

/// A running fixture server; stops on `shutdown()` or drop. `Send + Sync`: share it with the
/// threads or async tasks of a test. The server runs on its own thread, so it needs no runtime;
/// stopping blocks until responses in flight are done (idle keep-alive connections are simply
/// closed), at most `SHUTDOWN_GRACE`, which an async test may prefer to do off its executor.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rawhttp::serve::Server::in_memory().start()?;
/// let shared = std::sync::Arc::new(server);
/// let for_thread = shared.clone();
/// std::thread::spawn(move || for_thread.url()).join().expect("thread");
/// # Ok(())
/// # }
/// ```
pub struct ServerHandle {
    engine: Mutex<Option<Engine>>,
    addr: SocketAddr,
    url: url::Url,
    /// Every address listened on, the first being `addr`.
    addrs: Vec<SocketAddr>,
    root: PathBuf,
    trust: Option<Trust>,
    client: Arc<rustls::ClientConfig>,
    log: RequestLog,
    /// In-memory files; removed after the engine has stopped.
    temp: Mutex<Option<tempfile::TempDir>>,
}

impl ServerHandle {
    fn new(
        engine: Engine,
        root: PathBuf,
        trust: Option<Trust>,
        log: RequestLog,
        temp: Option<tempfile::TempDir>,
    ) -> Result<ServerHandle, Error> {
        let Some(&addr) = engine.local_addrs().first() else {
            engine.shutdown();
            engine.wait();
            return Err(Error::Bind("the engine listens on no address".into()));
        };
        let addrs = engine.local_addrs().to_vec();
        let url = base_url(addr, trust.is_some());
        let client = match &trust {
            Some(t) => t.client.clone(),
            None => client_config(rustls::RootCertStore::empty()),
        };
        let handle = ServerHandle {
            engine: Mutex::new(Some(engine)),
            addr,
            url,
            addrs,
            root,
            trust,
            client,
            log,
            temp: Mutex::new(temp),
        };
        if keep_requested() {
            handle.announce();
        }
        Ok(handle)
    }

    /// The base URL, `http://127.0.0.1:PORT/` (`https://` with TLS; `[::1]` after a fallback).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// assert_eq!(server.url().port(), Some(server.addr().port()));
    /// assert_eq!(server.url().path(), "/");
    /// # Ok(())
    /// # }
    /// ```
    pub fn url(&self) -> url::Url {
        self.url.clone()
    }

    /// The address listened on (the first, with several [`Server::bind`] addresses).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// std::net::TcpStream::connect(server.addr())?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every address listened on, in [`Server::bind`] order.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory()
    ///     .bind("127.0.0.1:0")
    ///     .bind("127.0.0.2:0")
    ///     .start()?;
    /// assert_eq!(server.addrs().len(), 2);
    /// assert_eq!(server.urls()[1].host_str(), Some("127.0.0.2"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The base URL of every address listened on (the first is [`ServerHandle::url`]).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// assert_eq!(server.urls(), vec![server.url()]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn urls(&self) -> Vec<url::Url> {
        let tls = self.trust.is_some();
        self.addrs.iter().map(|a| base_url(*a, tls)).collect()
    }

    /// The folder served (canonical): the given one, or the temporary folder holding in-memory
    /// files, which is removed at shutdown. Files added here while running are served too.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// std::fs::write(server.root().join("late.txt"), "added while running")?;
    /// let response = rawhttp::fetch::Request::get(server.url().join("late.txt")?).send()?;
    /// assert_eq!(response.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A client configuration that trusts only this server's CA (ALPN http/1.1). For a plain
    /// HTTP fixture it trusts nothing at all.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().self_signed_tls().start()?;
    /// let config = server.client_tls_config();
    /// assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn client_tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.client.clone()
    }

    /// PEM of this server's CA (empty for a plain HTTP fixture).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().self_signed_tls().start()?;
    /// assert!(server.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    /// let dir = std::env::temp_dir().join(format!("ca-{}.pem", server.addr().port()));
    /// std::fs::write(&dir, server.ca_pem())?; // for curl --cacert
    /// # std::fs::remove_file(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn ca_pem(&self) -> &str {
        self.trust.as_ref().map_or("", |t| t.ca_pem.as_str())
    }

    /// Every request seen so far (the last [`Server::request_log_cap`] of them), in arrival
    /// order, with method, target, headers, HTTP version, peer address and TLS details.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// rawhttp::fetch::Request::get(server.url().join("x?y=1")?).send()?;
    /// let seen = server.requests();
    /// assert_eq!((seen[0].method.as_str(), seen[0].target.as_str()), ("GET", "/x?y=1"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    /// How many of the oldest requests were dropped from the log to respect its cap.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// assert_eq!(server.dropped_requests(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn dropped_requests(&self) -> u64 {
        self.log.dropped()
    }

    /// Block until `n` requests have arrived in all (since start) or `timeout` passed, then
    /// return the log: a test that drives a client on another thread or process needs no sleep.
    /// Errors: `Error::Timeout` when fewer arrived in time.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let server = rawhttp::serve::Server::in_memory().file("a", "a").start()?;
    /// let url = server.url().join("a")?;
    /// let client = std::thread::spawn(move || rawhttp::fetch::Request::get(url).send().map(|_| ()));
    /// let seen = server.wait_for_requests(1, Duration::from_secs(10))?;
    /// assert_eq!(seen[0].path(), "/a");
    /// client.join().expect("client thread")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, Error> {
        self.log
            .wait_for(n, timeout)
            .ok_or(Error::Timeout("waiting for requests at the fixture"))
    }

    /// Stop accepting, finish responses in flight (up to `SHUTDOWN_GRACE`), join the loop
    /// thread and remove in-memory files. Idempotent; also done on drop. With
    /// `RAWHTTP_FIXTURE_KEEP=1` it never returns: the fixture keeps serving for inspection.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// let addr = server.addr();
    /// server.shutdown();
    /// server.shutdown(); // idempotent
    /// assert!(std::net::TcpStream::connect(addr).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(&self) {
        if keep_requested() {
            eprintln!(
                "rawhttp fixture: kept serving at {} (interrupt to stop)",
                self.url
            );
            loop {
                std::thread::park();
            }
        }
        let engine = lock(&self.engine).take();
        if let Some(engine) = engine {
            engine.shutdown();
            engine.wait();
        }
        // Dropping the TempDir removes the files; errors are ignored as in TempDir's Drop.
        drop(lock(&self.temp).take());
    }

    /// Print the URL (and where the CA is) on stderr, for `RAWHTTP_FIXTURE_KEEP`.
    fn announce(&self) {
        let mut line = format!("rawhttp fixture: serving at {}", self.url);
        if let Some(trust) = &self.trust {
            let file =
                std::env::temp_dir().join(format!("rawhttp-fixture-{}-ca.pem", self.addr.port()));
            match std::fs::write(&file, &trust.ca_pem) {
                Ok(()) => line.push_str(&format!(" (curl --cacert {})", file.display())),
                Err(e) => line.push_str(&format!(" (could not write the CA: {e})")),
            }
        }
        eprintln!("{line}");
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("url", &self.url.as_str())
            .finish()
    }
}

/// Lock, carrying on after a poisoned lock: the guarded values stay valid when a holder
/// panicked (they are only ever taken whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_file_paths_stay_inside() {
        let dir = tempfile::tempdir().expect("temp dir");
        for bad in ["", "/", "../x", "a/../../x", "a//b", "./a", "a/.", "a\0b"] {
            let got = write_file(dir.path(), bad, b"x");
            assert!(matches!(got, Err(Error::Usage(_))), "{bad:?} accepted");
        }
        write_file(dir.path(), "/a/b/c.txt", b"x").expect("nested path");
        write_file(dir.path(), ".hidden", b"x").expect("dotfile");
        assert_eq!(
            std::fs::read(dir.path().join("a/b/c.txt")).expect("written"),
            b"x"
        );
    }

    #[test]
    fn builder_rules_are_normalised_and_checked() {
        let s = Server::in_memory()
            .fault_for_path("a.txt", Faults::default())
            .fault_for_nth("/b.txt", 2, Faults::default());
        let paths: Vec<_> = s.plan.rules.iter().map(|r| r.path.clone()).collect();
        assert_eq!(
            paths,
            [Some("/a.txt".to_string()), Some("/b.txt".to_string())]
        );
        assert!(s.check_rules().is_ok());
        let zero = Server::in_memory().fault_for_nth("/a", 0, Faults::default());
        assert!(matches!(zero.check_rules(), Err(Error::Usage(_))));
        let misuse = Server::new(".").file("a", "b");
        assert!(matches!(misuse.check_rules(), Err(Error::Usage(_))));
    }

    #[test]
    fn missing_folder_is_a_usage_error() {
        let got = Server::new("/nonexistent/rawhttp-fixture").start();
        assert!(matches!(got, Err(Error::Usage(_))), "{got:?}");
    }

    #[test]
    fn handle_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<ServerHandle>();
    }
}
