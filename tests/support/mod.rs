//! Shared helpers for the black-box `rawhttp fetch` tests: a loopback replay server (plain and
//! TLS), rawhttp's own fixture server with faults, a test PKI made at run time, and
//! runners/asserts for the built binary.
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

pub mod own;
pub mod pki;
pub mod proxy;
pub mod replay;
pub mod run;
pub mod scripted;
pub mod wire;

pub use own::{
    echo_server, fault_server, targets, tls_fault_server, url_of, write_fixture_ca, HELLO,
};
pub use pki::{Leaf, TestPki};
pub use proxy::{OnConnect, TestProxy};
pub use replay::{fixture, pattern_byte, After, Handshake, ReplayServer, Reply};
pub use run::{
    assert_no_part_files, assert_url_fails_and_keeps_destination, assert_url_saves, fetch,
    fetch_env, fetch_url_to_file, names, on_a_terminal, rawhttp, rawhttp_env, read, walk, Outcome,
    PROMPT, PROXY_VARIABLES,
};

/// A fresh temporary directory for one test's files.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The default User-Agent the README promises.
pub fn default_user_agent() -> String {
    format!("rawhttp/{}", env!("CARGO_PKG_VERSION"))
}

/// Header lines of a raw request head, as (lower-case name, value) pairs after the request line.
pub fn request_fields(head: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

/// The request line of a raw request head.
pub fn request_line(head: &[u8]) -> String {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .next()
        .unwrap_or("")
        .to_string()
}
