//! The boot parameters every appliance accepts: [`BackendArgs`].

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;

/// The backend's command-line options, flattened into the application's own.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Unikernel devices")]
pub struct BackendArgs {
    /// The network: `socket` (the host's TCP/IP stack) or `tap:NAME` (our
    /// own stack on the TAP device NAME, with --ipv4).
    #[arg(long, value_name = "socket|tap:NAME", default_value = "socket")]
    pub net: NetChoice,

    /// The address and prefix length of the TAP interface, e.g. 10.0.0.2/24.
    #[arg(long, value_name = "ADDR/LEN")]
    pub ipv4: Option<Ipv4Cidr>,

    /// The IPv4 default gateway on the TAP network.
    #[arg(long = "ipv4-gateway", value_name = "ADDR")]
    pub ipv4_gateway: Option<Ipv4Addr>,

    /// How many independent instances to run, one thread each, sharing
    /// their listening ports through SO_REUSEPORT.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub cores: u16,

    /// A key-value store: NAME=dir:PATH (read-write) or NAME=dir-ro:PATH.
    #[arg(long = "kv", value_name = "NAME=dir:PATH")]
    pub kv: Vec<DeviceSpec>,

    /// A block device: NAME=file:PATH (read-write) or NAME=file-ro:PATH.
    #[arg(long = "block", value_name = "NAME=file:PATH")]
    pub block: Vec<DeviceSpec>,

    /// The least severe log messages to print: off, error, warn, info,
    /// debug or trace.
    #[arg(long = "log-level", value_name = "LEVEL", default_value = "info")]
    pub log_level: log::LevelFilter,
}

/// The value of `--net`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetChoice {
    /// The host kernel's sockets.
    Socket,
    /// Our own TCP/IP stack on the named TAP device.
    Tap(String),
}

/// Why a boot parameter is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// `--net` is neither `socket` nor `tap:NAME`.
    #[error("expected `socket` or `tap:NAME`")]
    UnknownNet,
    /// An interface name is empty, too long (15 bytes) or has `/`, NUL or whitespace.
    #[error("{0:?} is not a valid interface name (1 to 15 bytes, no '/', NUL or spaces)")]
    BadInterface(String),
    /// `--ipv4` is not `ADDR/LEN`.
    #[error("expected an IPv4 address and prefix length such as 10.0.0.2/24")]
    BadCidr,
    /// A device spec is not `NAME=KIND:PATH`.
    #[error("expected NAME=KIND:PATH, e.g. site=dir:/srv/site")]
    BadDeviceSpec,
    /// A device name has characters other than letters, digits, `-` and `_`.
    #[error("{0:?} is not a valid device name (letters, digits, '-' and '_')")]
    BadDeviceName(String),
    /// The device kind is not one this option accepts.
    #[error("unknown device kind {0:?}")]
    BadDeviceKind(String),
}

/// Whether `name` can be a Linux interface name (`IFNAMSIZ` is 16 with the NUL).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && !name
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace() || b == b':')
}

impl FromStr for NetChoice {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        if s == "socket" {
            return Ok(NetChoice::Socket);
        }
        match s.strip_prefix("tap:") {
            Some(name) if valid_ifname(name) => Ok(NetChoice::Tap(name.to_owned())),
            Some(name) => Err(ArgError::BadInterface(name.to_owned())),
            None => Err(ArgError::UnknownNet),
        }
    }
}

impl fmt::Display for NetChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetChoice::Socket => f.write_str("socket"),
            NetChoice::Tap(name) => write!(f, "tap:{name}"),
        }
    }
}

/// An IPv4 address with a prefix length (`10.0.0.2/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length, `0..=32`.
    pub prefix_len: u8,
}

impl FromStr for Ipv4Cidr {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        let (a, l) = s.split_once('/').ok_or(ArgError::BadCidr)?;
        let addr = a.parse().map_err(|_| ArgError::BadCidr)?;
        let prefix_len: u8 = l.parse().map_err(|_| ArgError::BadCidr)?;
        if prefix_len > 32 || l.starts_with('+') {
            return Err(ArgError::BadCidr);
        }
        Ok(Ipv4Cidr { addr, prefix_len })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// A named device backed by a host path: `NAME=KIND:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    /// The name the application asks for (`site` in `devices.kv("site")`).
    pub name: String,
    /// The kind before the colon (`dir`, `dir-ro`, `file`, `file-ro`).
    pub kind: String,
    /// The host path after the colon.
    pub path: PathBuf,
}

impl DeviceSpec {
    /// Whether the kind ends in `-ro` (opened read-only).
    pub fn read_only(&self) -> bool {
        self.kind.ends_with("-ro")
    }
}

impl FromStr for DeviceSpec {
    type Err = ArgError;
    fn from_str(s: &str) -> Result<Self, ArgError> {
        let (name, rest) = s.split_once('=').ok_or(ArgError::BadDeviceSpec)?;
        let (kind, path) = rest.split_once(':').ok_or(ArgError::BadDeviceSpec)?;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ArgError::BadDeviceName(name.to_owned()));
        }
        if path.is_empty() {
            return Err(ArgError::BadDeviceSpec);
        }
        Ok(DeviceSpec {
            name: name.to_owned(),
            kind: kind.to_owned(),
            path: PathBuf::from(path),
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}:{}", self.name, self.kind, self.path.display())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn parse_values() {
        assert_eq!("socket".parse(), Ok(NetChoice::Socket));
        assert_eq!("tap:tap0".parse(), Ok(NetChoice::Tap("tap0".into())));
        assert!("tap:".parse::<NetChoice>().is_err());
        assert!("tap:averyveryverylongname".parse::<NetChoice>().is_err());
        assert!("xen".parse::<NetChoice>().is_err());
        let c: Ipv4Cidr = "10.0.0.2/24".parse().unwrap();
        assert_eq!((c.addr, c.prefix_len), (Ipv4Addr::new(10, 0, 0, 2), 24));
        assert!("10.0.0.2/33".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0.2".parse::<Ipv4Cidr>().is_err());
        let d: DeviceSpec = "site=dir:/srv/a:b".parse().unwrap();
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("site", "dir"));
        assert_eq!(d.path, PathBuf::from("/srv/a:b"));
        assert!(!d.read_only());
        assert!("x=dir-ro:/p".parse::<DeviceSpec>().unwrap().read_only());
        assert!("a b=dir:/p".parse::<DeviceSpec>().is_err());
        assert!("site=dir:".parse::<DeviceSpec>().is_err());
        assert!("site".parse::<DeviceSpec>().is_err());
    }

    quickcheck! {
        fn specs_round_trip(s: String) -> bool {
            match s.parse::<DeviceSpec>() {
                Ok(d) => d.to_string().parse::<DeviceSpec>() == Ok(d),
                Err(_) => true,
            }
        }
        fn cidr_round_trip(s: String) -> bool {
            match s.parse::<Ipv4Cidr>() {
                Ok(c) => c.to_string().parse::<Ipv4Cidr>() == Ok(c),
                Err(_) => true,
            }
        }
    }
}
