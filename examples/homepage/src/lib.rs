#![doc = include_str!("../README.md")]

pub mod content;
pub mod demo;
pub mod unikernel;
pub mod upstream;
pub mod web;
