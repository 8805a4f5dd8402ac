//! Trees as directories: looking paths up in git trees, and editing a tree
//! in memory (loading only the directories an edit touches) before writing
//! the changed trees back bottom-up.

use std::collections::BTreeMap;

use gix_hash::ObjectId;
use gix_object::bstr::{BString, ByteSlice};
use gix_object::tree::{Entry, EntryKind as GitEntryKind, EntryMode};
use mirage_core::{EntryKind, Key};

use crate::backend::{Backend, require};
use crate::error::{BackendError, StoreError};
use crate::object::{ObjectKind, encode};

/// One entry of a tree as the store sees it: blob or sub-tree, with its id and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeEntry {
    /// The git mode (file, executable, symlink, directory).
    pub mode: EntryMode,
    /// The blob or tree id.
    pub id: ObjectId,
}

impl TreeEntry {
    /// Whether the entry is a directory.
    pub fn is_tree(&self) -> bool {
        self.mode.is_tree()
    }

    /// What a key-value store calls this entry.
    pub fn kv_kind(&self) -> EntryKind {
        if self.is_tree() {
            EntryKind::Dictionary
        } else {
            EntryKind::Value
        }
    }
}

/// The mode of a regular file.
pub fn blob_mode() -> EntryMode {
    GitEntryKind::Blob.into()
}

/// The mode of a directory.
pub fn tree_mode() -> EntryMode {
    GitEntryKind::Tree.into()
}

/// The entries of tree `id`, by name; submodule entries (gitlinks) are left out
/// as their objects live in another repository.
pub fn read_tree<B: Backend + ?Sized>(
    backend: &B,
    id: &ObjectId,
) -> Result<BTreeMap<BString, TreeEntry>, BackendError> {
    if id.is_empty_tree() {
        // Git knows the empty tree without storing it.
        return Ok(BTreeMap::new());
    }
    let tree = require(backend, id)?.into_tree(id, backend.object_hash())?;
    Ok(tree
        .entries
        .into_iter()
        .filter(|e| !e.mode.is_commit())
        .map(|e| {
            (
                e.filename,
                TreeEntry {
                    mode: e.mode,
                    id: e.oid,
                },
            )
        })
        .collect())
}

/// Writes a tree from its entries (sorted the git way) and returns its id.
pub fn write_tree<B: Backend + ?Sized>(
    backend: &B,
    entries: &BTreeMap<BString, TreeEntry>,
) -> Result<ObjectId, BackendError> {
    let mut tree = gix_object::Tree {
        entries: entries
            .iter()
            .map(|(name, e)| Entry {
                mode: e.mode,
                filename: name.clone(),
                oid: e.id,
            })
            .collect(),
    };
    tree.entries.sort();
    backend.write_object(ObjectKind::Tree, &encode(&tree)?)
}

/// The id of the empty tree in `hash`.
pub fn empty_tree_id(hash: gix_hash::Kind) -> ObjectId {
    ObjectId::empty_tree(hash)
}

