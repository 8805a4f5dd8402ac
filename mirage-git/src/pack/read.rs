//! Parsing and verifying a whole pack held in memory.
//!
//! [`verify`] checks the trailing SHA-1, inflates every entry (each bounded
//! by its announced size and the [`Limits`]), resolves offset and reference
//! deltas (bases in the pack, or in the store for thin packs), computes every
//! object's id and decodes every commit, tree and tag. Only a pack that
//! passes all of this yields objects.

use std::collections::HashMap;

use gix_hash::ObjectId;
use gix_zlib::{Decompress, FlushDecompress, Status};

use super::{Limits, delta, entry_type};
use crate::error::{Error, PackError};
use crate::store::{ObjectKind, ObjectStore};

/// One object of a verified pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackObject {
    /// Its id.
    pub id: ObjectId,
    /// Its kind.
    pub kind: ObjectKind,
    /// Its canonical bytes.
    pub data: Vec<u8>,
}

/// The result of [`verify`]: every object of the pack, in pack order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedPack {
    /// The objects.
    pub objects: Vec<PackObject>,
    /// The pack's trailing checksum.
    pub checksum: Option<ObjectId>,
    /// How many entries were deltas.
    pub deltas: usize,
    /// How many delta bases came from the store (a thin pack).
    pub thin_bases: usize,
}

impl VerifiedPack {
    /// Writes every object into `store`.
    pub fn store_into<S: ObjectStore>(&self, store: &S) -> Result<(), Error> {
        for o in &self.objects {
            let id = store
                .write(o.kind, &o.data)
                .map_err(|e| Error::Store(Box::new(e)))?;
            debug_assert_eq!(id, o.id);
        }
        Ok(())
    }
}

enum Entry {
    Base(ObjectKind),
    Ofs(usize),
    Ref(ObjectId),
}

struct Parsed {
    offset: u64,
    entry: Entry,
    data: Vec<u8>,
}

fn kind_of(t: u8) -> Option<ObjectKind> {
    Some(match t {
        entry_type::COMMIT => ObjectKind::Commit,
        entry_type::TREE => ObjectKind::Tree,
        entry_type::BLOB => ObjectKind::Blob,
        entry_type::TAG => ObjectKind::Tag,
        _ => return None,
    })
}

/// Inflates the zlib stream at the start of `input`, which must produce
/// exactly `size` bytes; returns the data and the compressed length. The
/// buffer grows with the output actually produced, so a false size costs
/// nothing until the data is there.
fn inflate(
    z: &mut Decompress,
    input: &[u8],
    size: usize,
    offset: u64,
) -> Result<(Vec<u8>, usize), PackError> {
    z.reset();
    // One spare byte tells a stream longer than announced.
    let cap = size + 1;
    let mut out = vec![0u8; cap.min(64 * 1024)];
    let (mut read, mut written) = (0usize, 0usize);
    loop {
        if written == out.len() && out.len() < cap {
            let grown = (out.len() * 2).min(cap);
            out.resize(grown, 0);
        }
        let (in0, out0) = (z.total_in(), z.total_out());
        let status = z
            .decompress(&input[read..], &mut out[written..], FlushDecompress::None)
            .map_err(|_| PackError::Zlib(offset))?;
        read += (z.total_in() - in0) as usize;
        written += (z.total_out() - out0) as usize;
        if written > size {
            return Err(PackError::Zlib(offset));
        }
        match status {
            Status::StreamEnd => break,
            _ if z.total_in() == in0 && z.total_out() == out0 => {
                return Err(PackError::Zlib(offset));
            }
            _ => {}
        }
    }
    if written != size {
        return Err(PackError::Zlib(offset));
    }
    out.truncate(size);
    Ok((out, read))
}

