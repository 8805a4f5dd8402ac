//! The DNS wire format: parse messages from bytes (with nom) and emit them
//! with name compression.
//!
//! Parsing never panics and never trusts a count from the header to size an
//! allocation; a malformed message is a [`WireError`] whose
//! [`reply`](WireError::reply) tells a server whether to answer FORMERR.
//!
//! ```
//! use mirage_dns::wire::{Message, Question, Name, Type, Class};
//!
//! let mut query = Message::default();
//! query.header.id = 7;
//! query.questions.push(Question { name: "Example.COM".parse()?, qtype: Type::AAAA, qclass: Class::IN });
//! let mut bytes = Vec::new();
//! query.emit(&mut bytes)?;
//! assert_eq!(Message::parse(&bytes)?, query);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod edns;
pub mod error;
pub mod header;
pub mod message;
pub mod name;
pub mod rdata;
pub mod rtype;
pub mod writer;

pub use edns::{CLASSIC_UDP_SIZE, Edns, EdnsOption};
pub use error::{EmitError, Field, Reply, WireError};
pub use header::{Counts, HEADER_LEN, Header, Opcode, Rcode};
pub use message::{Message, Question, Record};
pub use name::{Name, NameError};
pub use rdata::RData;
pub use rtype::{Class, Type};
pub use writer::Writer;
