//! `cargo xtask demo`: the end-to-end demo (a placeholder until the deps
//! download work lands).

use std::process::ExitCode;

/// Runs the demo.
pub(crate) fn run() -> ExitCode {
    println!("demo: arrives with the deps download work");
    ExitCode::FAILURE
}
