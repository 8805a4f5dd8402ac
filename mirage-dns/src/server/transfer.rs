//! The client side of zone transfers: reading an AXFR or IXFR answer
//! stream record by record (RFC 5936 §2.2, RFC 1995 §4) into a new zone,
//! within a bound on its size.

use super::history::serial_gt;
use crate::tsig::TsigRcode;
use crate::wire::{Name, RData, Rcode, Record, Type, WireError};
use crate::zone::{CheckError, Zone};

/// Why a transfer (or the SOA check before it) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The network failed.
    #[error("network: {0}")]
    Stack(mirage_core::StackError),
    /// The primary did not answer in time.
    #[error("no answer in time")]
    Timeout,
    /// The connection closed before the transfer was complete.
    #[error("connection closed mid-transfer")]
    Closed,
    /// An answer could not be parsed.
    #[error("bad answer: {0}")]
    Wire(WireError),
    /// The primary answered with an error.
    #[error("the primary answered {0}")]
    Rcode(Rcode),
    /// An answer's TSIG did not verify (or was missing).
    #[error("TSIG check of the answer failed: {0:?}")]
    Tsig(TsigRcode),
    /// The first record is not the zone's SOA.
    #[error("the transfer does not start with the zone's SOA")]
    NoSoa,
    /// The records of an incremental transfer are not in IXFR order, or
    /// its base serial is not ours.
    #[error("incremental transfer out of sequence")]
    Sequence,
    /// The zone is larger than allowed.
    #[error("more than {0} records")]
    TooLarge(usize),
    /// The transferred zone breaks the zone rules.
    #[error("transferred zone is invalid: {0}")]
    Check(CheckError),
}

/// Where the reader is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read yet.
    Start,
    /// The first SOA read; the second record tells AXFR from IXFR.
    Second,
    /// A full transfer: records until the SOA comes again.
    Full,
    /// Incremental, reading deletions after an old SOA.
    Deleting,
    /// Incremental, reading additions after a new SOA.
    Adding,
    /// The closing SOA was read.
    Done,
}

/// Reads a transfer answer record by record.
#[derive(Debug)]
pub struct TransferReader<'a> {
    origin: Name,
    current: Option<&'a Zone>,
    max_records: usize,
    state: State,
    target: u32,
    first: Option<Record>,
    /// Full transfer: the records so far. Incremental: the zone being changed.
    records: Vec<Record>,
    /// Incremental: the serial the diff being read leads to.
    step_to: u32,
    incremental: bool,
}

fn soa_serial(r: &Record) -> Option<u32> {
    match &r.data {
        RData::Soa(s) => Some(s.serial),
        _ => None,
    }
}

