//! The scenarios and their contenders: what each one runs, what it clears
//! (untimed) before each run, and the runs themselves — a warm-up, then the
//! timed runs, every contender once per round so that drift hits all alike.

use anyhow::Context as _;
use std::path::{Path, PathBuf};

use super::measure::{Proc, Sample, Step, summarize, time_steps};
use super::setup::{Algo, Ctx, Dataset, Digested, remove_dir, write_check_lists};
use super::tools::{Tool, Tools};

/// `aria2c` and `skopeo` downloads at once.
const PEER_PARALLEL: usize = 4;

/// One scenario of the table.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioSpec {
    /// A short key (`artifacts`).
    pub id: &'static str,
    /// The title shown in the table.
    pub title: &'static str,
    /// The contenders, `deps` first.
    pub contenders: &'static [ContenderSpec],
    /// The contender peers are compared with.
    pub reference: &'static str,
}

/// One command (or sequence of commands) timed in a scenario.
#[derive(Debug, Clone, Copy)]
pub struct ContenderSpec {
    /// A short key, unique in its scenario.
    pub id: &'static str,
    /// What the table calls it.
    pub label: &'static str,
    /// The tools it runs besides `deps`.
    pub needs: &'static [Tool],
    /// Whether this is `deps` itself.
    pub is_deps: bool,
}

/// A `deps` contender.
const fn deps(id: &'static str, label: &'static str) -> ContenderSpec {
    ContenderSpec { id, label, needs: &[], is_deps: true }
}

/// A peer contender.
const fn peer(id: &'static str, label: &'static str, needs: &'static [Tool]) -> ContenderSpec {
    ContenderSpec { id, label, needs, is_deps: false }
}

/// The checks run after a download.
const CHECKS: &[Tool] = &[Tool::Sha256sum, Tool::Sha512sum];

/// Every scenario, in table order.
pub const SCENARIOS: &[ScenarioSpec] = &[
    ScenarioSpec {
        id: "artifacts",
        title: "Cold artifacts (arm64 vmconfig)",
        reference: "deps",
        contenders: &[
            deps("deps", "deps download"),
            peer(
                "aria2c",
                "aria2c -j4, then sha256sum -c / sha512sum -c",
                &[Tool::Aria2c, Tool::Sha256sum, Tool::Sha512sum],
            ),
            peer(
                "curl-check",
                "curl (one process, URLs in turn), then sha256sum -c / sha512sum -c",
                &[Tool::Curl, Tool::Sha256sum, Tool::Sha512sum],
            ),
            peer("curl", "curl alone, no check", &[Tool::Curl]),
        ],
    },
    ScenarioSpec {
        id: "images",
        title: "Cold images (arm64)",
        reference: "deps",
        contenders: &[
            deps("deps", "deps download"),
            peer("skopeo-seq", "skopeo copy, one image after another", &[Tool::Skopeo]),
            peer("skopeo-par", "skopeo copy, 4 at a time", &[Tool::Skopeo]),
        ],
    },
    ScenarioSpec {
        id: "warm",
        title: "Warm no-op (everything cached)",
        reference: "deps",
        contenders: &[
            deps("deps", "deps download"),
            peer("sha-check", "sha256sum -c / sha512sum -c over the cache", CHECKS),
        ],
    },
    ScenarioSpec {
        id: "verify",
        title: "Verify the cache",
        reference: "deep",
        contenders: &[
            deps("fingerprint", "deps verify (fingerprints)"),
            deps("deep", "deps verify --deep (full re-hash)"),
            peer("sha-check", "sha256sum -c / sha512sum -c over the cache", CHECKS),
        ],
    },
];

/// How a contender fared.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Median wall time and peak RSS of the timed runs.
    Measured(Sample),
    /// Not run, and why (`not installed: aria2c`, `n/a: ...`).
    Skipped(String),
}

/// A scenario's results, in the order of its contenders.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// Its definition.
    pub spec: ScenarioSpec,
    /// The bytes it moves or checks.
    pub bytes: u64,
    /// How many files or images that is.
    pub items: usize,
    /// One outcome per contender.
    pub outcomes: Vec<Outcome>,
}

impl ScenarioResult {
    /// Every contender skipped for the same reason.
    pub fn skipped(spec: ScenarioSpec, why: &str) -> Self {
        let outcomes = spec.contenders.iter().map(|_| Outcome::Skipped(why.to_owned())).collect();
        ScenarioResult { spec, bytes: 0, items: 0, outcomes }
    }

