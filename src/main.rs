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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(report_usage(e)),
    };
    let code = match cli.command {
        Command::Fetch(args) => rawhttp::fetch::run(args),
        Command::Serve(args) => rawhttp::serve::run(args),
    };
    std::process::exit(code);
}

/// Help and version go out as clap renders them (exit 0); a usage error becomes the one stderr
/// line every rawhttp failure is (`rawhttp: usage: <why> (see --help)`), exit 2 (SPEC).
fn report_usage(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        // Bare `rawhttp`: the help is the most useful answer, still a usage error.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            2
        }
        _ => {
            let rendered = e.render().to_string();
            let why = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            eprintln!(
                "rawhttp: {}",
                rawhttp::Error::Usage(format!("{why} (see --help)"))
            );
            2
        }
    }
}
