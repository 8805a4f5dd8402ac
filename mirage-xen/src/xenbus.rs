//! Xenbus: finding split devices in XenStore and walking the
//! frontend/backend state machine (`io/xenbus.h`).
//!
//! A device `device/<class>/<id>` names its backend's directory and domain
//! (`backend`, `backend-id`). Each side publishes a `state`: the frontend
//! goes Initialising → (backend InitWait) → writes its ring references →
//! Initialised or Connected → (backend Connected) → Connected, and on the
//! way down Closing → Closed. A backend that moves to Closing or Closed (or
//! whose directory disappears) while we wait is [`XenbusError::BackendGone`].

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;
use core::str::FromStr;

use crate::abi::DomId;
use crate::guest::Xen;
use crate::hypercall::Hypervisor;
use crate::xenstore::{Errno, XsError};

/// `enum xenbus_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum XenbusState {
    /// 0: no state yet.
    Unknown = 0,
    /// 1: the driver is starting.
    Initialising = 1,
    /// 2: the backend waits for the frontend's details.
    InitWait = 2,
    /// 3: the frontend published its details.
    Initialised = 3,
    /// 4: the device is running.
    Connected = 4,
    /// 5: the device is being shut down.
    Closing = 5,
    /// 6: the device is shut down.
    Closed = 6,
    /// 7: reconfiguration in progress.
    Reconfiguring = 7,
    /// 8: reconfiguration done.
    Reconfigured = 8,
}

impl XenbusState {
    /// The state for a number.
    pub fn from_u32(v: u32) -> Option<Self> {
        use XenbusState::*;
        Some(match v {
            0 => Unknown,
            1 => Initialising,
            2 => InitWait,
            3 => Initialised,
            4 => Connected,
            5 => Closing,
            6 => Closed,
            7 => Reconfiguring,
            8 => Reconfigured,
            _ => return None,
        })
    }

    /// Whether the device is going or gone.
    pub fn is_closing(self) -> bool {
        matches!(self, XenbusState::Closing | XenbusState::Closed)
    }
}

/// Why a xenbus step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XenbusError {
    /// XenStore failed.
    #[error("XenStore: {0}")]
    Store(#[from] XsError),
    /// A node holds something other than what the protocol says.
    #[error("{path} holds an invalid value")]
    BadValue {
        /// The node.
        path: String,
    },
    /// The backend closed or vanished.
    #[error("the backend at {backend} is gone (state {state:?})")]
    BackendGone {
        /// Its directory.
        backend: String,
        /// Its last state.
        state: XenbusState,
    },
}

