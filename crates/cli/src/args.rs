//! Command-line arguments (BEHAVIOR.md §9).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// Downloads, verifies and reports the dependencies of local Kubernetes VMs.
#[derive(Debug, Parser)]
#[command(
    name = "deps",
    bin_name = "deps",
    version,
    about = "Download, check and verify the dependencies of local Kubernetes VMs",
    long_about = "Download, check and verify the dependencies of local Kubernetes VMs.\n\n\
        deps reads the published manifests (vmconfig, components, templates, seeds), downloads \
        every artifact, image, chart and seed snapshot they name into a local cache, and checks \
        each one against its digest. Reference: docs/cli.md.",
    after_long_help = "Exit status: 0 on success, 1 on any error (one line on stderr saying what to do next), \
        2 on a usage error.",
    propagate_version = true
)]
pub struct Cli {
    /// Where the manifests are published (`<base-url>/manifests/<file>`).
    ///
    /// Else from DEPS_BASE_URL, PODPLANE_DEPS_URL, PODPLANE_DEPS_BASE_URL, `deps_url` in podplane's
    /// config file ($XDG_CONFIG_HOME/podplane/config.json) [default: https://deps.podplane.dev].
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "URL")]
    pub base_url: Option<String>,
    /// The cache root.
    ///
    /// Else from DEPS_CACHE_DIR, PODPLANE_DEPS_CACHE_DIR, `deps_cache_dir` in podplane's config file
    /// [default: $XDG_CACHE_HOME/podplane/deps, i.e. ~/.cache/podplane/deps on Linux,
    /// ~/.podplane/cache/deps elsewhere].
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Allow plain HTTP to any host and registry, not only loopback ones.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub insecure: bool,
    /// Pull every image and chart through this registry mirror: `<registry>/<repo>`
    /// is fetched as `<mirror>/v2/<registry>/<repo>/...`.
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_REGISTRY_MIRROR")]
    pub registry_mirror: Option<String>,
    /// A PEM file with an extra CA certificate to trust (e.g. an internal mirror's).
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Registries (`host[:port]`, comma-separated) that may be reached over plain HTTP.
    #[arg(long, global = true, help_heading = GLOBAL, value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// Seconds to wait for a connection to a server before the attempt fails (and is retried).
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_CONNECT_TIMEOUT", value_name = "SECS",
          value_parser = seconds)]
    pub connect_timeout: Option<Duration>,
    /// Fail an attempt that moves fewer than this many bytes per second over `--speed-time` (0: never).
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_SPEED_LIMIT", value_name = "BYTES",
          value_parser = bytes_per_second)]
    pub speed_limit: Option<Unset<u64>>,
    /// The window of `--speed-limit`, also the longest wait for a server's first answer, in seconds.
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_SPEED_TIME", value_name = "SECS",
          value_parser = seconds)]
    pub speed_time: Option<Duration>,
    /// The most seconds one attempt at a download may take, however fast it goes [default: no limit].
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_TIMEOUT", value_name = "SECS",
          value_parser = seconds)]
    pub timeout: Option<Duration>,
    /// The most seconds one attempt at a manifest or registry token may take.
    #[arg(long, global = true, help_heading = GLOBAL, env = "DEPS_MANIFEST_TIMEOUT", value_name = "SECS",
          value_parser = seconds)]
    pub manifest_timeout: Option<Duration>,
    /// Print only errors.
    #[arg(short, long, global = true, help_heading = GLOBAL, conflicts_with = "json")]
    pub quiet: bool,
    /// `download`: write one JSON object per progress event to stdout, then a summary.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Download every missing dependency into the cache.
    ///
    /// Fetches the four manifests, selects what this kind, these architectures,
    /// providers and addons need, and downloads whatever is not already cached
    /// with the right digest. Interrupted downloads resume where they stopped.
    /// Only one process writes to a cache at a time; others wait for the lock.
    Download(DownloadArgs),
    /// Show what is cached and whether newer dependencies are available.
    ///
    /// Prints, per domain, the cached version and how much of it is cached (a
    /// cheap existence and size check; `deps verify` re-hashes), then compares
    /// the cached vmconfig manifest with the mirror's. Exits 0 even when the
    /// mirror cannot be reached.
    Status(TargetArgs),
    /// Check that every cached dependency is present and intact.
    ///
    /// Checks every artifact, image blob, chart and seed snapshot the cached
    /// manifests mark cached and lists every problem, grouped per domain. A
    /// file unchanged (size, mtime, inode) since its digest was last verified
    /// is trusted; others are re-hashed, on every core. `--deep` re-hashes
    /// everything. Works offline. Exits 1 when anything is missing or corrupt.
    Verify(VerifyArgs),
}

