//! Pushing with protocol v0/v1 `receive-pack` (gitprotocol-pack): the
//! server advertises its references (the first line carries the
//! capabilities after a NUL), the client sends `<old> <new> <ref>` commands
//! and a pack, and the server answers with `report-status`.

use gix_hash::ObjectId;

use super::{MAX_LIST, null_id, parse_id, sideband, unexpected};
use crate::error::{Error, ProtocolError};
use crate::pktline::{self, Line, Packet, PacketSource};

/// The largest report accepted (through side-band).
pub const MAX_REPORT: u64 = 16 << 20;

/// What `receive-pack` advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertisement {
    /// References and their values.
    pub refs: Vec<(String, ObjectId)>,
    /// Capabilities (`report-status`, `side-band-64k`, `agent=...`).
    pub capabilities: Vec<String>,
    /// Shallow commits of the remote.
    pub shallow: Vec<ObjectId>,
}

impl Advertisement {
    /// Whether capability `name` (or `name=...`) is advertised.
    pub fn has(&self, name: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c == name || c.strip_prefix(name).is_some_and(|r| r.starts_with('=')))
    }

    /// The remote value of `refname`, if it exists.
    pub fn get(&self, refname: &str) -> Option<ObjectId> {
        self.refs
            .iter()
            .find(|(n, _)| n == refname)
            .map(|(_, id)| *id)
    }
}

/// Reads a v0/v1 reference advertisement up to its flush.
pub async fn read_advertisement<P: PacketSource>(source: &mut P) -> Result<Advertisement, Error> {
    let mut adv = Advertisement::default();
    let mut first = true;
    loop {
        let line = match source.read_line().await? {
            Line::Flush => return Ok(adv),
            Line::Data(d) => d,
            other => {
                return Err(ProtocolError::UnexpectedPacket {
                    what: other.name(),
                    context: "ref advertisement",
                }
                .into());
            }
        };
        if adv.refs.len() + adv.shallow.len() >= MAX_LIST {
            return Err(ProtocolError::TooManyRefs(MAX_LIST).into());
        }
        if first && line == b"version 1" {
            continue;
        }
        if let Some(id) = line.strip_prefix(b"shallow ") {
            adv.shallow.push(parse_id(id, "ref advertisement")?);
            continue;
        }
        let (refpart, caps) = match line.iter().position(|&b| b == 0) {
            Some(i) if first => (&line[..i], Some(&line[i + 1..])),
            Some(_) => return Err(unexpected("ref advertisement", &line).into()),
            None => (&line[..], None),
        };
        first = false;
        if let Some(caps) = caps {
            let caps = core::str::from_utf8(caps).map_err(|_| unexpected("capabilities", caps))?;
            adv.capabilities = caps
                .split(' ')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
        }
        let (id, name) = refpart
            .split_at_checked(40)
            .ok_or_else(|| unexpected("ref advertisement", &line))?;
        let name = name
            .strip_prefix(b" ")
            .ok_or_else(|| unexpected("ref advertisement", &line))?;
        let name =
            core::str::from_utf8(name).map_err(|_| unexpected("ref advertisement", &line))?;
        let id = parse_id(id, "ref advertisement")?;
        // An empty repository advertises only its capabilities.
        if name == "capabilities^{}" && id.is_null() {
            continue;
        }
        adv.refs.push((name.to_string(), id));
    }
}

/// One reference update to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The value the remote reference has now (`None`: it must not exist).
    pub old: Option<ObjectId>,
    /// The value to set (`None`: delete it).
    pub new: Option<ObjectId>,
    /// The full reference name.
    pub name: String,
}

/// Capabilities the client asks for in the first command line, among
/// those the server advertised.
pub fn choose_capabilities(adv: &Advertisement, deletes: bool) -> Vec<String> {
    let mut caps = vec!["report-status".to_string()];
    if adv.has("side-band-64k") {
        caps.push("side-band-64k".into());
    }
    if deletes && adv.has("delete-refs") {
        caps.push("delete-refs".into());
    }
    if adv.has("object-format") {
        caps.push("object-format=sha1".into());
    }
    if adv.has("agent") {
        caps.push(format!("agent={}", crate::AGENT));
    }
    caps
}

/// Builds the command list (ending with a flush); the pack follows it.
pub fn commands_request(commands: &[Command], caps: &[String]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        let mut line = format!(
            "{} {} {}",
            c.old.unwrap_or_else(null_id),
            c.new.unwrap_or_else(null_id),
            c.name
        )
        .into_bytes();
        if i == 0 {
            line.push(0);
            line.extend_from_slice(caps.join(" ").as_bytes());
        }
        line.push(b'\n');
        pktline::encode_data(&line, &mut out)?;
    }
    pktline::encode(Packet::Flush, &mut out)?;
    Ok(out)
}

/// The server's `report-status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `Ok` for `unpack ok`, or the reason unpacking failed.
    pub unpack: Result<(), String>,
    /// Per reference: `Ok` for `ok <ref>`, or the reason of `ng <ref> <reason>`.
    pub refs: Vec<(String, Result<(), String>)>,
}

