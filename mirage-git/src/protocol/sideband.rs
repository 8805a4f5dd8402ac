//! Side-band demultiplexing: in a side-band stream every data packet starts
//! with a channel byte: 1 carries data (the pack, or a nested report), 2
//! progress text for the user, 3 a fatal error message.

use crate::error::{Error, PackError, ProtocolError, printable};
use crate::pktline::{Line, PacketSource};

/// Reads side-band packets until a flush (or response end), appending
/// channel 1 to `data` (at most `max` bytes in all) and passing channel 2 to
/// `progress`.
pub async fn demux<P: PacketSource>(
    source: &mut P,
    data: &mut Vec<u8>,
    max: u64,
    progress: &mut dyn FnMut(&[u8]),
) -> Result<(), Error> {
    loop {
        match source.read_raw().await? {
            Line::Flush | Line::End => return Ok(()),
            Line::Delim => {
                return Err(ProtocolError::UnexpectedPacket {
                    what: "delimiter packet",
                    context: "side-band data",
                }
                .into());
            }
            Line::Data(p) => {
                let Some((&channel, payload)) = p.split_first() else {
                    return Err(ProtocolError::UnexpectedPacket {
                        what: "empty packet",
                        context: "side-band data",
                    }
                    .into());
                };
                match channel {
                    1 => {
                        if (data.len() + payload.len()) as u64 > max {
                            return Err(PackError::TooLarge(max).into());
                        }
                        data.extend_from_slice(payload);
                    }
                    2 => progress(payload),
                    3 => {
                        let msg = payload.strip_suffix(b"\n").unwrap_or(payload);
                        return Err(ProtocolError::Remote(printable(msg)).into());
                    }
                    c => return Err(ProtocolError::BadChannel(c).into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::io::SliceInput;
    use crate::pktline::{self, PktReader};

    #[test]
    fn test_demux() {
        let mut wire = Vec::new();
        pktline::encode_sideband(2, b"Counting objects\r", &mut wire);
        pktline::encode_sideband(1, b"PACK", &mut wire);
        pktline::encode_sideband(1, &[9; 70000], &mut wire);
        pktline::encode(pktline::Packet::Flush, &mut wire).unwrap();
        let mut r = PktReader::new(SliceInput::new(&wire, 7));
        let mut data = Vec::new();
        let mut progress = Vec::new();
        futures::executor::block_on(demux(&mut r, &mut data, 1 << 20, &mut |p| {
            progress.extend_from_slice(p)
        }))
        .unwrap();
        assert_eq!(&data[..4], b"PACK");
        assert_eq!(data.len(), 70004);
        assert_eq!(progress, b"Counting objects\r");

        let mut r = PktReader::new(SliceInput::new(&wire, 0));
        let e = futures::executor::block_on(demux(&mut r, &mut Vec::new(), 100, &mut |_| {}));
        assert!(matches!(e, Err(Error::Pack(PackError::TooLarge(100)))));

        let mut wire = Vec::new();
        pktline::encode_sideband(3, b"access denied\n", &mut wire);
        let mut r = PktReader::new(SliceInput::new(&wire, 0));
        let e = futures::executor::block_on(demux(&mut r, &mut Vec::new(), 100, &mut |_| {}));
        assert!(
            matches!(e, Err(Error::Protocol(ProtocolError::Remote(m))) if m == "access denied")
        );
    }
}
