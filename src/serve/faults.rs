//! Fault injection: what a test asks the server to do wrong, from query parameters (`--faults`)
//! or library rules (per path, per Nth request). Parsing, rule matching and the pure rewrites of
//! the request and response head live here; the timed sending behaviour (delay, rate, cut,
//! stall, chunk framing) is `conn`'s job.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::response::{BodySource, Response};
use crate::proto::request::RequestHead;
use crate::proto::status;
use crate::proto::syntax::parse_decimal;

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
    /// End the connection with a bare TCP FIN, no TLS close_notify (RFC 8446 §6.1), and
    /// unless `truncate` or `reset` says where, cut the body in the middle: the truncation a
    /// TLS client must not take for a complete body. (Plain HTTP: just the cut.)
    pub no_close_notify: bool,
}

impl Faults {
    /// Faults named in a query string (`delay=200&truncate=100&stall`). Unknown or malformed
    /// parameters are ignored: they are ordinary query strings to the file being served.
    pub fn from_query(query: &str) -> Faults {
        let mut f = Faults::default();
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = parse_decimal(value.as_bytes());
            match name {
                "delay" => f.delay_ms = number.or(f.delay_ms),
                "rate" => f.rate = number.filter(|&n| n > 0).or(f.rate),
                "truncate" => f.truncate = number.or(f.truncate),
                "reset" => f.reset = number.or(f.reset),
                "stall" => f.stall = true,
                "chunked" => f.chunked = true,
                "no-length" => f.no_length = true,
                "ignore-range" => f.ignore_range = true,
                "no-close-notify" => f.no_close_notify = true,
                "status" => {
                    // RFC 9110 §15: final status codes are 200..=599 (1xx are interim).
                    let code = number.filter(|n| (200..=599).contains(n)).map(|n| n as u16);
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
    /// The request path it applies to (`None`: every path).
    pub path: Option<String>,
    /// Only the n-th such request, 1-based (`None`: every one).
    pub nth: Option<u64>,
    /// What to do wrong.
    pub faults: Faults,
}

/// Where a server's faults come from: query parameters (the CLI's `--faults`) and/or rules.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Honour fault query parameters (`--faults`).
    pub from_query: bool,
    /// Library rules, all applying ones combined.
    pub rules: Vec<FaultRule>,
    /// Requests seen so far per rule path (`None` = all requests); only paths of rules with an
    /// `nth` are counted, so the map is bounded by the rules.
    pub counts: NthCounter,
    /// TLS fault `handshake-stall`: accept connections and never answer the ClientHello.
    pub handshake_stall: bool,
}

/// Thread-safe per-path request counters for `nth` rules (shared by every loop thread).
#[derive(Debug, Default)]
pub struct NthCounter(Mutex<HashMap<Option<String>, u64>>);

impl Clone for FaultPlan {
    /// A clone has the same rules and starts counting from zero.
    fn clone(&self) -> Self {
        FaultPlan {
            from_query: self.from_query,
            rules: self.rules.clone(),
            counts: NthCounter::default(),
            handshake_stall: self.handshake_stall,
        }
    }
}

impl FaultPlan {
    /// The CLI's `--faults`: query parameters only.
    pub fn query_only() -> FaultPlan {
        FaultPlan {
            from_query: true,
            ..FaultPlan::default()
        }
    }

    /// The faults for one request to `path` (the target's path, before `?`) with `query` (after
    /// `?`, may be empty), when it is the `nth_for_path`-th request to that path (1-based).
    /// Matching rules apply in order (a later rule's numbers win, flags add up); query
    /// parameters, when honoured, are the most specific and win last.
    pub fn faults_for(&self, path: &str, query: &str, nth_for_path: u64) -> Faults {
        self.merged(path, query, |_| nth_for_path)
    }

    /// Count this request (for `nth` rules) and return its faults: what the engine calls once
    /// per request. Rules without a path count every request to the server.
    pub fn next_faults(&self, path: &str, query: &str) -> Faults {
        if !self.rules.iter().any(|r| r.nth.is_some()) {
            return self.merged(path, query, |_| 0);
        }
        let nths = self.count(path);
        self.merged(path, query, |rule| {
            let key = rule.path.as_deref();
            nths.iter()
                .find(|(k, _)| k.as_deref() == key)
                .map_or(0, |(_, n)| *n)
        })
    }

    /// Bump the counters this request belongs to (its path, and "any path") and return them.
    fn count(&self, path: &str) -> Vec<(Option<String>, u64)> {
        let mut keys: Vec<Option<String>> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.nth.is_some()) {
            let key = rule.path.clone().filter(|p| p == path);
            if (rule.path.is_none() || key.is_some()) && !keys.contains(&key) {
                keys.push(key);
            }
        }
        // A poisoned lock only means another loop thread panicked mid-increment; the counts are
        // still usable integers, so carry on with them.
        let mut map = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        keys.into_iter()
            .map(|key| {
                let n = map.entry(key.clone()).or_insert(0);
                *n += 1;
                (key, *n)
            })
            .collect()
    }

    fn merged(&self, path: &str, query: &str, nth_of: impl Fn(&FaultRule) -> u64) -> Faults {
        let mut faults = Faults::default();
        for rule in &self.rules {
            let path_ok = rule.path.as_deref().is_none_or(|p| p == path);
            if path_ok && rule.nth.is_none_or(|n| n == nth_of(rule)) {
                faults = faults.combined_with(&rule.faults);
            }
        }
        if self.from_query {
            faults = faults.combined_with(&Faults::from_query(query));
        }
        faults
    }
}

/// Where a cut-short body stops and how the connection ends there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Body bytes sent before the cut.
    pub after: u64,
    /// Reset (RST, via SO_LINGER 0) instead of an orderly close.
    pub reset: bool,
}

