//! Zone transfers: the records of AXFR (RFC 5936) and IXFR (RFC 1995)
//! answers, packed into as many messages as they need.

use super::history::Diff;
use crate::wire::{EmitError, Header, Question, Record, Writer};
use crate::zone::Zone;

/// Bytes after which a transfer message is closed and the next one begun;
/// well under the 65535 of a TCP message, leaving room for a TSIG record.
pub const MESSAGE_TARGET: usize = 16 * 1024;

/// The records of a full transfer: SOA, every other record, SOA again.
pub fn axfr_records(zone: &Zone) -> Vec<&Record> {
    let soa = zone.soa_record();
    let mut v = Vec::with_capacity(zone.records().len() + 1);
    v.push(soa);
    v.extend(zone.records().iter().filter(|r| !std::ptr::eq(*r, soa)));
    v.push(soa);
    v
}

/// The records of an incremental transfer (RFC 1995 §4): the current SOA,
/// then for each difference the old SOA and what went away, the new SOA
/// and what came, then the current SOA again.
pub fn ixfr_records<'a>(zone: &'a Zone, chain: &[&'a Diff]) -> Vec<&'a Record> {
    let mut v = vec![zone.soa_record()];
    for d in chain {
        v.push(&d.from);
        v.extend(&d.removed);
        v.push(&d.to);
        v.extend(&d.added);
    }
    v.push(zone.soa_record());
    v
}

/// Packs `records` into answer messages of about [`MESSAGE_TARGET`]
/// bytes, the question in the first only; at least one message.
pub fn pack(
    header: Header,
    question: &Question,
    records: &[&Record],
) -> Result<Vec<Vec<u8>>, EmitError> {
    let mut messages = Vec::new();
    let mut rest = records;
    let mut first = true;
    loop {
        let mut buf = Vec::with_capacity(MESSAGE_TARGET + 512);
        let mut w = Writer::new(&mut buf);
        header.emit(Default::default(), &mut w);
        if first {
            w.name(&question.name, true);
            w.u16(question.qtype.0);
            w.u16(question.qclass.0);
        }
        let mut n = 0u16;
        while let Some((r, tail)) = rest.split_first() {
            if n > 0 && w.len() >= MESSAGE_TARGET {
                break;
            }
            r.emit(&mut w)?;
            n += 1;
            rest = tail;
        }
        if w.len() > u16::MAX as usize - 1024 {
            return Err(EmitError::RdataTooLong);
        }
        w.patch_u16(4, first as u16);
        w.patch_u16(6, n);
        messages.push(buf);
        first = false;
        if rest.is_empty() {
            return Ok(messages);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wire::{Class, Message, Name, Type};
    use crate::zone::parse_str;

    #[test]
    fn test_axfr_packing() {
        let origin: Name = "example.com.".parse().unwrap();
        let mut text = String::from("$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
        for i in 0..3000 {
            text.push_str(&format!("h{i} TXT \"host number {i}\"\n"));
        }
        let zone = Zone::new(origin.clone(), parse_str(&text, "z", &origin).unwrap()).unwrap();
        let q = Question {
            name: origin,
            qtype: Type::AXFR,
            qclass: Class::IN,
        };
        let header = Header {
            qr: true,
            aa: true,
            ..Header::default()
        };
        let records = axfr_records(&zone);
        let msgs = pack(header, &q, &records).unwrap();
        assert!(msgs.len() > 3);
        let parsed: Vec<Message> = msgs.iter().map(|m| Message::parse(m).unwrap()).collect();
        assert_eq!(parsed[0].questions.len(), 1);
        assert!(parsed[1].questions.is_empty());
        let all: Vec<&Record> = parsed.iter().flat_map(|m| &m.answers).collect();
        assert_eq!(all.len(), zone.records().len() + 1);
        assert_eq!(all[0].rtype(), Type::SOA);
        assert_eq!(all[all.len() - 1].rtype(), Type::SOA);
        assert!(msgs.iter().all(|m| m.len() < MESSAGE_TARGET + 512));
    }
}
