//! Server behaviour, one test per RFC case, on the pure `respond` function.

use mirage_dns::server::{Options, Responder, Transport, ZoneSet, Zones};
use mirage_dns::wire::{Class, Message, Rcode, Type};

use crate::common::*;

#[test]
fn rfc1034_exact_answer_is_authoritative_and_echoes_case() {
    let mut r = responder();
    let m = ask(&mut r, "WwW.ExAmPlE.cOm.", Type::A);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(m.header.qr && m.header.aa && m.header.rd && !m.header.ra && !m.header.tc);
    assert_eq!(m.header.id, 0x4242);
    assert_eq!(m.questions[0].name.to_string(), "WwW.ExAmPlE.cOm.");
    assert_eq!(lines(&m.answers), ["WwW.ExAmPlE.cOm. 3600 IN A 192.0.2.80"]);
    assert!(m.authority.is_empty());
}

#[test]
fn memoised_answer_keeps_id_flags_and_case() {
    let mut r = responder();
    let first = ask(&mut r, "www.example.com.", Type::AAAA);
    let mut q = query("WWW.EXAMPLE.COM.", Type::AAAA, None);
    q.header.id = 7;
    q.header.rd = false;
    q.header.cd = true;
    let second = ask_msg(&mut r, &q, Transport::Udp);
    assert_eq!(second.header.id, 7);
    assert!(!second.header.rd && second.header.cd);
    assert_eq!(second.questions[0].name.to_string(), "WWW.EXAMPLE.COM.");
    assert_eq!(
        lines(&second.answers),
        ["WWW.EXAMPLE.COM. 3600 IN AAAA 2001:db8::80"]
    );
    assert_eq!(first.answers[0].data, second.answers[0].data);
}

#[test]
fn additional_section_has_in_zone_addresses() {
    let mut r = responder();
    let m = ask(&mut r, "example.com.", Type::MX);
    assert_eq!(
        lines(&m.answers),
        ["example.com. 3600 IN MX 10 mail.example.com."]
    );
    assert_eq!(
        lines(&m.additional),
        ["mail.example.com. 3600 IN A 192.0.2.25"]
    );
}

#[test]
fn rfc1034_cname_is_chased_inside_our_zones() {
    let mut r = responder();
    let m = ask(&mut r, "alias.example.com.", Type::A);
    assert!(m.header.aa);
    assert_eq!(
        lines(&m.answers),
        [
            "alias.example.com. 3600 IN CNAME www.example.com.",
            "www.example.com. 3600 IN A 192.0.2.80"
        ]
    );
    // Into another zone of ours.
    let m = ask(&mut r, "chain.example.com.", Type::A);
    assert_eq!(
        lines(&m.answers),
        [
            "chain.example.com. 3600 IN CNAME x.example.org.",
            "x.example.org. 600 IN A 192.0.2.100"
        ]
    );
    // Asking for the CNAME itself does not chase.
    let m = ask(&mut r, "alias.example.com.", Type::CNAME);
    assert_eq!(
        lines(&m.answers),
        ["alias.example.com. 3600 IN CNAME www.example.com."]
    );
}

#[test]
fn cname_out_of_our_zones_stops() {
    let mut r = responder();
    let m = ask(&mut r, "ext.example.com.", Type::A);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert_eq!(
        lines(&m.answers),
        ["ext.example.com. 3600 IN CNAME www.example.net."]
    );
}

#[test]
fn cname_loop_terminates() {
    let mut r = responder();
    let m = ask(&mut r, "loop1.example.com.", Type::A);
    assert!(!m.answers.is_empty() && m.answers.len() <= mirage_dns::server::MAX_CHAIN);
    assert!(m.answers.iter().all(|a| a.rtype() == Type::CNAME));
}

