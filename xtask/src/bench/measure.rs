//! Timing whole processes: a run is a list of steps, each step a list of
//! commands run one after another or a few at a time; its wall time is from
//! the first spawn to the last exit and its peak RSS the largest of its
//! processes'.
//!
//! A process's peak RSS is the `ru_maxrss` that `wait4(2)` reports, with one
//! catch: Linux carries the spawning process's own high-water mark into it
//! at `exec` (std spawns with `vfork` semantics, sharing our memory until
//! then), so `ru_maxrss` is at least the harness's peak. When it is no more
//! than that, the child's real peak is lower and is taken instead from its
//! own `VmHWM` in `/proc/<pid>/status`, sampled every few milliseconds while
//! it runs (a lower bound that may miss the last milliseconds).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use wait4::Wait4 as _;

/// How much of a failed command's stderr an error shows.
const STDERR_TAIL: usize = 1500;
/// How often a running process's `VmHWM` is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// One command line: program, arguments, working directory.
#[derive(Debug, Clone)]
pub struct Proc {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

impl Proc {
    /// `program` with no arguments yet.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Proc { program: program.into(), args: Vec::new(), envs: Vec::new(), cwd: None }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Runs in `dir`.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Runs to the end with stdout discarded and stderr kept in `log`; returns its peak RSS in bytes.
    fn run(&self, log: &Path) -> anyhow::Result<u64> {
        let err = fs_err::File::create(log)?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err.into_parts().0);
        // Variables that would point `deps` somewhere else than the command line says.
        for var in [
            "DEPS_BASE_URL",
            "DEPS_CACHE_DIR",
            "DEPS_REGISTRY_MIRROR",
            "DEPS_MIRROR",
            "PODPLANE_DEPS_URL",
            "PODPLANE_DEPS_BASE_URL",
            "PODPLANE_DEPS_CACHE_DIR",
            "PODPLANE_ARCH",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let inherited = high_water_mark("self").unwrap_or(0);
        let mut child = cmd.spawn().with_context(|| format!("starting `{self}`"))?;
        let pid = child.id().to_string();
        let done = AtomicBool::new(false);
        let sampled = AtomicU64::new(0);
        let usage = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Acquire) {
                    if let Some(hwm) = high_water_mark(&pid) {
                        sampled.fetch_max(hwm, Ordering::Relaxed);
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            });
            let usage = child.wait4();
            done.store(true, Ordering::Release);
            usage
        })
        .with_context(|| format!("waiting for `{self}`"))?;
        if !usage.status.success() {
            bail!("`{self}` failed ({}): {}", usage.status, tail(log));
        }
        let maxrss = usage.rusage.maxrss;
        Ok(if maxrss > inherited { maxrss } else { sampled.into_inner() })
    }
}

impl fmt::Display for Proc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.program.display())?;
        let shown = self.args.len().min(12);
        for arg in &self.args[..shown] {
            write!(f, " {}", arg.to_string_lossy())?;
        }
        if self.args.len() > shown {
            write!(f, " ... ({} more arguments)", self.args.len() - shown)?;
        }
        Ok(())
    }
}

/// Commands run `parallel` at a time (1: one after another).
#[derive(Debug, Clone)]
pub struct Step {
    procs: Vec<Proc>,
    parallel: usize,
}

impl Step {
    /// One command.
    pub fn one(proc: Proc) -> Self {
        Step { procs: vec![proc], parallel: 1 }
    }

    /// Commands run at most `parallel` at a time.
    pub fn pool(procs: Vec<Proc>, parallel: usize) -> Self {
        Step { procs, parallel: parallel.max(1) }
    }

    /// Runs every command; the largest `ru_maxrss` among them.
    fn run(&self, logs: &Path) -> anyhow::Result<u64> {
        let queue = Mutex::new(self.procs.iter().enumerate().collect::<VecDeque<_>>());
        let peak = AtomicU64::new(0);
        let workers = self.parallel.min(self.procs.len()).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<()> {
                        loop {
                            let next =
                                queue.lock().map_err(|_| anyhow::anyhow!("a worker panicked"))?.pop_front();
                            let Some((i, proc)) = next else { return Ok(()) };
                            let rss = proc.run(&logs.join(format!("{i}.stderr")))?;
                            peak.fetch_max(rss, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a worker panicked"))?)
        })?;
        Ok(peak.into_inner())
    }
}

/// One timed run: wall time and peak RSS in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// From the first spawn to the last exit.
    pub wall: Duration,
    /// The largest `ru_maxrss` of any process of the run.
    pub peak_rss: u64,
}

