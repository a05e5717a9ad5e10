//! The `deps` command line: download, check and verify the dependencies of
//! local Kubernetes VMs. Argument parsing lives in `args`, the base URL, cache
//! root and architecture defaults in `settings`, event rendering in `render`,
//! `-f/--cluster-config` reading in `cluster_config`.

mod args;
mod cluster_config;
mod commands;
mod render;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("RUST_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let flags = settings::Flags {
        base_url: cli.base_url.clone(),
        cache_dir: cli.cache_dir.clone(),
        arch: cli.target_mut().arch.clone(),
    };
    let settings = match settings::Settings::from_process(&flags) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    cli.target_mut().arch.clone_from(&settings.archs.value);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, &settings)) {
        Ok(code) => code,
        Err(err) => {
            eprint!("{}", error_report(&err));
            ExitCode::FAILURE
        }
    }
}

/// What failed and what to do next. One line for one failure (the advice
/// chosen by the manager from the error's type); for a run whose items
/// failed, one line per item, then the count.
fn error_report(err: &anyhow::Error) -> String {
    use deps_manager::Error as E;
    let Some(manager_err) = err.downcast_ref::<E>() else {
        return format!("error: {err:#}\n");
    };
    let line = |err: &E| match err.hint() {
        Some(hint) => format!("{err}; {hint}"),
        None => err.to_string(),
    };
    match manager_err {
        E::Failed { failures } if failures.len() > 1 => {
            let mut out = String::new();
            for failure in failures {
                out.push_str(&format!("failed: {}\n", line(&failure.error)));
            }
            out.push_str(&format!(
                "error: {} items failed (listed above); the others were downloaded and are cached\n",
                failures.len()
            ));
            out
        }
        E::Failed { failures } => match failures.first() {
            Some(one) => format!("error: {}\n", line(&one.error)),
            None => format!("error: {manager_err}\n"),
        },
        other => format!("error: {}\n", line(other)),
    }
}