/// The ids of the devices of `class` (`vif`, `vbd`) this guest has.
pub async fn list_devices<H: Hypervisor>(
    xen: &Xen<H>,
    class: &str,
) -> Result<Vec<u32>, XenbusError> {
    let names = match xen.store().directory(&format!("device/{class}")).await {
        Ok(v) => v,
        Err(XsError::Errno(Errno::ENOENT)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut ids: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// One split device as seen from the frontend.
pub struct XenbusDevice<H> {
    xen: Xen<H>,
    frontend: String,
    backend: String,
    backend_id: DomId,
    token: String,
}

impl<H> Clone for XenbusDevice<H> {
    fn clone(&self) -> Self {
        XenbusDevice {
            xen: self.xen.clone(),
            frontend: self.frontend.clone(),
            backend: self.backend.clone(),
            backend_id: self.backend_id,
            token: self.token.clone(),
        }
    }
}

impl<H> core::fmt::Debug for XenbusDevice<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XenbusDevice")
            .field("frontend", &self.frontend)
            .field("backend", &self.backend)
            .field("backend_id", &self.backend_id)
            .finish()
    }
}

impl<H> XenbusDevice<H> {
    /// The guest's connection to Xen.
    pub fn xen(&self) -> &Xen<H> {
        &self.xen
    }

    /// Our directory (`device/<class>/<id>`).
    pub fn frontend(&self) -> &str {
        &self.frontend
    }

    /// The backend's directory.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The backend's domain.
    pub fn backend_id(&self) -> DomId {
        self.backend_id
    }
}

impl<H: Hypervisor + 'static> XenbusDevice<H> {
    /// Opens `device/<class>/<id>`: reads the backend's path and domain and
    /// watches the backend's state.
    pub async fn open(xen: &Xen<H>, class: &str, id: u32) -> Result<Self, XenbusError> {
        let frontend = format!("device/{class}/{id}");
        let store = xen.store();
        let backend = store.read_string(&format!("{frontend}/backend")).await?;
        let backend_id = store
            .read_parsed(&format!("{frontend}/backend-id"), "domain id")
            .await?;
        let token = format!("xenbus:{frontend}");
        store.watch(&format!("{backend}/state"), &token).await?;
        Ok(XenbusDevice {
            xen: xen.clone(),
            frontend,
            backend,
            backend_id,
            token,
        })
    }

    /// Publishes our state.
    pub async fn set_state(&self, state: XenbusState) -> Result<(), XenbusError> {
        let v = format!("{}", state as u32);
        self.xen
            .store()
            .write(&format!("{}/state", self.frontend), v.as_bytes())
            .await?;
        Ok(())
    }

    /// The backend's state; a missing node reads as Closed (the backend is gone).
    pub async fn backend_state(&self) -> Result<XenbusState, XenbusError> {
        let path = format!("{}/state", self.backend);
        match self.xen.store().read_string(&path).await {
            Ok(s) => s
                .trim()
                .parse()
                .ok()
                .and_then(XenbusState::from_u32)
                .ok_or(XenbusError::BadValue { path }),
            Err(XsError::Errno(Errno::ENOENT)) => Ok(XenbusState::Closed),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until the backend's state satisfies `want`; fails if it
    /// closes first.
    pub async fn wait_backend(
        &self,
        want: impl Fn(XenbusState) -> bool,
    ) -> Result<XenbusState, XenbusError> {
        loop {
            let s = self.backend_state().await?;
            if want(s) {
                return Ok(s);
            }
            if s.is_closing() {
                return Err(XenbusError::BackendGone {
                    backend: self.backend.clone(),
                    state: s,
                });
            }
            self.xen.store().next_watch_event(&self.token).await?;
        }
    }

    /// A future that completes when the backend starts closing or goes
    /// away (or XenStore breaks): poll it to notice a dying device.
    pub fn backend_closing(&self) -> impl Future<Output = XenbusState> + 'static {
        let dev = self.clone();
        async move {
            match dev.wait_backend(XenbusState::is_closing).await {
                Ok(s) => s,
                Err(XenbusError::BackendGone { state, .. }) => state,
                Err(_) => XenbusState::Closed,
            }
        }
    }

    /// Reads a backend node, parsed.
    pub async fn read_backend<T: FromStr>(&self, key: &str) -> Result<T, XenbusError> {
        let path = format!("{}/{key}", self.backend);
        let s = self.xen.store().read_string(&path).await?;
        s.trim().parse().map_err(|_| XenbusError::BadValue { path })
    }

    /// Reads a frontend node, or `None` if absent.
    pub async fn read_frontend_opt(&self, key: &str) -> Result<Option<String>, XenbusError> {
        match self
            .xen
            .store()
            .read_string(&format!("{}/{key}", self.frontend))
            .await
        {
            Ok(s) => Ok(Some(s)),
            Err(XsError::Errno(Errno::ENOENT)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the backend advertises `feature-…` as `1` (absent is no).
    pub async fn backend_feature(&self, key: &str) -> Result<bool, XenbusError> {
        match self
            .xen
            .store()
            .read_string(&format!("{}/{key}", self.backend))
            .await
        {
            Ok(s) => Ok(s.trim() == "1"),
            Err(XsError::Errno(Errno::ENOENT)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes our details (`key`, value pairs) and then our new state in one
    /// transaction, retried on `EAGAIN`.
    pub async fn publish(
        &self,
        entries: &[(&str, String)],
        state: XenbusState,
    ) -> Result<(), XenbusError> {
        let fe = &self.frontend;
        self.xen
            .store()
            .transaction(async |tx| {
                for (k, v) in entries {
                    tx.write(&format!("{fe}/{k}"), v.as_bytes()).await?;
                }
                tx.write(
                    &format!("{fe}/state"),
                    format!("{}", state as u32).as_bytes(),
                )
                .await
            })
            .await?;
        Ok(())
    }

    /// Closes our side: Closing, wait for the backend to close (or vanish),
    /// Closed; then drops the watch.
    pub async fn close(&self) -> Result<(), XenbusError> {
        self.set_state(XenbusState::Closing).await?;
        let _ = self.wait_backend(XenbusState::is_closing).await;
        self.set_state(XenbusState::Closed).await?;
        let _ = self
            .xen
            .store()
            .unwatch(&format!("{}/state", self.backend), &self.token)
            .await;
        Ok(())
    }
}
