//! Checking a signed request (RFC 8945 §5.2) and answering the failures.

use std::sync::Arc;

use super::key::{Key, Keyring};
use super::mac::{Digest, Signer, compute, same};
use super::record::{Tsig, TsigRcode, find_tsig};
use crate::wire::{EmitError, Name, Rcode};

/// A request whose signature checked out: answer it through [`signer`](Self::signer).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The key that signed it.
    pub key: Arc<Key>,
    /// The request's MAC, which the answer's signature covers.
    pub mac: Vec<u8>,
    /// When the request was signed.
    pub time_signed: u64,
}

impl Verified {
    /// A signer for the answer (or the answers, for a transfer).
    pub fn signer(&self) -> Signer {
        Signer::new(self.key.clone(), self.mac.clone())
    }
}

/// A signed request that failed: the error answer and how to mark it.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The TSIG error; [`TsigRcode::NOERROR`] with `malformed` set for a
    /// TSIG record that could not be read.
    pub error: TsigRcode,
    /// The TSIG record could not be read or was misplaced: answer FORMERR, unsigned.
    pub malformed: bool,
    key_name: Option<Name>,
    tsig: Option<Tsig>,
    key: Option<Arc<Key>>,
}

impl Rejection {
    fn new(error: TsigRcode, key_name: Name, tsig: Tsig, key: Option<Arc<Key>>) -> Rejection {
        Rejection {
            error,
            malformed: false,
            key_name: Some(key_name),
            tsig: Some(tsig),
            key,
        }
    }

    /// The RCODE of the answer: NOTAUTH, or FORMERR for a malformed record.
    pub fn rcode(&self) -> Rcode {
        if self.malformed {
            Rcode::FORMERR
        } else {
            Rcode::NOTAUTH
        }
    }

    /// Appends the answer's TSIG record to the unsigned error answer `msg`:
    /// unsigned with the error for BADKEY and BADSIG (§5.2.2), signed and
    /// carrying our time `now` for BADTIME (§5.2.3); nothing when malformed.
    pub fn finish(&self, msg: &mut Vec<u8>, now: u64) -> Result<(), EmitError> {
        let (Some(name), Some(tsig)) = (&self.key_name, &self.tsig) else {
            return Ok(());
        };
        if let (TsigRcode::BADTIME, Some(key)) = (self.error, &self.key) {
            let other = now.to_be_bytes()[2..].to_vec();
            return Signer::new(key.clone(), tsig.mac.clone()).sign_with(
                msg,
                tsig.time_signed,
                TsigRcode::BADTIME,
                other,
            );
        }
        let answer = Tsig {
            mac: Vec::new(),
            original_id: u16::from_be_bytes([msg[0], msg[1]]),
            error: self.error,
            other: Vec::new(),
            ..tsig.clone()
        };
        let ar = u16::from_be_bytes([msg[10], msg[11]])
            .checked_add(1)
            .ok_or(EmitError::TooManyRecords)?;
        answer.emit_record(name, msg);
        msg[10..12].copy_from_slice(&ar.to_be_bytes());
        Ok(())
    }
}

/// Checks the TSIG record of the request `msg` against `keys` at time `now`
/// (seconds since the epoch): `Ok(None)` when it is unsigned, the key and
/// MAC when it verifies, or what to answer when it does not (unknown key
/// or algorithm, bad or truncated MAC, time outside the fudge).
pub fn verify(keys: &Keyring, msg: &[u8], now: u64) -> Result<Option<Verified>, Rejection> {
    let (start, name, tsig) = match find_tsig(msg) {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(None),
        Err(_) => {
            return Err(Rejection {
                error: TsigRcode::NOERROR,
                malformed: true,
                key_name: None,
                tsig: None,
                key: None,
            });
        }
    };
    let Some(key) = keys
        .get(&name)
        .filter(|k| k.algorithm.domain_name() == tsig.algorithm)
    else {
        return Err(Rejection::new(TsigRcode::BADKEY, name, tsig, None));
    };
    let full = key.algorithm.mac_len();
    let shortest = (full / 2).max(10);
    if tsig.mac.len() > full || tsig.mac.len() < shortest {
        let mut r = Rejection::new(TsigRcode::NOERROR, name, tsig, None);
        r.malformed = true;
        return Err(r);
    }
    let mac = compute(
        key,
        &Digest {
            prior: &[],
            message: &msg[..start],
            arcount_less: 1,
            tsig: &tsig,
            timers_only: false,
        },
    );
    if !same(&mac[..tsig.mac.len()], &tsig.mac) {
        return Err(Rejection::new(TsigRcode::BADSIG, name, tsig, None));
    }
    if tsig.mac.len() < full {
        return Err(Rejection::new(
            TsigRcode::BADTRUNC,
            name,
            tsig,
            Some(key.clone()),
        ));
    }
    if now.abs_diff(tsig.time_signed) > tsig.fudge as u64 {
        return Err(Rejection::new(
            TsigRcode::BADTIME,
            name,
            tsig,
            Some(key.clone()),
        ));
    }
    Ok(Some(Verified {
        key: key.clone(),
        mac,
        time_signed: tsig.time_signed,
    }))
}