fn checked_object_size(size: u64, limits: &Limits, total: &mut u64) -> Result<usize, PackError> {
    if size > limits.max_object_bytes {
        return Err(PackError::ObjectTooLarge(limits.max_object_bytes));
    }
    *total = total.saturating_add(size);
    if *total > limits.max_total_bytes {
        return Err(PackError::ObjectTooLarge(limits.max_total_bytes));
    }
    usize::try_from(size).map_err(|_| PackError::ObjectTooLarge(limits.max_object_bytes))
}

/// Parses every entry (inflated, unresolved).
fn parse_entries(
    pack: &[u8],
    limits: &Limits,
    total: &mut u64,
) -> Result<(Vec<Parsed>, ObjectId), PackError> {
    if pack.len() as u64 > limits.max_pack_bytes {
        return Err(PackError::TooLarge(limits.max_pack_bytes));
    }
    if pack.len() < 32 || &pack[..4] != b"PACK" {
        return Err(PackError::BadHeader);
    }
    let version = u32::from_be_bytes([pack[4], pack[5], pack[6], pack[7]]);
    if version != 2 && version != 3 {
        return Err(PackError::BadHeader);
    }
    let count = u64::from(u32::from_be_bytes([pack[8], pack[9], pack[10], pack[11]]));
    if count > limits.max_objects {
        return Err(PackError::TooManyObjects {
            count,
            limit: limits.max_objects,
        });
    }
    let body_end = pack.len() - 20;
    let mut hasher = gix_hash::hasher(gix_hash::Kind::Sha1);
    hasher.update(&pack[..body_end]);
    let computed = hasher.try_finalize().map_err(|_| PackError::Checksum)?;
    if computed.as_bytes() != &pack[body_end..] {
        return Err(PackError::Checksum);
    }
    let body = &pack[..body_end];
    let mut z = Decompress::new();
    // Every entry takes at least two bytes, so `count` bounds the vector.
    let mut entries = Vec::with_capacity((count as usize).min(body.len() / 2));
    let mut pos = 12usize;
    for _ in 0..count {
        let offset = pos as u64;
        let bad = PackError::BadEntry(offset);
        let mut b = *body.get(pos).ok_or(bad.clone())?;
        pos += 1;
        let t = (b >> 4) & 7;
        let mut size = u64::from(b & 0x0f);
        let mut shift = 4;
        while b & 0x80 != 0 {
            b = *body.get(pos).ok_or(bad.clone())?;
            pos += 1;
            if shift > 60 {
                return Err(bad);
            }
            size |= u64::from(b & 0x7f) << shift;
            shift += 7;
        }
        let entry = match t {
            entry_type::OFS_DELTA => {
                let mut c = *body.get(pos).ok_or(bad.clone())?;
                pos += 1;
                let mut back = u64::from(c & 0x7f);
                while c & 0x80 != 0 {
                    c = *body.get(pos).ok_or(bad.clone())?;
                    pos += 1;
                    back = back
                        .checked_add(1)
                        .and_then(|v| v.checked_mul(128))
                        .ok_or(bad.clone())?
                        | u64::from(c & 0x7f);
                }
                if back == 0 || back > offset {
                    return Err(bad);
                }
                Entry::Ofs((offset - back) as usize)
            }
            entry_type::REF_DELTA => {
                let raw = body.get(pos..pos + 20).ok_or(bad.clone())?;
                pos += 20;
                Entry::Ref(ObjectId::from_bytes_or_panic(raw))
            }
            t => Entry::Base(kind_of(t).ok_or(bad)?),
        };
        let size = checked_object_size(size, limits, total)?;
        let (data, used) = inflate(&mut z, &body[pos..], size, offset)?;
        pos += used;
        entries.push(Parsed {
            offset,
            entry,
            data,
        });
    }
    if pos != body_end {
        return Err(PackError::TrailingBytes((body_end - pos) as u64));
    }
    Ok((entries, computed))
}

