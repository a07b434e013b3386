//! How faults reshape a response before it is planned: the status override, chunked or
//! close-delimited framing in place of Content-Length, and the mid-body cut `no-close-notify`
//! implies. Pure rewrites of a `Response` value; what the wire then carries is the plan's job.

use crate::proto::syntax::parse_decimal;
use crate::serve::faults::{Faults, WireFraming};
use crate::serve::reply::unknown_length_framing;
use crate::serve::response::{BodySource, Response};

/// `response` rewritten as `faults` say for a request of HTTP/1.`minor`: the faults to plan
/// with (a cut point added where one is implied) and how the body is framed on the wire (a
/// listing of unknown length goes chunked, or close-delimited to HTTP/1.0).
pub(super) fn apply(faults: Faults, response: &mut Response, minor: u8) -> (Faults, WireFraming) {
    let faults = cut_mid_body(faults, response);
    let framing = adjust_response(&faults, response, minor);
    (faults, unknown_length_framing(response, framing, minor))
}

/// `no_close_notify` without a cut point: cut after half of the announced Content-Length
/// (nothing to cut in a bodyless response).
fn cut_mid_body(mut faults: Faults, response: &Response) -> Faults {
    if faults.no_close_notify && faults.truncate.is_none() && faults.reset.is_none() {
        let length = response.header("Content-Length");
        faults.truncate = length
            .and_then(|v| parse_decimal(v.as_bytes()))
            .map(|n| n / 2);
    }
    faults
}

/// Rewrite the response head (`status`, `chunked`, `no-length`) and say how the body must be
/// framed on the wire. `minor_version` is the request's: HTTP/1.0 has no chunked coding, so
/// `chunked` falls back to close-delimited there.
fn adjust_response(faults: &Faults, response: &mut Response, minor_version: u8) -> WireFraming {
    if let Some(code) = faults.status {
        override_status(response, code);
    }
    if !crate::proto::status::has_body(response.status) {
        return WireFraming::AsIs;
    }
    let framing = match (faults.chunked, faults.no_length) {
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

/// Answer `code` instead, keeping the body; codes that cannot carry a body (1xx, 204, 304: RFC
/// 9110 §6.4.1) lose it, and 1xx/204 lose Content-Length too (RFC 9110 §8.6).
fn override_status(response: &mut Response, code: u16) {
    response.status = code;
    if !crate::proto::status::has_body(code) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Faults = Faults::NONE;
    const CHUNKED: Faults = Faults {
        chunked: true,
        ..NONE
    };
    const NO_LENGTH: Faults = Faults {
        no_length: true,
        ..NONE
    };
    const BOTH: Faults = Faults {
        chunked: true,
        no_length: true,
        ..NONE
    };
    const fn status(code: u16) -> Faults {
        Faults {
            status: Some(code),
            ..NONE
        }
    }

    const CL: &[&str] = &["Content-Type", "Content-Length"];
    const TE: &[&str] = &["Content-Type", "Transfer-Encoding"];
    const BARE: &[&str] = &["Content-Type"];

    /// (faults, request minor version, status, framing, header names, body length)
    type Row = (Faults, u8, u16, WireFraming, &'static [&'static str], u64);
    const ADJUST_CASES: &[Row] = &[
        (NONE, 1, 200, WireFraming::AsIs, CL, 5),
        (CHUNKED, 1, 200, WireFraming::Chunked, TE, 5),
        (CHUNKED, 0, 200, WireFraming::UntilClose, BARE, 5),
        (NO_LENGTH, 1, 200, WireFraming::UntilClose, BARE, 5),
        (BOTH, 1, 200, WireFraming::UntilClose, BARE, 5),
        (status(503), 1, 503, WireFraming::AsIs, CL, 5),
        (status(204), 1, 204, WireFraming::AsIs, BARE, 0),
        (status(304), 1, 304, WireFraming::AsIs, CL, 0),
    ];

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

    #[test]
    fn adjust_response_table() {
        for (f, minor, status, framing, headers, body_len) in ADJUST_CASES {
            let mut r = response(200, b"hello");
            assert_eq!(adjust_response(f, &mut r, *minor), *framing, "{f:?}");
            assert_eq!(r.status, *status, "{f:?}");
            let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, *headers, "{f:?}");
            assert_eq!(r.body.len(), *body_len, "{f:?}");
        }
    }

    #[test]
    fn no_close_notify_cuts_mid_body_unless_told_where() {
        let r = response(200, b"0123456789");
        let quiet = Faults {
            no_close_notify: true,
            ..NONE
        };
        assert_eq!(cut_mid_body(quiet.clone(), &r).truncate, Some(5));
        let given = Faults {
            truncate: Some(2),
            ..quiet
        };
        assert_eq!(cut_mid_body(given.clone(), &r), given);
        assert_eq!(cut_mid_body(CHUNKED, &r), CHUNKED);
        assert!(Faults::from_query("no-close-notify").no_close_notify);
    }
}