    /// The outcome of the contender `id`.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        let i = self.spec.contenders.iter().position(|c| c.id == id)?;
        self.outcomes.get(i)
    }

    /// The measured sample of the contender `id`.
    pub fn sample(&self, id: &str) -> Option<Sample> {
        match self.outcome(id)? {
            Outcome::Measured(sample) => Some(*sample),
            Outcome::Skipped(_) => None,
        }
    }
}

/// What a contender runs: directories to clear before each run, then the timed steps.
struct Plan {
    clear: Vec<PathBuf>,
    steps: Vec<Step>,
}

/// Runs `spec`: a warm-up round, then `runs` timed rounds.
pub fn run(
    spec: ScenarioSpec,
    ctx: &Ctx,
    data: &Dataset,
    tools: &Tools,
    runs: usize,
) -> anyhow::Result<ScenarioResult> {
    let (bytes, items) = size_of(spec.id, data);
    let mut plans = Vec::new();
    let mut outcomes = Vec::new();
    for contender in spec.contenders {
        let skipped = if let Some(tool) = tools.missing(contender.needs)? {
            Some(format!("not installed: {}", tool.name()))
        } else if contender.id == "deep" && !ctx.deep_verify {
            Some("n/a: this deps has no `verify --deep`".to_owned())
        } else {
            None
        };
        match skipped {
            Some(why) => {
                plans.push(None);
                outcomes.push(Outcome::Skipped(why));
            }
            None => {
                plans.push(Some(plan(spec.id, contender.id, ctx, data, tools)?));
                outcomes.push(Outcome::Skipped("not run".to_owned()));
            }
        }
    }
    // More than any run writes into the page cache: half as much again as the whole cache.
    let cached: u64 = data.cached.iter().map(|f| f.size).sum();
    // One read(2) fills dd's buffer, and Linux reads at most 2 GiB - 4 KiB at once.
    let prefault = usize::try_from(cached + cached / 2).unwrap_or(usize::MAX).clamp(1 << 20, 0x7fff_f000);
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); plans.len()];
    for round in 0..=runs {
        for (i, plan) in plans.iter().enumerate() {
            let Some(plan) = plan else { continue };
            for dir in &plan.clear {
                remove_dir(dir)?;
                fs_err::create_dir_all(dir)?;
            }
            settle_disk(prefault)?;
            let label = spec.contenders.get(i).map_or("", |c| c.label);
            eprintln!(
                "bench: {} / {label}: {}",
                spec.title,
                if round == 0 { "warm-up".to_owned() } else { format!("run {round}") }
            );
            let logs = ctx.work.join("logs").join(spec.id).join(i.to_string());
            let sample = time_steps(&plan.steps, &logs)?;
            if round > 0 {
                samples[i].push(sample);
            }
        }
    }
    for (i, plan) in plans.iter().enumerate() {
        if plan.is_some()
            && let Some(sample) = summarize(&samples[i])
        {
            outcomes[i] = Outcome::Measured(sample);
        }
    }
    for dir in plans.iter().flatten().flat_map(|p| &p.clear).filter(|d| d.starts_with(ctx.work.join("out"))) {
        remove_dir(dir)?;
    }
    Ok(ScenarioResult { spec, bytes, items, outcomes })
}

/// Puts every run on the same footing: flushes every dirty page (`sync`), so
/// no run pays for writing back what the one before it left (peers do not
/// fsync, deps does), then has `dd` fill a `prefault`-byte buffer and exit. On
/// a VM whose balloon takes free pages back after a few idle seconds, the
/// first writer after a pause otherwise pays the host for every page it
/// faults in (seen here: 1 GB into the page cache in 1.8 s after a pause,
/// 0.26 s after). A child does the touching so that the harness's own memory
/// high-water mark, which Linux carries into every child's `ru_maxrss`, stays low.
fn settle_disk(prefault: usize) -> anyhow::Result<()> {
    run_quietly(std::process::Command::new("sync"))?;
    let mut dd = std::process::Command::new("dd");
    dd.args(["if=/dev/zero", "of=/dev/null", "count=1", "status=none"]).arg(format!("bs={prefault}"));
    run_quietly(dd)
}

/// Runs an untimed helper command to its end; an error names it.
fn run_quietly(mut cmd: std::process::Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let status =
        cmd.stdin(std::process::Stdio::null()).status().with_context(|| format!("running {shown}"))?;
    if !status.success() {
        anyhow::bail!("{shown} failed: {status}");
    }
    Ok(())
}

/// The bytes and items of scenario `id`.
fn size_of(id: &str, data: &Dataset) -> (u64, usize) {
    match id {
        "artifacts" => (data.artifacts.iter().map(|a| a.size).sum(), data.artifacts.len()),
        "images" => (data.images.iter().map(|i| i.size).sum(), data.images.len()),
        _ => (data.cached.iter().map(|f| f.size).sum(), data.cached.len()),
    }
}