/// Checks that an object decodes as its kind says.
fn check_object(id: ObjectId, kind: ObjectKind, data: &[u8]) -> Result<(), PackError> {
    if kind == ObjectKind::Blob {
        return Ok(());
    }
    gix_object::ObjectRef::from_bytes(data, kind, gix_hash::Kind::Sha1)
        .map(|_| ())
        .map_err(|_| PackError::Malformed(id))
}

/// Parses, resolves and verifies `pack` (see the module docs). Reference
/// deltas whose base is not in the pack take it from `store` (thin packs).
pub fn verify<S: ObjectStore>(
    pack: &[u8],
    limits: &Limits,
    store: &S,
) -> Result<VerifiedPack, Error> {
    let mut total = 0u64;
    let (mut entries, checksum) = parse_entries(pack, limits, &mut total)?;
    let by_offset: HashMap<u64, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.offset, i))
        .collect();
    let mut resolved: Vec<Option<(ObjectKind, Vec<u8>)>> = vec![None; entries.len()];
    let mut by_id: HashMap<ObjectId, usize> = HashMap::new();
    let mut ids: Vec<Option<ObjectId>> = vec![None; entries.len()];
    let mut deltas = 0;

    // Bases first.
    for (i, e) in entries.iter_mut().enumerate() {
        if let Entry::Base(kind) = e.entry {
            let id = object_id(kind, &e.data, e.offset)?;
            check_object(id, kind, &e.data)?;
            by_id.entry(id).or_insert(i);
            ids[i] = Some(id);
            // The entry's data is not needed again: move it.
            resolved[i] = Some((kind, core::mem::take(&mut e.data)));
        } else {
            deltas += 1;
        }
    }

    // Deltas: resolve chains until nothing is left; reference deltas may
    // name a base that only a later pass resolves.
    let mut remaining: Vec<usize> = (0..entries.len())
        .filter(|&i| resolved[i].is_none())
        .collect();
    let mut store_bases: HashMap<ObjectId, (ObjectKind, Vec<u8>)> = HashMap::new();
    while !remaining.is_empty() {
        let mut progress = false;
        let mut still = Vec::new();
        for &i in &remaining {
            if resolved[i].is_some() {
                continue;
            }
            // Walk down to a resolved base.
            let mut chain = vec![i];
            let mut base: Option<(ObjectKind, Vec<u8>)> = None;
            let mut cur = i;
            let mut stuck = false;
            loop {
                if chain.len() > limits.max_delta_depth {
                    return Err(PackError::ChainTooDeep(limits.max_delta_depth).into());
                }
                let next = match &entries[cur].entry {
                    Entry::Base(_) => unreachable_base(entries[cur].offset)?,
                    Entry::Ofs(off) => {
                        *by_offset
                            .get(&(*off as u64))
                            .ok_or(PackError::MissingBase {
                                offset: entries[cur].offset,
                            })?
                    }
                    Entry::Ref(id) => match by_id.get(id) {
                        Some(&j) => j,
                        None => {
                            if let Some(b) = store_bases.get(id) {
                                base = Some(b.clone());
                                break;
                            }
                            match store.read(id).map_err(|e| Error::Store(Box::new(e)))? {
                                Some(b) => {
                                    store_bases.insert(*id, b.clone());
                                    base = Some(b);
                                    break;
                                }
                                None => {
                                    stuck = true;
                                    break;
                                }
                            }
                        }
                    },
                };
                if let Some(b) = &resolved[next] {
                    base = Some(b.clone());
                    break;
                }
                if chain.contains(&next) {
                    return Err(PackError::MissingBase {
                        offset: entries[cur].offset,
                    }
                    .into());
                }
                chain.push(next);
                cur = next;
            }
            if stuck {
                still.push(i);
                continue;
            }
            let (kind, mut data) = base.ok_or(PackError::MissingBase {
                offset: entries[i].offset,
            })?;
            for &j in chain.iter().rev() {
                let e = &entries[j];
                let size =
                    delta::result_size(&e.data).map_err(|_| PackError::BadDelta(e.offset))?;
                checked_object_size(size, limits, &mut total)?;
                data = delta::apply(&data, &e.data, limits.max_object_bytes)
                    .map_err(|_| PackError::BadDelta(e.offset))?;
                let id = object_id(kind, &data, e.offset)?;
                check_object(id, kind, &data)?;
                by_id.entry(id).or_insert(j);
                ids[j] = Some(id);
                resolved[j] = Some((kind, data.clone()));
            }
            progress = true;
        }
        if !progress {
            let offset = still.first().map(|&i| entries[i].offset).unwrap_or(0);
            return Err(PackError::MissingBase { offset }.into());
        }
        remaining = still;
    }

    let objects = resolved
        .into_iter()
        .zip(ids)
        .filter_map(|(r, id)| {
            let (kind, data) = r?;
            Some(PackObject {
                id: id?,
                kind,
                data,
            })
        })
        .collect();
    Ok(VerifiedPack {
        objects,
        checksum: Some(checksum),
        deltas,
        thin_bases: store_bases.len(),
    })
}