impl<'a> TransferReader<'a> {
    /// A reader for the zone at `origin`, of which we hold `current` (the
    /// base of an incremental transfer), keeping at most `max_records`.
    pub fn new(origin: Name, current: Option<&'a Zone>, max_records: usize) -> TransferReader<'a> {
        TransferReader {
            origin,
            current,
            max_records,
            state: State::Start,
            target: 0,
            first: None,
            records: Vec::new(),
            step_to: 0,
            incremental: false,
        }
    }

    /// Whether the closing SOA was read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Marks the end of a message: a first message holding the SOA alone
    /// means we are up to date (RFC 1995 §2).
    pub fn end_of_message(&mut self) {
        if self.state == State::Second {
            self.state = State::Done;
        }
    }

    /// Takes in the next record of the stream.
    pub fn push(&mut self, r: Record) -> Result<(), TransferError> {
        if self.records.len() >= self.max_records {
            return Err(TransferError::TooLarge(self.max_records));
        }
        let soa = soa_serial(&r).filter(|_| r.name == self.origin);
        match self.state {
            State::Start => {
                self.target = soa.ok_or(TransferError::NoSoa)?;
                self.first = Some(r);
                self.state = State::Second;
            }
            State::Second => {
                let ours = self.current.map(|z| z.soa().serial);
                match (soa, ours) {
                    (Some(s), Some(o)) if s == o && s != self.target => {
                        self.incremental = true;
                        self.records = self
                            .current
                            .map(|z| z.records().to_vec())
                            .unwrap_or_default();
                        self.state = State::Deleting;
                    }
                    (Some(_), _) => return Err(TransferError::Sequence),
                    (None, _) => {
                        self.records.push(r);
                        self.state = State::Full;
                    }
                }
            }
            State::Full => match soa {
                Some(s) if s == self.target => self.state = State::Done,
                Some(_) => return Err(TransferError::Sequence),
                None => self.records.push(r),
            },
            State::Deleting => match soa {
                Some(s) => {
                    self.step_to = s;
                    self.records.retain(|x| x.rtype() != Type::SOA);
                    self.records.push(r);
                    self.state = State::Adding;
                }
                None => {
                    let before = self.records.len();
                    self.records
                        .retain(|x| !(x.name == r.name && x.data == r.data));
                    if self.records.len() == before {
                        return Err(TransferError::Sequence);
                    }
                }
            },
            State::Adding => match soa {
                Some(s) if self.step_to == self.target && s == self.target => {
                    self.state = State::Done;
                }
                Some(s) if s == self.step_to => self.state = State::Deleting,
                Some(_) => return Err(TransferError::Sequence),
                None => {
                    self.records
                        .retain(|x| !(x.name == r.name && x.data == r.data));
                    self.records.push(r);
                }
            },
            State::Done => return Err(TransferError::Sequence),
        }
        Ok(())
    }

    /// The new zone once the stream is done; `None` when we were up to date.
    pub fn finish(self) -> Result<Option<Zone>, TransferError> {
        if self.state != State::Done {
            return Err(TransferError::Closed);
        }
        let Some(first) = self.first else {
            return Err(TransferError::NoSoa);
        };
        if self.records.is_empty() && !self.incremental {
            return Ok(None);
        }
        let mut records = self.records;
        if !self.incremental {
            records.push(first);
        }
        Zone::new(self.origin, records)
            .map(Some)
            .map_err(TransferError::Check)
    }

    /// Whether the answer's first SOA is newer than what we hold.
    pub fn is_newer(&self) -> bool {
        self.current
            .is_none_or(|z| serial_gt(self.target, z.soa().serial))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::zone::parse_str;

    fn recs(text: &str) -> Vec<Record> {
        let origin: Name = "example.com.".parse().unwrap();
        parse_str(&format!("$TTL 60\n{text}"), "t", &origin).unwrap()
    }

    fn zone(text: &str) -> Zone {
        Zone::new("example.com.".parse().unwrap(), recs(text)).unwrap()
    }

    fn read(
        current: Option<&Zone>,
        stream: &str,
        max: usize,
    ) -> Result<Option<Zone>, TransferError> {
        let mut r = TransferReader::new("example.com.".parse().unwrap(), current, max);
        for rec in recs(stream) {
            r.push(rec)?;
        }
        r.end_of_message();
        r.finish()
    }

    const V1: &str = "@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n";

    #[test]
    fn test_axfr() {
        let z = read(None, &format!("{V1}@ SOA ns hm 1 2 3 4 5\n"), 100)
            .unwrap()
            .unwrap();
        assert_eq!(z, zone(V1));
        assert!(matches!(read(None, V1, 100), Err(TransferError::Closed)));
        assert!(matches!(
            read(None, &format!("{V1}@ SOA ns hm 1 2 3 4 5\n"), 3),
            Err(TransferError::TooLarge(3))
        ));
        assert!(matches!(
            read(None, "www A 192.0.2.80\n", 100),
            Err(TransferError::NoSoa)
        ));
    }

    #[test]
    fn test_ixfr() {
        let v1 = zone(V1);
        let stream = "@ SOA ns hm 3 2 3 4 5\n@ SOA ns hm 1 2 3 4 5\nwww A 192.0.2.80\n@ SOA ns hm 2 2 3 4 5\nwww A 192.0.2.81\n\
                      @ SOA ns hm 2 2 3 4 5\n@ SOA ns hm 3 2 3 4 5\nnew A 192.0.2.9\n@ SOA ns hm 3 2 3 4 5\n";
        let z = read(Some(&v1), stream, 100).unwrap().unwrap();
        let want = zone(
            "@ SOA ns hm 3 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.81\nnew A 192.0.2.9\n",
        );
        assert_eq!(z, want);
        // Up to date: the SOA alone.
        assert!(matches!(
            read(Some(&v1), "@ SOA ns hm 1 2 3 4 5\n", 100),
            Ok(None)
        ));
        // Deleting a record we do not have is out of sequence.
        let bad = "@ SOA ns hm 2 2 3 4 5\n@ SOA ns hm 1 2 3 4 5\nzzz A 192.0.2.80\n@ SOA ns hm 2 2 3 4 5\n@ SOA ns hm 2 2 3 4 5\n";
        assert!(matches!(
            read(Some(&v1), bad, 100),
            Err(TransferError::Sequence)
        ));
        // A full transfer answers an IXFR too.
        let full = read(
            Some(&v1),
            "@ SOA ns hm 9 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n@ SOA ns hm 9 2 3 4 5\n",
            100,
        );
        assert_eq!(full.unwrap().unwrap().soa().serial, 9);
    }
}
