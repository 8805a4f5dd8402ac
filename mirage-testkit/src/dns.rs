//! The DNS test zones that both the server's own tests (mirage-dns) and the
//! differential tests against NSD and Knot (examples/dns) serve, so that
//! both ask about the same names.
//!
//! `example.com.` covers what an authoritative server must get right:
//! several record types at one name, an in-zone and an out-of-zone CNAME,
//! a chain into `example.org.`, wildcards with an exception below them, an
//! empty non-terminal, a delegation with glue, a DNAME and an RRset too big
//! for 512 bytes. A suite adds its own records with `concat!`:
//!
//! ```
//! const ZONE: &str = concat!(mirage_testkit::example_com_zone!(), "loop1 CNAME loop2\n");
//! assert!(ZONE.starts_with("$ORIGIN example.com.\n"));
//! assert!(ZONE.ends_with("loop1 CNAME loop2\n"));
//! ```

/// Six TXT records at `big`, 100 characters each: an RRset too big for a
/// 512-byte UDP answer, so the server must truncate or use EDNS. A string
/// literal of master-file lines, relative to the zone's origin.
#[macro_export]
macro_rules! big_txt_records {
    () => {
        r#"big       TXT   "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big       TXT   "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
"#
    };
}

/// The master-file text of the shared `example.com.` zone, as a string
/// literal, so that `concat!` can add a suite's own records to it.
#[macro_export]
macro_rules! example_com_zone {
    () => {
        concat!(
            r#"$ORIGIN example.com.
$TTL 3600
@         SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
@         NS    ns1
@         NS    ns2
@         MX    10 mail
ns1       A     192.0.2.1
ns2       A     192.0.2.2
mail      A     192.0.2.25
www       A     192.0.2.80
www       AAAA  2001:db8::80
alias     CNAME www
ext       CNAME www.example.net.
chain     CNAME x.example.org.
*.wild    A     192.0.2.99
*.wild    TXT   "wild"
sub.wild  A     192.0.2.98
a.b.c.ent A     192.0.2.3
sub       NS    ns.sub
sub       NS    ns.other.net.
ns.sub    A     192.0.2.53
dname     DNAME example.org.
"#,
            $crate::big_txt_records!()
        )
    };
}

/// The shared `example.com.` zone (see [`example_com_zone!`]).
pub const EXAMPLE_COM: &str = example_com_zone!();

/// `example.org.`: the target of `example.com.`'s cross-zone CNAME and
/// DNAME, with a negative-caching TTL (3600) above its SOA's own (60).
pub const EXAMPLE_ORG: &str = r#"$ORIGIN example.org.
$TTL 600
@   60  SOA  ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 3600
@       NS   ns1.example.com.
x       A    192.0.2.100
"#;
