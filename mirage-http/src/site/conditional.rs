//! Conditional requests (RFC 9110 §13): `If-None-Match`,
//! `If-Modified-Since` and `If-Range`, and `Accept-Encoding` for choosing a
//! precompressed sibling.

use mirage_core::PosixTime;

use crate::date::parse_http_date;
use crate::headers::Headers;

/// Whether `If-Match` or `If-Unmodified-Since` fails, so 412 must be sent
/// (RFC 9110 §13.2.2 steps 1-2: evaluated before the others). `If-Match`
/// compares strongly and wins over `If-Unmodified-Since`.
pub fn precondition_failed(headers: &Headers, etag: &str, last_modified: PosixTime) -> bool {
    if headers.contains("if-match") {
        return !headers
            .get_all("if-match")
            .any(|v| etag_list_matches(v, etag, false));
    }
    match headers
        .get_str("if-unmodified-since")
        .and_then(parse_http_date)
    {
        Some(since) => last_modified.secs > since.secs,
        None => false,
    }
}

/// Whether the client's cached copy is current, so 304 may be sent.
/// `If-None-Match` wins over `If-Modified-Since` when both are present.
pub fn not_modified(headers: &Headers, etag: &str, last_modified: PosixTime) -> bool {
    if headers.contains("if-none-match") {
        return headers
            .get_all("if-none-match")
            .any(|v| etag_list_matches(v, etag, true));
    }
    match headers
        .get_str("if-modified-since")
        .and_then(parse_http_date)
    {
        Some(since) => last_modified.secs <= since.secs,
        None => false,
    }
}

/// Whether a `Range` may be honoured given `If-Range` (RFC 9110 §13.1.5):
/// yes without `If-Range`, or when it names the current strong ETag or the
/// exact `Last-Modified` date.
pub fn if_range_allows(headers: &Headers, etag: &str, last_modified: PosixTime) -> bool {
    let Some(v) = headers.get_str("if-range") else {
        return true;
    };
    let v = v.trim();
    if v.starts_with('"') {
        return v == etag;
    }
    if v.starts_with("W/") {
        return false;
    }
    parse_http_date(v).is_some_and(|d| d.secs == last_modified.secs)
}

/// Whether the comma-separated entity-tag list `list` (or `*`) matches
/// `etag`; `weak` compares ignoring `W/` prefixes.
fn etag_list_matches(list: &[u8], etag: &str, weak: bool) -> bool {
    let Ok(list) = core::str::from_utf8(list) else {
        return false;
    };
    let strip = |t: &str| -> String {
        let t = t.trim();
        if weak {
            t.strip_prefix("W/").unwrap_or(t).to_owned()
        } else {
            t.to_owned()
        }
    };
    let ours = strip(etag);
    list.split(',').any(|t| {
        let t = t.trim();
        t == "*" || strip(t) == ours
    })
}

/// Whether `Accept-Encoding` allows `gzip`: listed (or `*`) with q > 0, and
/// not refused by `gzip;q=0`.
pub fn accepts_gzip(headers: &Headers) -> bool {
    let mut gzip: Option<bool> = None;
    let mut star: Option<bool> = None;
    for v in headers.get_all("accept-encoding") {
        let Ok(v) = core::str::from_utf8(v) else {
            continue;
        };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q_ok = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .or_else(|| p.trim().strip_prefix("Q="))
                })
                .all(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0));
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(q_ok),
                "*" => star = Some(q_ok),
                _ => {}
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::date::imf_fixdate;

    fn h(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.append(n, v.to_string());
        }
        h
    }

    #[test]
    fn test_not_modified() {
        let lm = PosixTime::from_secs(1_000_000);
        let etag = "\"abc\"";
        assert!(not_modified(&h(&[("if-none-match", "\"abc\"")]), etag, lm));
        assert!(not_modified(
            &h(&[("if-none-match", "\"x\", W/\"abc\"")]),
            etag,
            lm
        ));
        assert!(not_modified(&h(&[("if-none-match", "*")]), etag, lm));
        assert!(!not_modified(&h(&[("if-none-match", "\"x\"")]), etag, lm));
        let same = imf_fixdate(lm);
        let earlier = imf_fixdate(PosixTime::from_secs(999_999));
        assert!(not_modified(&h(&[("if-modified-since", &same)]), etag, lm));
        assert!(!not_modified(
            &h(&[("if-modified-since", &earlier)]),
            etag,
            lm
        ));
        // If-None-Match takes precedence.
        assert!(!not_modified(
            &h(&[("if-none-match", "\"x\""), ("if-modified-since", &same)]),
            etag,
            lm
        ));
        assert!(!not_modified(
            &h(&[("if-modified-since", "garbage")]),
            etag,
            lm
        ));
    }

    #[test]
    fn test_precondition_failed() {
        let lm = PosixTime::from_secs(1_000_000);
        let etag = "\"abc\"";
        assert!(!precondition_failed(&h(&[]), etag, lm));
        assert!(!precondition_failed(
            &h(&[("if-match", "\"abc\"")]),
            etag,
            lm
        ));
        assert!(!precondition_failed(&h(&[("if-match", "*")]), etag, lm));
        assert!(precondition_failed(&h(&[("if-match", "\"x\"")]), etag, lm));
        // Weak tags never match strongly.
        assert!(precondition_failed(
            &h(&[("if-match", "W/\"abc\"")]),
            etag,
            lm
        ));
        let before = imf_fixdate(PosixTime::from_secs(999_999));
        assert!(precondition_failed(
            &h(&[("if-unmodified-since", &before)]),
            etag,
            lm
        ));
        assert!(!precondition_failed(
            &h(&[("if-unmodified-since", &imf_fixdate(lm))]),
            etag,
            lm
        ));
        assert!(!precondition_failed(
            &h(&[("if-unmodified-since", "nonsense")]),
            etag,
            lm
        ));
    }

    #[test]
    fn test_if_range() {
        let lm = PosixTime::from_secs(1_000_000);
        assert!(if_range_allows(&h(&[]), "\"a\"", lm));
        assert!(if_range_allows(&h(&[("if-range", "\"a\"")]), "\"a\"", lm));
        assert!(!if_range_allows(&h(&[("if-range", "\"b\"")]), "\"a\"", lm));
        assert!(!if_range_allows(
            &h(&[("if-range", "W/\"a\"")]),
            "\"a\"",
            lm
        ));
        assert!(if_range_allows(
            &h(&[("if-range", &imf_fixdate(lm))]),
            "\"a\"",
            lm
        ));
    }

    #[test]
    fn test_accepts_gzip() {
        assert!(accepts_gzip(&h(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&h(&[(
            "accept-encoding",
            "br;q=1.0, GZIP;q=0.5"
        )])));
        assert!(accepts_gzip(&h(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "*, gzip;q=0")])));
        assert!(!accepts_gzip(&h(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&h(&[])));
    }
}
