//! Zone-file properties.