#[cfg(test)]
mod test {
    use super::*;
    use data_encoding::HEXLOWER;

    /// `dig -y hmac-sha256:tsig-key.example:c2VjcmV0c2VjcmV0c2VjcmV0 example.com SOA`, captured.
    const DIG_SHA256: &str = "4e9f01200001000000000002076578616d706c6503636f6d000006000100002904d000000000000c000a0008a33819193915e44408747369672d6b6579076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006b0710ae012c0020b2421c85c116d44bc3528c099fe153aa088048f1b7f21a8d04760cbea5af06764e9f00000000";
    /// The same with `+noedns -y hmac-sha1:k1:…`.
    const DIG_SHA1: &str = "cc3c01200001000000000001076578616d706c6503636f6d0000060001026b310000fa00ff00000000002f09686d61632d736861310000006b0710b1012c001494a6f14d998237452b20422c3e56ce8d9887bcbacc3c00000000";
    /// The same with `-y hmac-sha512:k1:…`.
    const DIG_SHA512: &str = "9f6b01200001000000000001076578616d706c6503636f6d0000060001026b310000fa00ff00000000005d0b686d61632d7368613531320000006b0710b3012c0040ea3958669db3c1da5c7e25ec42b881bc524ccaefa7806eca4edbfa3fffd7389811e35519ae93fff2e91f69973a664428c8dc7a8bb846ca7a2803cd613cc3e2589f6b00000000";
    const SECRET: &str = "c2VjcmV0c2VjcmV0c2VjcmV0";

    fn ring(triples: &[&str]) -> Keyring {
        let mut r = Keyring::new();
        for t in triples {
            r.insert(Key::parse_triple(t).unwrap()).unwrap();
        }
        r
    }

    #[test]
    fn test_verify_dig_requests() {
        let keys = ring(&[
            &format!("hmac-sha256:tsig-key.example:{SECRET}"),
            &format!("hmac-sha1:k1:{SECRET}"),
        ]);
        let msg = HEXLOWER.decode(DIG_SHA256.as_bytes()).unwrap();
        let v = verify(&keys, &msg, 0x6b0710ae + 100).unwrap().unwrap();
        assert_eq!(v.key.name.to_string(), "tsig-key.example.");
        assert_eq!(v.time_signed, 0x6b0710ae);
        let msg = HEXLOWER.decode(DIG_SHA1.as_bytes()).unwrap();
        assert!(verify(&keys, &msg, 0x6b0710b1).unwrap().is_some());
        let sha512 = ring(&[&format!("hmac-sha512:k1:{SECRET}")]);
        let msg = HEXLOWER.decode(DIG_SHA512.as_bytes()).unwrap();
        assert!(verify(&sha512, &msg, 0x6b0710b3).unwrap().is_some());
    }

