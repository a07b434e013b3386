//! Accept negotiation (RFC 9110 §12.5.1) for what we render: JSON or HTML listings, HTML or
//! plain-text error pages. Pure: a header value in, a yes or no out.

/// Whether `Accept` prefers `application/json` over `text/html` by q-value (RFC 9110 §12.5.1:
/// the most specific matching media range gives a type its q). Ties and no Accept: HTML.
pub fn prefers_json(accept: Option<&[u8]>) -> bool {
    let Some(accept) = accept.and_then(|a| std::str::from_utf8(a).ok()) else {
        return false;
    };
    quality(accept, "application", "json") > quality(accept, "text", "html")
}

/// Whether `Accept` names `text/html` itself with a q above 0: a browser. `*/*` (curl, scripts)
/// is not enough, so tools keep getting plain-text errors.
pub fn accepts_html(accept: Option<&[u8]>) -> bool {
    let Some(accept) = accept.and_then(|a| std::str::from_utf8(a).ok()) else {
        return false;
    };
    matches!(best_range(accept, "text", "html"), Some((2, q)) if q > 0)
}

/// The q-value (in thousandths) `accept` gives `kind/sub`; 0 when no range matches.
fn quality(accept: &str, kind: &str, sub: &str) -> u16 {
    best_range(accept, kind, sub).map_or(0, |(_, q)| q)
}

/// The most specific range matching `kind/sub` (2 exact, 1 `kind/*`, 0 `*/*`) and its q.
fn best_range(accept: &str, kind: &str, sub: &str) -> Option<(u8, u16)> {
    let mut best: Option<(u8, u16)> = None; // (specificity, q)
    for range in accept.split(',') {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim();
        let Some((t, s)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (t, s) {
            _ if t.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 2,
            _ if t.eq_ignore_ascii_case(kind) && s == "*" => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(parse_q)
            .unwrap_or(1000);
        match best {
            Some((spec, _)) if spec >= specificity => {}
            _ => best = Some((specificity, q)),
        }
    }
    best
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths.
fn parse_q(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_json_only_when_preferred() {
        let table: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some("application/json"), true),
            (Some("text/html"), false),
            (Some("*/*"), false),
            (Some("text/html, application/json"), false),
            (Some("text/html;q=0.9, application/json"), true),
            (Some("application/json;q=0.5, text/html;q=0.4"), true),
            (Some("application/json;q=0.5, text/*;q=0.6"), false),
            (Some("application/*, text/html;q=0.1"), true),
            (Some("application/json;q=0, */*"), false),
            (Some("application/json; q=1.000, text/html; q=0.999"), true),
            (Some("application/json;q=2, text/html;q=0.5"), true),
            (Some("APPLICATION/JSON"), true),
            (Some("garbage"), false),
        ];
        for (accept, want) in table {
            assert_eq!(prefers_json(accept.map(str::as_bytes)), *want, "{accept:?}");
        }
    }

    #[test]
    fn html_errors_only_for_clients_that_name_html() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                        image/avif,image/webp,*/*;q=0.8";
        let table: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some("*/*"), false),
            (Some("text/*"), false),
            (Some("text/plain"), false),
            (Some("text/html"), true),
            (Some("TEXT/HTML;q=0.5"), true),
            (Some("text/html;q=0"), false),
            (Some(chromium), true),
        ];
        for (accept, want) in table {
            assert_eq!(accepts_html(accept.map(str::as_bytes)), *want, "{accept:?}");
        }
    }
}