/// How the body goes on the wire once faults are applied to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFraming {
    /// As the response says: Content-Length (or no body).
    AsIs,
    /// Chunked transfer coding (RFC 9112 §7.1), Content-Length removed.
    Chunked,
    /// No length at all: the body ends when the connection closes (RFC 9112 §6.3 rule 8).
    UntilClose,
}

impl Faults {
    /// `self` overlaid with `other`: `other`'s numbers win where it has them; flags add up.
    pub fn combined_with(&self, other: &Faults) -> Faults {
        Faults {
            delay_ms: other.delay_ms.or(self.delay_ms),
            rate: other.rate.or(self.rate),
            truncate: other.truncate.or(self.truncate),
            reset: other.reset.or(self.reset),
            stall: self.stall || other.stall,
            chunked: self.chunked || other.chunked,
            no_length: self.no_length || other.no_length,
            ignore_range: self.ignore_range || other.ignore_range,
            status: other.status.or(self.status),
            no_close_notify: self.no_close_notify || other.no_close_notify,
        }
    }

    /// `no_close_notify` without a cut point: cut after half of the announced Content-Length
    /// (nothing to cut in a bodyless response).
    pub fn cut_mid_body(mut self, response: &Response) -> Faults {
        if self.no_close_notify && self.truncate.is_none() && self.reset.is_none() {
            let length = response.header("Content-Length");
            self.truncate = length
                .and_then(|v| parse_decimal(v.as_bytes()))
                .map(|n| n / 2);
        }
        self
    }

    /// The wait before the head (`delay`).
    pub fn delay(&self) -> Option<Duration> {
        self.delay_ms.map(Duration::from_millis)
    }

    /// Where the body is cut, if anywhere: the earlier of `truncate` and `reset` (a reset at the
    /// same byte wins, being the harsher fault).
    pub fn cut(&self) -> Option<Cut> {
        match (self.truncate, self.reset) {
            (Some(t), Some(r)) if t < r => Some(Cut {
                after: t,
                reset: false,
            }),
            (_, Some(r)) => Some(Cut {
                after: r,
                reset: true,
            }),
            (Some(t), None) => Some(Cut {
                after: t,
                reset: false,
            }),
            (None, None) => None,
        }
    }

