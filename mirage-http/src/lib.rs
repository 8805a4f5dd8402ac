#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! - [`parse`]: the incremental request parser (nom), strict per RFC 9112.
//! - [`server`]: the connection loop over a mirage-core [`mirage_core::Stack`].
//! - [`site`]: a [`Handler`] serving static files from any [`mirage_core::KvRo`].
//! - [`log`](mod@log): the access log, one common-log-format line per request.

pub mod date;
pub mod error;
pub mod handler;
pub mod headers;
pub mod log;
pub mod parse;
pub mod request;
pub mod response;
pub mod server;
pub mod site;

pub use error::Error;
pub use handler::Handler;
pub use headers::Headers;
pub use request::{Method, Request, RequestHead, Version};
pub use response::{Body, BodyError, Response};
pub use server::{Config, Server};
pub use site::{SiteOptions, StaticSite};