/// The entry at `path` below the tree `root`; the root itself is a tree entry.
/// Each tree on the way is scanned for one name, without decoding the rest.
pub fn lookup<B: Backend + ?Sized>(
    backend: &B,
    root: Option<ObjectId>,
    path: &Key,
) -> Result<Option<TreeEntry>, StoreError> {
    let Some(root) = root else {
        return Ok(None);
    };
    let hash = backend.object_hash();
    let mut current = TreeEntry {
        mode: tree_mode(),
        id: root,
    };
    for segment in path.segments() {
        if !current.is_tree() || current.id.is_empty_tree() {
            return Ok(None);
        }
        let raw = require(backend, &current.id)?;
        match raw.tree_entry(&current.id, hash, segment.as_bytes())? {
            Some((mode, id)) if !mode.is_commit() => current = TreeEntry { mode, id },
            _ => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// The names and kinds inside tree `id`, as key segments.
pub fn list<B: Backend + ?Sized>(
    backend: &B,
    id: &ObjectId,
) -> Result<Vec<(String, TreeEntry)>, StoreError> {
    read_tree(backend, id)?
        .into_iter()
        .map(|(name, e)| match String::from_utf8(name.to_vec()) {
            Ok(s) if Key::root().join(s.clone()).is_ok() => Ok((s, e)),
            _ => Err(StoreError::BadEntryName {
                tree: *id,
                name: name.to_str_lossy().into_owned(),
            }),
        })
        .collect()
}

#[derive(Debug)]
enum Node {
    Leaf(TreeEntry),
    Dir(Dir),
}

#[derive(Debug, Default)]
struct Dir {
    /// The tree this directory was loaded from, while unchanged.
    original: Option<ObjectId>,
    /// The entries, once loaded or created.
    children: Option<BTreeMap<BString, Node>>,
}

impl Dir {
    /// Whether nothing but empty directories lies below.
    fn is_empty(&self) -> bool {
        match &self.children {
            None => self.original.is_none_or(|id| id.is_empty_tree()),
            Some(children) => children.values().all(|node| match node {
                Node::Leaf(_) => false,
                Node::Dir(d) => d.is_empty(),
            }),
        }
    }

    fn unloaded(id: ObjectId) -> Dir {
        Dir {
            original: Some(id),
            children: None,
        }
    }

    fn children<B: Backend + ?Sized>(
        &mut self,
        backend: &B,
    ) -> Result<&mut BTreeMap<BString, Node>, BackendError> {
        if self.children.is_none() {
            let mut map = BTreeMap::new();
            if let Some(id) = self.original {
                for (name, e) in read_tree(backend, &id)? {
                    let node = if e.is_tree() {
                        Node::Dir(Dir::unloaded(e.id))
                    } else {
                        Node::Leaf(e)
                    };
                    map.insert(name, node);
                }
            }
            self.children = Some(map);
        }
        // Any caller asking for the children may change them.
        self.original = None;
        Ok(self.children.as_mut().expect("loaded above"))
    }
}

/// Edits of one tree, kept in memory until [`TreeEditor::write`].
#[derive(Debug)]
pub struct TreeEditor<'b, B: ?Sized> {
    backend: &'b B,
    root: Dir,
}

fn reject_dot_git(path: &Key) -> Result<(), StoreError> {
    if path
        .segments()
        .iter()
        .any(|s| s.eq_ignore_ascii_case(".git"))
    {
        return Err(StoreError::ForbiddenPath(path.clone()));
    }
    Ok(())
}

impl<'b, B: Backend + ?Sized> TreeEditor<'b, B> {
    /// Starts editing the tree `root` (`None`: an empty tree).
    pub fn new(backend: &'b B, root: Option<ObjectId>) -> Self {
        TreeEditor {
            backend,
            root: Dir {
                original: root,
                children: None,
            },
        }
    }

    /// Walks to the directory holding `path`'s last segment, creating missing directories.
    fn parent_dir(&mut self, path: &Key) -> Result<&mut BTreeMap<BString, Node>, StoreError> {
        let backend = self.backend;
        let mut dir = &mut self.root;
        let segments = path.segments();
        for (i, segment) in segments[..segments.len().saturating_sub(1)]
            .iter()
            .enumerate()
        {
            let children = dir.children(backend)?;
            let node = children
                .entry(BString::from(segment.as_bytes()))
                .or_insert_with(|| Node::Dir(Dir::default()));
            match node {
                Node::Dir(d) => dir = d,
                Node::Leaf(_) => {
                    let prefix = Key::from_segments(segments[..=i].iter().cloned())
                        .expect("prefix of a valid key");
                    return Err(StoreError::DictionaryExpected(prefix));
                }
            }
        }
        Ok(dir.children(backend)?)
    }

    /// Puts a blob or sub-tree at `path`, replacing a value there. Putting
    /// anything where a directory is fails with [`StoreError::ValueExpected`]
    /// unless `replace_dir` is set.
    pub fn put(
        &mut self,
        path: &Key,
        entry: TreeEntry,
        replace_dir: bool,
    ) -> Result<(), StoreError> {
        reject_dot_git(path)?;
        let Some(name) = path.basename() else {
            // The root itself: only a tree can stand there.
            if entry.is_tree() && replace_dir {
                self.root = Dir::unloaded(entry.id);
                return Ok(());
            }
            return Err(StoreError::ValueExpected(path.clone()));
        };
        let name = BString::from(name.as_bytes());
        let children = self.parent_dir(path)?;
        if !replace_dir && let Some(Node::Dir(d)) = children.get(&name) {
            // A directory emptied by earlier edits no longer exists.
            if !d.is_empty() {
                return Err(StoreError::ValueExpected(path.clone()));
            }
        }
        let node = if entry.is_tree() {
            Node::Dir(Dir::unloaded(entry.id))
        } else {
            Node::Leaf(entry)
        };
        children.insert(name, node);
        Ok(())
    }

    /// Stores `data` as a blob and puts it at `path` as a regular file.
    pub fn set(&mut self, path: &Key, data: &[u8]) -> Result<(), StoreError> {
        reject_dot_git(path)?;
        let id = self.backend.write_object(ObjectKind::Blob, data)?;
        self.put(
            path,
            TreeEntry {
                mode: blob_mode(),
                id,
            },
            false,
        )
    }

    /// Removes whatever is at `path` (the root: everything). Missing paths are fine.
    pub fn remove(&mut self, path: &Key) -> Result<(), StoreError> {
        let Some(name) = path.basename() else {
            self.root = Dir {
                original: None,
                children: Some(BTreeMap::new()),
            };
            return Ok(());
        };
        let backend = self.backend;
        let mut dir = &mut self.root;
        let segments = path.segments();
        for segment in &segments[..segments.len() - 1] {
            match dir.children(backend)?.get_mut(segment.as_bytes().as_bstr()) {
                Some(Node::Dir(d)) => dir = d,
                _ => return Ok(()),
            }
        }
        dir.children(backend)?.remove(name.as_bytes().as_bstr());
        Ok(())
    }

    /// The entry at `path` as currently edited, writing edited directories as needed.
    pub fn get(&mut self, path: &Key) -> Result<Option<TreeEntry>, StoreError> {
        let backend = self.backend;
        let mut dir = &mut self.root;
        let segments = path.segments();
        for (i, segment) in segments.iter().enumerate() {
            if dir.children.is_none() {
                // Unchanged below here: look up in the stored tree.
                let rest = Key::from_segments(segments[i..].iter().cloned())
                    .expect("suffix of a valid key");
                return lookup(backend, dir.original, &rest);
            }
            match dir.children(backend)?.get_mut(segment.as_bytes().as_bstr()) {
                Some(Node::Dir(d)) => dir = d,
                Some(Node::Leaf(e)) if i + 1 == segments.len() => return Ok(Some(*e)),
                _ => return Ok(None),
            }
        }
        match write_dir(backend, dir)? {
            Some(id) => Ok(Some(TreeEntry {
                mode: tree_mode(),
                id,
            })),
            None if segments.is_empty() => Ok(Some(TreeEntry {
                mode: tree_mode(),
                id: empty_tree_id(backend.object_hash()),
            })),
            None => Ok(None),
        }
    }

    /// Writes every changed tree and returns the new root tree id (the empty
    /// tree if nothing is left). Empty directories disappear, as in git.
    pub fn write(mut self) -> Result<ObjectId, StoreError> {
        let backend = self.backend;
        match write_dir(backend, &mut self.root)? {
            Some(id) => Ok(id),
            None => {
                let empty = encode(&gix_object::Tree::empty())?;
                Ok(backend.write_object(ObjectKind::Tree, &empty)?)
            }
        }
    }
}

/// Writes `dir` if changed; `None` when it is empty.
fn write_dir<B: Backend + ?Sized>(
    backend: &B,
    dir: &mut Dir,
) -> Result<Option<ObjectId>, BackendError> {
    let Some(children) = dir.children.as_mut() else {
        return Ok(dir.original);
    };
    let mut entries = BTreeMap::new();
    for (name, node) in children.iter_mut() {
        let entry = match node {
            Node::Leaf(e) => Some(*e),
            Node::Dir(d) => write_dir(backend, d)?.map(|id| TreeEntry {
                mode: tree_mode(),
                id,
            }),
        };
        if let Some(e) = entry {
            entries.insert(name.clone(), e);
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    let id = write_tree(backend, &entries)?;
    // Keep the loaded children; the written id is a cache for repeated gets.
    Ok(Some(id))
}
