//! Wire-format properties.