    #[test]
    fn test_reject() {
        let msg = HEXLOWER.decode(DIG_SHA256.as_bytes()).unwrap();
        let t = 0x6b0710ae;
        let other_secret = ring(&["hmac-sha256:tsig-key.example:YWJjZA=="]);
        assert_eq!(
            verify(&other_secret, &msg, t).unwrap_err().error,
            TsigRcode::BADSIG
        );
        let other_alg = ring(&[&format!("hmac-sha512:tsig-key.example:{SECRET}")]);
        assert_eq!(
            verify(&other_alg, &msg, t).unwrap_err().error,
            TsigRcode::BADKEY
        );
        let keys = ring(&[&format!("hmac-sha256:tsig-key.example:{SECRET}")]);
        assert_eq!(
            verify(&Keyring::new(), &msg, t).unwrap_err().error,
            TsigRcode::BADKEY
        );
        assert_eq!(
            verify(&keys, &msg, t + 301).unwrap_err().error,
            TsigRcode::BADTIME
        );
        let mut tampered = msg.clone();
        tampered[14] ^= 1;
        assert_eq!(
            verify(&keys, &tampered, t).map(|_| ()).unwrap_err().error,
            TsigRcode::BADSIG
        );
        let mut cut = msg.clone();
        cut.truncate(cut.len() - 1);
        assert!(verify(&keys, &cut, t).unwrap_err().malformed);
        // Unsigned (the OPT record only): nothing to check.
        let mut unsigned = msg[..52].to_vec();
        unsigned[11] = 1;
        assert!(matches!(verify(&keys, &unsigned, t), Ok(None)));
    }

    #[test]
    fn test_answers_chain_and_verify() {
        let key = Key::parse_triple(&format!("hmac-sha384:k:{SECRET}")).unwrap();
        let keys = ring(&[&format!("hmac-sha384:k:{SECRET}")]);
        let mut q = HEXLOWER.decode(DIG_SHA1.as_bytes()).unwrap();
        q.truncate(29);
        q[11] = 0;
        let bare = q.clone();
        let mut client = Signer::new(key.clone(), Vec::new());
        client.sign(&mut q, 1000).unwrap();
        let v = verify(&keys, &q, 1010).unwrap().unwrap();
        assert_eq!(v.mac, client.last_mac());
        let mut answer = bare.clone();
        answer[2] |= 0x80;
        // A stream of three answers, each signed: the client follows the chain.
        let mut server = v.signer();
        let signed: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                let mut a = answer.clone();
                a[1] = i;
                server.sign(&mut a, 1011).unwrap();
                a
            })
            .collect();
        let mut c = client.clone();
        for a in &signed {
            assert!(c.verify_response(a).unwrap());
        }
        // Out of order, the chain breaks.
        let mut c = client.clone();
        assert!(c.verify_response(&signed[0]).unwrap());
        assert_eq!(c.verify_response(&signed[2]), Err(TsigRcode::BADSIG));
        // A tampered message fails.
        let mut tampered = signed[0].clone();
        tampered[13] ^= 1;
        assert_eq!(
            client.clone().verify_response(&tampered),
            Err(TsigRcode::BADSIG)
        );
        // An unsigned first message is refused; an unsigned middle one is
        // held for the next signature, which then must cover it.
        assert_eq!(
            client.clone().verify_response(&answer),
            Err(TsigRcode::BADSIG)
        );
        let mut c = client.clone();
        assert!(c.verify_response(&signed[0]).unwrap());
        assert!(!c.verify_response(&answer).unwrap());
        assert_eq!(c.verify_response(&signed[1]), Err(TsigRcode::BADSIG));
    }

    #[test]
    fn test_error_answers() {
        let msg = HEXLOWER.decode(DIG_SHA256.as_bytes()).unwrap();
        let keys = ring(&[&format!("hmac-sha256:tsig-key.example:{SECRET}")]);
        let r = verify(&keys, &msg, 5).unwrap_err();
        assert_eq!((r.error, r.rcode()), (TsigRcode::BADTIME, Rcode::NOTAUTH));
        let mut answer = msg[..29].to_vec();
        answer[2] |= 0x80;
        answer[11] = 0;
        r.finish(&mut answer, 5).unwrap();
        let (_, _, t) = find_tsig(&answer).unwrap().unwrap();
        assert_eq!(
            (t.error, t.other, t.mac.len()),
            (TsigRcode::BADTIME, vec![0, 0, 0, 0, 0, 5], 32)
        );
        let r = verify(&Keyring::new(), &msg, 5).unwrap_err();
        let mut answer = msg[..29].to_vec();
        answer[11] = 0;
        r.finish(&mut answer, 5).unwrap();
        let (_, _, t) = find_tsig(&answer).unwrap().unwrap();
        assert_eq!((t.error, t.mac.len()), (TsigRcode::BADKEY, 0));
    }
}
