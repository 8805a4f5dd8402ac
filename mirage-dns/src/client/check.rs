//! The response checker: whether bytes that arrived are the answer to the
//! question sent (RFC 5452 §9.1: same server, ID and question), as a pure
//! function so it can be tested on any bytes.

use std::net::SocketAddr;

use super::error::Mismatch;
use crate::wire::{HEADER_LEN, Header, Message, Opcode, Question, Rcode, WireError};

/// A question on its way: the server it went to, its ID and question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The server's address (and port).
    pub server: SocketAddr,
    /// The random message ID.
    pub id: u16,
    /// The question asked.
    pub question: Question,
}

/// Why [`check_response`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// It does not belong to the question (possibly spoofed): keep waiting.
    Mismatch(Mismatch),
    /// It belongs to the question by source and ID but does not parse.
    Malformed(WireError),
}

/// Checks that `bytes`, received from `from`, answer `sent`, and parses them.
///
/// The cheap checks come first (source, header, ID, QR and opcode), before
/// the message is parsed. The question must be the one asked, its name
/// compared without case (the server may echo it in another case). An
/// error response (neither NOERROR nor NXDOMAIN) may omit the question, as
/// FORMERR answers do. Never panics, whatever the bytes.
pub fn check_response(sent: &Sent, from: SocketAddr, bytes: &[u8]) -> Result<Message, Rejected> {
    if from != sent.server {
        return Err(Rejected::Mismatch(Mismatch::Source));
    }
    if bytes.len() < HEADER_LEN {
        return Err(Rejected::Mismatch(Mismatch::Short));
    }
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    if id != sent.id {
        return Err(Rejected::Mismatch(Mismatch::Id));
    }
    let header = Header::from_flags(id, u16::from_be_bytes([bytes[2], bytes[3]]));
    if !header.qr || Opcode(header.opcode) != Opcode::QUERY {
        return Err(Rejected::Mismatch(Mismatch::NotResponse));
    }
    let message = Message::parse(bytes).map_err(Rejected::Malformed)?;
    let rcode = message.rcode();
    let same = match message.questions.as_slice() {
        [q] => *q == sent.question,
        [] => rcode != Rcode::NOERROR && rcode != Rcode::NXDOMAIN,
        _ => false,
    };
    if !same {
        return Err(Rejected::Mismatch(Mismatch::Question));
    }
    Ok(message)
}
