//! The subcommands: build the manager from the global flags, run, report.

use std::process::ExitCode;

use deps_manager::{
    ClientConfig, Domain, DomainStatus, DownloadOptions, Error, HttpClient, Manager, Problem, RetryPolicy,
    VerifyOptions, manifest,
};

use crate::args::{Cli, Command, DownloadArgs, TargetArgs, VerifyArgs, set};
use crate::cluster_config;
use crate::out::{eprint_line, eprint_lines, print_line, print_lines};
use crate::render::{Mode, Reporter};
use crate::settings::Settings;

/// Runs the parsed command line.
pub async fn run(cli: Cli, settings: &Settings) -> anyhow::Result<ExitCode> {
    let mode = if cli.json {
        Mode::Json
    } else if cli.quiet {
        Mode::Quiet
    } else {
        Mode::Plain
    };
    let manager = manager(&cli, settings)?;
    match &cli.command {
        Command::Download(args) => download(&manager, args, mode).await,
        Command::Status(target) => status(&manager, target, settings).await,
        Command::Verify(args) => verify(&manager, args, mode).await,
    }
}

fn manager(cli: &Cli, settings: &Settings) -> anyhow::Result<Manager> {
    let mut manager = Manager::new(settings.base_url.value.clone(), settings.cache_dir.value.clone())?
        .with_primary_arch(settings.primary_arch.value.clone());
    // One idle connection per download in flight, so every download reuses one.
    let defaults = ClientConfig::default();
    let concurrency = match &cli.command {
        Command::Download(args) => usize::from(args.concurrency),
        _ => defaults.concurrency,
    };
    let config = ClientConfig {
        extra_ca_cert: cli.ca_cert.clone(),
        concurrency,
        connect_timeout: set(cli.connect_timeout).unwrap_or(defaults.connect_timeout),
        low_speed_limit: cli.speed_limit.and_then(|limit| limit.0).unwrap_or(defaults.low_speed_limit),
        low_speed_time: set(cli.speed_time).unwrap_or(defaults.low_speed_time),
        download_timeout: set(cli.timeout).or(defaults.download_timeout),
        manifest_timeout: set(cli.manifest_timeout).or(match cli.command {
            // status only reports: a mirror that does not answer is told about in seconds.
            Command::Status(_) => Some(STATUS_MANIFEST_TIMEOUT),
            _ => defaults.manifest_timeout,
        }),
        ..defaults
    };
    // Building a client costs milliseconds (TLS roots): only when the manager's own will not do.
    if config != ClientConfig::default() {
        manager = manager.with_client(HttpClient::new(&config)?);
    }
    if matches!(cli.command, Command::Status(_)) {
        manager =
            manager.with_retry_policies(RetryPolicy::manifest().with_max_retries(1), RetryPolicy::download());
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
    if let Some(hint) = settings.move_hint().filter(|_| !cli.quiet) {
        eprint_line(&hint);
    }
    // Plain download output starts with the cache root and base URL and where each came from.
    if matches!(cli.command, Command::Download(_)) && !cli.quiet && !cli.json {
        eprint_lines(&settings.describe());
    }
    Ok(manager)
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
    let mut failures = Vec::new();
    for (i, arch) in archs.iter().enumerate() {
        let opts = DownloadOptions::default()
            .dry_run(args.dry_run)
            .concurrency(usize::from(args.concurrency))
            .fail_fast(args.fail_fast)
            .progress(Some(reporter.callback()))
            .archs(archs.clone())
            .providers(providers.clone())
            .addons(addons.clone())
            .skip_cross_arch_dependencies(i > 0)
            .skip_seeds(args.skip_seeds)
            .skip_components_git(args.skip_components_git)
            .vmconfig_manifest_path(args.vmconfig.clone())
            .components_manifest_path(args.components.clone())
            .templates_manifest_path(args.templates.clone())
            .seeds_manifest_path(args.seeds.clone())
            .mirror(args.mirror.clone());
        match manager.download(&args.target.kind, arch, opts).await {
            Ok(plan) if args.dry_run => reporter.plan(&plan),
            Ok(_) => {}
            // The other items finished; the next arch still runs unless told to stop.
            Err(Error::Failed { failures: failed }) => {
                failures.extend(failed);
                if args.fail_fast {
                    break;
                }
            }
            Err(err) => {
                reporter.abort(manager.cache_dir(), &err);
                return Err(err.into());
            }
        }
    }
    if !args.dry_run {
        reporter.finish(manager.cache_dir(), &failures);
    }
    if failures.is_empty() { Ok(ExitCode::SUCCESS) } else { Err(Error::Failed { failures }.into()) }
}

/// `deps status`: the local state of every domain, then whether the mirror has
/// newer manifests. An unreachable mirror is reported, not fatal.
async fn status(manager: &Manager, target: &TargetArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let kind = target.kind.clone();
    let archs = archs(target)?;
    let local = manager.clone();
    let (k, a) = (kind.clone(), archs.clone());
    let cache = tokio::task::spawn_blocking(move || local.cache_status(&k, &a)).await??;
    print_lines(&settings.describe());
    // Every domain asks the mirror at once, so a dead mirror costs one timeout, not one per manifest.
    let remotes = cache.domains.iter().map(|state| {
        let kind = kind.clone();
        async move {
            match (state.domain, &state.arch) {
                (Domain::VmConfig, Some(arch)) => {
                    manager.status(&kind, arch).await.map(|(needed, latest)| {
                        update_text(state.version.as_deref(), needed, &latest.vmconfig.version)
                    })
                }
                (domain, _) => manager
                    .shared_status(domain)
                    .await
                    .map(|(needed, latest)| update_text(state.version.as_deref(), needed, &latest)),
            }
        }
    });
    let remotes = futures_util::future::join_all(remotes).await;
    let mut unreachable = None;
    for (state, remote) in cache.domains.iter().zip(remotes) {
        let remote = remote.unwrap_or_else(|err| {
            unreachable.get_or_insert_with(|| with_hint(&err));
            String::new()
        });
        print_line(&format!("{}: {}{remote}", label(state, &kind), local_text(state, &archs)));
    }
    if let Some(reason) = unreachable {
        print_line(&format!("couldn't check for updates: {reason}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// An error's message with the advice its kind calls for.
fn with_hint(err: &Error) -> String {
    match err.hint() {
        Some(hint) => format!("{err}; {hint}"),
        None => err.to_string(),
    }
}

/// How long `status` waits for one manifest when `--manifest-timeout` is not given.
const STATUS_MANIFEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What status says about a domain with no cached manifest.
const NOT_DOWNLOADED: &str = "not downloaded yet: run `deps download`";

/// A domain's label: `vmconfig <kind>_debian-13_<arch>`, or the domain's name.
fn label(state: &DomainStatus, kind: &str) -> String {
    match &state.arch {
        Some(arch) => format!("{} {kind}_{}_{arch}", state.domain, manifest::OS),
        None => state.domain.to_string(),
    }
}

/// What the cache holds for one domain.
fn local_text(state: &DomainStatus, archs: &[String]) -> String {
    let Some(version) = &state.version else { return NOT_DOWNLOADED.to_owned() };
    let (cached, total) = (state.cached, state.total);
    let incomplete = !state.is_complete();
    let images = match state.images_total {
        0 => String::new(),
        n => format!(", {} of {n} images cached", state.images_cached),
    };
    match state.domain {
        Domain::VmConfig => {
            let advice = if incomplete { ": run `deps verify`, then `deps download`" } else { "" };
            format!("{version}, {cached} of {total} cached artifacts present{images}{advice}")
        }
        domain => {
            let advice = if incomplete { ": run `deps download`" } else { "" };
            let what = match domain {
                Domain::Components => format!("selected images cached for {}", archs.join(", ")),
                Domain::Templates => "charts cached".to_owned(),
                _ => "snapshots cached".to_owned(),
            };
            let git = match &state.git {
                Some((name, Some(commit))) => {
                    format!(", Git mirror {name} at {}", &commit[..commit.len().min(12)])
                }
                Some((name, None)) => {
                    format!(", Git mirror {name} missing or without its ref: run `deps download`")
                }
                None => String::new(),
            };
            format!("{version}, {cached} of {total} {what}{images}{git}{advice}")
        }
    }
}

/// How the mirror's latest version compares with the cached one; `needed`
/// says whether the cached manifest differs from the mirror's.
fn update_text(cached: Option<&str>, needed: bool, latest: &str) -> String {
    match cached {
        None => format!(" (the mirror has {latest})"),
        Some(_) if !needed => "; up to date with the mirror".to_owned(),
        Some(version) if version == latest => {
            format!("; the mirror's {latest} manifest changed: run `deps download`")
        }
        Some(_) => format!("; the mirror has {latest}: run `deps download`"),
    }
}

/// `deps verify`: re-hashes everything marked cached; lists every problem
/// grouped per domain and exits 1 when there is any.
async fn verify(manager: &Manager, args: &VerifyArgs, mode: Mode) -> anyhow::Result<ExitCode> {
    let (manager, kind, archs) = (manager.clone(), args.target.kind.clone(), archs(&args.target)?);
    let opts = VerifyOptions::default().deep(args.deep);
    let cache_dir = manager.cache_dir().to_owned();
    let report = tokio::task::spawn_blocking(move || manager.verify_all(&kind, &archs, opts)).await??;
    for arch in &report.not_cached {
        print_line(&format!("vmconfig {}_{}_{arch}: {NOT_DOWNLOADED}", args.target.kind, manifest::OS));
    }
    for (domain, count) in &report.checked {
        let found: Vec<&Problem> = report.problems.iter().filter(|p| p.domain == *domain).collect();
        if found.is_empty() {
            match count {
                _ if mode == Mode::Quiet => {}
                Some(count) => print_line(&format!(
                    "{domain}: ok ({count} {}{} verified)",
                    item_word(*domain),
                    plural(*count)
                )),
                None if *domain == Domain::VmConfig => {}
                None => print_line(&format!("{domain}: {NOT_DOWNLOADED}")),
            }
            continue;
        }
        print_line(&format!("{domain}: {} problem{}:", found.len(), plural(found.len())));
        for problem in found {
            let path = problem.path.strip_prefix(&cache_dir).unwrap_or(&problem.path);
            print_line(&format!("  {}: {} ({})", problem.item, problem.reason, path.display()));
        }
    }
    if report.is_ok() {
        return Ok(ExitCode::SUCCESS);
    }
    if report.problems.is_empty() {
        eprint_line(&format!(
            "error: nothing to verify for {}: run `deps download`",
            report.not_cached.join(", ")
        ));
    } else {
        let n = report.problems.len();
        eprint_line(&format!(
            "error: {n} problem{} in the cache at {}: run `deps download` to repair, then `deps verify` again",
            plural(n),
            cache_dir.display()
        ));
    }
    Ok(ExitCode::FAILURE)
}

/// What one verified item of a domain is called.
fn item_word(domain: Domain) -> &'static str {
    match domain {
        Domain::VmConfig => "artifact",
        Domain::Components => "image",
        Domain::Templates => "chart",
        _ => "snapshot",
    }
}

/// The plural `s` for a count.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
