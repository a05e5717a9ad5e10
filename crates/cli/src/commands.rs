//! The subcommands: build the manager from the global flags, run, report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use deps_manager::{ClientConfig, DownloadOptions, HttpClient, Manager, manifest};

use crate::args::{Cli, Command, DownloadArgs, TargetArgs};
use crate::cluster_config;
use crate::render::{self, Mode, Tally};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mode = if cli.json {
        Mode::Json
    } else if cli.quiet {
        Mode::Quiet
    } else {
        Mode::Plain
    };
    let manager = manager(&cli)?;
    match &cli.command {
        Command::Download(args) => download(&manager, args, mode).await,
        Command::Status(target) => status(&manager, target).await,
        Command::Verify(target) => verify(&manager, target, mode),
    }
}

fn manager(cli: &Cli) -> anyhow::Result<Manager> {
    let cache_dir = match &cli.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir().context("no home directory: pass --cache-dir or set DEPS_CACHE_DIR")?,
    };
    let mut manager = Manager::new(cli.base_url.clone(), cache_dir)?;
    if let Some(ca_cert) = &cli.ca_cert {
        let config = ClientConfig { extra_ca_cert: Some(ca_cert.clone()), ..ClientConfig::default() };
        manager = manager.with_client(HttpClient::new(&config)?);
    }
    let mut insecure_registries = cli.insecure_registry.clone();
    if cli.insecure {
        manager = manager.with_insecure_hosts(vec!["*".to_owned()]);
        insecure_registries.push("*".to_owned());
    }
    let registry = deps_manager::RegistryConfig {
        mirror: cli.registry_mirror.clone(),
        insecure_hosts: insecure_registries,
        ..deps_manager::RegistryConfig::default()
    };
    manager = manager.with_registry_config(registry);
    Ok(manager)
}

/// `~/.podplane/cache/deps`.
fn default_cache_dir() -> Option<PathBuf> {
    dirs::home_dir().map(|home| home.join(".podplane").join("cache").join("deps"))
}

fn archs(target: &TargetArgs) -> anyhow::Result<Vec<String>> {
    if target.arch.is_empty() {
        return Ok(vec![manifest::host_arch().to_owned()]);
    }
    Ok(manifest::normalize_archs(&target.arch)?)
}

async fn download(manager: &Manager, args: &DownloadArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let archs = archs(&args.target)?;
    let mut providers = args.providers.clone();
    if let Some(path) = &args.cluster_config {
        for kind in cluster_config::providers(path)? {
            if !providers.iter().any(|p| p.eq_ignore_ascii_case(&kind)) {
                providers.push(kind);
            }
        }
    }
    let mut addons: Vec<String> = manifest::RECOMMENDED_ADDONS.iter().map(|s| (*s).to_owned()).collect();
    addons.extend(args.addons.iter().cloned());
    let tally = Arc::new(Tally::default());
    let manager = if args.no_wait {
        manager.clone().with_lock_wait(deps_manager::LockWait::NoWait)
    } else {
        manager.clone()
    };
    for (i, arch) in archs.iter().enumerate() {
        let opts = DownloadOptions {
            dry_run: args.dry_run,
            concurrency: usize::from(args.concurrency),
            progress: Some(render::progress(mode, Arc::clone(&tally))),
            archs: archs.clone(),
            providers: providers.clone(),
            addons: addons.clone(),
            skip_cross_arch_dependencies: i > 0,
            skip_seeds: args.skip_seeds,
            vmconfig_manifest_path: args.vmconfig.clone(),
            components_manifest_path: args.components.clone(),
            templates_manifest_path: args.templates.clone(),
            seeds_manifest_path: args.seeds.clone(),
            mirror: args.mirror.clone(),
            ..DownloadOptions::default()
        };
        manager.download(&args.target.kind, arch, opts).await?;
    }
    if mode == Mode::Plain && !args.dry_run {
        eprintln!(
            "Downloaded {} items ({}); {} already cached. Cache: {}",
            tally.done.load(Ordering::Relaxed),
            deps_manager::human_bytes(tally.bytes.load(Ordering::Relaxed)),
            tally.cached.load(Ordering::Relaxed),
            manager.cache_dir().display(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(manager: &Manager, target: &TargetArgs) -> anyhow::Result<ExitCode> {
    let kind = &target.kind;
    for arch in archs(target)? {
        let name = format!("{kind}_{}_{arch}", manifest::OS);
        let cached = manager.read_cached_manifest(kind, &arch)?;
        let cached_version = cached.as_ref().map(|(m, _)| m.vmconfig.version.clone());
        let (needed, latest) = manager.status(kind, &arch).await?;
        let cached_text = cached_version.as_deref().unwrap_or("not cached");
        let verdict = if needed { "new packages are available: run `deps download`" } else { "up to date" };
        println!("vmconfig {name}: cached {cached_text}, latest {}: {verdict}", latest.vmconfig.version);
    }
    let version = |v: Option<String>| v.unwrap_or_else(|| "not cached".to_owned());
    println!(
        "components: {}",
        version(manager.read_cached_components_manifest()?.map(|(m, _)| m.components.version))
    );
    println!(
        "templates: {}",
        version(manager.read_cached_templates_manifest()?.map(|(m, _)| m.templates.version))
    );
    println!("seeds: {}", version(manager.read_cached_seeds_manifest()?.map(|(m, _)| m.seeds.version)));
    Ok(ExitCode::SUCCESS)
}

fn verify(manager: &Manager, target: &TargetArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for arch in archs(target)? {
        let name = format!("{}_{}_{arch}", target.kind, manifest::OS);
        match manager.verify(&target.kind, &arch) {
            Ok(manifest) => {
                let count = manifest.items().iter().filter(|item| item.dep.cached).count();
                if mode != Mode::Quiet {
                    println!("{name}: ok ({count} artifacts verified)");
                }
            }
            Err(deps_manager::Error::Incomplete { problems }) => {
                failed = true;
                eprintln!("{name}: {} problems (run `deps download` to repair):", problems.len());
                for problem in &problems {
                    eprintln!("  {problem}");
                }
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
