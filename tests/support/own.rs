//! rawhttp's own server, in-process: the fixture library (`rawhttp::serve::Server`) serving one
//! in-memory file with fault query parameters honoured (`?truncate=5`, `?stall`, ...). The
//! server for fetch tests whose scenario is one of the README's faults; corner cases no well-behaved
//! server can produce (malformed heads, bad chunk sizes) stay on the raw replay server.

use std::path::Path;

use rawhttp::serve::{Server, ServerHandle};

/// What `/hello.txt` holds (the same bytes as the replay fixtures' bodies).
pub const HELLO: &[u8] = b"hello, world\n";

/// A plain HTTP fixture serving `/hello.txt`, honouring fault query parameters.
pub fn fault_server() -> ServerHandle {
    hello().start().expect("start the fixture server")
}

/// The same over HTTPS with a fresh self-signed CA (see [`write_fixture_ca`]).
pub fn tls_fault_server() -> ServerHandle {
    hello()
        .self_signed_tls()
        .start()
        .expect("start the TLS fixture server")
}

/// A plain HTTP fixture that answers every request with the exact bytes it received (`--echo`),
/// so a saved body is the request as sent.
pub fn echo_server() -> ServerHandle {
    Server::in_memory()
        .echo("/")
        .start()
        .expect("start the echo fixture")
}

fn hello() -> Server {
    Server::in_memory().file("hello.txt", HELLO).query_faults()
}

/// `server`'s base URL joined with `path_and_query` (no leading slash), e.g. `hello.txt?stall`.
pub fn url_of(server: &ServerHandle, path_and_query: &str) -> String {
    format!("{}{path_and_query}", server.url())
}

/// Write `server`'s CA to `dir/fixture-ca.pem` for `--cacert`; returns the path.
pub fn write_fixture_ca(server: &ServerHandle, dir: &Path) -> String {
    let path = dir.join("fixture-ca.pem");
    std::fs::write(&path, server.ca_pem()).expect("write fixture-ca.pem");
    path.to_string_lossy().into_owned()
}

/// The requests `server` saw, as (method, target) pairs in arrival order.
pub fn targets(server: &ServerHandle) -> Vec<(String, String)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.target))
        .collect()
}