#[test]
fn rfc2308_nxdomain_has_soa_with_negative_ttl() {
    let mut r = responder();
    let m = ask(&mut r, "nope.example.com.", Type::A);
    assert_eq!(m.rcode(), Rcode::NXDOMAIN);
    assert!(m.header.aa && m.answers.is_empty());
    // min(SOA TTL 3600, MINIMUM 300)
    assert_eq!(
        lines(&m.authority),
        [
            "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"
        ]
    );
    // example.org: SOA TTL 60 < MINIMUM 3600.
    let m = ask(&mut r, "nope.example.org.", Type::A);
    assert_eq!(m.rcode(), Rcode::NXDOMAIN);
    assert_eq!(m.authority[0].ttl, 60);
}

#[test]
fn rfc2308_nodata_has_soa() {
    let mut r = responder();
    let m = ask(&mut r, "www.example.com.", Type::MX);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(m.header.aa && m.answers.is_empty());
    assert_eq!(m.authority.len(), 1);
    assert_eq!(m.authority[0].rtype(), Type::SOA);
    assert_eq!(m.authority[0].ttl, 300);
}

#[test]
fn empty_non_terminal_is_nodata_not_nxdomain() {
    let mut r = responder();
    for name in [
        "c.ent.example.com.",
        "b.c.ent.example.com.",
        "ent.example.com.",
    ] {
        let m = ask(&mut r, name, Type::A);
        assert_eq!(m.rcode(), Rcode::NOERROR, "{name}");
        assert!(m.answers.is_empty());
        assert_eq!(m.authority[0].rtype(), Type::SOA);
    }
    assert_eq!(
        ask(&mut r, "x.c.ent.example.com.", Type::A).rcode(),
        Rcode::NXDOMAIN
    );
}

#[test]
fn rfc4592_wildcard_synthesis() {
    let mut r = responder();
    let m = ask(&mut r, "anything.wild.example.com.", Type::A);
    assert!(m.header.aa);
    assert_eq!(
        lines(&m.answers),
        ["anything.wild.example.com. 3600 IN A 192.0.2.99"]
    );
    // Deeper names match too: the closest encloser is wild.example.com.
    let m = ask(&mut r, "a.b.wild.example.com.", Type::TXT);
    assert_eq!(
        lines(&m.answers),
        ["a.b.wild.example.com. 3600 IN TXT \"wild\""]
    );
    // Wildcard with no data of the type: NODATA.
    let m = ask(&mut r, "x.wild.example.com.", Type::MX);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(m.answers.is_empty());
    assert_eq!(m.authority[0].rtype(), Type::SOA);
}

#[test]
fn rfc4592_existing_name_blocks_wildcard() {
    let mut r = responder();
    // sub.wild exists (with A only): its TXT is NODATA, not the wildcard's TXT.
    let m = ask(&mut r, "sub.wild.example.com.", Type::TXT);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(m.answers.is_empty());
    // Below an existing name, the closest encloser is that name, which has no wildcard child.
    assert_eq!(
        ask(&mut r, "x.sub.wild.example.com.", Type::A).rcode(),
        Rcode::NXDOMAIN
    );
    // The wildcard owner itself can be asked for literally.
    let m = ask(&mut r, "*.wild.example.com.", Type::A);
    assert_eq!(
        lines(&m.answers),
        ["*.wild.example.com. 3600 IN A 192.0.2.99"]
    );
}

#[test]
fn rfc1034_delegation_is_a_referral_with_glue() {
    let mut r = responder();
    for name in ["host.sub.example.com.", "sub.example.com."] {
        let m = ask(&mut r, name, Type::A);
        assert_eq!(m.rcode(), Rcode::NOERROR);
        assert!(!m.header.aa, "referrals are not authoritative");
        assert!(m.answers.is_empty());
        assert_eq!(
            lines(&m.authority),
            [
                "sub.example.com. 3600 IN NS ns.sub.example.com.",
                "sub.example.com. 3600 IN NS ns.other.net."
            ]
        );
        assert_eq!(
            lines(&m.additional),
            ["ns.sub.example.com. 3600 IN A 192.0.2.53"]
        );
    }
    // Glue is not served as an authoritative answer.
    assert!(!ask(&mut r, "ns.sub.example.com.", Type::A).header.aa);
    // DS lives on the parent side of the cut.
    let m = ask(&mut r, "sub.example.com.", Type::DS);
    assert!(m.header.aa);
    assert_eq!(m.authority[0].rtype(), Type::SOA);
}

