//! What the numbers were measured on: cores, CPU model, kernel, the date,
//! and how fast one core hashes with the `sha2` crate (the yardstick for
//! `deps verify --deep`).

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256, Sha512};

/// A buffer hashed [`HASH_ROUNDS`] times per measurement of the hash rate
/// (small, so that the harness's own peak RSS, which every child inherits
/// in `ru_maxrss`, stays low).
const HASH_BUFFER: usize = 1 << 20;
/// How many times the buffer is hashed per measurement.
const HASH_ROUNDS: usize = 32;

/// The machine and the moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// The kernel release.
    pub kernel: String,
    /// When the run started, UTC.
    pub date: String,
    /// One core's SHA-256 rate, bytes per second.
    pub sha256_rate: f64,
    /// One core's SHA-512 rate, bytes per second.
    pub sha512_rate: f64,
}

impl Machine {
    /// Describes this machine, measuring the hash rates (a fraction of a second).
    pub fn describe() -> Machine {
        let cpuinfo = fs_err::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim()))
            .unwrap_or("unknown CPU")
            .to_owned();
        let kernel = fs_err::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
            .unwrap_or_else(|_| "unknown date".to_owned());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu,
            kernel,
            date,
            sha256_rate: rate::<Sha256>(),
            sha512_rate: rate::<Sha512>(),
        }
    }
}

/// The best of three rates of `D` over [`HASH_BUFFER`] × [`HASH_ROUNDS`] bytes, bytes per second.
fn rate<D: Digest>() -> f64 {
    let buf: Vec<u8> = (0..HASH_BUFFER).map(|i| (i % 251) as u8).collect();
    let best = (0..3)
        .map(|_| {
            let started = Instant::now();
            let mut hasher = D::new();
            for _ in 0..HASH_ROUNDS {
                hasher.update(&buf);
            }
            std::hint::black_box(hasher.finalize());
            started.elapsed()
        })
        .min()
        .unwrap_or(Duration::ZERO);
    (HASH_BUFFER * HASH_ROUNDS) as f64 / best.as_secs_f64().max(1e-9)
}
