//! Single byte ranges (RFC 9110 §14): `bytes=a-b`, `bytes=a-`, `bytes=-n`.

/// What a `Range` header asks of a representation of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// Serve the whole representation (no, malformed or multiple ranges).
    Full,
    /// Serve `start..=end` (206).
    Partial {
        /// First byte offset.
        start: u64,
        /// Last byte offset, inclusive.
        end: u64,
    },
    /// No byte of the range exists (416).
    Unsatisfiable,
}

/// Interprets a `Range` value against a representation of `size` bytes.
/// Several ranges fall back to the whole representation (a server may
/// ignore `Range`), as do malformed ones and other units.
pub fn parse_range(value: &[u8], size: u64) -> RangeRequest {
    let Ok(value) = core::str::from_utf8(value) else {
        return RangeRequest::Full;
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match num(last) {
            None => RangeRequest::Full,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if size == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        },
        (false, _) => {
            let Some(start) = num(first) else {
                return RangeRequest::Full;
            };
            let end = if last.is_empty() {
                u64::MAX
            } else {
                match num(last) {
                    Some(e) if e >= start => e,
                    _ => return RangeRequest::Full,
                }
            };
            if start >= size {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Partial {
                    start,
                    end: end.min(size - 1),
                }
            }
        }
        (true, true) => RangeRequest::Full,
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn test_ranges() {
        use RangeRequest::*;
        assert_eq!(
            parse_range(b"bytes=0-499", 1000),
            Partial { start: 0, end: 499 }
        );
        assert_eq!(
            parse_range(b"bytes=500-", 1000),
            Partial {
                start: 500,
                end: 999
            }
        );
        assert_eq!(
            parse_range(b"bytes=-200", 1000),
            Partial {
                start: 800,
                end: 999
            }
        );
        assert_eq!(
            parse_range(b"bytes=-2000", 1000),
            Partial { start: 0, end: 999 }
        );
        assert_eq!(
            parse_range(b"bytes=900-5000", 1000),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(parse_range(b"bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range(b"bytes=5-1", 1000), Full);
        assert_eq!(parse_range(b"bytes=0-1,5-6", 1000), Full);
        assert_eq!(parse_range(b"items=0-1", 1000), Full);
        assert_eq!(parse_range(b"bytes=+1-2", 1000), Full);
        assert_eq!(parse_range(b"bytes=-", 1000), Full);
    }

    quickcheck! {
        fn partial_is_inside(value: String, size: u64) -> bool {
            match parse_range(value.as_bytes(), size) {
                RangeRequest::Partial { start, end } => start <= end && end < size,
                _ => true,
            }
        }
    }
}