#[test]
fn rfc6672_dname_substitution() {
    let mut r = responder();
    let m = ask(&mut r, "x.dname.example.com.", Type::A);
    assert_eq!(
        lines(&m.answers),
        [
            "dname.example.com. 3600 IN DNAME example.org.",
            "x.dname.example.com. 3600 IN CNAME x.example.org.",
            "x.example.org. 600 IN A 192.0.2.100"
        ]
    );
    let m = ask(&mut r, "y.dname.example.com.", Type::A);
    assert_eq!(m.rcode(), Rcode::NXDOMAIN);
    assert_eq!(m.answers.len(), 2);
    // The DNAME owner itself is not redirected.
    let m = ask(&mut r, "dname.example.com.", Type::DNAME);
    assert_eq!(
        lines(&m.answers),
        ["dname.example.com. 3600 IN DNAME example.org."]
    );
}

#[test]
fn refused_outside_our_zones_and_other_classes() {
    let mut r = responder();
    let m = ask(&mut r, "www.example.net.", Type::A);
    assert_eq!(m.rcode(), Rcode::REFUSED);
    assert!(!m.header.aa && m.answers.is_empty());
    let mut q = query("version.bind.", Type::TXT, None);
    q.questions[0].qclass = Class::CH;
    assert_eq!(ask_msg(&mut r, &q, Transport::Udp).rcode(), Rcode::REFUSED);
    assert_eq!(
        ask(&mut r, "example.com.", Type::AXFR).rcode(),
        Rcode::REFUSED
    );
}

#[test]
fn notimp_for_unknown_opcodes() {
    let mut r = responder();
    for opcode in [1, 2, 3, 4, 5, 15] {
        let mut q = query("example.com.", Type::SOA, None);
        q.header.opcode = opcode;
        let m = ask_msg(&mut r, &q, Transport::Udp);
        assert_eq!(m.rcode(), Rcode::NOTIMP, "opcode {opcode}");
        assert_eq!(m.header.opcode, opcode);
    }
}

#[test]
fn formerr_for_malformed_queries() {
    let mut r = responder();
    let mut bytes = Vec::new();
    query("www.example.com.", Type::A, None)
        .emit(&mut bytes)
        .unwrap();
    // Truncated question.
    let m = Message::parse(&ask_bytes(&mut r, &bytes[..bytes.len() - 2], Transport::Udp).unwrap())
        .unwrap();
    assert_eq!((m.header.id, m.rcode()), (0x4242, Rcode::FORMERR));
    // Two questions.
    let mut q = query("www.example.com.", Type::A, None);
    q.questions.push(q.questions[0].clone());
    assert_eq!(ask_msg(&mut r, &q, Transport::Udp).rcode(), Rcode::FORMERR);
    // No question.
    let mut q = query("www.example.com.", Type::A, None);
    q.questions.clear();
    assert_eq!(ask_msg(&mut r, &q, Transport::Udp).rcode(), Rcode::FORMERR);
    // A forward compression pointer.
    let mut bad = bytes[..12].to_vec();
    bad.extend_from_slice(&[0xC0, 0x20, 0, 1, 0, 1]);
    let m = Message::parse(&ask_bytes(&mut r, &bad, Transport::Udp).unwrap()).unwrap();
    assert_eq!(m.rcode(), Rcode::FORMERR);
}

#[test]
fn nothing_sent_for_runts_and_responses() {
    let mut r = responder();
    assert_eq!(ask_bytes(&mut r, &[1, 2, 3], Transport::Udp), None);
    let mut q = query("www.example.com.", Type::A, None);
    q.header.qr = true;
    let mut bytes = Vec::new();
    q.emit(&mut bytes).unwrap();
    assert_eq!(ask_bytes(&mut r, &bytes, Transport::Udp), None);
}

