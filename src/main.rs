//! argv -> options -> `fetch::run` / `serve::run`; each returns the process exit code.

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rawhttp",
    version,
    about = "Fetch URLs and serve folders over HTTP/1.1 and HTTPS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fetch URLs and save their bodies
    Fetch(rawhttp::fetch::FetchArgs),
    /// Serve a folder over HTTP or HTTPS
    Serve(rawhttp::serve::ServeArgs),
}

fn main() {
    // clap exits 2 on a usage error (SPEC) and 0 for --help/--version.
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Fetch(args) => rawhttp::fetch::run(args),
        Command::Serve(args) => rawhttp::serve::run(args),
    };
    std::process::exit(code);
}
