//! Facts about status codes (RFC 9110 §15): the reason phrase a server writes and whether a
//! response with the code can carry a body at all. Pure lookups; framing a body is `framing`'s job.

/// The standard reason phrase (RFC 9110 §15); the status code is what clients act on.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        // The rest of RFC 9110 §15 (and RFC 6585 for 428/429/431): canned routes and
        // `?status=` faults may answer any of them.
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Whether a response with this status can have a body (RFC 9110 §6.4.1, RFC 9112 §6.3 rule
/// 1): 1xx, 204 and 304 end at the blank line, whatever their headers say. (A response to HEAD
/// has none either; that depends on the request, not the status.) A code outside 100..=599 is
/// not one of these, so its body is framed as any other's: the client read it that way before
/// this rule moved here, and the framing fuzz target's RFC model says so.
pub fn has_body(status: u16) -> bool {
    !matches!(status, 100..=199 | 204 | 304)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodyless_statuses_are_1xx_204_and_304() {
        let cases: &[(u16, bool)] = &[
            // Found by fuzzing (framing): 0..=99 are no 1xx; treating them as bodyless changed
            // how the client framed such a response.
            (0, true),
            (99, true),
            (100, false),
            (101, false),
            (199, false),
            (200, true),
            (203, true),
            (204, false),
            (205, true),
            (206, true),
            (303, true),
            (304, false),
            (305, true),
            (404, true),
            (599, true),
            (999, true),
        ];
        for &(status, want) in cases {
            assert_eq!(has_body(status), want, "{status}");
        }
    }

    #[test]
    fn reason_phrases_are_rfc_9110s() {
        let cases: &[(u16, &str)] = &[
            (200, "OK"),
            (206, "Partial Content"),
            (304, "Not Modified"),
            (404, "Not Found"),
            (413, "Content Too Large"),
            (416, "Range Not Satisfiable"),
            (431, "Request Header Fields Too Large"),
            (505, "HTTP Version Not Supported"),
            (299, "Unknown"),
            (0, "Unknown"),
        ];
        for &(status, want) in cases {
            assert_eq!(reason(status), want, "{status}");
        }
    }
}