#[test]
fn rfc6891_edns_is_answered_with_opt_and_badvers() {
    let mut r = responder();
    let mut q = query("www.example.com.", Type::A, Some(4096));
    q.edns.as_mut().unwrap().dnssec_ok = true;
    q.edns
        .as_mut()
        .unwrap()
        .options
        .push(mirage_dns::wire::EdnsOption {
            code: 65001,
            data: vec![1, 2],
        });
    let m = ask_msg(&mut r, &q, Transport::Udp);
    let e = m.edns.expect("OPT in response");
    assert_eq!(
        (e.udp_payload_size, e.version, e.dnssec_ok),
        (1232, 0, true)
    );
    assert!(e.options.is_empty(), "unknown options are not echoed");
    assert_eq!(m.answers.len(), 1);
    let mut q = query("www.example.com.", Type::A, Some(4096));
    q.edns.as_mut().unwrap().version = 1;
    let m = ask_msg(&mut r, &q, Transport::Udp);
    assert_eq!(m.rcode(), Rcode::BADVERS);
    assert_eq!(m.edns.unwrap().version, 0);
    assert!(m.answers.is_empty());
    // No OPT in the query: none in the response.
    assert!(ask(&mut r, "www.example.com.", Type::A).edns.is_none());
}

#[test]
fn rfc8482_minimal_any() {
    let mut r = responder();
    let m = ask(&mut r, "www.example.com.", Type::ANY);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(m.header.aa);
    let types: std::collections::HashSet<Type> = m.answers.iter().map(|a| a.rtype()).collect();
    assert_eq!(types.len(), 1, "one RRset only");
}

#[test]
fn udp_truncation_follows_payload_size() {
    let mut r = Responder::new(
        Zones::new(zone_set()),
        Options {
            max_udp_payload: 4096,
            ..Options::default()
        },
    );
    // About 630 bytes of TXT: too big for 512.
    let m = ask(&mut r, "big.example.com.", Type::TXT);
    assert!(m.header.tc);
    assert!(m.answers.is_empty());
    assert_eq!(m.questions.len(), 1);
    let m = ask_msg(
        &mut r,
        &query("big.example.com.", Type::TXT, Some(4096)),
        Transport::Udp,
    );
    assert!(!m.header.tc);
    assert_eq!(m.answers.len(), 6);
    let m = ask_msg(
        &mut r,
        &query("big.example.com.", Type::TXT, Some(600)),
        Transport::Udp,
    );
    assert!(m.header.tc && m.edns.is_some());
    // The memo must not serve the large answer to a small-buffer client, nor
    // the truncated one to TCP.
    let m = ask_msg(
        &mut r,
        &query("big.example.com.", Type::TXT, None),
        Transport::Tcp,
    );
    assert!(!m.header.tc);
    assert_eq!(m.answers.len(), 6);
    let m = ask(&mut r, "big.example.com.", Type::TXT);
    assert!(m.header.tc);
}

#[test]
fn server_cap_bounds_edns_payload() {
    let mut r = responder();
    let m = ask_msg(
        &mut r,
        &query("big.example.com.", Type::TXT, Some(65000)),
        Transport::Udp,
    );
    assert!(!m.header.tc, "630 bytes fit in 1232");
    let mut r = Responder::new(
        Zones::new(zone_set()),
        Options {
            max_udp_payload: 512,
            ..Options::default()
        },
    );
    let m = ask_msg(
        &mut r,
        &query("big.example.com.", Type::TXT, Some(4096)),
        Transport::Udp,
    );
    assert!(m.header.tc);
}

#[test]
fn zone_swap_is_seen_by_the_next_query() {
    let zones = Zones::new(zone_set());
    let mut r = Responder::new(zones.clone(), Options::default());
    assert_eq!(
        lines(&ask(&mut r, "www.example.com.", Type::A).answers),
        ["www.example.com. 3600 IN A 192.0.2.80"]
    );
    let changed = EXAMPLE_COM.replace("192.0.2.80", "192.0.2.81");
    zones.swap(ZoneSet::new([zone("example.com.", &changed)]));
    assert_eq!(
        lines(&ask(&mut r, "www.example.com.", Type::A).answers),
        ["www.example.com. 3600 IN A 192.0.2.81"]
    );
    assert_eq!(
        ask(&mut r, "x.example.org.", Type::A).rcode(),
        Rcode::REFUSED
    );
}

