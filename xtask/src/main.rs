//! `cargo xtask`: generate fixture mirrors, serve one, run the demo, run the benchmarks.

mod demo;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use xtask::bench::{self, BenchOptions};
use xtask::fixtures::{self, FixtureOptions, SUMMARY_FILE, Shape};
use xtask::mirror::Mirror;

/// Developer tasks for deps.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The tasks.
#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a fixture mirror directory.
    Fixtures {
        /// Output directory [default: target/fixtures/mirror].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Divide real sizes by this (1 = real sizes) [default: about 64 MiB in total].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        scale: Option<u64>,
        /// Directory of real-shaped manifests [default: ../shared/fixtures/real, else built-in copies].
        #[arg(long)]
        source: Option<PathBuf>,
        /// Manifest shape: legacy (the seed API's) or current (today's podplane).
        #[arg(long, default_value_t = Shape::Legacy)]
        shape: Shape,
    },
    /// Serve a fixture mirror directory (files and the registry API) on 127.0.0.1 until Ctrl-C.
    Mirror {
        /// Directory to serve [default: target/fixtures/mirror].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Generate fixtures into the directory first (also done when it has none).
        #[arg(long)]
        generate: bool,
        /// Manifest shape of generated fixtures: legacy or current.
        #[arg(long, default_value_t = Shape::Legacy)]
        shape: Shape,
    },
    /// Run the end-to-end demo: fixture mirror on 127.0.0.1, a real `deps download`, verify, status.
    Demo {
        /// Working directory [default: target/demo].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Divide real sizes by this (1 = real sizes) [default: about 64 MiB in total].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        scale: Option<u64>,
        /// Architectures to download.
        #[arg(long, default_value = "amd64,arm64")]
        arch: String,
    },
    /// Time deps against curl, aria2c, sha256sum and skopeo on loopback servers; write docs/benchmarks.md.
    Bench {
        /// Divide real sizes by this (1 = real sizes).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        scale: u64,
        /// Timed runs per command, after one warm-up.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
        runs: u64,
        /// Where to write the report [default: docs/benchmarks.md].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The deps binary [default: build deps-cli in release mode].
        #[arg(long)]
        deps: Option<PathBuf>,
        /// Working directory [default: target/bench].
        #[arg(long)]
        work: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Diagnostics go to stderr, filtered by `RUST_LOG` (errors only by default).
fn tracing_init() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
}

/// Runs one task.
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Fixtures { out, scale, source, shape } => {
            let mut opts = FixtureOptions::new(out.unwrap_or_else(fixtures::default_out_dir));
            opts.scale = scale;
            opts.shape = shape;
            if source.is_some() {
                opts.source = source;
            }
            generate(&opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mirror { dir, port, generate: force, shape } => {
            let dir = dir.unwrap_or_else(fixtures::default_out_dir);
            if force || !dir.join(SUMMARY_FILE).is_file() {
                generate(&FixtureOptions { shape, ..FixtureOptions::new(&dir) })?;
            }
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(serve(dir, port))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { dir, scale, arch } => {
            let dir = dir.unwrap_or_else(|| {
                fixtures::default_out_dir()
                    .parent()
                    .and_then(|p| p.parent())
                    .map_or_else(|| PathBuf::from("target/demo"), |target| target.join("demo"))
            });
            demo::run(&demo::DemoOptions { dir, scale, archs: arch })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { scale, runs, out, deps, work } => {
            let defaults = BenchOptions::new();
            let opts = BenchOptions {
                scale,
                runs: usize::try_from(runs)?,
                out: out.unwrap_or(defaults.out),
                deps,
                work: work.unwrap_or(defaults.work),
            };
            let report = bench::run(&opts)?;
            println!("{}", report.table());
            for target in report.targets() {
                let verdict = match target.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "not measured",
                };
                println!("{verdict:>12}  {}: {}", target.what, target.measured);
            }
            println!("report: {}", opts.out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Generates fixtures and says what was written.
fn generate(opts: &FixtureOptions) -> anyhow::Result<()> {
    let summary = fixtures::generate(opts)?;
    println!(
        "fixtures: wrote {} files and {} registry blobs ({:.1} MiB, scale {}) to {}",
        summary.files,
        summary.blobs,
        (summary.total_bytes + summary.blob_bytes) as f64 / f64::from(1 << 20),
        summary.scale,
        opts.out.display()
    );
    Ok(())
}

/// Serves `dir` until Ctrl-C.
async fn serve(dir: PathBuf, port: u16) -> anyhow::Result<()> {
    let mirror = Mirror::start_on(dir.clone(), SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let base = mirror.base_url();
    println!("mirror: serving {} at {base}", dir.display());
    println!("registry: {base}/v2/<registry>/<repository> (bearer tokens from {base}/token)");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    mirror.shutdown().await;
    Ok(())
}
