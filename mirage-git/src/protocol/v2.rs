//! Protocol version 2 (gitprotocol-v2): the capability advertisement, the
//! `ls-refs` command and the `fetch` command.
//!
//! A command request is `command=<name>`, capability lines, a delimiter,
//! argument lines and a flush. A fetch response is a sequence of sections
//! (`acknowledgments`, `shallow-info`, `wanted-refs`, `packfile`), each a
//! header line followed by its lines, separated by delimiters; it ends with
//! a flush.

use gix_hash::ObjectId;

use super::{MAX_LIST, parse_id, sideband, unexpected};
use crate::error::{Error, ProtocolError};
use crate::pktline::PktLineError;
use crate::pktline::{self, Line, Packet, PacketSource};

/// A server's protocol v2 capabilities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `key` or `key=value` entries in the order given.
    pub entries: Vec<(String, Option<String>)>,
}

impl Capabilities {
    /// The value of `key`: `None` if absent, `Some(None)` if given without value.
    pub fn get(&self, key: &str) -> Option<Option<&str>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref())
    }

    /// Whether the command `command` is offered with the feature `feature`
    /// (e.g. `fetch` with `shallow`).
    pub fn has_feature(&self, command: &str, feature: &str) -> bool {
        matches!(self.get(command), Some(Some(v)) if v.split(' ').any(|f| f == feature))
    }

    /// Checks that the object format is SHA-1.
    pub fn check_object_format(&self) -> Result<(), ProtocolError> {
        match self.get("object-format") {
            None | Some(Some("sha1")) => Ok(()),
            Some(v) => Err(ProtocolError::ObjectFormat(
                v.unwrap_or_default().to_string(),
            )),
        }
    }
}

/// Reads the advertisement: `version 2`, then capability lines up to a flush.
pub async fn read_capabilities<P: PacketSource>(source: &mut P) -> Result<Capabilities, Error> {
    match source.read_line().await? {
        Line::Data(d) if d == b"version 2" => {}
        _ => return Err(ProtocolError::NotV2.into()),
    }
    let mut caps = Capabilities::default();
    loop {
        match source.read_line().await? {
            Line::Flush => break,
            Line::Data(d) => {
                if caps.entries.len() >= MAX_LIST {
                    return Err(ProtocolError::TooManyRefs(MAX_LIST).into());
                }
                let text = core::str::from_utf8(&d).map_err(|_| unexpected("capabilities", &d))?;
                let entry = match text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (text.to_string(), None),
                };
                caps.entries.push(entry);
            }
            other => {
                return Err(ProtocolError::UnexpectedPacket {
                    what: other.name(),
                    context: "capabilities",
                }
                .into());
            }
        }
    }
    caps.check_object_format()?;
    Ok(caps)
}

/// Starts a command request: `command=<name>`, our agent, the object
/// format if the server announced one, and the delimiter.
fn command_header(name: &str, caps: &Capabilities, out: &mut Vec<u8>) -> Result<(), PktLineError> {
    pktline::encode_line(&format!("command={name}"), out)?;
    if caps.get("agent").is_some() {
        pktline::encode_line(&format!("agent={}", crate::AGENT), out)?;
    }
    if caps.get("object-format").is_some() {
        pktline::encode_line("object-format=sha1", out)?;
    }
    pktline::encode(Packet::Delim, out)
}

/// A reference as `ls-refs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// Its full name (`HEAD`, `refs/heads/main`, ...).
    pub name: String,
    /// The object it points to (`None` for an unborn `HEAD`).
    pub id: Option<ObjectId>,
    /// For a symbolic reference, its target.
    pub symref_target: Option<String>,
    /// For an annotated tag, the object it peels to.
    pub peeled: Option<ObjectId>,
}

/// Builds an `ls-refs` request listing references under `prefixes` (all if
/// empty), with symbolic targets and peeled tags.
pub fn ls_refs_request(caps: &Capabilities, prefixes: &[String]) -> Result<Vec<u8>, Error> {
    if caps.get("ls-refs").is_none() {
        return Err(ProtocolError::MissingCapability("ls-refs").into());
    }
    let mut out = Vec::new();
    command_header("ls-refs", caps, &mut out)?;
    pktline::encode_line("peel", &mut out)?;
    pktline::encode_line("symrefs", &mut out)?;
    if caps.has_feature("ls-refs", "unborn") {
        pktline::encode_line("unborn", &mut out)?;
    }
    for p in prefixes {
        pktline::encode_line(&format!("ref-prefix {p}"), &mut out)?;
    }
    pktline::encode(Packet::Flush, &mut out)?;
    Ok(out)
}

