//! Calendar dates for HTTP: IMF-fixdate (`Date`, `Last-Modified`) and the
//! common log format's `[10/Oct/2000:13:55:36 +0000]`.

use mirage_core::PosixTime;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A POSIX time broken into UTC calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: usize,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    weekday: usize,
}

fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as usize;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month: month - 1,
        day,
        hour: rem / 3600,
        min: rem / 60 % 60,
        sec: rem % 60,
        weekday: days.rem_euclid(7) as usize,
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
pub fn imf_fixdate(t: PosixTime) -> String {
    let c = civil(t.secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[c.weekday], c.day, MONTHS[c.month], c.year, c.hour, c.min, c.sec
    )
}

/// `10/Oct/2000:13:55:36 +0000`, the common log format's timestamp.
pub fn clf_date(t: PosixTime) -> String {
    let c = civil(t.secs);
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day, MONTHS[c.month], c.year, c.hour, c.min, c.sec
    )
}

/// Parses an HTTP date in any of the three formats RFC 9110 §5.6.7 says a
/// recipient must accept; `None` if it is none of them.
pub fn parse_http_date(s: &str) -> Option<PosixTime> {
    let t = httpdate::parse_http_date(s).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(PosixTime::from_secs(i64::try_from(secs).ok()?))
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn test_known_dates() {
        assert_eq!(
            imf_fixdate(PosixTime::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            imf_fixdate(PosixTime::EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            clf_date(PosixTime::from_secs(971_185_736)),
            "10/Oct/2000:13:48:56 +0000"
        );
        assert_eq!(
            imf_fixdate(PosixTime::from_secs(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn test_parse_three_formats() {
        let t = Some(PosixTime::from_secs(784_111_777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    quickcheck! {
        fn format_parse_round_trip(secs: u32) -> bool {
            let t = PosixTime::from_secs(i64::from(secs));
            parse_http_date(&imf_fixdate(t)) == Some(t)
        }
    }
}
