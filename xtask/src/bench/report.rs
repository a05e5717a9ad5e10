//! The report: a markdown table of every scenario and contender (median wall
//! seconds, MB/s, peak RSS, and each peer's wall divided by deps'), headed by
//! the machine and the sizes, followed by the targets of issue 6 with met or
//! missed, and notes on exactly what each command does.

use std::fmt::Write as _;

use super::machine::Machine;
use super::scenarios::{Outcome, ScenarioResult};
use super::setup::{ARCH, Algo, Dataset};

/// Decimal megabyte, as MB/s is reported.
const MB: f64 = 1e6;
/// Binary mebibyte, as RSS is reported.
const MIB: f64 = 1048576.0;
/// The column headers of the results table.
pub const COLUMNS: [&str; 6] =
    ["Scenario", "Command", "Wall s (median)", "MB/s", "Peak RSS MiB", "Peer ÷ deps"];

/// Everything one run of the harness found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The machine.
    pub machine: Machine,
    /// The fixture scale.
    pub scale: u64,
    /// Timed runs per contender.
    pub runs: usize,
    /// The results, in table order.
    pub scenarios: Vec<ScenarioResult>,
    /// The data sets, when the servers ran.
    pub dataset: Option<Dataset>,
    /// Server versions and other facts worth a line.
    pub notes: Vec<String>,
}

/// One target of the issue and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The target.
    pub what: &'static str,
    /// What was measured.
    pub measured: String,
    /// Met, missed, or `None` when it could not be measured.
    pub met: Option<bool>,
}

impl Report {
    /// The results table alone.
    pub fn table(&self) -> String {
        let mut out = format!("| {} |\n|{}\n", COLUMNS.join(" | "), "---|".repeat(COLUMNS.len()));
        for scenario in &self.scenarios {
            let reference = scenario.sample(scenario.spec.reference);
            for (contender, outcome) in scenario.spec.contenders.iter().zip(&scenario.outcomes) {
                let cells = match outcome {
                    Outcome::Measured(s) => {
                        let wall = s.wall.as_secs_f64();
                        let ratio = match reference {
                            Some(r) if !contender.is_deps => {
                                format!("{:.2}×", wall / r.wall.as_secs_f64().max(1e-9))
                            }
                            _ => "—".to_owned(),
                        };
                        let rate = scenario.bytes as f64 / MB / wall.max(1e-9);
                        [
                            format!("{wall:.3}"),
                            format!("{rate:.0}"),
                            format!("{:.1}", s.peak_rss as f64 / MIB),
                            ratio,
                        ]
                    }
                    Outcome::Skipped(why) => [why.clone(), "—".into(), "—".into(), "—".into()],
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    scenario.spec.title,
                    contender.label,
                    cells.join(" | ")
                );
            }
        }
        out
    }

    /// The targets of issue 6, judged on these figures.
    pub fn targets(&self) -> Vec<Target> {
        let wall = |scenario: &str, id: &str| {
            self.scenarios
                .iter()
                .find(|s| s.spec.id == scenario)
                .and_then(|s| s.sample(id))
                .map(|s| s.wall.as_secs_f64())
        };
        let faster = |what, scenario, peer, factor: f64| match (wall(scenario, "deps"), wall(scenario, peer))
        {
            (Some(d), Some(p)) => {
                let ratio = p / d.max(1e-9);
                Target { what, measured: format!("{ratio:.2}× faster"), met: Some(ratio >= factor) }
            }
            _ => Target { what, measured: "not measured".into(), met: None },
        };
        let mut targets = vec![
            faster("Cold artifacts: ≥ 2× faster than curl + checksum", "artifacts", "curl-check", 2.0),
            match (wall("artifacts", "deps"), wall("artifacts", "curl")) {
                (Some(d), Some(c)) => Target {
                    what: "Cold artifacts: within 1.3× of curl with no check",
                    measured: format!("{:.2}× curl's time", d / c.max(1e-9)),
                    met: Some(d <= 1.3 * c),
                },
                _ => Target {
                    what: "Cold artifacts: within 1.3× of curl with no check",
                    measured: "not measured".into(),
                    met: None,
                },
            },
            faster("Cold images: ≥ 2× faster than sequential skopeo", "images", "skopeo-seq", 2.0),
            faster("Cold images: ≥ 1.5× faster than 4 parallel skopeo", "images", "skopeo-par", 1.5),
        ];
        let peaks: Vec<u64> = self
            .scenarios
            .iter()
            .flat_map(|s| s.spec.contenders.iter().zip(&s.outcomes))
            .filter(|(c, _)| c.is_deps)
            .filter_map(|(_, o)| match o {
                Outcome::Measured(s) => Some(s.peak_rss),
                Outcome::Skipped(_) => None,
            })
            .collect();
        targets.push(match peaks.iter().max() {
            Some(&peak) => Target {
                what: "Peak RSS of deps under 32 MiB",
                measured: format!("{:.1} MiB at most", peak as f64 / MIB),
                met: Some(peak < 32 << 20),
            },
            None => {
                Target { what: "Peak RSS of deps under 32 MiB", measured: "not measured".into(), met: None }
            }
        });
        targets.push(match wall("warm", "deps") {
            Some(w) => Target {
                what: "Warm no-op under 50 ms",
                measured: format!("{:.0} ms", w * 1000.0),
                met: Some(w < 0.050),
            },
            None => Target { what: "Warm no-op under 50 ms", measured: "not measured".into(), met: None },
        });
        targets.push(self.deep_verify_target(wall("verify", "deep")));
        targets
    }

