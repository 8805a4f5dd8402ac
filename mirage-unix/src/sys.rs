//! Every `unsafe` call of the crate: advisory file locks, opening a path
//! beneath a directory (`openat2`), batched datagram I/O (`recvmmsg`,
//! `sendmmsg`), the text of a `getaddrinfo` error, and, in [`tap`], the TAP
//! ioctls. Each block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::fs::File;
use std::io;
#[cfg(target_os = "linux")]
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Takes an exclusive `flock(2)` on `file` without waiting: `Ok(true)` if
/// taken, `Ok(false)` if another open file description holds it. The lock
/// goes when every descriptor of the file is closed.
pub fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    // SAFETY: flock only reads its integer arguments; the descriptor is
    // owned by `file`, which outlives the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Opens `path` (relative) beneath the directory `dir` with `openat2(2)`
/// and `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`: the kernel refuses, with
/// `EXDEV`, any resolution step that would leave `dir` (a `..` above it, an
/// absolute symbolic link, a link leading out), and follows the links that
/// stay inside. `flags` are `open(2)` flags; `O_CLOEXEC` is added. Kernels
/// before 5.6 (or sandboxes filtering the call) give `ENOSYS` or `EPERM`;
/// other systems always give `ENOSYS`.
pub fn open_beneath(dir: BorrowedFd<'_>, path: &CStr, flags: libc::c_int) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::{FromRawFd, OwnedFd};
        // SAFETY: open_how is plain old data; all-zero is its documented
        // "no options" value, and the fields are set below.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (flags | libc::O_CLOEXEC) as u64;
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: the descriptor is borrowed for the call, `path` is a valid
        // NUL-terminated string, and `how` is a valid open_how whose size is
        // passed with it; the kernel only reads them.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: on success openat2 returns a new descriptor that nothing
        // else owns.
        Ok(File::from(unsafe {
            OwnedFd::from_raw_fd(fd as libc::c_int)
        }))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (dir, path, flags);
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }
}

