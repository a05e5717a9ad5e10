//! The `deps` command line.
fn main() {}
