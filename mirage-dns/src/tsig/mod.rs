//! Transaction signatures (TSIG, RFC 8945): shared-secret HMACs that
//! authenticate a request and its response, used to guard zone transfers,
//! dynamic updates and NOTIFY.
//!
//! [`Keyring`] holds the keys (read from a BIND `key` clause file or a
//! `dig -y` style `algorithm:name:secret`); [`verify`] checks a signed
//! request against the current time and [`Signer`] signs the responses to
//! it, one message or a whole TCP stream (RFC 8945 §5.3.1).
//!
//! ```
//! use mirage_dns::tsig::{Keyring, Signer, verify};
//! use mirage_dns::wire::{Class, Message, Question, Type};
//!
//! let keys = Keyring::parse_bind(r#"key "k1" { algorithm hmac-sha256; secret "c2VjcmV0"; };"#)?;
//! let key = keys.get(&"k1".parse()?).unwrap().clone();
//! let mut query = Message::default();
//! query.questions.push(Question { name: "example.com.".parse()?, qtype: Type::SOA, qclass: Class::IN });
//! let mut bytes = Vec::new();
//! query.emit(&mut bytes)?;
//! // A client signs with its own Signer, then the server verifies.
//! let mut client = Signer::new(key, Vec::new());
//! client.sign(&mut bytes, 1_700_000_000)?;
//! let verified = verify(&keys, &bytes, 1_700_000_010).expect("valid").expect("signed");
//! assert_eq!(verified.key.name.to_string(), "k1.");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod key;
mod mac;
mod record;
mod verify;

pub use key::{Algorithm, Key, KeyError, Keyring};
pub use mac::Signer;
pub use record::{TSIG_TYPE, Tsig, TsigRcode, find_tsig};
pub use verify::{Rejection, Verified, verify};
