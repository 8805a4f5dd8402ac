//! Pushing: the reference advertisement, checks of every update against
//! it, the commands and a pack of the missing objects, and the report.

use gix_hash::ObjectId;
use mirage_core::Stack;

use super::{Client, store_err};
use crate::error::{Error, ProtocolError, RejectedUpdate};
use crate::pack;
use crate::pktline::{self, Packet};
use crate::protocol::receive_pack::{self, Command};
use crate::store::ObjectStore;
use crate::transport::{Service, Session};
use crate::url::Url;
use crate::walk;

/// What the remote reference must hold for an update to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Whatever it holds (the advertised value is sent as the old value).
    Any,
    /// It must not exist.
    Absent,
    /// It must hold this value (a lease: fails if someone pushed meanwhile).
    Value(ObjectId),
}

/// One reference to update in a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The remote reference's full name.
    pub name: String,
    /// Its new value; `None` deletes it.
    pub new: Option<ObjectId>,
    /// What it must hold now.
    pub expect: Expect,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// References updated: name, old value, new value.
    pub updated: Vec<(String, Option<ObjectId>, Option<ObjectId>)>,
    /// References that already had the requested value (nothing sent).
    pub up_to_date: Vec<String>,
    /// Objects sent in the pack.
    pub objects_sent: usize,
}

/// Whether `name` may be sent as a reference in a push command: under
/// `refs/`, with no control characters, spaces or the sequences git forbids
/// (`..`, `@{`, a trailing `/`, `.` or `.lock`).
fn valid_refname(name: &str) -> bool {
    name.starts_with("refs/")
        && name.len() > 5
        && !name
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b"~^:?*[\\".contains(&b))
        && !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
        && !name.ends_with('/')
        && !name.ends_with('.')
        && !name.ends_with(".lock")
}

impl<'s, S: Stack> Client<'s, S> {
    /// Pushes `updates`, sending the objects they need from `store`. Every
    /// update is checked against the advertised value first (see
    /// [`Expect`]); a mismatch, or any `ng` the server reports, is an
    /// [`Error::Rejected`] naming each rejected reference and its reason.
    pub async fn push<O: ObjectStore>(
        &self,
        url: &Url,
        store: &O,
        updates: &[RefUpdate],
        progress: &mut dyn FnMut(&[u8]),
    ) -> Result<PushOutcome, Error> {
        let mut session = Session::connect(self.stack, url, Service::ReceivePack, false).await?;
        let adv = receive_pack::read_advertisement(&mut session).await?;
        let mut outcome = PushOutcome::default();
        let mut commands = Vec::new();
        let mut rejected = Vec::new();
        for u in updates {
            if !valid_refname(&u.name) {
                rejected.push(RejectedUpdate {
                    refname: u.name.clone(),
                    reason: "invalid reference name".into(),
                });
                continue;
            }
            let remote = adv.get(&u.name);
            let ok = match u.expect {
                Expect::Any => true,
                Expect::Absent => remote.is_none(),
                Expect::Value(v) => remote == Some(v),
            };
            if !ok {
                let has = remote
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "nothing".into());
                rejected.push(RejectedUpdate {
                    refname: u.name.clone(),
                    reason: format!("stale info (remote has {has})"),
                });
            } else if remote == u.new {
                outcome.up_to_date.push(u.name.clone());
            } else if u.new.is_none() && !adv.has("delete-refs") {
                rejected.push(RejectedUpdate {
                    refname: u.name.clone(),
                    reason: "the server does not allow deleting references".into(),
                });
            } else {
                commands.push(Command {
                    old: remote,
                    new: u.new,
                    name: u.name.clone(),
                });
            }
        }
        if !rejected.is_empty() || commands.is_empty() {
            // Tell receive-pack there is nothing to do.
            let mut flush = Vec::new();
            pktline::encode(Packet::Flush, &mut flush)?;
            let _ = session.send(&flush).await;
            return if rejected.is_empty() {
                Ok(outcome)
            } else {
                Err(Error::Rejected(rejected))
            };
        }

        let deletes = commands.iter().any(|c| c.new.is_none());
        let mut caps = receive_pack::choose_capabilities(&adv, deletes);
        if self.options.atomic_push {
            if !adv.has("atomic") {
                return Err(ProtocolError::MissingCapability("atomic").into());
            }
            caps.push("atomic".into());
        }
        let sideband = caps.iter().any(|c| c == "side-band-64k");
        let mut body = receive_pack::commands_request(&commands, &caps)?;
        if commands.iter().any(|c| c.new.is_some()) {
            let tips: Vec<ObjectId> = commands.iter().filter_map(|c| c.new).collect();
            let remote: Vec<ObjectId> = adv.refs.iter().map(|(_, id)| *id).collect();
            let ids = walk::objects_to_push(store, &tips, &remote)?;
            let mut objects = Vec::with_capacity(ids.len());
            for id in &ids {
                objects.push(
                    store
                        .read(id)
                        .map_err(store_err)?
                        .ok_or(Error::MissingObject(*id))?,
                );
            }
            let pack = pack::write_pack(
                objects.iter().map(|(k, d)| (*k, d.as_slice())),
                objects.len(),
            )?;
            body.extend_from_slice(&pack);
            outcome.objects_sent = ids.len();
        }
        session.send(&body).await?;
        let report = receive_pack::read_report(&mut session, sideband, progress).await?;
        session.finish().await;
        if let Err(reason) = report.unpack {
            return Err(Error::UnpackFailed(reason));
        }
        for c in &commands {
            match report.refs.iter().find(|(n, _)| *n == c.name) {
                Some((_, Ok(()))) => outcome.updated.push((c.name.clone(), c.old, c.new)),
                Some((_, Err(reason))) => rejected.push(RejectedUpdate {
                    refname: c.name.clone(),
                    reason: reason.clone(),
                }),
                None => rejected.push(RejectedUpdate {
                    refname: c.name.clone(),
                    reason: "the server reported no status".into(),
                }),
            }
        }
        if rejected.is_empty() {
            Ok(outcome)
        } else {
            Err(Error::Rejected(rejected))
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_refnames() {
        for good in ["refs/heads/main", "refs/tags/v1.0", "refs/heads/a/b-c_d"] {
            assert!(valid_refname(good), "{good}");
        }
        for bad in [
            "main",
            "refs/",
            "refs/heads/a b",
            "refs/heads/a\nb",
            "refs/heads/a..b",
            "refs/heads/x.lock",
            "refs/heads/x/",
            "refs/heads/a\0",
            "refs/heads/@{u}",
        ] {
            assert!(!valid_refname(bad), "{bad:?}");
        }
    }
}