/// Parses one `ls-refs` line: `<oid|unborn> <name>( <attribute>)*`.
pub fn parse_ref_line(line: &[u8]) -> Result<RemoteRef, ProtocolError> {
    let text = core::str::from_utf8(line).map_err(|_| unexpected("ls-refs", line))?;
    let mut parts = text.split(' ');
    let id = parts.next().unwrap_or_default();
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| unexpected("ls-refs", line))?;
    let id = if id == "unborn" {
        None
    } else {
        Some(parse_id(id.as_bytes(), "ls-refs")?)
    };
    let mut r = RemoteRef {
        name: name.to_string(),
        id,
        symref_target: None,
        peeled: None,
    };
    for attr in parts {
        if let Some(t) = attr.strip_prefix("symref-target:") {
            r.symref_target = Some(t.to_string());
        } else if let Some(p) = attr.strip_prefix("peeled:") {
            r.peeled = Some(parse_id(p.as_bytes(), "ls-refs")?);
        }
    }
    Ok(r)
}

/// Reads an `ls-refs` response: reference lines up to a flush.
pub async fn read_ls_refs<P: PacketSource>(source: &mut P) -> Result<Vec<RemoteRef>, Error> {
    let mut refs = Vec::new();
    loop {
        match source.read_line().await? {
            Line::Flush | Line::End => return Ok(refs),
            Line::Data(d) => {
                if refs.len() >= MAX_LIST {
                    return Err(ProtocolError::TooManyRefs(MAX_LIST).into());
                }
                refs.push(parse_ref_line(&d)?);
            }
            Line::Delim => {
                return Err(ProtocolError::UnexpectedPacket {
                    what: "delimiter packet",
                    context: "ls-refs",
                }
                .into());
            }
        }
    }
}

/// The arguments of one `fetch` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchArgs {
    /// Objects wanted.
    pub wants: Vec<ObjectId>,
    /// Objects we have.
    pub haves: Vec<ObjectId>,
    /// Whether negotiation is over (`done`).
    pub done: bool,
    /// `deepen <n>`: a shallow fetch of this many commits.
    pub deepen: Option<u32>,
    /// Our shallow commits (`shallow <id>`).
    pub shallow: Vec<ObjectId>,
    /// Ask the server not to send progress.
    pub no_progress: bool,
    /// Allow deltas against objects we have but the pack lacks
    /// (`thin-pack`); the reader takes their bases from the store.
    pub thin_pack: bool,
}

/// Builds a `fetch` request.
pub fn fetch_request(caps: &Capabilities, args: &FetchArgs) -> Result<Vec<u8>, Error> {
    if caps.get("fetch").is_none() {
        return Err(ProtocolError::MissingCapability("fetch").into());
    }
    if (args.deepen.is_some() || !args.shallow.is_empty()) && !caps.has_feature("fetch", "shallow")
    {
        return Err(ProtocolError::MissingCapability("shallow").into());
    }
    let mut out = Vec::new();
    command_header("fetch", caps, &mut out)?;
    if args.thin_pack {
        pktline::encode_line("thin-pack", &mut out)?;
    }
    pktline::encode_line("ofs-delta", &mut out)?;
    if args.no_progress {
        pktline::encode_line("no-progress", &mut out)?;
    }
    for s in &args.shallow {
        pktline::encode_line(&format!("shallow {s}"), &mut out)?;
    }
    if let Some(depth) = args.deepen {
        pktline::encode_line(&format!("deepen {depth}"), &mut out)?;
    }
    for w in &args.wants {
        pktline::encode_line(&format!("want {w}"), &mut out)?;
    }
    for h in &args.haves {
        pktline::encode_line(&format!("have {h}"), &mut out)?;
    }
    if args.done {
        pktline::encode_line("done", &mut out)?;
    }
    pktline::encode(Packet::Flush, &mut out)?;
    Ok(out)
}