    /// `verify --deep` against the sha throughput of every core.
    fn deep_verify_target(&self, deep: Option<f64>) -> Target {
        let what = "verify --deep at ≥ 80 % of sha throughput × cores";
        let (Some(deep), Some(data)) = (deep, &self.dataset) else {
            return Target { what, measured: "not measured".into(), met: None };
        };
        let one_core: f64 = data
            .cached
            .iter()
            .map(|f| {
                let rate = match f.algo {
                    Algo::Sha256 => self.machine.sha256_rate,
                    Algo::Sha512 => self.machine.sha512_rate,
                };
                f.size as f64 / rate.max(1.0)
            })
            .sum();
        let ideal = one_core / self.machine.cores.max(1) as f64;
        let efficiency = ideal / deep.max(1e-9);
        Target {
            what,
            measured: format!(
                "{:.0} % ({:.3} s ideal on {} cores)",
                efficiency * 100.0,
                ideal,
                self.machine.cores
            ),
            met: Some(efficiency >= 0.8),
        }
    }

    /// The whole document: header, table, targets, notes.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::from("# Benchmarks\n\n");
        let _ = write!(
            out,
            "Written by `cargo xtask bench --scale {} --runs {}` (xtask/src/bench.rs); run it again to \
             refresh this file (`--deps PATH` times another binary, `--out` writes elsewhere). Every tool \
             reads from the same servers on 127.0.0.1: Debian's nginx for the artifacts and manifests, \
             Debian's docker-registry for the images.\n\n",
            self.scale, self.runs
        );
        let scale = if self.scale == 1 { "1 (real sizes)".to_owned() } else { format!("1/{}", self.scale) };
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| date | {} |", m.date);
        let _ = writeln!(out, "| machine | {} cores, {}, Linux {} |", m.cores, m.cpu, m.kernel);
        let _ = writeln!(
            out,
            "| one core, sha2 crate | sha256 {:.0} MB/s, sha512 {:.0} MB/s |",
            m.sha256_rate / MB,
            m.sha512_rate / MB
        );
        let _ = writeln!(out, "| scale | {scale} |");
        let _ = writeln!(
            out,
            "| runs | {} timed after one warm-up, median wall; peak RSS is the largest of the runs |",
            self.runs
        );
        for scenario in &self.scenarios {
            let _ = writeln!(
                out,
                "| {} | {:.1} MB in {} {} |",
                scenario.spec.title,
                scenario.bytes as f64 / MB,
                scenario.items,
                if scenario.spec.id == "images" { "image platforms" } else { "files" }
            );
        }
        out.push_str("\n## Results\n\n");
        out.push_str(&self.table());
        out.push_str("\n## Targets (issue 6)\n\n| Target | Measured | |\n|---|---|---|\n");
        for t in self.targets() {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let _ = writeln!(out, "| {} | {} | {verdict} |", t.what, t.measured);
        }
        out.push_str("\n## What each row runs\n\n");
        out.push_str(&format!(
            "- Every deps row runs `deps -q --base-url <nginx> --cache-dir <cache> --registry-mirror <registry>` \
             with `download --arch {ARCH}` (default concurrency 4) or `verify --arch {ARCH}`; every process is \
             timed whole, from spawn to exit. Peak RSS is `ru_maxrss` from `wait4(2)`, the largest of the \
             processes of a run. Before every run (untimed) the outputs are cleared, `sync` flushes the \
             page cache, so no run pays for writing back what the one before it left dirty, and `dd` touches \
             and frees 1.5 times the cache's size in memory, so no run pays the VM's balloon for pages it took \
             back. deps fsyncs each file before renaming it into place and so pays for its own writes in its \
             time; the peers do not.\n\
             - Cold artifacts: before each run the cache's `vmconfig/artifacts` is removed (not timed); \
             images, charts and seeds stay cached, so the deps row also includes its check of those (the \
             warm no-op row shows what that costs). aria2c runs with `-j4 --file-allocation=none`; curl is \
             one process given every URL in turn (`-o <file> <url>` pairs, one reused connection). The \
             checks are `sha256sum --check` and `sha512sum --check` over the same files.\n\
             - Cold images: before each run the image store (`registry/mirror` in the registry cache, here inside the bench's cache root) is removed (artifacts stay \
             cached, see above). skopeo copies each image platform the deps run pulled, by its manifest \
             digest, from docker-registry into its own `oci:` layout (`--src-tls-verify=false`), so blobs \
             shared by two images are fetched twice by skopeo and once by deps; MB/s uses the \
             `components.json` sizes for all rows.\n\
             - Warm no-op and verify: the full cache; the checksum row checks every artifact, seed snapshot \
             and image/chart blob (each blob once) with sha256sum/sha512sum. Ratios in the verify rows are \
             against `deps verify --deep`.\n\
             - Peer ÷ deps: the peer's median wall divided by deps'; above 1 means deps is faster.\n\
             - The one-core sha rates are measured by the harness itself with the sha2 crate as built for \
             xtask (dependencies at opt-level 2, a few % under a release build); the `verify --deep` ideal is \
             the sum over the cached files of size ÷ rate, divided by the cores.\n"
        ));
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        out
    }
}
