//! `pare` command-line entry point.
fn main() {}