    /// Rewrite the request before it is answered: `ignore-range` drops Range and If-Range so
    /// the ordinary responder answers 200 with the whole body (RFC 9110 §14.2 lets a server
    /// ignore Range).
    pub fn adjust_request(&self, head: &mut RequestHead) {
        if self.ignore_range {
            head.headers.remove("Range");
            head.headers.remove("If-Range");
        }
    }

    /// Rewrite the response head (`status`, `chunked`, `no-length`) and say how the body must be
    /// framed on the wire. `minor_version` is the request's: HTTP/1.0 has no chunked coding, so
    /// `chunked` falls back to close-delimited there.
    pub fn adjust_response(&self, response: &mut Response, minor_version: u8) -> WireFraming {
        if let Some(code) = self.status {
            override_status(response, code);
        }
        if !status::has_body(response.status) {
            return WireFraming::AsIs;
        }
        let framing = match (self.chunked, self.no_length) {
            (true, false) if minor_version >= 1 => WireFraming::Chunked,
            (true, _) | (_, true) => WireFraming::UntilClose,
            (false, false) => WireFraming::AsIs,
        };
        if framing != WireFraming::AsIs {
            remove_header(response, "Content-Length");
        }
        if framing == WireFraming::Chunked {
            let field = ("Transfer-Encoding".to_string(), "chunked".to_string());
            response.headers.push(field);
        }
        framing
    }
}

/// Answer `code` instead, keeping the body; codes that cannot carry a body (1xx, 204, 304: RFC
/// 9110 §6.4.1) lose it, and 1xx/204 lose Content-Length too (RFC 9110 §8.6).
fn override_status(response: &mut Response, code: u16) {
    response.status = code;
    if !status::has_body(code) {
        response.body = BodySource::None;
        if code != 304 {
            remove_header(response, "Content-Length");
        }
    }
}

