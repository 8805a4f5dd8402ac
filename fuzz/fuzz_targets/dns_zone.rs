//! Zone master files: any text either fails with an error, or yields records
//! that print back to master-file lines which parse to the same records; a
//! zone that passes the checks prints and parses back to the same zone.

#![no_main]

use std::fmt::Write as _;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mirage_dns::wire::{Message, Name};
use mirage_dns::zone::{Zone, parse_str};

static ORIGIN: LazyLock<Name> = LazyLock::new(|| "example.com.".parse().expect("valid origin"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = &*ORIGIN;
    let Ok(records) = parse_str(text, "fuzz.zone", origin) else {
        return;
    };

    // Every record prints as one master-file line that reads back the same.
    let mut printed = String::new();
    for r in &records {
        writeln!(printed, "{r}").expect("writing to a String");
    }
    let again = parse_str(&printed, "printed.zone", origin)
        .unwrap_or_else(|e| panic!("printed records do not parse: {e}\n{printed}"));
    assert_eq!(again, records, "records changed when printed and read back\n{printed}");

    // Records that fit the wire format survive it too.
    let mut message = Message::default();
    message.answers = records.clone();
    let mut wire = Vec::new();
    if message.emit(&mut wire).is_ok() {
        let parsed = Message::parse(&wire).expect("an emitted message parses");
        assert_eq!(parsed.answers, records, "records changed on the wire");
    }

    // A checked zone prints as a master file that reads back as the same zone.
    if let Ok(zone) = Zone::new(origin.clone(), records) {
        let text = zone.to_string();
        let records = parse_str(&text, "zone.zone", origin)
            .unwrap_or_else(|e| panic!("printed zone does not parse: {e}\n{text}"));
        let again = Zone::new(origin.clone(), records).expect("printed zone passes the checks");
        assert_eq!(again, zone, "zone changed when printed and read back");
    }
});