#[test]
fn memoised_answers_equal_computed_ones() {
    use quickcheck::QuickCheck;
    // Questions drawn from the fixture zones, with varied case, flags and EDNS.
    fn prop(picks: Vec<(u8, u8, u16, bool, bool)>) -> bool {
        let names = [
            "www.example.com.",
            "WWW.example.COM.",
            "alias.example.com.",
            "nope.example.com.",
            "x.wild.example.com.",
            "host.sub.example.com.",
            "x.dname.example.com.",
            "big.example.com.",
            "example.net.",
            "c.ent.example.com.",
        ];
        let types = [
            Type::A,
            Type::AAAA,
            Type::TXT,
            Type::MX,
            Type::ANY,
            Type::NS,
        ];
        let mut memo = responder();
        // Without a memo the responder keeps no state between queries.
        let mut fresh = Responder::new(
            Zones::new(zone_set()),
            Options {
                memo_bytes: 0,
                ..Options::default()
            },
        );
        for (n, t, size, rd, edns) in picks {
            let mut q = query(
                names[n as usize % names.len()],
                types[t as usize % types.len()],
                edns.then_some(size),
            );
            q.header.id = size;
            q.header.rd = rd;
            let mut bytes = Vec::new();
            q.emit(&mut bytes).unwrap();
            for transport in [Transport::Udp, Transport::Tcp] {
                if ask_bytes(&mut memo, &bytes, transport)
                    != ask_bytes(&mut fresh, &bytes, transport)
                {
                    return false;
                }
            }
        }
        true
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<(u8, u8, u16, bool, bool)>) -> bool);
}

#[test]
fn zone_set_knows_whether_it_holds_given_zones() {
    let set = zone_set();
    let same = [
        zone("example.org.", EXAMPLE_ORG),
        zone("example.com.", EXAMPLE_COM),
    ];
    assert!(set.holds(&same));
    assert!(!set.holds(&same[..1]));
    let changed = [
        zone("example.org.", EXAMPLE_ORG),
        zone(
            "example.com.",
            &EXAMPLE_COM.replace("192.0.2.80", "192.0.2.8"),
        ),
    ];
    assert!(!set.holds(&changed));
}

/// A zone with an NSEC chain and (dummy) signatures: what the server
/// selects is checked here; that real signatures validate is checked with
/// `delv` in examples/dns/tests/dnssec.rs.
const SIGNED: &str = r#"
$ORIGIN example.com.
$TTL 300
@        SOA   ns1 hm 1 7200 3600 1209600 60
@        NS    ns1
@        RRSIG SOA 15 2 300 20300101000000 20200101000000 1 example.com. AAAA
@        RRSIG NS 15 2 300 20300101000000 20200101000000 1 example.com. AAAA
@     60 NSEC  a.b.ent.example.com. NS SOA RRSIG NSEC
@     60 RRSIG NSEC 15 2 60 20300101000000 20200101000000 1 example.com. AAAA
a.b.ent  A     192.0.2.3
a.b.ent  RRSIG A 15 5 300 20300101000000 20200101000000 1 example.com. AAAA
a.b.ent 60 NSEC ns1.example.com. A RRSIG NSEC
a.b.ent 60 RRSIG NSEC 15 5 60 20300101000000 20200101000000 1 example.com. AAAA
ns1      A     192.0.2.53
ns1      RRSIG A 15 3 300 20300101000000 20200101000000 1 example.com. AAAA
ns1   60 NSEC  *.wild.example.com. A RRSIG NSEC
ns1   60 RRSIG NSEC 15 3 60 20300101000000 20200101000000 1 example.com. AAAA
*.wild   A     192.0.2.99
*.wild   RRSIG A 15 3 300 20300101000000 20200101000000 1 example.com. AAAA
*.wild 60 NSEC www.example.com. A RRSIG NSEC
*.wild 60 RRSIG NSEC 15 4 60 20300101000000 20200101000000 1 example.com. AAAA
www      A     192.0.2.80
www      RRSIG A 15 3 300 20300101000000 20200101000000 1 example.com. AAAA
www   60 NSEC  example.com. A RRSIG NSEC
www   60 RRSIG NSEC 15 3 60 20300101000000 20200101000000 1 example.com. AAAA
"#;

