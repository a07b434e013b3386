//! The test-fixture library: `Server::new(dir).start()` -> a handle with `url()`, TLS trust,
//! recorded requests and a clean shutdown, like Go's httptest.

/// Builder for a fixture server (issue 4).
pub struct Server {
    _todo: (),
}

/// A running fixture server; stops on `shutdown()` or drop.
pub struct ServerHandle {
    _todo: (),
}
