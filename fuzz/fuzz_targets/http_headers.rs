//! Header values the static site interprets (mirage-http): `Range`
//! (`site::range::parse_range`) and HTTP dates (`date::parse_http_date`, for
//! `If-Modified-Since` and friends). The first byte picks the parser. Any
//! value gives an answer, never a panic; a partial range lies inside the
//! representation; a date we format reads back as the same instant.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_http::date::parse_http_date;
use mirage_http::site::range::{RangeRequest, parse_range};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick & 1 == 0 {
        // The representation's size comes first (8 bytes, little-endian).
        let Some((size, value)) = rest.split_first_chunk::<8>() else {
            return;
        };
        let size = u64::from_le_bytes(*size);
        if let RangeRequest::Partial { start, end } = parse_range(value, size) {
            assert!(start <= end && end < size, "range {start}-{end} outside {size} bytes");
        }
    } else if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_http_date(text);
    }
});
