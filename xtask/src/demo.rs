//! `cargo xtask demo`: the main job end to end on one machine. Generates the
//! fixture mirror, serves it on 127.0.0.1, builds the `deps` binary and runs a
//! real `deps download` into a fresh cache, then `deps verify` and
//! `deps status`, and shows where things landed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use xtask::fixtures::{self, FixtureOptions, Shape};
use xtask::mirror::Mirror;

/// Options of `cargo xtask demo`.
#[derive(Debug, Clone)]
pub(crate) struct DemoOptions {
    /// Working directory for the mirror, cache and binary (`target/demo`).
    pub(crate) dir: PathBuf,
    /// Size divisor for the fixtures (`None`: about 64 MiB in all).
    pub(crate) scale: Option<u64>,
    /// Architectures to download.
    pub(crate) archs: String,
}

/// Runs the demo.
pub(crate) fn run(opts: &DemoOptions) -> anyhow::Result<()> {
    let workspace = workspace_root()?;
    let mirror_dir = opts.dir.join("mirror");
    let cache_dir = opts.dir.join("cache");
    let bin_dir = opts.dir.join("bin");
    if cache_dir.exists() {
        std::fs::remove_dir_all(&cache_dir).with_context(|| format!("removing {}", cache_dir.display()))?;
    }
    step("generating the fixture mirror");
    let mut fixture_opts = FixtureOptions::new(mirror_dir.clone());
    fixture_opts.scale = opts.scale;
    // Today's podplane manifests: runtime images, per-arch kube binaries, the components Git source.
    fixture_opts.shape = Shape::Current;
    let summary = fixtures::generate(&fixture_opts)?;
    println!("{} files, {} bytes, scale 1/{}", summary.files, summary.total_bytes, summary.scale);

    step("building deps");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "deps-cli"])
        .current_dir(&workspace)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build -p deps-cli failed");
    }
    std::fs::create_dir_all(&bin_dir)?;
    let deps = bin_dir.join("deps");
    let built = target_dir(&workspace).join("debug").join("deps-cli");
    std::fs::copy(&built, &deps)
        .with_context(|| format!("copying {} to {}", built.display(), deps.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mirror = runtime.block_on(Mirror::start(mirror_dir.clone()))?;
    let base = mirror.base_url();
    println!("mirror: serving {} at {base}", mirror_dir.display());

    let run = |args: &[&str]| -> anyhow::Result<bool> {
        println!("\n$ deps {}", args.join(" "));
        let status = Command::new(&deps)
            .args(args)
            .env("DEPS_BASE_URL", &base)
            .env("DEPS_REGISTRY_MIRROR", &base)
            .env("DEPS_CACHE_DIR", &cache_dir)
            .status()
            .with_context(|| format!("running {}", deps.display()))?;
        Ok(status.success())
    };
    let arch_arg = format!("--arch={}", opts.archs);
    let ok = run(&["download", &arch_arg])?
        && run(&["download", &arch_arg])?
        && run(&["verify", &arch_arg])?
        && run(&["status", &arch_arg])?;
    runtime.block_on(mirror.shutdown());
    if !ok {
        bail!("the demo failed: see the output above");
    }
    step("where things landed");
    show_tree(&cache_dir)?;
    println!("\nbinary: {}\ncache:  {}", deps.display(), cache_dir.display());
    Ok(())
}

fn step(what: &str) {
    println!("==> {what}");
}

/// Prints each cache area (`vmconfig/artifacts`, `registry/mirror`, ...) with its file count and size.
fn show_tree(root: &Path) -> anyhow::Result<()> {
    let mut domains: Vec<_> = std::fs::read_dir(root)?.collect::<Result<_, _>>()?;
    domains.sort_by_key(|e| e.file_name());
    for domain in domains.iter().filter(|e| e.path().is_dir()) {
        let mut areas: Vec<_> = std::fs::read_dir(domain.path())?.collect::<Result<_, _>>()?;
        areas.sort_by_key(|e| e.file_name());
        for area in areas {
            let (files, bytes) = count(&area.path())?;
            let rel = area.path().strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| area.path());
            println!("  {:<24} {files:>4} files {:>10.1} MiB", rel.display(), bytes as f64 / 1048576.0);
        }
    }
    Ok(())
}

/// Files and bytes under `dir`.
fn count(dir: &Path) -> anyhow::Result<(u64, u64)> {
    if dir.is_file() {
        return Ok((1, std::fs::metadata(dir)?.len()));
    }
    let mut total = (0, 0);
    for entry in std::fs::read_dir(dir)? {
        let (files, bytes) = count(&entry?.path())?;
        total = (total.0 + files, total.1 + bytes);
    }
    Ok(total)
}

/// The workspace root (xtask's parent directory).
fn workspace_root() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Cargo's target directory (honours CARGO_TARGET_DIR).
fn target_dir(workspace: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from)
}
