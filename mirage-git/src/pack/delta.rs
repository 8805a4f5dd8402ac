//! Git's delta encoding: a base size, a result size, then copy (from the
//! base) and insert (literal) instructions.

/// Why a delta cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// The delta ends in the middle of a header or an instruction.
    #[error("the delta is truncated")]
    Truncated,
    /// The base is not the size the delta was made for.
    #[error("the delta expects a base of {expected} bytes, not {actual}")]
    BaseSize {
        /// What the delta says.
        expected: u64,
        /// The base given.
        actual: u64,
    },
    /// The result would exceed the limit.
    #[error("the delta's result of {0} bytes exceeds the limit")]
    TooLarge(u64),
    /// A copy reaches beyond the base, or the reserved opcode 0 is used.
    #[error("invalid delta instruction")]
    BadInstruction,
    /// The instructions produce a result of another size than announced.
    #[error("the delta's result is not the announced size")]
    SizeMismatch,
}

/// Reads a little-endian base-128 size from the start of `data`.
fn read_size(data: &[u8], pos: &mut usize) -> Result<u64, DeltaError> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let b = *data.get(*pos).ok_or(DeltaError::Truncated)?;
        *pos += 1;
        if shift > 63 {
            return Err(DeltaError::TooLarge(u64::MAX));
        }
        value |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
}

/// The result size a delta announces, without applying it.
pub fn result_size(delta: &[u8]) -> Result<u64, DeltaError> {
    let mut pos = 0;
    read_size(delta, &mut pos)?;
    read_size(delta, &mut pos)
}

/// Applies `delta` to `base`; the result may be at most `max_len` bytes.
pub fn apply(base: &[u8], delta: &[u8], max_len: u64) -> Result<Vec<u8>, DeltaError> {
    let mut pos = 0;
    let base_len = read_size(delta, &mut pos)?;
    if base_len != base.len() as u64 {
        return Err(DeltaError::BaseSize {
            expected: base_len,
            actual: base.len() as u64,
        });
    }
    let result_len = read_size(delta, &mut pos)?;
    if result_len > max_len {
        return Err(DeltaError::TooLarge(result_len));
    }
    let result_len = usize::try_from(result_len).map_err(|_| DeltaError::TooLarge(result_len))?;
    let mut out = Vec::with_capacity(result_len);
    while pos < delta.len() {
        let op = delta[pos];
        pos += 1;
        if op & 0x80 != 0 {
            let mut offset = 0usize;
            let mut size = 0usize;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    let b = *delta.get(pos).ok_or(DeltaError::Truncated)?;
                    pos += 1;
                    offset |= usize::from(b) << (8 * i);
                }
            }
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    let b = *delta.get(pos).ok_or(DeltaError::Truncated)?;
                    pos += 1;
                    size |= usize::from(b) << (8 * i);
                }
            }
            if size == 0 {
                size = 0x10000;
            }
            let end = offset.checked_add(size).ok_or(DeltaError::BadInstruction)?;
            let chunk = base.get(offset..end).ok_or(DeltaError::BadInstruction)?;
            if out.len() + chunk.len() > result_len {
                return Err(DeltaError::SizeMismatch);
            }
            out.extend_from_slice(chunk);
        } else if op != 0 {
            let n = usize::from(op);
            let chunk = delta.get(pos..pos + n).ok_or(DeltaError::Truncated)?;
            pos += n;
            if out.len() + chunk.len() > result_len {
                return Err(DeltaError::SizeMismatch);
            }
            out.extend_from_slice(chunk);
        } else {
            return Err(DeltaError::BadInstruction);
        }
    }
    if out.len() != result_len {
        return Err(DeltaError::SizeMismatch);
    }
    Ok(out)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn test_copy_and_insert() {
        let base = b"hello world";
        // base 11, result 11: copy 6 bytes from 0, insert "there"
        let delta = [11, 11, 0x90, 6, 5, b't', b'h', b'e', b'r', b'e'];
        assert_eq!(apply(base, &delta, 100).unwrap(), b"hello there");
        assert_eq!(result_size(&delta).unwrap(), 11);
    }

    #[test]
    fn test_errors() {
        assert_eq!(
            apply(b"ab", &[3, 1], 10),
            Err(DeltaError::BaseSize {
                expected: 3,
                actual: 2
            })
        );
        assert_eq!(
            apply(b"ab", &[2, 1, 0], 10),
            Err(DeltaError::BadInstruction)
        );
        assert_eq!(
            apply(b"ab", &[2, 1, 0x91, 1, 5], 10),
            Err(DeltaError::BadInstruction)
        );
        assert_eq!(
            apply(b"ab", &[2, 5, 1, b'x'], 10),
            Err(DeltaError::SizeMismatch)
        );
        assert_eq!(apply(b"ab", &[2, 50], 10), Err(DeltaError::TooLarge(50)));
        assert_eq!(apply(b"ab", &[2], 10), Err(DeltaError::Truncated));
        assert_eq!(
            apply(b"ab", &[2, 1, 3, b'x'], 10),
            Err(DeltaError::Truncated)
        );
    }
}
