//! From a parsed request to the planned response: what its body needs before it can be
//! answered (RFC 9112 §6.3), whether the connection persists (§9.3), which faults apply, and
//! who answers (--echo, a route, the files). No socket: `conn` reads and writes.

use std::time::{Duration, Instant};

use super::ctx::Ctx;
use super::faults::Faults;
use super::plan::Exchange;
use super::record::echo_response;
use super::respond::error_response;
use super::response::BodySource;
use crate::proto::framing::{request_framing, BodyKind};
use crate::proto::limits;
use crate::proto::request_head::{error_status, RequestHead};

/// The interim response a client waiting on `Expect: 100-continue` needs before its body.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A parsed request; its body is read (and discarded, or kept for --echo) before it is answered.
pub(super) struct Request {
    pub(super) head: RequestHead,
    /// --echo: the exact bytes received, head then body.
    pub(super) raw: Option<Vec<u8>>,
    /// Body bytes still to read.
    pub(super) remaining: u64,
    /// Body bytes read.
    pub(super) body_len: u64,
    pub(super) keep_alive: bool,
    /// `Expect: 100-continue` owed (RFC 9110 §10.1.1): bytes of CONTINUE already written.
    continue_sent: Option<usize>,
}

impl Request {
    /// `head` (with `raw`, its bytes, under --echo) and its body's fate (see `body_fate`); `Err`
    /// gives back the head with the status that refuses it.
    pub(super) fn new(
        head: RequestHead,
        raw: Option<Vec<u8>>,
        body_here: bool,
        stopping: bool,
    ) -> Result<Request, (u16, RequestHead)> {
        let fate = match body_fate(&head, body_here, stopping) {
            Ok(fate) => fate,
            Err(status) => return Err((status, head)),
        };
        Ok(Request {
            head,
            raw,
            remaining: fate.remaining,
            body_len: 0,
            keep_alive: fate.keep_alive,
            continue_sent: fate.expects_continue.then_some(0),
        })
    }

    /// Take what belongs to the body from the front of `input`; how many bytes that was.
    pub(super) fn take_body(&mut self, input: &[u8]) -> usize {
        let take = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        if let Some(raw) = self.raw.as_mut() {
            raw.extend_from_slice(&input[..take]);
        }
        self.remaining -= take as u64;
        self.body_len += take as u64;
        take
    }

    /// The part of `100 Continue` still to write before the body may come, if one is owed.
    pub(super) fn continue_owed(&self) -> Option<&'static [u8]> {
        self.continue_sent
            .filter(|&n| n < CONTINUE.len())
            .map(|n| &CONTINUE[n..])
    }

    /// `n` more bytes of the `100 Continue` were written.
    pub(super) fn continue_wrote(&mut self, n: usize) {
        self.continue_sent = self.continue_sent.map(|sent| sent + n);
    }

    /// A `100 Continue` is half written: no other response may start inside it.
    pub(super) fn continue_partly_sent(&self) -> bool {
        !self.continue_unfinished().is_empty()
    }

    /// The rest of a `100 Continue` cut off mid-write: it must go before the final response.
    pub(super) fn continue_unfinished(&self) -> &'static [u8] {
        match self.continue_sent {
            Some(n) if n > 0 && n < CONTINUE.len() => &CONTINUE[n..],
            _ => &[],
        }
    }
}

/// What a request's body needs before the request can be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BodyFate {
    /// Content-Length bytes to read and discard (or keep for --echo) first.
    remaining: u64,
    /// The connection may carry another request after this one.
    pub(super) keep_alive: bool,
    /// The client waits for `100 Continue` before sending the body (RFC 9110 §10.1.1).
    pub(super) expects_continue: bool,
}

/// Decide the body's fate for `head`; `body_here`: some body bytes already arrived (the client
/// did not wait for a 100). `Err` is the status refusing a body that cannot be framed.
fn body_fate(head: &RequestHead, body_here: bool, stopping: bool) -> Result<BodyFate, u16> {
    let framing = request_framing(&head.headers).map_err(error_status)?;
    let mut keep_alive = wants_keep_alive(head) && !stopping;
    // RFC 9112 §6.3: a body we do not read would be parsed as the next request, so either it
    // is read and discarded (small Content-Length) or the connection closes after us.
    let remaining = match framing {
        BodyKind::NoBody => 0,
        BodyKind::Length(n) if n <= limits::MAX_DRAINED_BODY => n,
        _ => {
            keep_alive = false;
            0
        }
    };
    let expects_continue = remaining > 0
        && head.minor_version >= 1
        && !body_here
        && head.headers.has_token("Expect", "100-continue");
    Ok(BodyFate {
        remaining,
        keep_alive,
        expects_continue,
    })
}

/// The response to `head` (with `raw`, its bytes, under --echo), planned with its faults, and
/// the delay a fault puts before it.
pub(super) fn answer(
    mut head: RequestHead,
    raw: Option<Vec<u8>>,
    keep_alive: bool,
    ctx: &mut Ctx,
) -> (Exchange, Option<Duration>) {
    let faults = match ctx.cfg.faults.as_deref() {
        Some(plan) => plan.for_target(&head.target),
        None => Faults::default(),
    };
    faults.adjust_request(&mut head);
    let resp = match raw {
        Some(bytes) => echo_response(bytes),
        None => match ctx.cfg.site.route(&head) {
            Some(canned) => canned,
            None => ctx.cache.respond(&ctx.cfg.site, &head, faults.is_none()),
        },
    };
    // Judged before faults rewrite the status (`?status=400` is not a confused client).
    let keep_alive = keep_alive && !signals_confusion(resp.status, &head.method);
    let delay = faults.delay().filter(|d| !d.is_zero());
    let line = Some((head.method, head.target, head.minor_version));
    (
        Exchange::new(resp, line, keep_alive, faults, ctx.now),
        delay,
    )
}

