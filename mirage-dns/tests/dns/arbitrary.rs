//! quickcheck generators for names, record data, records and messages.

use std::net::{Ipv4Addr, Ipv6Addr};

use mirage_dns::wire::rdata::{
    Caa, Dnskey, Ds, Loc, Mx, Nsec, Nsec3, Nsec3Param, Rrsig, Soa, Srv, Sshfp, SvcParam,
    SvcParamKey, Svcb, Tlsa, Txt, TypeBitmap,
};
use mirage_dns::wire::{
    Class, Edns, EdnsOption, Header, Message, Name, Question, RData, Record, Type,
};
use quickcheck::{Arbitrary, Gen};

fn upto(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % (n + 1)
}

fn bytes(g: &mut Gen, max: usize) -> Vec<u8> {
    (0..upto(g, max)).map(|_| u8::arbitrary(g)).collect()
}

/// A label: mostly letters, sometimes bytes that need escaping.
fn label(g: &mut Gen) -> Vec<u8> {
    let len = 1 + upto(g, 8);
    let pick = [
        b'a', b'Z', b'0', b'-', b'*', b'.', b'\\', b' ', b'"', b'@', b'$', b';', b'(', 0, 0xff,
    ];
    (0..len)
        .map(|_| {
            if bool::arbitrary(g) {
                b'a' + u8::arbitrary(g) % 26
            } else {
                *g.choose(&pick).unwrap()
            }
        })
        .collect()
}

pub fn name(g: &mut Gen) -> Name {
    let labels: Vec<Vec<u8>> = (0..upto(g, 4)).map(|_| label(g)).collect();
    Name::from_labels(labels.iter().map(|l| &l[..])).unwrap()
}

fn txt(g: &mut Gen) -> Txt {
    Txt((0..1 + upto(g, 3)).map(|_| bytes(g, 20)).collect())
}

fn svcb(g: &mut Gen) -> Svcb {
    let mut keys: Vec<u16> = (0..upto(g, 4))
        .map(|_| {
            if bool::arbitrary(g) {
                u16::arbitrary(g) % 8
            } else {
                u16::arbitrary(g)
            }
        })
        .collect();
    keys.sort();
    keys.dedup();
    let params = keys
        .into_iter()
        .map(|k| {
            let value = match k {
                1 => {
                    let mut v = Vec::new();
                    for id in [&b"h2"[..], b"h3"].iter().take(1 + upto(g, 1)) {
                        v.push(id.len() as u8);
                        v.extend_from_slice(id);
                    }
                    v
                }
                3 => u16::arbitrary(g).to_be_bytes().to_vec(),
                4 => Ipv4Addr::from(u32::arbitrary(g)).octets().to_vec(),
                6 => Ipv6Addr::from(u128::arbitrary(g)).octets().to_vec(),
                _ => bytes(g, 10),
            };
            SvcParam {
                key: SvcParamKey(k),
                value,
            }
        })
        .collect();
    Svcb {
        priority: u16::arbitrary(g),
        target: name(g),
        params,
    }
}

fn loc(g: &mut Gen) -> Loc {
    if bool::arbitrary(g) {
        // Valid and printable in the LOC syntax.
        let prec = |g: &mut Gen| ((1 + u8::arbitrary(g) % 9) << 4) | (u8::arbitrary(g) % 10);
        Loc {
            version: 0,
            size: prec(g),
            horiz_pre: prec(g),
            vert_pre: prec(g),
            latitude: (1u32 << 31) - 324_000_000 + u32::arbitrary(g) % 648_000_001,
            longitude: (1u32 << 31) - 648_000_000 + u32::arbitrary(g) % 1_296_000_001,
            altitude: u32::arbitrary(g),
        }
    } else {
        Loc {
            version: u8::arbitrary(g),
            size: u8::arbitrary(g),
            horiz_pre: u8::arbitrary(g),
            vert_pre: u8::arbitrary(g),
            latitude: u32::arbitrary(g),
            longitude: u32::arbitrary(g),
            altitude: u32::arbitrary(g),
        }
    }
}