fn unreachable_base(offset: u64) -> Result<usize, PackError> {
    // A base entry is resolved before deltas are walked; reaching one
    // unresolved means the pack is inconsistent.
    Err(PackError::BadEntry(offset))
}

fn object_id(kind: ObjectKind, data: &[u8], offset: u64) -> Result<ObjectId, PackError> {
    gix_object::compute_hash(gix_hash::Kind::Sha1, kind, data).map_err(|_| PackError::Hash(offset))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::pack::write_pack;
    use crate::store::MemStore;

    fn sample() -> Vec<(ObjectKind, Vec<u8>)> {
        vec![
            (ObjectKind::Blob, b"hello\n".to_vec()),
            (ObjectKind::Blob, Vec::new()),
            (ObjectKind::Blob, vec![7u8; 100_000]),
        ]
    }

    #[test]
    fn test_round_trip() {
        let objects = sample();
        let pack = write_pack(
            objects.iter().map(|(k, d)| (*k, d.as_slice())),
            objects.len(),
        )
        .unwrap();
        let v = verify(&pack, &Limits::default(), &MemStore::new()).unwrap();
        assert_eq!(v.objects.len(), 3);
        assert_eq!(v.objects[0].data, b"hello\n");
        assert_eq!(
            v.objects[0].id.to_string(),
            "ce013625030ba8dba906f756967f9e9ca394464a" // git hash-object of "hello\n"
        );
    }

    #[test]
    fn test_corruption_is_detected() {
        let objects = sample();
        let pack = write_pack(
            objects.iter().map(|(k, d)| (*k, d.as_slice())),
            objects.len(),
        )
        .unwrap();
        for i in 0..pack.len() {
            let mut bad = pack.clone();
            bad[i] ^= 0x20;
            assert!(
                verify(&bad, &Limits::default(), &MemStore::new()).is_err(),
                "flip at {i}"
            );
        }
        for len in 0..pack.len() {
            assert!(verify(&pack[..len], &Limits::default(), &MemStore::new()).is_err());
        }
    }

    #[test]
    fn test_limits() {
        let objects = sample();
        let pack = write_pack(
            objects.iter().map(|(k, d)| (*k, d.as_slice())),
            objects.len(),
        )
        .unwrap();
        let limits = Limits {
            max_object_bytes: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            verify(&pack, &limits, &MemStore::new()),
            Err(Error::Pack(PackError::ObjectTooLarge(1000)))
        ));
        let limits = Limits {
            max_objects: 2,
            ..Limits::default()
        };
        assert!(matches!(
            verify(&pack, &limits, &MemStore::new()),
            Err(Error::Pack(PackError::TooManyObjects {
                count: 3,
                limit: 2
            }))
        ));
    }
}
