//! argv -> options -> `fetch::run` / `serve::run`; each returns the process exit code.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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

// Built once per process: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Fetch URLs and save their bodies
    Fetch(rawhttp::fetch::FetchArgs),
    /// Serve a folder over HTTP or HTTPS
    Serve(rawhttp::serve::ServeArgs),
    /// Save a page with everything it needs (or a site) so it opens offline
    Save(rawhttp::save::SaveArgs),
}

fn main() {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => std::process::exit(report_usage(e)),
    };
    let code = match cli.command {
        Command::Fetch(mut args) => {
            if let Some(fetch) = matches.subcommand_matches("fetch") {
                args.record_output_order(fetch);
            }
            rawhttp::fetch::run(args)
        }
        Command::Serve(args) => rawhttp::serve::run(args),
        Command::Save(args) => rawhttp::save::run(args),
    };
    std::process::exit(code);
}

/// Help and version go out as clap renders them (exit 0); a usage error becomes the one stderr
/// line every rawhttp failure is (`rawhttp: usage: <why> (see --help)`), exit 2 (README), with
/// everything clap said in it: the missing arguments, the possible values, its tips and the
/// usage synopsis.
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
            let why = one_line(&e.render().to_string());
            eprintln!(
                "rawhttp: {}",
                rawhttp::Error::Usage(format!("{why} (see --help)"))
            );
            2
        }
    }
}

/// Clap's multi-line message as one line: lines joined by `; ` (by a space after a line that
/// ends in `:`, whose list follows), without the `error: ` prefix and the `--help` pointer.
fn one_line(rendered: &str) -> String {
    let mut out = String::new();
    for line in rendered.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("For more information") {
            continue;
        }
        let line = line.trim_start_matches("error: ");
        if !out.is_empty() {
            let list = out.ends_with(':') || line.starts_with('[');
            out.push_str(if list { " " } else { "; " });
        }
        match line.strip_prefix("Usage: ") {
            Some(usage) => {
                out.push_str("usage: ");
                out.push_str(usage);
            }
            None => out.push_str(line),
        }
    }
    if out.is_empty() {
        out.push_str("invalid arguments");
    }
    out
}
