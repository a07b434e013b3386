//! The client: resolve -> connect (-> TLS) -> write request -> read head -> body -> sink.

/// `rawhttp fetch` flags (SPEC.md, fetch table).
#[derive(clap::Args, Debug, Clone)]
pub struct FetchArgs {
    /// URLs to fetch
    #[arg(required = true)]
    pub urls: Vec<String>,
}

/// Run `rawhttp fetch`; prints one stderr line per failure and returns the exit code.
pub fn run(args: FetchArgs) -> i32 {
    let _ = args;
    todo!("issue 2: fetch helper")
}