pub fn rdata(g: &mut Gen) -> RData {
    match u8::arbitrary(g) % 25 {
        0 => RData::A(Ipv4Addr::from(u32::arbitrary(g))),
        1 => RData::Aaaa(Ipv6Addr::from(u128::arbitrary(g))),
        2 => RData::Ns(name(g)),
        3 => RData::Cname(name(g)),
        4 => RData::Dname(name(g)),
        5 => RData::Ptr(name(g)),
        6 => RData::Soa(Soa {
            mname: name(g),
            rname: name(g),
            serial: u32::arbitrary(g),
            refresh: u32::arbitrary(g),
            retry: u32::arbitrary(g),
            expire: u32::arbitrary(g),
            minimum: u32::arbitrary(g),
        }),
        7 => RData::Mx(Mx {
            preference: u16::arbitrary(g),
            exchange: name(g),
        }),
        8 => RData::Txt(txt(g)),
        9 => RData::Spf(txt(g)),
        10 => RData::Srv(Srv {
            priority: u16::arbitrary(g),
            weight: u16::arbitrary(g),
            port: u16::arbitrary(g),
            target: name(g),
        }),
        11 => {
            let tag = (0..1 + upto(g, 8))
                .map(|_| b'a' + u8::arbitrary(g) % 26)
                .collect();
            RData::Caa(Caa {
                flags: u8::arbitrary(g),
                tag,
                value: bytes(g, 20),
            })
        }
        12 => RData::Sshfp(Sshfp {
            algorithm: u8::arbitrary(g),
            fp_type: u8::arbitrary(g),
            fingerprint: bytes(g, 20),
        }),
        13 => RData::Tlsa(Tlsa {
            usage: u8::arbitrary(g),
            selector: u8::arbitrary(g),
            matching: u8::arbitrary(g),
            data: bytes(g, 20),
        }),
        14 => RData::Ds(Ds {
            key_tag: u16::arbitrary(g),
            algorithm: u8::arbitrary(g),
            digest_type: u8::arbitrary(g),
            digest: bytes(g, 20),
        }),
        15 => RData::Dnskey(Dnskey {
            flags: u16::arbitrary(g),
            protocol: u8::arbitrary(g),
            algorithm: u8::arbitrary(g),
            public_key: bytes(g, 20),
        }),
        16 => RData::Rrsig(Rrsig {
            type_covered: Type(u16::arbitrary(g)),
            algorithm: u8::arbitrary(g),
            labels: u8::arbitrary(g),
            original_ttl: u32::arbitrary(g),
            expiration: u32::arbitrary(g),
            inception: u32::arbitrary(g),
            key_tag: u16::arbitrary(g),
            signer: name(g),
            signature: bytes(g, 20),
        }),
        17 => RData::Nsec(Nsec {
            next: name(g),
            types: TypeBitmap::new((0..upto(g, 5)).map(|_| Type(u16::arbitrary(g))).collect()),
        }),
        18 => RData::Svcb(svcb(g)),
        19 => RData::Https(svcb(g)),
        20 => RData::Loc(loc(g)),
        21 => RData::Null(bytes(g, 20)),
        22 => RData::Nsec3(Nsec3 {
            hash_algorithm: u8::arbitrary(g),
            flags: u8::arbitrary(g),
            iterations: u16::arbitrary(g),
            salt: bytes(g, 20),
            next_hashed: (0..1 + upto(g, 20)).map(|_| u8::arbitrary(g)).collect(),
            types: TypeBitmap::new((0..upto(g, 5)).map(|_| Type(u16::arbitrary(g))).collect()),
        }),
        23 => RData::Nsec3Param(Nsec3Param {
            hash_algorithm: u8::arbitrary(g),
            flags: u8::arbitrary(g),
            iterations: u16::arbitrary(g),
            salt: bytes(g, 20),
        }),
        _ => RData::Unknown {
            rtype: Type(65280 + u16::arbitrary(g) % 255),
            data: bytes(g, 20),
        },
    }
}

pub fn record(g: &mut Gen, class: Option<Class>) -> Record {
    Record {
        name: name(g),
        class: class.unwrap_or_else(|| Class(u16::arbitrary(g))),
        ttl: u32::arbitrary(g),
        data: rdata(g),
    }
}

/// A message, for wire round trips.
#[derive(Debug, Clone)]
pub struct ArbMessage(pub Message);

impl Arbitrary for ArbMessage {
    fn arbitrary(g: &mut Gen) -> ArbMessage {
        let mut header = Header::from_flags(u16::arbitrary(g), u16::arbitrary(g));
        header.rcode &= 0xF;
        let records = |g: &mut Gen| (0..upto(g, 3)).map(|_| record(g, None)).collect();
        let edns = bool::arbitrary(g).then(|| Edns {
            udp_payload_size: u16::arbitrary(g),
            ext_rcode: u8::arbitrary(g),
            version: u8::arbitrary(g),
            dnssec_ok: bool::arbitrary(g),
            z: u16::arbitrary(g) & 0x7FFF,
            options: (0..upto(g, 2))
                .map(|_| EdnsOption {
                    code: u16::arbitrary(g),
                    data: bytes(g, 8),
                })
                .collect(),
        });
        ArbMessage(Message {
            header,
            questions: (0..upto(g, 2))
                .map(|_| Question {
                    name: name(g),
                    qtype: Type(u16::arbitrary(g)),
                    qclass: Class(u16::arbitrary(g)),
                })
                .collect(),
            answers: records(g),
            authority: records(g),
            additional: records(g),
            edns,
        })
    }
}

/// Records of class IN, for zone-text round trips.
#[derive(Debug, Clone)]
pub struct ArbRecords(pub Vec<Record>);

impl Arbitrary for ArbRecords {
    fn arbitrary(g: &mut Gen) -> ArbRecords {
        ArbRecords(
            (0..1 + upto(g, 5))
                .map(|_| record(g, Some(Class::IN)))
                .collect(),
        )
    }
}
