//! Configuration checks and what a configured stack reports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mirage_core::MacAddress;
use mirage_core::mem::{LinkConfig, Simulation, Switch};
use mirage_net::{
    Config, ConfigError, Ipv4Config, Ipv6Config, Stack, StaticIpv4, StaticIpv6, TcpOptions,
};

fn try_new(config: Config, mtu: usize) -> Result<Stack, ConfigError> {
    let sim = Simulation::new(1);
    let switch = Switch::new(
        sim.clock(),
        1,
        LinkConfig {
            mtu,
            ..LinkConfig::default()
        },
    );
    Stack::new(switch.attach(), sim.clock(), sim.random(), config).map(|(s, _runner)| s)
}

#[test]
fn bad_configs_are_rejected() {
    let v4 = |address, prefix_len| Config {
        ipv4: Ipv4Config::Static(StaticIpv4 {
            address,
            prefix_len,
            gateway: None,
        }),
        ipv6: Ipv6Config::None,
        ..Config::default()
    };
    assert_eq!(
        try_new(v4(Ipv4Addr::new(10, 0, 0, 1), 33), 1500).unwrap_err(),
        ConfigError::PrefixTooLong {
            family: "IPv4",
            prefix_len: 33
        }
    );
    assert_eq!(
        try_new(v4(Ipv4Addr::new(224, 0, 0, 1), 24), 1500).unwrap_err(),
        ConfigError::BadAddress(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)))
    );
    assert!(matches!(
        try_new(Config::default(), 1000).unwrap_err(),
        ConfigError::MtuTooSmall {
            mtu: 1000,
            min: 1280,
            family: "IPv6"
        }
    ));
    let multicast = Config {
        mac: Some(MacAddress([0x01, 0, 0x5e, 0, 0, 1])),
        ..Config::default()
    };
    assert!(matches!(
        try_new(multicast, 1500).unwrap_err(),
        ConfigError::MulticastMac(_)
    ));
    let zero = Config::default().with_tcp(TcpOptions {
        backlog: 0,
        ..TcpOptions::default()
    });
    assert!(matches!(
        try_new(zero, 1500).unwrap_err(),
        ConfigError::ZeroSize(_)
    ));
    let v6 = Config::default().with_ipv6(Ipv6Config::Static(StaticIpv6 {
        address: Ipv6Addr::UNSPECIFIED,
        prefix_len: 64,
        gateway: None,
    }));
    assert!(matches!(
        try_new(v6, 1500).unwrap_err(),
        ConfigError::BadAddress(_)
    ));
}

#[test]
fn addresses_and_mtu_come_from_config_and_device() {
    let mac = MacAddress([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let mut config = Config::ipv4_static(
        Ipv4Addr::new(192, 0, 2, 7),
        24,
        Some(Ipv4Addr::new(192, 0, 2, 1)),
    )
    .with_ipv6(Ipv6Config::Static(StaticIpv6 {
        address: "2001:db8::7".parse().unwrap(),
        prefix_len: 64,
        gateway: Some("2001:db8::1".parse().unwrap()),
    }));
    config.mac = Some(mac);
    let s = try_new(config, 9000).unwrap();
    assert_eq!(s.mtu(), 9000);
    assert_eq!(s.mac_address(), mac);
    let v4 = s.ipv4().unwrap();
    assert_eq!(
        (v4.address, v4.prefix_len, v4.gateway),
        (
            Ipv4Addr::new(192, 0, 2, 7),
            24,
            Some(Ipv4Addr::new(192, 0, 2, 1))
        )
    );
    assert_eq!(
        s.ipv6_addresses(),
        vec![
            // EUI-64 from 02:11:22:33:44:55 flips the universal/local bit.
            ("fe80::11:22ff:fe33:4455".parse().unwrap(), 64),
            ("2001:db8::7".parse().unwrap(), 64),
        ]
    );
}