fn remove_header(response: &mut Response, name: &str) {
    response
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

/// Pacing for a `rate` fault: how many more body bytes may go out now, `sent` having gone out
/// `elapsed` after the body started (a tenth of a second's worth is allowed up front so a
/// throttled body still flows), or else how long after the start the next slice (a twentieth of
/// a second's worth) is due. Arithmetic in saturating u128: no rate or duration overflows it.
pub fn rate_allowance(rate: u64, sent: u64, elapsed: Duration) -> Result<u64, Duration> {
    let rate = u128::from(rate.max(1));
    let burst = (rate / 10).max(1);
    let earned = (rate.saturating_mul(elapsed.as_micros()) / 1_000_000).saturating_add(burst);
    let sent = u128::from(sent);
    if earned > sent {
        return Ok(u64::try_from(earned - sent).unwrap_or(u64::MAX));
    }
    let step = (rate / 20).max(1);
    let micros = (sent + step - burst) * 1_000_000 / rate;
    Err(Duration::from_micros(
        u64::try_from(micros).unwrap_or(u64::MAX),
    ))
}

/// A builder, so a fixture names only the faults it wants:
/// `Faults::new().delay_ms(200).truncate(100)` is `?delay=200&truncate=100`.
impl Faults {
    /// No faults (the same as `Faults::default()`).
    pub fn new() -> Faults {
        Faults::default()
    }

    /// Wait `ms` milliseconds before sending the head (`delay=MS`).
    pub fn delay_ms(mut self, ms: u64) -> Faults {
        self.delay_ms = Some(ms);
        self
    }

    /// Send the body at most `bytes` per second (`rate=BYTES`; 0 means no limit).
    pub fn rate(mut self, bytes: u64) -> Faults {
        self.rate = Some(bytes).filter(|&n| n > 0);
        self
    }

    /// Announce the full length, send `n` body bytes, close (`truncate=N`).
    pub fn truncate(mut self, n: u64) -> Faults {
        self.truncate = Some(n);
        self
    }

    /// Send `n` body bytes, then reset the connection (`reset=N`).
    pub fn reset(mut self, n: u64) -> Faults {
        self.reset = Some(n);
        self
    }

    /// Send the head, then nothing until the client gives up (`stall`).
    pub fn stall(mut self) -> Faults {
        self.stall = true;
        self
    }

    /// Send the body chunked (`chunked`).
    pub fn chunked(mut self) -> Faults {
        self.chunked = true;
        self
    }

    /// Send no length and close after the body (`no-length`).
    pub fn no_length(mut self) -> Faults {
        self.no_length = true;
        self
    }

    /// Answer 200 with the whole body even when a Range was asked (`ignore-range`).
    pub fn ignore_range(mut self) -> Faults {
        self.ignore_range = true;
        self
    }

    /// Answer with `code` (a final status, 200..=599), the file as body (`status=CODE`).
    pub fn status(mut self, code: u16) -> Faults {
        self.status = Some(code).filter(|c| (200..=599).contains(c));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_says_what_the_query_says() {
        let built = Faults::new()
            .delay_ms(200)
            .rate(1000)
            .truncate(100)
            .reset(7)
            .stall()
            .chunked()
            .no_length()
            .ignore_range()
            .status(503);
        let query = "delay=200&rate=1000&truncate=100&reset=7&stall&chunked&no-length\
                     &ignore-range&status=503";
        assert_eq!(built, Faults::from_query(query));
        assert_eq!(
            Faults::new().status(150).rate(0),
            Faults::from_query("status=150&rate=0")
        );
        assert!(Faults::new().is_none());
    }
    use crate::proto::Headers;

    fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
        let mut x = Faults::default();
        f(&mut x);
        x
    }

    #[test]
    fn query_parsing_table() {
        let table: Vec<(&str, Faults)> = vec![
            ("", Faults::default()),
            ("a=1&b", Faults::default()),
            ("delay=200", faults(|f| f.delay_ms = Some(200))),
            ("rate=1000", faults(|f| f.rate = Some(1000))),
            ("truncate=0", faults(|f| f.truncate = Some(0))),
            ("reset=7", faults(|f| f.reset = Some(7))),
            ("stall", faults(|f| f.stall = true)),
            ("chunked", faults(|f| f.chunked = true)),
            ("no-length", faults(|f| f.no_length = true)),
            ("ignore-range", faults(|f| f.ignore_range = true)),
            ("status=503", faults(|f| f.status = Some(503))),
            (
                "delay=200&truncate=100&stall&x=y",
                faults(|f| {
                    f.delay_ms = Some(200);
                    f.truncate = Some(100);
                    f.stall = true;
                }),
            ),
            // bad numbers are ignored, an earlier good one stays
            ("delay=abc", Faults::default()),
            ("delay=-5", Faults::default()),
            ("delay=+5", Faults::default()),
            ("delay=", Faults::default()),
            ("delay=99999999999999999999999", Faults::default()),
            ("delay=10&delay=x", faults(|f| f.delay_ms = Some(10))),
            ("rate=0", Faults::default()),
            // status outside the final-status range is ignored
            ("status=99", Faults::default()),
            ("status=100", Faults::default()),
            ("status=600", Faults::default()),
            ("status=70000", Faults::default()),
            ("status=200", faults(|f| f.status = Some(200))),
            ("status=599", faults(|f| f.status = Some(599))),
            // names are exact: no case folding, no percent-decoding
            ("STALL&no%2Dlength", Faults::default()),
        ];
        for (query, want) in table {
            assert_eq!(Faults::from_query(query), want, "query {query:?}");
        }
    }

    fn rule(path: Option<&str>, nth: Option<u64>, f: Faults) -> FaultRule {
        FaultRule {
            path: path.map(String::from),
            nth,
            faults: f,
        }
    }

    #[test]
    fn query_faults_only_when_asked() {
        let off = FaultPlan::default();
        assert!(off.faults_for("/a", "stall", 1).is_none());
        let on = FaultPlan::query_only();
        assert!(on.faults_for("/a", "stall", 1).stall);
    }

    #[test]
    fn no_close_notify_cuts_mid_body_unless_told_where() {
        let r = response(200, b"0123456789");
        let f = faults(|f| f.no_close_notify = true).cut_mid_body(&r);
        assert_eq!(f.truncate, Some(5));
        let given = faults(|f| {
            f.no_close_notify = true;
            f.truncate = Some(2);
        });
        assert_eq!(given.clone().cut_mid_body(&r), given);
        let plain = faults(|f| f.chunked = true);
        assert_eq!(plain.clone().cut_mid_body(&r), plain);
        assert!(Faults::from_query("no-close-notify").no_close_notify);
    }

    #[test]
    fn rules_match_path_and_nth() {
        let plan = FaultPlan {
            rules: vec![
                rule(None, None, faults(|f| f.delay_ms = Some(5))),
                rule(Some("/a"), None, faults(|f| f.chunked = true)),
                rule(Some("/a"), Some(2), faults(|f| f.status = Some(503))),
            ],
            ..FaultPlan::default()
        };
        let table = [
            ("/b", 1, faults(|f| f.delay_ms = Some(5))),
            (
                "/a",
                1,
                faults(|f| {
                    f.delay_ms = Some(5);
                    f.chunked = true;
                }),
            ),
            (
                "/a",
                2,
                faults(|f| {
                    f.delay_ms = Some(5);
                    f.chunked = true;
                    f.status = Some(503);
                }),
            ),
        ];
        for (path, nth, want) in table {
            assert_eq!(plan.faults_for(path, "", nth), want, "{path} #{nth}");
        }
    }

    #[test]
    fn query_wins_over_rules() {
        let plan = FaultPlan {
            from_query: true,
            rules: vec![rule(None, None, faults(|f| f.truncate = Some(10)))],
            ..FaultPlan::default()
        };
        let got = plan.faults_for("/a", "truncate=3&stall", 1);
        assert_eq!(got.truncate, Some(3));
        assert!(got.stall);
        assert_eq!(plan.faults_for("/a", "truncate=x", 1).truncate, Some(10));
    }

    #[test]
    fn next_faults_counts_per_path_and_overall() {
        let plan = FaultPlan {
            rules: vec![
                rule(Some("/a"), Some(2), faults(|f| f.reset = Some(1))),
                rule(None, Some(3), faults(|f| f.stall = true)),
            ],
            ..FaultPlan::default()
        };
        let seen: Vec<Faults> = ["/a", "/b", "/a", "/a"]
            .iter()
            .map(|p| plan.next_faults(p, ""))
            .collect();
        assert_eq!(seen[0], Faults::default());
        assert_eq!(seen[1], Faults::default());
        // third request overall, second to /a
        assert_eq!(
            seen[2],
            faults(|f| {
                f.reset = Some(1);
                f.stall = true;
            })
        );
        assert_eq!(seen[3], Faults::default());
        // only rule paths are counted
        let counted = plan.counts.0.lock().expect("unpoisoned").len();
        assert_eq!(counted, 2);
    }

    #[test]
    fn cut_picks_the_earlier_and_reset_on_ties() {
        let table = [
            (None, None, None),
            (
                Some(5),
                None,
                Some(Cut {
                    after: 5,
                    reset: false,
                }),
            ),
            (
                None,
                Some(5),
                Some(Cut {
                    after: 5,
                    reset: true,
                }),
            ),
            (
                Some(3),
                Some(5),
                Some(Cut {
                    after: 3,
                    reset: false,
                }),
            ),
            (
                Some(5),
                Some(3),
                Some(Cut {
                    after: 3,
                    reset: true,
                }),
            ),
            (
                Some(4),
                Some(4),
                Some(Cut {
                    after: 4,
                    reset: true,
                }),
            ),
        ];
        for (truncate, reset, want) in table {
            let f = faults(|f| {
                f.truncate = truncate;
                f.reset = reset;
            });
            assert_eq!(f.cut(), want, "truncate {truncate:?} reset {reset:?}");
        }
    }

    #[test]
    fn ignore_range_drops_range_and_if_range() {
        let mut headers = Headers::new();
        headers.push("Host", b"x");
        headers.push("range", b"bytes=0-1");
        headers.push("If-Range", b"\"e\"");
        let mut head = RequestHead {
            method: "GET".into(),
            target: "/a".into(),
            minor_version: 1,
            headers,
        };
        Faults::default().adjust_request(&mut head);
        assert_eq!(head.headers.len(), 3);
        faults(|f| f.ignore_range = true).adjust_request(&mut head);
        assert_eq!(head.headers.len(), 1);
        assert!(head.headers.get("Range").is_none());
    }

    fn response(status: u16, body: &[u8]) -> Response {
        Response {
            status,
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("Content-Length".into(), body.len().to_string()),
            ],
            body: BodySource::Bytes(body.to_vec()),
        }
    }

    fn names(r: &Response) -> Vec<&str> {
        r.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn adjust_response_table() {
        let cl = vec!["Content-Type", "Content-Length"];
        let te = vec!["Content-Type", "Transfer-Encoding"];
        let none = vec!["Content-Type"];
        // (faults, request minor version, status, framing, header names, body length)
        type Row<'a> = (Faults, u8, u16, WireFraming, Vec<&'a str>, u64);
        let table: Vec<Row> = vec![
            (Faults::default(), 1, 200, WireFraming::AsIs, cl.clone(), 5),
            (
                faults(|f| f.chunked = true),
                1,
                200,
                WireFraming::Chunked,
                te,
                5,
            ),
            (
                faults(|f| f.chunked = true),
                0,
                200,
                WireFraming::UntilClose,
                none.clone(),
                5,
            ),
            (
                faults(|f| f.no_length = true),
                1,
                200,
                WireFraming::UntilClose,
                none.clone(),
                5,
            ),
            (
                faults(|f| {
                    f.no_length = true;
                    f.chunked = true;
                }),
                1,
                200,
                WireFraming::UntilClose,
                none.clone(),
                5,
            ),
            (
                faults(|f| f.status = Some(503)),
                1,
                503,
                WireFraming::AsIs,
                cl.clone(),
                5,
            ),
            (
                faults(|f| f.status = Some(204)),
                1,
                204,
                WireFraming::AsIs,
                none,
                0,
            ),
            (
                faults(|f| f.status = Some(304)),
                1,
                304,
                WireFraming::AsIs,
                cl,
                0,
            ),
        ];
        for (f, minor, status, framing, headers, body_len) in table {
            let mut r = response(200, b"hello");
            assert_eq!(f.adjust_response(&mut r, minor), framing, "{f:?}");
            assert_eq!(r.status, status, "{f:?}");
            assert_eq!(names(&r), headers, "{f:?}");
            assert_eq!(r.body.len(), body_len, "{f:?}");
        }
    }

    #[test]
    fn rate_allowance_table() {
        let ms = Duration::from_millis;
        // (rate, sent, elapsed) -> bytes allowed now, or when the next slice is due.
        let table = [
            (1000, 0, ms(0), Ok(100)),
            (1000, 100, ms(0), Err(ms(50))),
            (1000, 100, ms(50), Ok(50)),
            (1000, 500, ms(200), Err(ms(450))),
            (1000, 500, ms(900), Ok(500)),
            (5, 0, ms(0), Ok(1)),
            (5, 1, ms(0), Err(ms(200))),
            (0, 0, ms(0), Ok(1)),
            (u64::MAX, u64::MAX, Duration::MAX, Ok(u64::MAX)),
        ];
        for (rate, sent, elapsed, want) in table {
            assert_eq!(
                rate_allowance(rate, sent, elapsed),
                want,
                "{rate} {sent} {elapsed:?}"
            );
        }
    }
}
