//! Zone-file properties: text round trips and robustness on arbitrary text.

use mirage_dns::wire::Name;
use mirage_dns::zone::parse_str;
use quickcheck::QuickCheck;

use crate::arbitrary::ArbRecords;

#[test]
fn records_to_text_to_records_is_identity() {
    fn prop(rs: ArbRecords) -> bool {
        let text: String = rs.0.iter().map(|r| format!("{r}\n")).collect();
        match parse_str(&text, "generated", &Name::root()) {
            Ok(back) => {
                if let Some((a, b)) = rs.0.iter().zip(&back).find(|(a, b)| a != b) {
                    panic!("record changed in the round trip:\n{a:?}\n{b:?}\n{a}");
                }
                assert_eq!(back.len(), rs.0.len(), "{text}");
                true
            }
            Err(e) => panic!("{e}\n{text}"),
        }
    }
    // ZONE_ROUND_TRIPS=N runs a longer search.
    let tests = std::env::var("ZONE_ROUND_TRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    QuickCheck::new()
        .tests(tests)
        .max_tests(tests * 2)
        .quickcheck(prop as fn(ArbRecords) -> bool);
}

#[test]
fn parser_never_panics_on_arbitrary_text() {
    fn prop(text: String) -> bool {
        let _ = parse_str(&text, "arbitrary", &"example.com.".parse().unwrap());
        true
    }
    QuickCheck::new()
        .tests(5000)
        .quickcheck(prop as fn(String) -> bool);
}

#[test]
fn parser_never_panics_on_zone_like_text() {
    fn prop(parts: Vec<(u8, u8)>) -> bool {
        let words = [
            "@",
            "www",
            "$TTL",
            "$ORIGIN",
            "$INCLUDE",
            "IN",
            "A",
            "SOA",
            "TXT",
            "LOC",
            "HTTPS",
            "\\#",
            "(",
            ")",
            "\"",
            ";",
            "\n",
            " ",
            "1",
            "300",
            "N",
            "W",
            "alpn=h2",
            "key1=\"",
            "\\",
            "192.0.2.1",
            "::1",
            "\"\"",
            "4294967.5",
            "99999999999999999999",
            "1w2d3h",
            "E",
            "S",
            "10m",
            "TYPE65280",
            "CLASS1",
            "SVCB",
            "CAA",
            "0",
            "issue",
            "RRSIG",
            "NSEC",
            "DS",
            "20300101000000",
            "AAAA=",
            "ab12",
            "@",
            "-1",
        ];
        let text: String = parts
            .iter()
            .map(|&(a, b)| {
                format!(
                    "{}{}",
                    words[a as usize % words.len()],
                    if b % 3 == 0 { "\n" } else { " " }
                )
            })
            .collect();
        let _ = parse_str(&text, "words", &"example.com.".parse().unwrap());
        true
    }
    QuickCheck::new()
        .tests(5000)
        .quickcheck(prop as fn(Vec<(u8, u8)>) -> bool);
}
