//! The `deps` command line: download, check and verify the dependencies of
//! local Kubernetes VMs. Argument parsing lives in `args`, event rendering in
//! `render`, `-f/--cluster-config` reading in `cluster_config`.

mod args;
mod cluster_config;
mod commands;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("RUST_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", error_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// One line: what failed, which item, and what to do next when the message
/// does not already say.
fn error_line(err: &anyhow::Error) -> String {
    use deps_manager::Error as E;
    let Some(manager_err) = err.downcast_ref::<E>() else {
        return format!("{err:#}");
    };
    // The manager's errors already carry their causes in their message.
    let next = match manager_err {
        E::Download { .. } => {
            Some("run `deps download` again: verified files are kept and partial ones resume")
        }
        E::Manifest(_) | E::Invalid { .. } | E::Rejected { .. } | E::Parse { .. } => {
            Some("the manifest is at fault: tell whoever publishes it, or pass a corrected local manifest")
        }
        E::Store(deps_manager::StoreError::Locked { .. }) => {
            Some("wait for the other `deps` to finish, or run without --no-wait")
        }
        E::Store(_) | E::Io { .. } => Some("check the path, its permissions and the free disk space"),
        E::Transport(_) => Some("check --ca-cert and the proxy settings"),
        E::NotCached { .. } | E::Incomplete { .. } | E::Fetch { .. } | E::Task(_) => None,
    };
    match next {
        Some(next) => format!("{manager_err}; {next}"),
        None => manager_err.to_string(),
    }
}