/// A parsed `fetch` response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchResponse {
    /// Objects the server acknowledged as common (`ACK <id>`).
    pub acks: Vec<ObjectId>,
    /// Whether the server said `ready` (a pack follows).
    pub ready: bool,
    /// New shallow boundary commits.
    pub shallow: Vec<ObjectId>,
    /// Commits no longer shallow.
    pub unshallow: Vec<ObjectId>,
    /// `wanted-refs` lines.
    pub wanted_refs: Vec<(ObjectId, String)>,
    /// The pack, if the response had a `packfile` section.
    pub pack: Option<Vec<u8>>,
}

/// Reads a `fetch` response; pack data is bounded by `max_pack`, progress
/// goes to `progress`.
pub async fn read_fetch_response<P: PacketSource>(
    source: &mut P,
    max_pack: u64,
    progress: &mut dyn FnMut(&[u8]),
) -> Result<FetchResponse, Error> {
    let mut resp = FetchResponse::default();
    let mut lines = 0usize;
    loop {
        let header = match source.read_line().await? {
            Line::Data(d) => d,
            other => {
                return Err(ProtocolError::UnexpectedPacket {
                    what: other.name(),
                    context: "fetch response",
                }
                .into());
            }
        };
        if header == b"packfile" {
            let mut pack = Vec::new();
            sideband::demux(source, &mut pack, max_pack, progress).await?;
            resp.pack = Some(pack);
            return Ok(resp);
        }
        let context: &'static str = match header.as_slice() {
            b"acknowledgments" => "acknowledgments",
            b"shallow-info" => "shallow-info",
            b"wanted-refs" => "wanted-refs",
            b"packfile-uris" => "packfile-uris",
            other => return Err(unexpected("fetch response", other).into()),
        };
        loop {
            let line = match source.read_line().await? {
                Line::Flush | Line::End => return Ok(resp),
                Line::Delim => break,
                Line::Data(d) => d,
            };
            lines += 1;
            if lines > MAX_LIST {
                return Err(ProtocolError::TooManyRefs(MAX_LIST).into());
            }
            match context {
                "acknowledgments" => {
                    if line == b"NAK" {
                    } else if line == b"ready" {
                        resp.ready = true;
                    } else if let Some(id) = line.strip_prefix(b"ACK ") {
                        resp.acks.push(parse_id(id, context)?);
                    } else {
                        return Err(unexpected(context, &line).into());
                    }
                }
                "shallow-info" => {
                    if let Some(id) = line.strip_prefix(b"shallow ") {
                        resp.shallow.push(parse_id(id, context)?);
                    } else if let Some(id) = line.strip_prefix(b"unshallow ") {
                        resp.unshallow.push(parse_id(id, context)?);
                    } else {
                        return Err(unexpected(context, &line).into());
                    }
                }
                "wanted-refs" => {
                    let (id, name) = line
                        .split_at_checked(40)
                        .ok_or_else(|| unexpected(context, &line))?;
                    let name = name
                        .strip_prefix(b" ")
                        .ok_or_else(|| unexpected(context, &line))?;
                    resp.wanted_refs.push((
                        parse_id(id, context)?,
                        String::from_utf8_lossy(name).into_owned(),
                    ));
                }
                // We never ask for packfile URIs; a server that sends them
                // anyway gets them ignored, its pack follows.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::io::SliceInput;
    use crate::pktline::PktReader;

    fn wire(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            match *l {
                "0000" => pktline::encode(Packet::Flush, &mut out).unwrap(),
                "0001" => pktline::encode(Packet::Delim, &mut out).unwrap(),
                l => pktline::encode_line(l, &mut out).unwrap(),
            }
        }
        out
    }

    // Captured from `git upload-pack` 2.47 with GIT_PROTOCOL=version=2.
    const ADVERT: &[&str] = &[
        "version 2",
        "agent=git/2.47.3",
        "ls-refs=unborn",
        "fetch=shallow wait-for-done",
        "server-option",
        "object-format=sha1",
        "0000",
    ];

    #[test]
    fn test_capabilities() {
        let w = wire(ADVERT);
        let mut r = PktReader::new(SliceInput::new(&w, 3));
        let caps = futures::executor::block_on(read_capabilities(&mut r)).unwrap();
        assert!(caps.has_feature("fetch", "shallow"));
        assert!(caps.has_feature("ls-refs", "unborn"));
        assert_eq!(caps.get("server-option"), Some(None));
        assert_eq!(caps.get("object-format"), Some(Some("sha1")));

        let w = wire(&["version 2", "object-format=sha256", "0000"]);
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let e = futures::executor::block_on(read_capabilities(&mut r));
        assert!(matches!(
            e,
            Err(Error::Protocol(ProtocolError::ObjectFormat(_)))
        ));

        let w = wire(&[
            "0123456789012345678901234567890123456789 HEAD\0multi_ack",
            "0000",
        ]);
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let e = futures::executor::block_on(read_capabilities(&mut r));
        assert!(matches!(e, Err(Error::Protocol(ProtocolError::NotV2))));
    }

    #[test]
    fn test_ls_refs() {
        let w = wire(&[
            "4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e HEAD symref-target:refs/heads/main",
            "4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e refs/heads/main",
            "1111111111111111111111111111111111111111 refs/tags/v1 peeled:4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e",
            "unborn refs/heads/x",
            "0000",
        ]);
        let mut r = PktReader::new(SliceInput::new(&w, 5));
        let refs = futures::executor::block_on(read_ls_refs(&mut r)).unwrap();
        assert_eq!(refs.len(), 4);
        assert_eq!(refs[0].symref_target.as_deref(), Some("refs/heads/main"));
        assert_eq!(refs[2].peeled, refs[0].id);
        assert_eq!(refs[3].id, None);
        assert!(parse_ref_line(b"123 refs/heads/x").is_err());
        assert!(parse_ref_line(b"4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e").is_err());
    }

    #[test]
    fn test_fetch_request() {
        let w = wire(ADVERT);
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let caps = futures::executor::block_on(read_capabilities(&mut r)).unwrap();
        let id = ObjectId::from_hex(b"4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e").unwrap();
        let args = FetchArgs {
            wants: vec![id],
            deepen: Some(1),
            done: true,
            ..FetchArgs::default()
        };
        let req = fetch_request(&caps, &args).unwrap();
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with("0012command=fetch\n"));
        assert!(text.contains("0001000eofs-delta\n000ddeepen 1\n0032want 4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e\n0009done\n0000"));
    }

    #[test]
    fn test_fetch_response_sections() {
        let mut w = wire(&[
            "shallow-info",
            "shallow 4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e",
            "0001",
            "packfile",
        ]);
        pktline::encode_sideband(2, b"Enumerating objects: 3, done.\n", &mut w);
        pktline::encode_sideband(1, b"PACKDATA", &mut w);
        pktline::encode(Packet::Flush, &mut w).unwrap();
        let mut r = PktReader::new(SliceInput::new(&w, 11));
        let mut progress = Vec::new();
        let resp = futures::executor::block_on(read_fetch_response(&mut r, 100, &mut |p| {
            progress.extend_from_slice(p)
        }))
        .unwrap();
        assert_eq!(resp.shallow.len(), 1);
        assert_eq!(resp.pack.as_deref(), Some(&b"PACKDATA"[..]));
        assert!(progress.starts_with(b"Enumerating"));

        let w = wire(&[
            "acknowledgments",
            "ACK 4a2d3c7b8e4b4f0c2a0b8e5c7d6f1e2a3b4c5d6e",
            "NAK",
            "0000",
        ]);
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let resp =
            futures::executor::block_on(read_fetch_response(&mut r, 100, &mut |_| {})).unwrap();
        assert_eq!((resp.acks.len(), resp.ready, resp.pack), (1, false, None));

        let w = wire(&["acknowledgments", "bogus", "0000"]);
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        assert!(
            futures::executor::block_on(read_fetch_response(&mut r, 100, &mut |_| {})).is_err()
        );

        let w = wire(&["ERR upload-pack: not our ref"]);
        let mut r = PktReader::new(SliceInput::new(&w, 0));
        let e = futures::executor::block_on(read_fetch_response(&mut r, 100, &mut |_| {}));
        assert!(
            matches!(e, Err(Error::Protocol(ProtocolError::Remote(m))) if m.contains("not our ref"))
        );
    }
}
