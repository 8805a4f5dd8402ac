//! Shutdown requests from the toolstack. `xl shutdown` and `xl reboot`
//! write `poweroff` or `reboot` to the guest's `control/shutdown` node in
//! XenStore (libxl sends them to a PVH guest once it has registered its
//! event-channel callback, as this runtime does); the guest acknowledges by
//! clearing the node and then shuts itself down with that reason.

use alloc::string::String;

use mirage_xen::guest::Xen;
use mirage_xen::hypercall::Hypervisor;
use mirage_xen::xenstore::XsError;

/// The node the toolstack writes requests to.
pub const SHUTDOWN_NODE: &str = "control/shutdown";

const TOKEN: &str = "mirage-xen-rt:control/shutdown";

/// What the toolstack asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownRequest {
    /// `xl shutdown` (`poweroff` or `halt`).
    Poweroff,
    /// `xl reboot`: the toolstack builds the domain again.
    Reboot,
}

impl ShutdownRequest {
    /// Reads a `control/shutdown` value; `None` for an empty node (no
    /// request, or one already acknowledged) and for requests this runtime
    /// does not carry out (`suspend`, `crash`, unknown words).
    pub fn parse(value: &str) -> Option<ShutdownRequest> {
        match value.trim_end_matches('\0') {
            "poweroff" | "halt" => Some(ShutdownRequest::Poweroff),
            "reboot" => Some(ShutdownRequest::Reboot),
            _ => None,
        }
    }
}

/// Advertises the requests this guest understands and waits for one;
/// acknowledges it (clears the node) before returning. Unsupported requests
/// are passed to `ignored` (for the console) and left alone.
pub async fn shutdown_requested<H: Hypervisor>(
    xen: &Xen<H>,
    mut ignored: impl FnMut(&str),
) -> Result<ShutdownRequest, XsError> {
    let store = xen.store();
    for feature in ["control/feature-poweroff", "control/feature-reboot"] {
        // Older toolstacks do not create these nodes or let the guest
        // write them; they are hints, so a refusal is fine.
        let _ = store.write(feature, b"1").await;
    }
    store.watch(SHUTDOWN_NODE, TOKEN).await?;
    loop {
        store.next_watch_event(TOKEN).await?;
        let value: String = match store.read_string(SHUTDOWN_NODE).await {
            Ok(v) => v,
            Err(XsError::Errno(_)) => continue, // Not there yet.
            Err(e) => return Err(e),
        };
        match ShutdownRequest::parse(&value) {
            Some(request) => {
                store.write(SHUTDOWN_NODE, b"").await?;
                return Ok(request);
            }
            None if value.is_empty() => {}
            None => ignored(&value),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_parse() {
        assert_eq!(
            ShutdownRequest::parse("poweroff"),
            Some(ShutdownRequest::Poweroff)
        );
        assert_eq!(
            ShutdownRequest::parse("halt"),
            Some(ShutdownRequest::Poweroff)
        );
        assert_eq!(
            ShutdownRequest::parse("reboot\0"),
            Some(ShutdownRequest::Reboot)
        );
        assert_eq!(ShutdownRequest::parse(""), None);
        assert_eq!(ShutdownRequest::parse("suspend"), None);
    }
}
