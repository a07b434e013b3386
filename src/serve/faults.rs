//! Fault injection: what a test asks the server to do wrong, from query parameters (`--faults`)
//! or library rules (per path, per Nth request). Parsing here; sending behaviour in `conn`.

/// How one response should misbehave. `Default` is "behave".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Wait this long before sending the head.
    pub delay_ms: Option<u64>,
    /// Send the body at most this many bytes per second.
    pub rate: Option<u64>,
    /// Announce the full length, send this many body bytes, close.
    pub truncate: Option<u64>,
    /// Send this many body bytes, then reset the connection (RST).
    pub reset: Option<u64>,
    /// Send the head, then nothing until the client gives up.
    pub stall: bool,
    /// Send the body chunked instead of with Content-Length.
    pub chunked: bool,
    /// Send no length and close after the body.
    pub no_length: bool,
    /// Answer 200 with the whole body even when a Range was asked.
    pub ignore_range: bool,
    /// Answer with this status, the file as body.
    pub status: Option<u16>,
}

impl Faults {
    /// Faults named in a query string (`delay=200&truncate=100&stall`). Unknown or malformed
    /// parameters are ignored: they are ordinary query strings to the file being served.
    pub fn from_query(query: &str) -> Faults {
        let mut f = Faults::default();
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = value.parse::<u64>().ok();
            match name {
                "delay" => f.delay_ms = number.or(f.delay_ms),
                "rate" => f.rate = number.filter(|&n| n > 0).or(f.rate),
                "truncate" => f.truncate = number.or(f.truncate),
                "reset" => f.reset = number.or(f.reset),
                "stall" => f.stall = true,
                "chunked" => f.chunked = true,
                "no-length" => f.no_length = true,
                "ignore-range" => f.ignore_range = true,
                "status" => {
                    let code = number.filter(|n| (100..=999).contains(n)).map(|n| n as u16);
                    f.status = code.or(f.status);
                }
                _ => {}
            }
        }
        f
    }

    /// Nothing to inject.
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }
}

/// A library rule: these faults for requests whose path is `path` (any when `None`) and that are
/// the `nth` such request (1-based; every one when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub path: Option<String>,
    pub nth: Option<u64>,
    pub faults: Faults,
}

/// Where a server's faults come from: query parameters (the CLI's `--faults`) and/or rules.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    pub from_query: bool,
    pub rules: Vec<FaultRule>,
}
