//! References as the store reads them from a `.git` directory (mirage-irmin):
//! `packed-refs` (`backend::fs::refs::parse_packed`), a loose reference file
//! (`refs::parse_value`) and reference names (`RefName::new`). The first
//! byte picks the parser. Any bytes give a value or an error, never a panic;
//! a name that is accepted reads back as itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mirage_irmin::backend::fs::refs::parse_packed;
use mirage_irmin::refs::parse_value;
use mirage_irmin::{HashKind, RefName};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 3 {
        0 => {
            let _ = parse_packed(rest, HashKind::Sha1);
        }
        1 => {
            let _ = parse_value(rest, HashKind::Sha1);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(name) = RefName::new(text) {
                    assert_eq!(name.as_str(), text, "a reference name changed");
                }
            }
        }
    }
});
