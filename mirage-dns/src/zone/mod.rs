//! Zone master files (RFC 1035 §5): a pure parser for text, a checked
//! [`Zone`], printing back to presentation form, and loading from a
//! mirage-core `KvRo` store with [`load_zone`] / [`load_zones`].
//!
//! ```
//! use mirage_dns::zone::{Zone, parse_str};
//!
//! let origin = "example.com.".parse()?;
//! let text = "$TTL 1h\n@ SOA ns hostmaster 1 7200 3600 1209600 300\n  NS ns\nns A 192.0.2.53\n";
//! let zone = Zone::new(origin, parse_str(text, "example.com.zone", &"example.com.".parse()?)?)?;
//! assert_eq!(zone.soa().minimum, 300);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod data;
mod error;
pub mod lexer;
mod load;
mod parse;
pub mod rdata;

pub use data::Zone;
pub use error::{CheckError, ErrorKind, IncludeError, ZoneError};
pub use load::{LoadError, MAX_INCLUDED_FILES, ZONE_SUFFIX, load_zone, load_zones};
pub use parse::{IncludeResolver, MAX_INCLUDE_DEPTH, parse_str, parse_with_includes};
