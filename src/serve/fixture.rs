//! The test-fixture library: `Server::new(dir).start()` -> a handle with `url()`, TLS trust,
//! recorded requests and a clean shutdown, like Go's httptest. It only configures and owns an
//! `event_loop::Engine`; answering requests is the engine's and the responder's job.
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
//!
//! Layout: the builder is here, its HTTPS methods in `tls`; `start` turns it into an engine;
//! `handle` is the running server a test holds.

mod handle;
mod start;
mod tls;

use std::path::PathBuf;

use super::badssl::{TlsFault, TlsVersion};
use super::faults::{FaultPlan, FaultRule, Faults};
use super::record;
use super::routes::{Reply, Route};

pub use handle::ServerHandle;

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
}

/// `RAWHTTP_FIXTURE_KEEP` is set (see the module docs).
fn keep_requested() -> bool {
    std::env::var_os(KEEP_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}
