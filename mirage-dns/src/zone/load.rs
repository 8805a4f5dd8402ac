//! Loading zones from a mirage-core [`KvRo`] store, `$INCLUDE`s included.

use std::collections::HashMap;

use mirage_core::{EntryKind, Key, KeyError, KvError, KvRo};

use super::data::Zone;
use super::error::{CheckError, IncludeError, ZoneError};
use super::parse::parse_with_includes;
use crate::wire::{Name, NameError};

/// Most files one zone may pull in through `$INCLUDE`.
pub const MAX_INCLUDED_FILES: usize = 64;

/// The file-name suffix that marks a zone file in [`load_zones`].
pub const ZONE_SUFFIX: &str = ".zone";

/// Returned by [`load_zone`] and [`load_zones`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The store could not read a file.
    #[error("cannot read {key}: {source}")]
    Read {
        /// The file.
        key: Key,
        /// Why.
        source: KvError,
    },
    /// A zone file is not UTF-8 text.
    #[error("{key} is not UTF-8 text")]
    NotText {
        /// The file.
        key: Key,
    },
    /// A file name is not a valid store key.
    #[error("{name:?} is not a valid file name: {source}")]
    BadKey {
        /// The name.
        name: String,
        /// Why.
        source: KeyError,
    },
    /// A zone file name does not give a valid origin.
    #[error("{file:?} does not name a zone: {source}")]
    BadOrigin {
        /// The file name.
        file: String,
        /// Why.
        source: NameError,
    },
    /// The text is not a valid master file.
    #[error(transparent)]
    Parse(#[from] ZoneError),
    /// The records do not make a valid zone.
    #[error(transparent)]
    Check(#[from] CheckError),
}

/// Reads a whole value as UTF-8 text.
async fn read_text<K: KvRo>(kv: &K, key: &Key) -> Result<Result<String, IncludeError>, LoadError> {
    match kv.get(key).await {
        Ok(bytes) => Ok(String::from_utf8(bytes.to_vec()).map_err(|_| IncludeError::NotText)),
        Err(KvError::NotFound(_)) => Ok(Err(IncludeError::NotFound)),
        Err(source) => Err(LoadError::Read {
            key: key.clone(),
            source,
        }),
    }
}

/// Loads the zone at `origin` from the master file at `key` in `kv`.
/// `$INCLUDE` names are keys relative to the directory of `key`.
pub async fn load_zone<K: KvRo>(kv: &K, key: &Key, origin: &Name) -> Result<Zone, LoadError> {
    let bytes = kv.get(key).await.map_err(|source| LoadError::Read {
        key: key.clone(),
        source,
    })?;
    let text =
        String::from_utf8(bytes.to_vec()).map_err(|_| LoadError::NotText { key: key.clone() })?;
    let dir = key.parent();
    let mut files: HashMap<String, Result<String, IncludeError>> = HashMap::new();
    loop {
        let mut missing = None;
        let result = parse_with_includes(&text, &key.to_string(), origin, &mut |name| match files
            .get(name)
        {
            Some(r) => r.clone(),
            None => {
                missing = Some(name.to_string());
                Err(IncludeError::Pending)
            }
        });
        match (result, missing) {
            (Err(_), Some(name)) if files.len() < MAX_INCLUDED_FILES => {
                let fetched = match Key::parse(&name).and_then(|k| dir.append(&k)) {
                    Ok(k) => read_text(kv, &k).await?,
                    Err(_) => Err(IncludeError::BadName),
                };
                files.insert(name, fetched);
            }
            (result, _) => return Ok(Zone::new(origin.clone(), result?)?),
        }
    }
}

/// Loads every `*.zone` file directly in the dictionary `dir`; each file
/// name less the suffix is its zone's origin (`example.com.zone`).
pub async fn load_zones<K: KvRo>(kv: &K, dir: &Key) -> Result<Vec<Zone>, LoadError> {
    let mut entries = kv.list(dir).await.map_err(|source| LoadError::Read {
        key: dir.clone(),
        source,
    })?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut zones = Vec::new();
    for (file, kind) in entries {
        let Some(stem) = file
            .strip_suffix(ZONE_SUFFIX)
            .filter(|_| kind == EntryKind::Value)
        else {
            continue;
        };
        let origin = stem
            .parse::<Name>()
            .map_err(|source| LoadError::BadOrigin {
                file: file.clone(),
                source,
            })?;
        let key = dir
            .join(file.clone())
            .map_err(|source| LoadError::BadKey { name: file, source })?;
        zones.push(load_zone(kv, &key, &origin).await?);
    }
    Ok(zones)
}