/// Parses `report-status` lines (without the flush).
pub fn parse_report(lines: &[Vec<u8>]) -> Result<Report, ProtocolError> {
    let (first, rest) = lines.split_first().ok_or(ProtocolError::UnexpectedEof)?;
    let unpack = first
        .strip_prefix(b"unpack ")
        .ok_or_else(|| unexpected("report-status", first))?;
    let unpack = if unpack == b"ok" {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(unpack).into_owned())
    };
    let mut refs = Vec::new();
    for line in rest {
        let text = String::from_utf8_lossy(line);
        if let Some(name) = text.strip_prefix("ok ") {
            refs.push((name.to_string(), Ok(())));
        } else if let Some(rest) = text.strip_prefix("ng ") {
            let (name, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            refs.push((name.to_string(), Err(reason.to_string())));
        } else {
            return Err(unexpected("report-status", line));
        }
    }
    Ok(Report { unpack, refs })
}

/// Reads the report: plain pkt-lines up to a flush, or, with side-band,
/// pkt-lines nested in channel 1 (progress goes to `progress`).
pub async fn read_report<P: PacketSource>(
    source: &mut P,
    sideband: bool,
    progress: &mut dyn FnMut(&[u8]),
) -> Result<Report, Error> {
    let mut lines = Vec::new();
    if sideband {
        let mut inner = Vec::new();
        sideband::demux(source, &mut inner, MAX_REPORT, progress).await?;
        let mut rest = &inner[..];
        loop {
            match pktline::decode(rest)? {
                None if rest.is_empty() => break,
                None => return Err(ProtocolError::UnexpectedEof.into()),
                Some((Packet::Flush, _)) => break,
                Some((p @ Packet::Data(_), used)) => {
                    lines.push(p.line().unwrap_or_default().to_vec());
                    rest = &rest[used..];
                }
                Some(_) => {
                    return Err(ProtocolError::UnexpectedPacket {
                        what: "special packet",
                        context: "report-status",
                    }
                    .into());
                }
            }
        }
    } else {
        loop {
            match source.read_line().await? {
                Line::Flush => break,
                Line::Data(d) => {
                    if lines.len() >= MAX_LIST {
                        return Err(ProtocolError::TooManyRefs(MAX_LIST).into());
                    }
                    lines.push(d);
                }
                other => {
                    return Err(ProtocolError::UnexpectedPacket {
                        what: other.name(),
                        context: "report-status",
                    }
                    .into());
                }
            }
        }
    }
    Ok(parse_report(&lines)?)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::io::SliceInput;
    use crate::pktline::PktReader;

    const A: &str = "4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e";

    #[test]
    fn test_advertisement() {
        let mut w = Vec::new();
        pktline::encode_data(
            format!("{A} refs/heads/main\0report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1 agent=git/2.47.3\n").as_bytes(),
            &mut w,
        )
        .unwrap();
        pktline::encode_line(&format!("{A} refs/tags/v1"), &mut w).unwrap();
        pktline::encode(Packet::Flush, &mut w).unwrap();
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let adv = futures::executor::block_on(read_advertisement(&mut r)).unwrap();
        assert_eq!(adv.refs.len(), 2);
        assert!(adv.has("side-band-64k") && adv.has("agent") && !adv.has("push-cert"));
        assert_eq!(adv.get("refs/heads/main").unwrap().to_string(), A);

        let mut w = Vec::new();
        let zero = "0".repeat(40);
        pktline::encode_data(
            format!("{zero} capabilities^{{}}\0report-status\n").as_bytes(),
            &mut w,
        )
        .unwrap();
        pktline::encode(Packet::Flush, &mut w).unwrap();
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let adv = futures::executor::block_on(read_advertisement(&mut r)).unwrap();
        assert!(adv.refs.is_empty());
        assert!(adv.has("report-status"));
    }

    #[test]
    fn test_commands() {
        let id = ObjectId::from_hex(A.as_bytes()).unwrap();
        let cmds = [
            Command {
                old: None,
                new: Some(id),
                name: "refs/heads/new".into(),
            },
            Command {
                old: Some(id),
                new: None,
                name: "refs/heads/old".into(),
            },
        ];
        let req = commands_request(&cmds, &["report-status".into()]).unwrap();
        let expected = format!(
            "0073{z} {A} refs/heads/new\0report-status\n0065{A} {z} refs/heads/old\n0000",
            z = "0".repeat(40)
        );
        assert_eq!(String::from_utf8(req).unwrap(), expected);
    }

    #[test]
    fn test_report() {
        let lines: Vec<Vec<u8>> = vec![
            b"unpack ok".to_vec(),
            b"ok refs/heads/a".to_vec(),
            b"ng refs/heads/main non-fast-forward".to_vec(),
        ];
        let r = parse_report(&lines).unwrap();
        assert_eq!(r.unpack, Ok(()));
        assert_eq!(
            r.refs[1],
            ("refs/heads/main".into(), Err("non-fast-forward".into()))
        );
        assert!(parse_report(&[b"what".to_vec()]).is_err());

        // Nested in side-band.
        let mut inner = Vec::new();
        pktline::encode_line("unpack index-pack abnormal exit", &mut inner).unwrap();
        pktline::encode_line("ng refs/heads/a unpacker error", &mut inner).unwrap();
        pktline::encode(Packet::Flush, &mut inner).unwrap();
        let mut w = Vec::new();
        pktline::encode_sideband(2, b"remote: hi\n", &mut w);
        pktline::encode_sideband(1, &inner, &mut w);
        pktline::encode(Packet::Flush, &mut w).unwrap();
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let report = futures::executor::block_on(read_report(&mut r, true, &mut |_| {})).unwrap();
        assert_eq!(report.unpack, Err("index-pack abnormal exit".into()));
        assert_eq!(report.refs.len(), 1);
    }
}