/// Owner and type (type covered, for RRSIGs) of each record.
fn shape(rs: &[mirage_dns::wire::Record]) -> Vec<String> {
    rs.iter()
        .map(|r| match &r.data {
            mirage_dns::wire::RData::Rrsig(s) => format!("{} RRSIG {}", r.name, s.type_covered),
            _ => format!("{} {}", r.name, r.rtype()),
        })
        .collect()
}

fn ask_signed(name: &str, qtype: Type, dnssec_ok: bool) -> Message {
    let mut r = Responder::new(
        Zones::new(ZoneSet::new([
            zone("example.com.", SIGNED),
            zone("example.org.", EXAMPLE_ORG),
        ])),
        Options::default(),
    );
    let mut q = query(name, qtype, Some(1232));
    q.edns.as_mut().unwrap().dnssec_ok = dnssec_ok;
    ask_msg(&mut r, &q, Transport::Tcp)
}

#[test]
fn rfc4035_signatures_only_when_dnssec_ok() {
    let m = ask_signed("www.example.com.", Type::A, false);
    assert_eq!(shape(&m.answers), ["www.example.com. A"]);
    let m = ask_signed("www.example.com.", Type::A, true);
    assert_eq!(
        shape(&m.answers),
        ["www.example.com. A", "www.example.com. RRSIG A"]
    );
    assert!(m.edns.unwrap().dnssec_ok);
    // An unsigned zone answers the same either way.
    let m = ask_signed("x.example.org.", Type::A, true);
    assert_eq!(shape(&m.answers), ["x.example.org. A"]);
}

#[test]
fn rfc4035_nxdomain_proves_name_and_wildcard_absent() {
    let m = ask_signed("nope.example.com.", Type::A, true);
    assert_eq!(m.rcode(), Rcode::NXDOMAIN);
    assert_eq!(
        shape(&m.authority),
        [
            "example.com. SOA",
            "example.com. RRSIG SOA",
            // nope sorts between a.b.ent and ns1.
            "a.b.ent.example.com. NSEC",
            "a.b.ent.example.com. RRSIG NSEC",
            // *.example.com sorts right after the apex.
            "example.com. NSEC",
            "example.com. RRSIG NSEC",
        ]
    );
    assert!(
        m.authority[..2].iter().all(|r| r.ttl == 60),
        "SOA and its RRSIG at the negative TTL"
    );
}

#[test]
fn rfc4035_nodata_proofs() {
    let m = ask_signed("www.example.com.", Type::MX, true);
    assert_eq!(
        shape(&m.authority),
        [
            "example.com. SOA",
            "example.com. RRSIG SOA",
            "www.example.com. NSEC",
            "www.example.com. RRSIG NSEC"
        ]
    );
    // An empty non-terminal: the NSEC before it shows nothing is there.
    let m = ask_signed("b.ent.example.com.", Type::A, true);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert_eq!(
        shape(&m.authority),
        [
            "example.com. SOA",
            "example.com. RRSIG SOA",
            "example.com. NSEC",
            "example.com. RRSIG NSEC"
        ]
    );
}

#[test]
fn rfc4035_wildcard_answer_proves_no_closer_match() {
    let m = ask_signed("x.wild.example.com.", Type::A, true);
    assert_eq!(
        shape(&m.answers),
        ["x.wild.example.com. A", "x.wild.example.com. RRSIG A"]
    );
    assert_eq!(
        shape(&m.authority),
        ["*.wild.example.com. NSEC", "*.wild.example.com. RRSIG NSEC"]
    );
    let m = ask_signed("x.wild.example.com.", Type::TXT, true);
    assert_eq!(
        shape(&m.authority),
        [
            "example.com. SOA",
            "example.com. RRSIG SOA",
            "*.wild.example.com. NSEC",
            "*.wild.example.com. RRSIG NSEC"
        ]
    );
}
