//! Mapping host `io::Error`s to [`StackError`].

use std::io;
use std::net::SocketAddr;

use mirage_core::StackError;

/// The largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP header bytes).
pub const UDP_MAX_V4: usize = 65_507;
/// The largest UDP payload over IPv6 without jumbograms (65535 - 8 UDP bytes).
pub const UDP_MAX_V6: usize = 65_527;

/// The largest UDP payload towards `addr`'s family.
pub fn udp_max(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() {
        UDP_MAX_V4
    } else {
        UDP_MAX_V6
    }
}

fn family(addr: &SocketAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// Translates a host error from an operation concerning `addr` (the local
/// address for binds, the peer's for connects and sends).
pub fn to_stack_error(e: io::Error, addr: SocketAddr) -> StackError {
    use io::ErrorKind as K;
    match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT) | Some(libc::EPFNOSUPPORT) => {
            return StackError::FamilyNotConfigured(family(&addr));
        }
        Some(libc::ENOBUFS) | Some(libc::ENOMEM) | Some(libc::EMFILE) | Some(libc::ENFILE) => {
            return StackError::NoBuffers;
        }
        Some(libc::EHOSTUNREACH) | Some(libc::ENETUNREACH) | Some(libc::ENETDOWN) => {
            return StackError::Unreachable(addr);
        }
        _ => {}
    }
    match e.kind() {
        K::AddrInUse => StackError::AddrInUse(addr),
        K::AddrNotAvailable => StackError::AddrNotAvailable(addr),
        K::ConnectionRefused => StackError::ConnectionRefused(addr),
        K::ConnectionReset | K::ConnectionAborted => StackError::ConnectionReset,
        K::BrokenPipe | K::NotConnected => StackError::Closed,
        K::TimedOut => StackError::TimedOut,
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => {
            StackError::Unreachable(addr)
        }
        K::OutOfMemory => StackError::NoBuffers,
        _ => StackError::Io(Box::new(e)),
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn errno_mapping() {
        let a: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let b: SocketAddr = "[::1]:53".parse().unwrap();
        assert!(
            matches!(to_stack_error(os(libc::EADDRINUSE), a), StackError::AddrInUse(x) if x == a)
        );
        assert!(matches!(
            to_stack_error(os(libc::EADDRNOTAVAIL), a),
            StackError::AddrNotAvailable(x) if x == a
        ));
        assert!(matches!(
            to_stack_error(os(libc::ECONNREFUSED), a),
            StackError::ConnectionRefused(x) if x == a
        ));
        assert!(matches!(
            to_stack_error(os(libc::ECONNRESET), a),
            StackError::ConnectionReset
        ));
        assert!(matches!(
            to_stack_error(os(libc::EPIPE), a),
            StackError::Closed
        ));
        assert!(matches!(
            to_stack_error(os(libc::ETIMEDOUT), a),
            StackError::TimedOut
        ));
        assert!(matches!(
            to_stack_error(os(libc::ENETUNREACH), a),
            StackError::Unreachable(_)
        ));
        assert!(matches!(
            to_stack_error(os(libc::EHOSTUNREACH), a),
            StackError::Unreachable(_)
        ));
        assert!(matches!(
            to_stack_error(os(libc::EAFNOSUPPORT), b),
            StackError::FamilyNotConfigured("IPv6")
        ));
        assert!(matches!(
            to_stack_error(os(libc::EMFILE), a),
            StackError::NoBuffers
        ));
        assert!(matches!(
            to_stack_error(os(libc::EIO), a),
            StackError::Io(_)
        ));
    }
}
