//! Fault injection: what a test asks the server to do wrong, from query parameters (`--faults`)
//! or library rules (per path, per Nth request, in `rules`). The faults, their parsing and the
//! request rewrite live here; the response rewrites and the timed sending behaviour (delay,
//! rate, cut, stall, chunk framing) are the send plan's (`plan`), carried out by `conn`.

mod rules;

use std::time::Duration;

use crate::proto::request_head::RequestHead;
use crate::proto::syntax::parse_decimal;

pub use rules::{FaultPlan, FaultRule, NthCounter};

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

#[cfg(test)]
impl Faults {
    /// No fault at all, as a `const` so test tables can spell variants as `..Faults::NONE`.
    pub(crate) const NONE: Faults = Faults {
        delay_ms: None,
        rate: None,
        truncate: None,
        reset: None,
        stall: false,
        chunked: false,
        no_length: false,
        ignore_range: false,
        status: None,
        no_close_notify: false,
    };
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

    /// (truncate, reset) -> where the body is cut, and whether by a reset
    type CutCase = (Option<u64>, Option<u64>, Option<(u64, bool)>);
    const CUTS: &[CutCase] = &[
        (None, None, None),
        (Some(5), None, Some((5, false))),
        (None, Some(5), Some((5, true))),
        (Some(3), Some(5), Some((3, false))),
        (Some(5), Some(3), Some((3, true))),
        (Some(4), Some(4), Some((4, true))),
    ];

    #[test]
    fn cut_picks_the_earlier_and_reset_on_ties() {
        for &(truncate, reset, want) in CUTS {
            let f = faults(|f| {
                f.truncate = truncate;
                f.reset = reset;
            });
            let want = want.map(|(after, reset)| Cut { after, reset });
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