/// `fstatat(2)` of `name` (one path component, no `/`) in the directory
/// `dir`, without following a symbolic link there: a link is reported as
/// a link. Gives the file's type, size and modification time in one call,
/// with no descriptor opened.
pub fn stat_entry(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: stat is plain old data that fstatat fills in; all-zero is a
    // valid value for it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is borrowed for the call, `name` is a valid
    // NUL-terminated string, and `st` is a valid, writable stat.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(st)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Most datagrams one [`recv_many`] or [`send_many`] call moves; the
/// headers for them live on the stack.
#[cfg(target_os = "linux")]
pub const MMSG_BATCH: usize = 32;

/// Writes `addr` into `storage` as a `sockaddr_in` or `sockaddr_in6` and
/// returns its length.
#[cfg(target_os = "linux")]
fn encode_addr(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large enough and suitably aligned
            // for any sockaddr type, sockaddr_in included; it is plain old
            // data, so every field written here is valid.
            let sin = unsafe { &mut *(storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from_ne_bytes(a.ip().octets()),
            };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *(storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Reads the `sockaddr_in` or `sockaddr_in6` the kernel wrote into
/// `storage`; another family is `InvalidData`.
#[cfg(target_os = "linux")]
fn decode_addr(storage: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the kernel wrote a sockaddr_in, which
            // sockaddr_storage can hold at its alignment.
            let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Ok(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Ok(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::from(io::ErrorKind::InvalidData)),
    }
}

/// Receives up to `bufs.len().min(meta.len()).min(MMSG_BATCH)` datagrams
/// on the datagram socket `fd` with one non-blocking `recvmmsg(2)`,
/// datagram `i` into `bufs[i]` (cut to fit, as `recvfrom` does) and its
/// length and sender into `meta[i]`. Returns how many arrived: at least
/// one, or `WouldBlock` when none was queued (or 0 for empty slices).
#[cfg(target_os = "linux")]
pub fn recv_many(
    fd: BorrowedFd<'_>,
    bufs: &mut [&mut [u8]],
    meta: &mut [(usize, SocketAddr)],
) -> io::Result<usize> {
    let n = bufs.len().min(meta.len()).min(MMSG_BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: these are plain old data; all-zero is a valid value for each
    // (null pointers, zero lengths), and the used entries are set below.
    let mut addrs: [libc::sockaddr_storage; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut iovs: [libc::iovec; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut hdrs: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    for i in 0..n {
        iovs[i].iov_base = bufs[i].as_mut_ptr().cast();
        iovs[i].iov_len = bufs[i].len();
        hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
        hdrs[i].msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as _;
        hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the first `n` headers each point at one iovec describing a
    // distinct, exclusively borrowed buffer (`bufs[i]`, alive for the call)
    // and at a writable sockaddr_storage whose size is given; the kernel
    // writes only within those. MSG_DONTWAIT makes it return at once and a
    // null timeout adds no wait.
    let rc = unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            hdrs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let got = rc as usize;
    for i in 0..got {
        // msg_len is what was copied into the buffer (never more than it).
        let len = (hdrs[i].msg_len as usize).min(bufs[i].len());
        meta[i] = (len, decode_addr(&addrs[i])?);
    }
    Ok(got)
}

/// Sends the datagrams `msgs[i].0` to `msgs[i].1`, up to [`MMSG_BATCH`] of
/// them, on the datagram socket `fd` with one non-blocking `sendmmsg(2)`.
/// Returns how many of the leading ones the kernel took (at least one), or
/// the error of the first when it took none (`WouldBlock` when the send
/// buffer is full); 0 for an empty `msgs`.
#[cfg(target_os = "linux")]
pub fn send_many(fd: BorrowedFd<'_>, msgs: &[(&[u8], SocketAddr)]) -> io::Result<usize> {
    let n = msgs.len().min(MMSG_BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: plain old data, all-zero valid; the used entries are set below.
    let mut addrs: [libc::sockaddr_storage; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut iovs: [libc::iovec; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut hdrs: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
    for (i, (buf, to)) in msgs.iter().take(n).enumerate() {
        let len = encode_addr(to, &mut addrs[i]);
        // The kernel only reads through iov_base for a send.
        iovs[i].iov_base = buf.as_ptr() as *mut libc::c_void;
        iovs[i].iov_len = buf.len();
        hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
        hdrs[i].msg_hdr.msg_namelen = len;
        hdrs[i].msg_hdr.msg_iov = &mut iovs[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the first `n` headers each point at one iovec describing a
    // borrowed buffer alive for the call (which sendmmsg only reads) and
    // at an initialised address of the given length; the kernel writes only
    // the headers' msg_len fields. MSG_DONTWAIT makes it return at once.
    let rc = unsafe {
        libc::sendmmsg(
            fd.as_raw_fd(),
            hdrs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as usize)
}

/// The text `gai_strerror(3)` gives for a `getaddrinfo` error code, in the
/// process's locale: how std's resolver errors say which failure they are.
pub fn gai_message(code: libc::c_int) -> String {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated
    // string for any code (an "unknown error" text for codes it does not
    // know); it is only read here, and copied before returning.
    let text = unsafe { CStr::from_ptr(libc::gai_strerror(code)) };
    text.to_string_lossy().into_owned()
}

pub mod tap {
    //! Opening a TAP device and asking the kernel for its MAC, MTU and flags.

    use std::fs::{File, OpenOptions};
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;

    /// An `ifreq` naming `name` (checked by the caller: 1 to 15 bytes, no NUL).
    fn ifreq(name: &str) -> io::Result<libc::ifreq> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        // SAFETY: ifreq is plain old data (a name array and a union of
        // integers, sockaddrs and a pointer); all zeroes is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
            *dst = src as libc::c_char;
        }
        Ok(req)
    }

    /// Opens `/dev/net/tun` non-blocking and attaches it to the TAP device
    /// `name` (creating it if it does not exist), without packet
    /// information headers. Returns the descriptor and the kernel's name.
    pub fn attach(name: &str) -> io::Result<File> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `req`
        // is, alive and exclusively borrowed for the call; the descriptor is
        // owned by `file`.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF as _, &mut req) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(file)
    }

    /// Registers `file` with the current tokio reactor.
    pub fn register(file: File) -> io::Result<tokio::io::unix::AsyncFd<File>> {
        // SAFETY: a `File` owns its descriptor, which stays open and the
        // same until the `File` is dropped, and the `AsyncFd` owns the `File`.
        unsafe { tokio::io::unix::AsyncFd::register(file) }.map_err(io::Error::from)
    }

    /// A datagram socket to address interface ioctls to.
    fn control_socket() -> io::Result<OwnedFd> {
        // SAFETY: socket(2) takes integers and returns a new descriptor or -1.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// Runs the interface ioctl `request` for `name` and returns the filled `ifreq`.
    fn query(name: &str, request: libc::c_ulong) -> io::Result<libc::ifreq> {
        let sock = control_socket()?;
        let mut req = ifreq(name)?;
        // SAFETY: the SIOCGIF* requests used here read the name from and
        // write one field into a `struct ifreq`, which `req` is, alive and
        // exclusively borrowed for the call.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request as _, &mut req) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(req)
    }

    /// The host side's hardware (MAC) address of interface `name`.
    pub fn hw_addr(name: &str) -> io::Result<[u8; 6]> {
        let req = query(name, libc::SIOCGIFHWADDR)?;
        // SAFETY: SIOCGIFHWADDR succeeded, so the union holds `ifru_hwaddr`.
        let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
        let mut mac = [0u8; 6];
        for (dst, src) in mac.iter_mut().zip(data.iter()) {
            *dst = *src as u8;
        }
        Ok(mac)
    }

    /// The MTU of interface `name`.
    pub fn mtu(name: &str) -> io::Result<usize> {
        let req = query(name, libc::SIOCGIFMTU)?;
        // SAFETY: SIOCGIFMTU succeeded, so the union holds `ifru_mtu`.
        let mtu = unsafe { req.ifr_ifru.ifru_mtu };
        usize::try_from(mtu).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
    }

    /// Whether interface `name` is administratively up.
    pub fn is_up(name: &str) -> io::Result<bool> {
        let req = query(name, libc::SIOCGIFFLAGS)?;
        // SAFETY: SIOCGIFFLAGS succeeded, so the union holds `ifru_flags`.
        let flags = unsafe { req.ifr_ifru.ifru_flags };
        Ok(i32::from(flags) & libc::IFF_UP != 0)
    }
}
