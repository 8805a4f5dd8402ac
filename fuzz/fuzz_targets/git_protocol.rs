//! The Git wire protocol parsers above pkt-lines, fed a server's bytes
//! through a `PktReader`: the protocol v2 capability advertisement, a v2
//! `ls-refs` line, a v2 `fetch` response, a v0 `receive-pack` reference
//! advertisement, side-band demultiplexing and `report-status`. The first
//! byte picks the parser. Any bytes give a value or an error, never a panic,
//! and the pack data collected stays within the bound given.

#![no_main]

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use mirage_git::io::SliceInput;
use mirage_git::pktline::{Line, PacketSource, PktReader};
use mirage_git::protocol::{receive_pack, sideband, v2};

/// The pack size bound handed to the parsers.
const MAX_PACK: u64 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    let mut source = PktReader::new(SliceInput::new(stream, 0));
    let mut progress = |_: &[u8]| {};
    block_on(async {
        match pick % 6 {
            0 => {
                if let Ok(caps) = v2::read_capabilities(&mut source).await {
                    let _ = caps.has_feature("fetch", "shallow");
                    let _ = v2::ls_refs_request(&caps, &["refs/heads/".into()]);
                }
            }
            1 => {
                // Every data line of an ls-refs response.
                while let Ok(line) = source.read_line().await {
                    if let Line::Data(d) = line {
                        let _ = v2::parse_ref_line(&d);
                    }
                }
            }
            2 => {
                if let Ok(r) = v2::read_fetch_response(&mut source, MAX_PACK, &mut progress).await {
                    let len = r.pack.as_ref().map_or(0, Vec::len);
                    assert!(len as u64 <= MAX_PACK, "pack of {len} bytes over the bound");
                }
            }
            3 => {
                if let Ok(adv) = receive_pack::read_advertisement(&mut source).await {
                    let _ = receive_pack::choose_capabilities(&adv, true);
                }
            }
            4 => {
                let mut out = Vec::new();
                let _ = sideband::demux(&mut source, &mut out, MAX_PACK, &mut progress).await;
                assert!(out.len() as u64 <= MAX_PACK, "side-band data over the bound");
            }
            _ => {
                let _ = receive_pack::read_report(&mut source, pick & 0x80 != 0, &mut progress).await;
            }
        }
    });
});
