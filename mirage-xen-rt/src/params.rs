//! Boot parameters from the PVH command line (`cmdline`/`extra` in the xl
//! configuration): `ipv4=ADDR/LEN` and `gateway=ADDR` (or `ipv4=dhcp`)
//! configure the network stack on netfront `vif/0`; `remote=URL` names where the application's
//! content comes from (a Git remote, `git://HOST/PATH[#BRANCH]`), kept as
//! text for the application to parse; other words are left to the
//! application.

use alloc::string::String;
use core::net::Ipv4Addr;

/// A malformed boot parameter. Returned by [`BootParams::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// `ipv4=` without a `/LEN` prefix length.
    #[error("ipv4= needs ADDR/LEN")]
    MissingPrefix,
    /// `ipv4=` with an address that is not dotted-quad IPv4.
    #[error("ipv4= address is not an IPv4 address")]
    BadAddress,
    /// A prefix length that is not a number in 0..=32.
    #[error("ipv4= prefix length is not in 0..=32")]
    BadPrefix,
    /// `gateway=` with an address that is not IPv4.
    #[error("gateway= is not an IPv4 address")]
    BadGateway,
    /// `gateway=` without `ipv4=`.
    #[error("gateway= given without ipv4=")]
    GatewayWithoutAddress,
    /// `gateway=` with `ipv4=dhcp` (the lease names the router).
    #[error("gateway= given with ipv4=dhcp (DHCP names the router)")]
    GatewayWithDhcp,
    /// `remote=` with nothing after the `=`.
    #[error("remote= is empty")]
    EmptyRemote,
}

/// The runtime's boot parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BootParams {
    /// The static address and prefix length (`ipv4=ADDR/LEN`).
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// The address comes from a DHCPv4 server (`ipv4=dhcp`).
    pub dhcp: bool,
    /// The default gateway (`gateway=`).
    pub gateway: Option<Ipv4Addr>,
    /// Where the application's content comes from (`remote=`), as written.
    pub remote: Option<String>,
}

impl BootParams {
    /// Reads the parameters the runtime knows from a command line; the
    /// last occurrence of a parameter wins.
    pub fn parse(cmdline: &str) -> Result<BootParams, ParamError> {
        let mut p = BootParams::default();
        for word in cmdline.split_whitespace() {
            if word == "ipv4=dhcp" {
                p.dhcp = true;
                p.ipv4 = None;
            } else if let Some(v) = word.strip_prefix("ipv4=") {
                p.dhcp = false;
                let (addr, len) = v.split_once('/').ok_or(ParamError::MissingPrefix)?;
                let addr = addr.parse().map_err(|_| ParamError::BadAddress)?;
                let len: u8 = len.parse().map_err(|_| ParamError::BadPrefix)?;
                if len > 32 {
                    return Err(ParamError::BadPrefix);
                }
                p.ipv4 = Some((addr, len));
            } else if let Some(v) = word.strip_prefix("gateway=") {
                p.gateway = Some(v.parse().map_err(|_| ParamError::BadGateway)?);
            } else if let Some(v) = word.strip_prefix("remote=") {
                if v.is_empty() {
                    return Err(ParamError::EmptyRemote);
                }
                p.remote = Some(String::from(v));
            }
        }
        if p.gateway.is_some() && p.dhcp {
            return Err(ParamError::GatewayWithDhcp);
        }
        if p.gateway.is_some() && p.ipv4.is_none() {
            return Err(ParamError::GatewayWithoutAddress);
        }
        Ok(p)
    }

    /// The network stack configuration, `None` without `ipv4=`.
    pub fn net_config(&self) -> Option<mirage_net::Config> {
        if self.dhcp {
            return Some(mirage_net::Config::default());
        }
        self.ipv4
            .map(|(addr, len)| mirage_net::Config::ipv4_static(addr, len, self.gateway))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn test_parse() {
        let p =
            BootParams::parse("quiet ipv4=10.9.0.2/24 gateway=10.9.0.1 remote=git://x").unwrap();
        assert_eq!(p.ipv4, Some((Ipv4Addr::new(10, 9, 0, 2), 24)));
        assert_eq!(p.gateway, Some(Ipv4Addr::new(10, 9, 0, 1)));
        assert_eq!(p.remote.as_deref(), Some("git://x"));
        assert!(p.net_config().is_some());
        assert_eq!(BootParams::parse("").unwrap(), BootParams::default());
        assert!(BootParams::default().net_config().is_none());
    }

    #[test]
    fn test_dhcp() {
        let p = BootParams::parse("ipv4=dhcp").unwrap();
        assert!(p.dhcp && p.ipv4.is_none());
        assert_eq!(
            p.net_config().map(|c| c.ipv4),
            Some(mirage_net::Ipv4Config::Dhcp)
        );
        // The last occurrence wins either way.
        let p = BootParams::parse("ipv4=dhcp ipv4=10.0.0.2/8").unwrap();
        assert!(!p.dhcp && p.ipv4.is_some());
        assert!(BootParams::parse("ipv4=10.0.0.2/8 ipv4=dhcp").unwrap().dhcp);
        assert_eq!(
            BootParams::parse("ipv4=dhcp gateway=10.0.0.1"),
            Err(ParamError::GatewayWithDhcp)
        );
    }

    #[test]
    fn test_errors() {
        assert_eq!(BootParams::parse("remote="), Err(ParamError::EmptyRemote));
        assert_eq!(
            BootParams::parse("ipv4=10.0.0.1"),
            Err(ParamError::MissingPrefix)
        );
        assert_eq!(
            BootParams::parse("ipv4=10.0.0/8"),
            Err(ParamError::BadAddress)
        );
        assert_eq!(
            BootParams::parse("ipv4=10.0.0.1/33"),
            Err(ParamError::BadPrefix)
        );
        assert_eq!(
            BootParams::parse("ipv4=10.0.0.1/x"),
            Err(ParamError::BadPrefix)
        );
        assert_eq!(
            BootParams::parse("ipv4=10.0.0.1/8 gateway=::1"),
            Err(ParamError::BadGateway)
        );
        assert_eq!(
            BootParams::parse("gateway=10.0.0.1"),
            Err(ParamError::GatewayWithoutAddress)
        );
    }

    quickcheck! {
        fn prop_never_panics(s: String) -> bool {
            let _ = BootParams::parse(&s);
            true
        }

        fn prop_round_trip(a: u32, len: u8, g: Option<u32>) -> bool {
            let len = len % 33;
            let addr = Ipv4Addr::from(a);
            let mut line = format!("ipv4={addr}/{len}");
            if let Some(g) = g {
                line += &format!(" gateway={}", Ipv4Addr::from(g));
            }
            BootParams::parse(&line)
                == Ok(BootParams {
                    ipv4: Some((addr, len)),
                    gateway: g.map(Ipv4Addr::from),
                    dhcp: false,
                    remote: None,
                })
        }
    }
}
