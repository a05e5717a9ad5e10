//! Command-line arguments (BEHAVIOR.md §9).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The default mirror of published deps manifests.
pub const DEFAULT_BASE_URL: &str = "https://cli.podplane.dev/deps";

/// Downloads, verifies and reports the dependencies of local Kubernetes VMs.
#[derive(Debug, Parser)]
#[command(name = "deps", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Where the manifests are published.
    #[arg(long, global = true, env = "DEPS_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// The cache root [default: ~/.podplane/cache/deps].
    #[arg(long, global = true, env = "DEPS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Allow plain HTTP to hosts that are not loopback.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Pull every image and chart through this registry mirror: `<registry>/<repo>`
    /// is fetched as `<mirror>/v2/<registry>/<repo>/...`.
    #[arg(long, global = true, env = "DEPS_REGISTRY_MIRROR")]
    pub registry_mirror: Option<String>,
    /// A PEM file with an extra CA certificate to trust (e.g. an internal mirror's).
    #[arg(long, global = true, env = "DEPS_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Registries that may be reached over plain HTTP (comma-separated).
    #[arg(long, global = true, value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "json")]
    pub quiet: bool,
    /// Write one JSON object per event to stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download every missing dependency into the cache.
    Download(DownloadArgs),
    /// Show whether newer dependencies are available.
    Status(TargetArgs),
    /// Check that every cached dependency is present and intact.
    Verify(TargetArgs),
}

/// Which VM kind and architectures a command concerns.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Architectures, comma-separated (amd64, arm64) [default: this machine's].
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// The VM kind.
    #[arg(long, default_value = deps_manifest::DEFAULT_KIND)]
    pub kind: String,
}

/// Arguments of `deps download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Kind and architectures.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print what would be downloaded, download nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Providers whose artifacts and images to include (`all` for every one).
    #[arg(long, value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Addon components to include besides the recommended ones (`all` for every one).
    #[arg(long, value_delimiter = ',')]
    pub addons: Vec<String>,
    /// A cluster config (JSON with comments) whose providers are included.
    #[arg(short = 'f', long = "cluster-config")]
    pub cluster_config: Option<PathBuf>,
    /// Read the vmconfig manifest from a local file.
    #[arg(long)]
    pub vmconfig: Option<PathBuf>,
    /// Read the components manifest from a local file.
    #[arg(long)]
    pub components: Option<PathBuf>,
    /// Read the templates manifest from a local file.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Read the seeds manifest from a local file.
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    /// Skip seed snapshots.
    #[arg(long)]
    pub skip_seeds: bool,
    /// Fetch artifacts from this mirror instead of their upstream URLs.
    #[arg(long, env = "DEPS_MIRROR")]
    pub mirror: Option<String>,
    /// Downloads in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Fail at once instead of waiting when another process holds the cache lock.
    #[arg(long)]
    pub no_wait: bool,
}