/// Runs `steps` in order and times them as one; stderr of each command goes under `logs`.
pub fn time_steps(steps: &[Step], logs: &Path) -> anyhow::Result<Sample> {
    fs_err::create_dir_all(logs)?;
    let started = Instant::now();
    let mut peak_rss = 0;
    for (i, step) in steps.iter().enumerate() {
        let dir = logs.join(format!("step{i}"));
        fs_err::create_dir_all(&dir)?;
        peak_rss = peak_rss.max(step.run(&dir)?);
    }
    Ok(Sample { wall: started.elapsed(), peak_rss })
}

/// The median wall time and the largest peak RSS of `samples`; `None` when there are none.
pub fn summarize(samples: &[Sample]) -> Option<Sample> {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let n = walls.len();
    let wall = match n {
        0 => return None,
        _ if n % 2 == 1 => walls[n / 2],
        _ => (walls[n / 2 - 1] + walls[n / 2]) / 2,
    };
    let peak_rss = samples.iter().map(|s| s.peak_rss).max().unwrap_or(0);
    Some(Sample { wall, peak_rss })
}

/// `VmHWM` of `/proc/<pid>/status` in bytes (`pid` may be `self`); `None` once the process is gone.
fn high_water_mark(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The last [`STDERR_TAIL`] bytes of a log file, trimmed.
pub fn tail(path: &Path) -> String {
    let text = fs_err::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let mut start = text.len().saturating_sub(STDERR_TAIL);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let tail = text[start..].trim();
    if tail.is_empty() { "(no output on stderr)".to_owned() } else { tail.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ms: u64, rss: u64) -> Sample {
        Sample { wall: Duration::from_millis(ms), peak_rss: rss }
    }

    #[test]
    fn the_median_is_of_walls_and_the_peak_is_the_largest() {
        let s = summarize(&[sample(30, 1), sample(10, 5), sample(20, 2)]).unwrap();
        assert_eq!(s, sample(20, 5));
        assert_eq!(summarize(&[sample(10, 1), sample(20, 1)]).unwrap().wall, Duration::from_millis(15));
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn a_failing_command_names_itself_and_shows_its_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let step = Step::one(Proc::new("/bin/sh").args(["-c", "echo broken pipe dream >&2; exit 3"]));
        let err = time_steps(&[step], dir.path()).unwrap_err().to_string();
        assert!(err.contains("/bin/sh -c") && err.contains("broken pipe dream"), "{err}");
    }

    #[test]
    fn peak_rss_is_the_childs_not_the_harness() {
        let dir = tempfile::tempdir().unwrap();
        // Raise this process's own high-water mark well above what `sleep` uses.
        let ballast = vec![1u8; 96 << 20];
        std::hint::black_box(&ballast);
        let steps = [Step::pool(vec![Proc::new("sleep").arg("0.05"), Proc::new("sleep").arg("0.05")], 2)];
        let s = time_steps(&steps, dir.path()).unwrap();
        assert!(s.peak_rss > 0 && s.peak_rss < 32 << 20, "{s:?}");
        // A child that outgrows the harness is measured by wait4 exactly.
        let big = Step::one(
            Proc::new("/bin/sh").args(["-c", "head -c 200000000 /dev/zero | tail -c 150000000 >/dev/null"]),
        );
        let s = time_steps(&[big], dir.path()).unwrap();
        assert!(s.peak_rss > 100 << 20, "{s:?}");
        drop(ballast);
    }

    #[test]
    fn the_high_water_mark_of_this_process_is_readable() {
        assert!(high_water_mark("self").is_some_and(|b| b > 0));
        assert_eq!(high_water_mark("999999999"), None);
    }
}