/// The commands of contender `contender` of scenario `scenario`.
fn plan(scenario: &str, contender: &str, ctx: &Ctx, data: &Dataset, tools: &Tools) -> anyhow::Result<Plan> {
    let out = ctx.work.join("out").join(format!("{scenario}-{contender}"));
    let lists = ctx.work.join("lists");
    fs_err::create_dir_all(&lists)?;
    let plan = match (scenario, contender) {
        ("artifacts", "deps") => {
            Plan { clear: vec![ctx.cache.join("vmconfig/artifacts")], steps: vec![Step::one(ctx.download())] }
        }
        ("artifacts", "aria2c") => {
            let input = lists.join("aria2c.txt");
            let mut text = String::new();
            for a in &data.artifacts {
                text.push_str(&format!(
                    "{}/{}\n  out={}\n",
                    ctx.nginx.base_url(),
                    a.path.display(),
                    a.path.display()
                ));
            }
            fs_err::write(&input, text)?;
            let aria2c = Proc::new(tools.require(Tool::Aria2c)?)
                .args(["-q", "-j4", "--allow-overwrite=true", "--auto-file-renaming=false"])
                .args(["--file-allocation=none", "--summary-interval=0", "--console-log-level=warn"])
                .arg("-d")
                .arg(&out)
                .arg("-i")
                .arg(&input);
            let mut steps = vec![Step::one(aria2c)];
            steps.extend(checks(&data.artifacts, &lists.join("artifacts"), &out, tools)?);
            Plan { clear: vec![out], steps }
        }
        ("artifacts", "curl-check" | "curl") => {
            let mut curl = Proc::new(tools.require(Tool::Curl)?)
                .args(["--silent", "--show-error", "--fail", "--create-dirs"])
                .cwd(&out);
            for a in &data.artifacts {
                curl =
                    curl.arg("-o").arg(&a.path).arg(format!("{}/{}", ctx.nginx.base_url(), a.path.display()));
            }
            let mut steps = vec![Step::one(curl)];
            if contender == "curl-check" {
                steps.extend(checks(&data.artifacts, &lists.join("artifacts"), &out, tools)?);
            }
            Plan { clear: vec![out], steps }
        }
        ("images", "deps") => {
            Plan { clear: vec![ctx.cache.join("registry/mirror")], steps: vec![Step::one(ctx.download())] }
        }
        ("images", "skopeo-seq" | "skopeo-par") => {
            let skopeo = tools.require(Tool::Skopeo)?;
            let copies = data
                .images
                .iter()
                .enumerate()
                .map(|(i, image)| {
                    Proc::new(skopeo)
                        .args(["--insecure-policy", "copy", "--quiet", "--src-tls-verify=false"])
                        .arg(format!(
                            "docker://{}/{}@{}",
                            ctx.registry.host(),
                            image.repository,
                            image.digest
                        ))
                        .arg(format!("oci:{}:{}", out.join(i.to_string()).display(), image.tag))
                })
                .collect();
            let parallel = if contender == "skopeo-par" { PEER_PARALLEL } else { 1 };
            Plan { clear: vec![out], steps: vec![Step::pool(copies, parallel)] }
        }
        ("warm", "deps") => Plan { clear: Vec::new(), steps: vec![Step::one(ctx.download())] },
        ("warm" | "verify", "sha-check") => {
            Plan { clear: Vec::new(), steps: checks(&data.cached, &lists.join("cache"), &ctx.cache, tools)? }
        }
        ("verify", "fingerprint") => Plan { clear: Vec::new(), steps: vec![Step::one(ctx.verify(false))] },
        ("verify", "deep") => Plan { clear: Vec::new(), steps: vec![Step::one(ctx.verify(true))] },
        _ => anyhow::bail!("no plan for {scenario}/{contender}"),
    };
    Ok(plan)
}

/// `sha256sum --check` (and `sha512sum --check`) of `files`, paths relative to `dir` or absolute.
fn checks(files: &[Digested], list: &Path, dir: &Path, tools: &Tools) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for (algo, path) in write_check_lists(files, list)? {
        let tool = match algo {
            Algo::Sha256 => Tool::Sha256sum,
            Algo::Sha512 => Tool::Sha512sum,
        };
        let check =
            Proc::new(tools.require(tool)?).args(["--check", "--quiet", "--strict"]).arg(path).cwd(dir);
        steps.push(Step::one(check));
    }
    Ok(steps)
}
