//! The `deps` command line: download, check and verify the dependencies of
//! local Kubernetes VMs. Argument parsing lives in `args`, the base URL, cache
//! root and architecture defaults in `settings`, event rendering in `render`,
//! `-f/--cluster-config` reading in `cluster_config`, every printed line in
//! `out`, Ctrl-C and SIGTERM in `interrupt`.

mod args;
mod cluster_config;
mod commands;
mod interrupt;
mod out;
mod render;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("RUST_LOG"))
        .with_writer(std::io::stderr)
        // A failed write would be reported with `eprintln!`, which panics on a closed stderr.
        .log_internal_errors(false)
        .init();
    let flags = settings::Flags {
        base_url: cli.base_url.clone(),
        cache_dir: cli.cache_dir.clone(),
        arch: cli.target_mut().arch.clone(),
    };
    let settings = match settings::Settings::from_process(&flags) {
        Ok(settings) => settings,
        Err(err) => {
            out::eprint_line(&format!("error: {err}"));
            return ExitCode::FAILURE;
        }
    };
    cli.target_mut().arch.clone_from(&settings.archs.value);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            out::eprint_line(&format!("error: could not start the async runtime: {err}"));
            return ExitCode::FAILURE;
        }
    };
    let downloading = matches!(cli.command, args::Command::Download(_));
    let outcome = runtime.block_on(async {
        let signals = interrupt::Signals::new();
        // The run is dropped when a signal wins: its reporter clears the bars.
        tokio::select! {
            result = commands::run(cli, &settings) => Ok(result),
            signal = signals.recv() => Err(signal),
        }
    });
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            for line in error_report(&err) {
                out::eprint_line(&line);
            }
            ExitCode::FAILURE
        }
        Err(signal) => {
            out::close_with(&signal.message(downloading));
            // Tasks of the stopped run may still hold a connection: do not wait for them.
            runtime.shutdown_background();
            ExitCode::from(signal.exit_code())
        }
    }
}

/// What failed and what to do next, as lines to print. One line for one
/// failure (the advice chosen by the manager from the error's type); for a
/// run whose items failed, one line per item, then the count.
fn error_report(err: &anyhow::Error) -> Vec<String> {
    use deps_manager::Error as E;
    let Some(manager_err) = err.downcast_ref::<E>() else {
        return vec![format!("error: {err:#}")];
    };
    let line = |err: &E| match err.hint() {
        Some(hint) => format!("{err}; {hint}"),
        None => err.to_string(),
    };
    match manager_err {
        E::Failed { failures } if failures.len() > 1 => {
            let mut lines: Vec<String> =
                failures.iter().map(|failure| format!("failed: {}", line(&failure.error))).collect();
            lines.push(format!(
                "error: {} items failed (listed above); the others were downloaded and are cached",
                failures.len()
            ));
            lines
        }
        E::Failed { failures } => match failures.first() {
            Some(one) => vec![format!("error: {}", line(&one.error))],
            None => vec![format!("error: {manager_err}")],
        },
        other => vec![format!("error: {}", line(other))],
    }
}
