//! The subcommands: build the manager from the global flags, run, report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use deps_manager::{
    ClientConfig, Domain, DownloadOptions, HttpClient, Manager, Problem, VerifyOptions, manifest,
};

use crate::args::{Cli, Command, DownloadArgs, TargetArgs, VerifyArgs};
use crate::cluster_config;
use crate::render::{Mode, Reporter};

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
        Command::Verify(args) => verify(&manager, args, mode),
    }
}

fn manager(cli: &Cli) -> anyhow::Result<Manager> {
    let cache_dir = match &cli.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir().context("no home directory: pass --cache-dir or set DEPS_CACHE_DIR")?,
    };
    let mut manager = Manager::new(cli.base_url.clone(), cache_dir)?;
    // One idle connection per download in flight, so every download reuses one.
    let concurrency = match &cli.command {
        Command::Download(args) => usize::from(args.concurrency),
        _ => ClientConfig::default().concurrency,
    };
    if cli.ca_cert.is_some() || concurrency != ClientConfig::default().concurrency {
        let config =
            ClientConfig { extra_ca_cert: cli.ca_cert.clone(), concurrency, ..ClientConfig::default() };
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
    let reporter = Reporter::new(mode);
    let manager = if args.no_wait {
        manager.clone().with_lock_wait(deps_manager::LockWait::NoWait)
    } else {
        manager.clone()
    };
    for (i, arch) in archs.iter().enumerate() {
        let opts = DownloadOptions {
            dry_run: args.dry_run,
            concurrency: usize::from(args.concurrency),
            progress: Some(reporter.callback()),
            output: reporter.dry_run_output(),
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
        reporter.flush_dry_run();
    }
    if !args.dry_run {
        reporter.finish(manager.cache_dir());
    }
    Ok(ExitCode::SUCCESS)
}

/// `deps status`: the local state of every domain, then whether the mirror has
/// newer vmconfig manifests. An unreachable mirror is reported, not fatal.
async fn status(manager: &Manager, target: &TargetArgs) -> anyhow::Result<ExitCode> {
    let kind = &target.kind;
    let archs = archs(target)?;
    let mut unreachable = None;
    println!("cache: {}", manager.cache_dir().display());
    for arch in &archs {
        let name = format!("{kind}_{}_{arch}", manifest::OS);
        let cached = manager.read_cached_manifest(kind, arch)?.map(|(m, _)| m);
        let local = match &cached {
            Some(m) => format!("{}, {}", m.vmconfig.version, artifacts_present(manager, m)?),
            None => NOT_DOWNLOADED.to_owned(),
        };
        let remote = match manager.status(kind, arch).await {
            Ok((needed, latest)) => update_text(cached.as_ref(), needed, &latest),
            Err(err) => {
                unreachable.get_or_insert(err.to_string());
                String::new()
            }
        };
        println!("vmconfig {name}: {local}{remote}");
    }
    let shared = [
        (Domain::Components, components_state(manager, &archs)?),
        (Domain::Templates, templates_state(manager)?),
        (Domain::Seeds, seeds_state(manager)?),
    ];
    for (domain, local) in shared {
        let cached = match domain {
            Domain::Components => {
                manager.read_cached_components_manifest()?.map(|(m, _)| m.components.version)
            }
            Domain::Templates => manager.read_cached_templates_manifest()?.map(|(m, _)| m.templates.version),
            Domain::Seeds => manager.read_cached_seeds_manifest()?.map(|(m, _)| m.seeds.version),
        };
        let remote = match manager.latest_version(domain).await {
            Ok(latest) => shared_update_text(cached.as_deref(), &latest),
            Err(err) => {
                unreachable.get_or_insert(err.to_string());
                String::new()
            }
        };
        let label = match domain {
            Domain::Components => "components",
            Domain::Templates => "templates",
            Domain::Seeds => "seeds",
        };
        println!("{label}: {local}{remote}");
    }
    if let Some(reason) = unreachable {
        println!("couldn't check for updates: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What status says about a domain with no cached manifest.
const NOT_DOWNLOADED: &str = "not downloaded yet: run `deps download`";

/// "N of M cached artifacts present": a size and existence check, not a re-hash.
fn artifacts_present(manager: &Manager, m: &manifest::Manifest) -> anyhow::Result<String> {
    let (mut marked, mut present) = (0, 0);
    for item in m.items().into_iter().filter(|item| item.dep.cached) {
        marked += 1;
        let path = manager.vmconfig_artifact_cache_path(&item.name, &item.dep)?;
        let size = u64::try_from(item.dep.size).unwrap_or(0);
        if path.metadata().is_ok_and(|md| md.is_file() && (size == 0 || md.len() == size)) {
            present += 1;
        }
    }
    let advice = if present < marked { ": run `deps verify`, then `deps download`" } else { "" };
    Ok(format!("{present} of {marked} cached artifacts present{advice}"))
}

/// How the mirror's latest version of a shared domain compares with the cached one.
fn shared_update_text(cached: Option<&str>, latest: &str) -> String {
    match cached {
        None => format!(" (the mirror has {latest})"),
        Some(version) if version == latest => "; up to date with the mirror".to_owned(),
        Some(_) => format!("; the mirror has {latest}: run `deps download`"),
    }
}

/// How the mirror's latest vmconfig manifest compares with the cached one.
fn update_text(cached: Option<&manifest::Manifest>, needed: bool, latest: &manifest::Manifest) -> String {
    let latest = &latest.vmconfig.version;
    match cached {
        None => format!(" (the mirror has {latest})"),
        Some(_) if !needed => "; up to date with the mirror".to_owned(),
        Some(m) if m.vmconfig.version == *latest => {
            format!("; the mirror's {latest} manifest changed: run `deps download`")
        }
        Some(_) => format!("; the mirror has {latest}: run `deps download`"),
    }
}

/// Components: version and how many of the selected images are cached. The
/// selection is the default one (recommended addons, provider-neutral) plus
/// every image a previous download marked cached.
fn components_state(manager: &Manager, archs: &[String]) -> anyhow::Result<String> {
    let Some((m, _)) = manager.read_cached_components_manifest()? else {
        return Ok(NOT_DOWNLOADED.to_owned());
    };
    let filter = manifest::ComponentImageFilter {
        archs: archs.to_vec(),
        providers: Vec::new(),
        addons: manifest::RECOMMENDED_ADDONS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let default = m.download_image_indexes(&filter);
    let images = m.components.images.iter().enumerate();
    let selected: Vec<bool> =
        images.filter(|(i, img)| img.cached || default.contains(i)).map(|(_, img)| img.cached).collect();
    let cached = selected.iter().filter(|c| **c).count();
    let advice = if cached < selected.len() { ": run `deps download`" } else { "" };
    Ok(format!(
        "{}, {cached} of {} selected images cached for {}{advice}",
        m.components.version,
        selected.len(),
        archs.join(", ")
    ))
}

/// Templates: version and how many charts are cached.
fn templates_state(manager: &Manager) -> anyhow::Result<String> {
    let Some((m, _)) = manager.read_cached_templates_manifest()? else {
        return Ok(NOT_DOWNLOADED.to_owned());
    };
    let charts = &m.templates.charts;
    let cached = charts.iter().filter(|c| c.cached).count();
    let advice = if cached < charts.len() { ": run `deps download`" } else { "" };
    Ok(format!("{}, {cached} of {} charts cached{advice}", m.templates.version, charts.len()))
}

/// Seeds: version and how many snapshots are cached and still on disk.
fn seeds_state(manager: &Manager) -> anyhow::Result<String> {
    let Some((m, _)) = manager.read_cached_seeds_manifest()? else {
        return Ok(NOT_DOWNLOADED.to_owned());
    };
    let seeds = &m.seeds;
    let mut cached = 0;
    for (name, snap) in seeds.snapshots.iter().filter(|(_, s)| s.cached) {
        let path = manager.seed_snapshot_cache_path(name, &seeds.version, &snap.filename(name)?)?;
        if path.is_file() {
            cached += 1;
        }
    }
    let advice = if cached < seeds.snapshots.len() { ": run `deps download`" } else { "" };
    Ok(format!("{}, {cached} of {} snapshots cached{advice}", seeds.version, seeds.snapshots.len()))
}

/// `deps verify`: re-hashes everything marked cached; lists every problem
/// grouped per domain and exits 1 when there is any.
fn verify(manager: &Manager, args: &VerifyArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let target = &args.target;
    let mut problems: Vec<Problem> = Vec::new();
    let mut artifacts = 0;
    let mut not_cached = Vec::new();
    // Images, charts and seeds are shared by every architecture: checked once.
    let mut cross_checked = false;
    for arch in archs(target)? {
        let opts = VerifyOptions { deep: args.deep, skip_cross_arch_dependencies: cross_checked };
        let verified = manager.verify_with(&target.kind, &arch, opts);
        cross_checked |= !matches!(verified, Err(deps_manager::Error::NotCached { .. }));
        match verified {
            Ok(m) => artifacts += m.items().iter().filter(|item| item.dep.cached).count(),
            Err(deps_manager::Error::Incomplete { problems: found }) => {
                problems.extend(found.into_iter().filter(|p| !problems.contains(p)).collect::<Vec<_>>());
            }
            Err(deps_manager::Error::NotCached { .. }) => not_cached.push(arch),
            Err(err) => return Err(err.into()),
        }
    }
    let kind = &target.kind;
    for arch in &not_cached {
        println!("vmconfig {kind}_{}_{arch}: {NOT_DOWNLOADED}", manifest::OS);
    }
    let artifacts = Some(artifacts).filter(|_| not_cached.is_empty());
    let domains = [
        ("vmconfig", manager.vmconfig_cache_dir(), artifacts, "artifact"),
        ("components", manager.components_cache_dir(), cached_images(manager)?, "image"),
        ("templates", manager.templates_cache_dir(), cached_charts(manager)?, "chart"),
        ("seeds", manager.seeds_cache_dir(), cached_snapshots(manager)?, "snapshot"),
    ];
    for (domain, dir, count, what) in &domains {
        let found: Vec<&Problem> = problems.iter().filter(|p| p.path.starts_with(dir)).collect();
        if found.is_empty() {
            match count {
                _ if mode == Mode::Quiet => {}
                Some(count) => println!("{domain}: ok ({count} {what}{} verified)", plural(*count)),
                None if *domain == "vmconfig" => {}
                None => println!("{domain}: {NOT_DOWNLOADED}"),
            }
            continue;
        }
        println!("{domain}: {} problem{}:", found.len(), plural(found.len()));
        for problem in found {
            let path = problem.path.strip_prefix(manager.cache_dir()).unwrap_or(&problem.path);
            println!("  {}: {} ({})", problem.item, problem.reason, path.display());
        }
    }
    // A problem outside the four domain directories is still listed.
    let other = problems.iter().filter(|p| !domains.iter().any(|(_, dir, _, _)| p.path.starts_with(dir)));
    for problem in other {
        println!("other: {problem}");
    }
    if problems.is_empty() && not_cached.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if problems.is_empty() {
        eprintln!("error: nothing to verify for {}: run `deps download`", not_cached.join(", "));
    } else {
        let n = problems.len();
        eprintln!(
            "error: {n} problem{} in the cache at {}: run `deps download` to repair, then `deps verify` again",
            plural(n),
            manager.cache_dir().display()
        );
    }
    Ok(ExitCode::FAILURE)
}

/// The plural `s` for a count.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How many component images the cached components manifest marks cached; `None` without one.
fn cached_images(manager: &Manager) -> anyhow::Result<Option<usize>> {
    let m = manager.read_cached_components_manifest()?;
    Ok(m.map(|(m, _)| m.components.images.iter().filter(|i| i.cached).count()))
}

/// How many template charts the cached templates manifest marks cached; `None` without one.
fn cached_charts(manager: &Manager) -> anyhow::Result<Option<usize>> {
    let m = manager.read_cached_templates_manifest()?;
    Ok(m.map(|(m, _)| m.templates.charts.iter().filter(|c| c.cached).count()))
}

/// How many seed snapshots the cached seeds manifest marks cached; `None` without one.
fn cached_snapshots(manager: &Manager) -> anyhow::Result<Option<usize>> {
    let m = manager.read_cached_seeds_manifest()?;
    Ok(m.map(|(m, _)| m.seeds.snapshots.values().filter(|s| s.cached).count()))
}