/// `deps verify` flags.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Re-hash every file, even those unchanged since they were last verified.
    #[arg(long)]
    pub deep: bool,
}

/// Which VM kind and architectures a command concerns.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Architectures, comma-separated (amd64, arm64).
    ///
    /// Else from PODPLANE_ARCH, `arch` in podplane's config file [default: this machine's].
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<String>,
    /// The VM kind (the `<kind>` in `vmconfig_<kind>_debian-13_<arch>.json`).
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
    /// Providers whose artifacts and images to include, comma-separated (`all` for every one).
    #[arg(long, value_delimiter = ',')]
    pub providers: Vec<String>,
    /// Addon components to include besides the recommended ones, comma-separated (`all` for every one).
    #[arg(long, value_delimiter = ',')]
    pub addons: Vec<String>,
    /// A cluster config (JSON with comments) whose providers are added to `--providers`.
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
    /// Skip the seeds manifest and seed snapshots.
    #[arg(long)]
    pub skip_seeds: bool,
    /// Skip the bare mirror of the components' Git repository (`components.source`).
    #[arg(long)]
    pub skip_components_git: bool,
    /// Fetch vmconfig artifacts from `<mirror>/vmconfig/artifacts/<name>/<version>/<file>`
    /// instead of their upstream URLs.
    #[arg(long, env = "DEPS_MIRROR")]
    pub mirror: Option<String>,
    /// Downloads in flight at once (1 to 64).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Fail at once instead of waiting when another process holds the cache lock.
    #[arg(long)]
    pub no_wait: bool,
    /// Stop at the first failed item; by default the others finish and every failure is listed.
    #[arg(long)]
    pub fail_fast: bool,
}

impl Cli {
    /// The kind and architectures of the command.
    pub fn target_mut(&mut self) -> &mut TargetArgs {
        match &mut self.command {
            Command::Download(args) => &mut args.target,
            Command::Status(target) => target,
            Command::Verify(args) => &mut args.target,
        }
    }
}

/// A positive number of seconds (fractions allowed), as a duration; an empty
/// value (an environment variable set to "") reads as zero, which means unset.
fn seconds(value: &str) -> Result<Duration, String> {
    if value.trim().is_empty() {
        return Ok(Duration::ZERO);
    }
    let secs: f64 = value.trim().parse().map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("{value:?} must be more than 0 seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|err| format!("{value:?}: {err}"))
}

/// A duration flag, with zero (an empty value) as unset.
pub fn set(value: Option<Duration>) -> Option<Duration> {
    value.filter(|d| !d.is_zero())
}

/// A flag's value, or `None` when it was given empty (an environment variable set to "").
#[derive(Debug, Clone, Copy)]
pub struct Unset<T>(pub Option<T>);

/// A whole number of bytes per second; empty reads as unset.
fn bytes_per_second(value: &str) -> Result<Unset<u64>, String> {
    if value.trim().is_empty() {
        return Ok(Unset(None));
    }
    value
        .trim()
        .parse()
        .map(|n| Unset(Some(n)))
        .map_err(|_| format!("{value:?} is not a whole number of bytes"))
}