/// The error reply to a request we refuse (400/408/414/431/501/505), closing after it: what
/// follows a bad head cannot be trusted to be a request.
pub(super) fn refusal(status: u16, head: Option<&RequestHead>, now: Instant) -> Exchange {
    let line = head.map(|h| (h.method.clone(), h.target.clone(), h.minor_version));
    Exchange::new(error_response(status), line, false, Faults::default(), now)
}

/// What a plain-HTTP client on the TLS port reads, closing after it: nginx's words ("The plain
/// HTTP request was sent to HTTPS port", which `rawhttp fetch` recognises), in text.
pub(super) fn plain_http_on_tls(now: Instant) -> Exchange {
    const BODY: &[u8] = b"400 Bad Request: The plain HTTP request was sent to HTTPS port\n";
    let mut resp = error_response(400);
    for (name, value) in resp.headers.iter_mut() {
        if name.eq_ignore_ascii_case("Content-Length") {
            *value = BODY.len().to_string();
        }
    }
    resp.body = BodySource::Bytes(BODY.to_vec());
    Exchange::new(resp, None, false, Faults::default(), now)
}

/// A reply that says the client is confused about what it talks to (a bad target, a proxy
/// request via CONNECT): what it sends next cannot be trusted either, so close after it, as
/// nginx does (issue 13).
fn signals_confusion(status: u16, method: &str) -> bool {
    status == 400 || (status == 405 && method == "CONNECT")
}

/// RFC 9112 §9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only when the client
/// asked for keep-alive.
fn wants_keep_alive(head: &RequestHead) -> bool {
    if head.headers.has_token("Connection", "close") {
        return false;
    }
    head.minor_version >= 1 || head.headers.has_token("Connection", "keep-alive")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::request_head::parse_request_head;

    /// (request head, body bytes already here, remaining, keep-alive, expects 100-continue)
    const FATES: &[(&str, bool, u64, bool, bool)] = &[
        ("GET / HTTP/1.1\r\n\r\n", false, 0, true, false),
        (
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            false,
            0,
            false,
            false,
        ),
        ("GET / HTTP/1.0\r\n\r\n", false, 0, false, false),
        (
            "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            false,
            0,
            true,
            false,
        ),
        (
            "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
            false,
            5,
            true,
            false,
        ),
        (
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            false,
            5,
            true,
            true,
        ),
        (
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            true,
            5,
            true,
            false,
        ),
        (
            "POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            false,
            5,
            false,
            false,
        ),
        // Too big to drain, or chunked: not read, so the connection closes after the reply.
        (
            "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
            false,
            0,
            false,
            false,
        ),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
            0,
            false,
            false,
        ),
    ];

    /// `text` with a Host field after its request line (HTTP/1.1 requires one).
    fn head(text: &str) -> RequestHead {
        let text = text.replacen("\r\n", "\r\nHost: a\r\n", 1);
        match parse_request_head(text.as_bytes()) {
            Ok(Some((head, _))) => head,
            other => panic!("{text:?} does not parse: {other:?}"),
        }
    }

    #[test]
    fn body_fate_table() {
        for &(text, body_here, remaining, keep_alive, expects_continue) in FATES {
            let want = BodyFate {
                remaining,
                keep_alive,
                expects_continue,
            };
            assert_eq!(
                body_fate(&head(text), body_here, false),
                Ok(want),
                "{text:?}"
            );
        }
    }

    #[test]
    fn stopping_ends_keep_alive_and_bad_framing_is_refused() {
        let fate = body_fate(&head("GET / HTTP/1.1\r\n\r\n"), false, true);
        assert_eq!(fate.map(|f| f.keep_alive), Ok(false));
        let both = "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(body_fate(&head(both), false, false), Err(400));
    }

    #[test]
    fn a_continue_is_owed_until_written_and_finished_if_cut() {
        let text = "POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        let Ok(mut req) = Request::new(head(text), Some(Vec::new()), false, false) else {
            panic!("a framed request");
        };
        assert_eq!(req.continue_owed(), Some(CONTINUE));
        assert!(!req.continue_partly_sent());
        req.continue_wrote(5);
        assert_eq!(req.continue_owed(), Some(&CONTINUE[5..]));
        assert_eq!(req.continue_unfinished(), &CONTINUE[5..]);
        req.continue_wrote(CONTINUE.len() - 5);
        assert_eq!(
            (req.continue_owed(), req.continue_partly_sent()),
            (None, false)
        );
        assert_eq!(req.take_body(b"abcdef"), 3);
        assert_eq!((req.remaining, req.body_len), (0, 3));
        assert_eq!(req.raw.as_deref(), Some(&b"abc"[..]));
    }

    #[test]
    fn confusion_closes_after_400_and_connect_405_only() {
        let cases = [
            (400, "GET", true),
            (405, "CONNECT", true),
            (405, "GET", false),
        ];
        for (status, method, want) in cases {
            assert_eq!(signals_confusion(status, method), want, "{status} {method}");
        }
    }
}
