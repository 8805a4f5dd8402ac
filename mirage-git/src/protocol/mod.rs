//! The Git wire protocol above pkt-lines: protocol v2's capability
//! advertisement, `ls-refs` and `fetch` ([`v2`]); side-band demultiplexing
//! ([`sideband`]); and the protocol v0 `receive-pack` exchange used to push
//! ([`receive_pack`]). Each module builds requests as bytes and parses
//! responses from any [`crate::pktline::PacketSource`], so it is tested on
//! captured transcripts without a network.

pub mod receive_pack;
pub mod sideband;
pub mod v2;

use gix_hash::ObjectId;

use crate::error::{ProtocolError, printable};

/// The most entries of one list (references, acknowledgments, shallow
/// lines) accepted from a server.
pub const MAX_LIST: usize = 1_000_000;

/// Parses a 40-digit hexadecimal SHA-1.
pub fn parse_id(hex: &[u8], context: &'static str) -> Result<ObjectId, ProtocolError> {
    if hex.len() != 40 {
        return Err(unexpected(context, hex));
    }
    ObjectId::from_hex(hex).map_err(|_| unexpected(context, hex))
}

/// An [`ProtocolError::UnexpectedLine`].
pub fn unexpected(context: &'static str, line: &[u8]) -> ProtocolError {
    ProtocolError::UnexpectedLine {
        context,
        line: printable(line),
    }
}

/// The all-zero id that stands for "no object" in ref updates.
pub fn null_id() -> ObjectId {
    ObjectId::null(gix_hash::Kind::Sha1)
}
