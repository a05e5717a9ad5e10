//! `cargo xtask bench`: `deps` side by side with curl, aria2c, sha256sum and
//! skopeo. Generates the fixture mirror at a scale, serves its files from
//! Debian's nginx and its images from Debian's docker-registry on 127.0.0.1,
//! fills a cache with one untimed `deps download`, then times each scenario's
//! commands as whole processes (a warm-up, then the timed runs, medians) and
//! writes a markdown report. Peers that are not installed get a "not
//! installed" row, unless `DEPS_REQUIRE_TOOLS` is set.

mod machine;
mod measure;
mod nginx;
mod report;
mod scenarios;
mod setup;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

pub use machine::Machine;
pub use measure::Sample;
pub use report::{COLUMNS, Report, Target};
pub use scenarios::{Outcome, SCENARIOS, ScenarioResult, ScenarioSpec};
pub use tools::{REQUIRE_TOOLS_VAR, Tool};

use setup::Ctx;
use tools::Tools;

/// Options of one benchmark run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Divide real sizes by this (1 = real sizes).
    pub scale: u64,
    /// Timed runs per command, after one warm-up.
    pub runs: usize,
    /// Where to write the report.
    pub out: PathBuf,
    /// The `deps` binary; `None` builds `deps-cli` in release mode.
    pub deps: Option<PathBuf>,
    /// Working directory: mirror, servers, cache, peer outputs.
    pub work: PathBuf,
}

impl BenchOptions {
    /// Real sizes, 5 runs, the report in `docs/benchmarks.md`, work in `target/bench`.
    pub fn new() -> Self {
        let root = workspace_root();
        BenchOptions {
            scale: 1,
            runs: 5,
            out: root.join("docs").join("benchmarks.md"),
            deps: None,
            work: target_dir(&root).join("bench"),
        }
    }
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs every scenario, writes the report to `opts.out` and returns it.
pub fn run(opts: &BenchOptions) -> anyhow::Result<Report> {
    if opts.runs == 0 || opts.scale == 0 {
        bail!("--runs and --scale must be at least 1");
    }
    let work = std::path::absolute(&opts.work)?;
    fs_err::create_dir_all(&work)?;
    let tools = Tools::find();
    let deps = match &opts.deps {
        Some(path) => std::path::absolute(path)?,
        None => build_deps()?,
    };
    let machine = Machine::describe();
    let servers = [Tool::Nginx, Tool::DockerRegistry, Tool::Skopeo];
    let report = match tools.missing(&servers)? {
        Some(tool) => {
            let why = format!("not installed: {}", tool.name());
            let scenarios = SCENARIOS.iter().map(|s| ScenarioResult::skipped(*s, &why)).collect();
            Report {
                machine,
                scale: opts.scale,
                runs: opts.runs,
                scenarios,
                dataset: None,
                notes: Vec::new(),
            }
        }
        None => measure_all(opts, &work, &tools, deps, machine)?,
    };
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)?;
    }
    fs_err::write(&opts.out, report.markdown())?;
    Ok(report)
}

/// Starts the servers, fills the cache and runs every scenario.
fn measure_all(
    opts: &BenchOptions,
    work: &Path,
    tools: &Tools,
    deps: PathBuf,
    machine: Machine,
) -> anyhow::Result<Report> {
    let nginx = tools.require(Tool::Nginx)?;
    let (ctx, summary) = Ctx::start(work, opts.scale, nginx, deps)?;
    let data = ctx.prime(&summary)?;
    let mut scenarios = Vec::new();
    for spec in SCENARIOS {
        scenarios.push(scenarios::run(*spec, &ctx, &data, tools, opts.runs)?);
    }
    let mut notes = vec![format!(
        "Servers: {}, {}.",
        version_line(nginx, &["-v"]),
        version_line(&PathBuf::from(crate::registry::DOCKER_REGISTRY), &["--version"])
    )];
    if !ctx.deep_verify {
        notes.push("This deps has no `verify --deep` yet: its row is n/a.".to_owned());
    }
    Ok(Report { machine, scale: opts.scale, runs: opts.runs, scenarios, dataset: Some(data), notes })
}

/// The first line a tool prints about its version (nginx prints it on stderr).
fn version_line(tool: &Path, args: &[&str]) -> String {
    Command::new(tool)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let text = [o.stdout, o.stderr].concat();
            String::from_utf8_lossy(&text).lines().next().map(|l| l.trim().to_owned())
        })
        .unwrap_or_else(|| tool.display().to_string())
}

/// Builds `deps-cli` in release mode; its path.
fn build_deps() -> anyhow::Result<PathBuf> {
    let root = workspace_root();
    eprintln!("bench: cargo build --release -p deps-cli");
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--quiet", "-p", "deps-cli"])
        .current_dir(&root)
        .output()
        .context("running cargo build --release -p deps-cli")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let start = stderr.len().saturating_sub(3000);
        bail!("cargo build --release -p deps-cli failed: {}", stderr.get(start..).unwrap_or(&stderr).trim());
    }
    Ok(target_dir(&root).join("release").join("deps-cli"))
}

/// The workspace root (xtask's parent directory).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}
