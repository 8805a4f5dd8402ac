//! LOC: a geographical location (RFC 1876).

use core::fmt;

use nom::IResult;
use nom::number::complete::{be_u8, be_u32};

use super::fmt_generic;
use crate::wire::error::WireError;
use crate::wire::writer::Writer;

/// The equator / prime meridian: latitudes and longitudes are offsets from 2^31.
pub const LOC_ORIGIN: u32 = 1 << 31;
/// Altitude 0 m: altitudes are centimetres above -100 000 m.
pub const LOC_ALT_BASE: u32 = 10_000_000;

/// The data of a LOC record, kept in wire units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// Always 0 for the format defined in RFC 1876.
    pub version: u8,
    /// Diameter of the sphere, as mantissa (high nibble) and power of ten (low nibble) in cm.
    pub size: u8,
    /// Horizontal precision, same encoding.
    pub horiz_pre: u8,
    /// Vertical precision, same encoding.
    pub vert_pre: u8,
    /// Thousandths of an arc second, 2^31 at the equator.
    pub latitude: u32,
    /// Thousandths of an arc second, 2^31 at the prime meridian.
    pub longitude: u32,
    /// Centimetres above a base 100 000 m below the WGS 84 spheroid.
    pub altitude: u32,
}

impl Loc {
    pub(crate) fn parse(input: &[u8]) -> IResult<&[u8], Loc, WireError> {
        let (input, version) = be_u8(input)?;
        let (input, size) = be_u8(input)?;
        let (input, horiz_pre) = be_u8(input)?;
        let (input, vert_pre) = be_u8(input)?;
        let (input, latitude) = be_u32(input)?;
        let (input, longitude) = be_u32(input)?;
        let (input, altitude) = be_u32(input)?;
        Ok((
            input,
            Loc {
                version,
                size,
                horiz_pre,
                vert_pre,
                latitude,
                longitude,
                altitude,
            },
        ))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) {
        w.u8(self.version);
        w.u8(self.size);
        w.u8(self.horiz_pre);
        w.u8(self.vert_pre);
        w.u32(self.latitude);
        w.u32(self.longitude);
        w.u32(self.altitude);
    }

    fn wire(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.emit(&mut Writer::new(&mut buf));
        buf
    }
}

/// Whether a size/precision byte is a valid mantissa/exponent pair in its
/// one canonical form: the presentation format writes centimetres, so the
/// zero mantissa must come with a zero exponent (`0x04` also means 0 cm,
/// but would come back from text as `0x00`).
pub fn precision_valid(b: u8) -> bool {
    let (m, e) = (b >> 4, b & 0xF);
    m <= 9 && e <= 9 && (m != 0 || e == 0)
}

/// Centimetres from a size/precision byte.
pub fn precision_cm(b: u8) -> u64 {
    (b >> 4) as u64 * 10u64.pow((b & 0xF) as u32)
}

/// Encodes centimetres as a size/precision byte, if exactly representable.
pub fn precision_from_cm(cm: u64) -> Option<u8> {
    if cm == 0 {
        return Some(0);
    }
    let mut e = 0;
    let mut m = cm;
    while m.is_multiple_of(10) && m > 9 {
        m /= 10;
        e += 1;
    }
    (m <= 9 && e <= 9).then_some(((m as u8) << 4) | e)
}

fn fmt_cm_as_m(cm: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sign = if cm < 0 { "-" } else { "" };
    let a = cm.unsigned_abs();
    if a.is_multiple_of(100) {
        write!(f, "{sign}{}m", a / 100)
    } else {
        write!(f, "{sign}{}.{:02}m", a / 100, a % 100)
    }
}

fn fmt_angle(v: u32, pos: char, neg: char, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (hemi, a) = if v >= LOC_ORIGIN {
        (pos, v - LOC_ORIGIN)
    } else {
        (neg, LOC_ORIGIN - v)
    };
    let deg = a / 3_600_000;
    let min = a / 60_000 % 60;
    let ms = a % 60_000;
    write!(f, "{deg} {min} {}.{:03} {hemi}", ms / 1000, ms % 1000)
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = LOC_ORIGIN as u64 + 90 * 3_600_000;
        let lon_max = LOC_ORIGIN as u64 + 180 * 3_600_000;
        let min_lat = LOC_ORIGIN as u64 - 90 * 3_600_000;
        let min_lon = LOC_ORIGIN as u64 - 180 * 3_600_000;
        // Anything the LOC syntax cannot say exactly is written in the
        // generic form (RFC 3597), which keeps every byte.
        let ok = self.version == 0
            && [self.size, self.horiz_pre, self.vert_pre]
                .into_iter()
                .all(precision_valid)
            && (min_lat..=max).contains(&(self.latitude as u64))
            && (min_lon..=lon_max).contains(&(self.longitude as u64));
        if !ok {
            return fmt_generic(&self.wire(), f);
        }
        fmt_angle(self.latitude, 'N', 'S', f)?;
        f.write_str(" ")?;
        fmt_angle(self.longitude, 'E', 'W', f)?;
        f.write_str(" ")?;
        fmt_cm_as_m(self.altitude as i64 - LOC_ALT_BASE as i64, f)?;
        for p in [self.size, self.horiz_pre, self.vert_pre] {
            f.write_str(" ")?;
            fmt_cm_as_m(precision_cm(p) as i64, f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_display() {
        // RFC 1876 example: cambridge-net.kei.com.
        let loc = Loc {
            version: 0,
            size: 0x12,
            horiz_pre: 0x16,
            vert_pre: 0x13,
            latitude: LOC_ORIGIN + (42 * 3600 + 21 * 60 + 54) * 1000,
            longitude: LOC_ORIGIN - (71 * 3600 + 6 * 60 + 18) * 1000,
            altitude: LOC_ALT_BASE - 2400,
        };
        assert_eq!(
            loc.to_string(),
            "42 21 54.000 N 71 6 18.000 W -24m 1m 10000m 10m"
        );
        assert_eq!(precision_from_cm(1_000_000), Some(0x16));
        assert_eq!(precision_from_cm(123), None);
    }

    #[test]
    fn test_non_canonical_zero_precision_is_written_generically() {
        // 0e4 is 0 cm, like 0e0, but text would bring it back as 0x00.
        let loc = Loc {
            version: 0,
            size: 0x12,
            horiz_pre: 0x04,
            vert_pre: 0x13,
            latitude: LOC_ORIGIN,
            longitude: LOC_ORIGIN,
            altitude: LOC_ALT_BASE,
        };
        assert!(loc.to_string().starts_with("\\# 16 00120413"), "{loc}");
        assert!(precision_valid(0x00) && precision_valid(0x99));
        assert!(!precision_valid(0x04) && !precision_valid(0xa0) && !precision_valid(0x1a));
    }
}
