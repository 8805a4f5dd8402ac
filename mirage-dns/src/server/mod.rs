//! An authoritative name server.
//!
//! The core is [`Responder::respond`], a pure function from query bytes to
//! response bytes over an immutable [`ZoneSet`] (swapped atomically through
//! [`Zones`]), so every RFC case is testable without a network. The drivers
//! [`serve`] (or [`serve_udp`] and [`serve_tcp`]) put it on any mirage-core
//! [`Stack`](mirage_core::Stack).
//!
//! ```
//! use mirage_dns::server::{Options, Responder, Transport, ZoneSet, Zones};
//! use mirage_dns::wire::{Class, Message, Question, Rcode, Type};
//! use mirage_dns::zone::{Zone, parse_str};
//!
//! let origin = "example.com.".parse()?;
//! let text = "$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\nns A 192.0.2.53\n*.w A 192.0.2.7\n";
//! let zone = Zone::new(origin, parse_str(text, "example.com.zone", &"example.com.".parse()?)?)?;
//! let mut responder = Responder::new(Zones::new(ZoneSet::new([zone])), Options::default());
//!
//! let mut query = Message::default();
//! query.questions.push(Question { name: "X.w.Example.COM.".parse()?, qtype: Type::A, qclass: Class::IN });
//! let mut bytes = Vec::new();
//! query.emit(&mut bytes)?;
//! let mut out = Vec::new();
//! assert!(responder.respond(&bytes, Transport::Udp, &mut out));
//! let response = Message::parse(&out)?;
//! assert_eq!(response.rcode(), Rcode::NOERROR);
//! assert!(response.header.aa);
//! assert_eq!(response.answers[0].data.to_string(), "192.0.2.7");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod history;
mod lookup;
mod policy;
mod primary;
mod respond;
mod secondary;
mod serve;
mod tcp;
mod transfer;
mod udp;
mod update;
mod xfr;
mod zoneset;

pub use history::{Diff, History, serial_gt};
pub use lookup::{Answer, MAX_CHAIN, resolve, resolve_with};
pub use policy::{Acl, AclError, Policy, ZonePolicy};
pub use primary::{Changes, Handler, Primary, PrimaryOptions};
pub use respond::{Options, Responder, Transport};
pub use secondary::{SecondaryOptions, SecondaryZone, run_secondary, transfer};
pub use serve::{ServeError, ServeOptions, serve, serve_primary, zone_key};
pub use tcp::{TcpOptions, serve_tcp};
pub use transfer::{TransferError, TransferReader};
pub use udp::serve_udp;
pub use update::apply_update;
pub use xfr::{MESSAGE_TARGET, axfr_records, ixfr_records, pack};
pub use zoneset::{IndexedZone, Node, RRset, ZoneSet, Zones};
