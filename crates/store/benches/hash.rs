//! Hashing throughput: our streaming `hash_file` against coreutils.
//!
//! Writes a file of pseudo-random bytes (256 MiB, or `DEPS_BENCH_MIB`) to a
//! temporary directory, then times sha256 and sha512 through `hash_file` and
//! through `sha256sum` / `sha512sum` on the same (page-cached) file, printing
//! MB/s for each and our speed relative to the peer. A missing peer is
//! skipped. Run with `cargo bench -p deps-store`; under `cargo test` (no
//! `--bench` argument) it runs on 1 MiB as a smoke test.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use deps_manifest::DigestAlgo;
use deps_store::hash_file;

const MIB: usize = 1 << 20;

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let mib: usize = match std::env::var("DEPS_BENCH_MIB") {
        Ok(v) => v.parse().expect("DEPS_BENCH_MIB must be a whole number of MiB"),
        Err(_) if benching => 256,
        Err(_) => 1,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.bin");
    write_random(&path, mib);
    println!("hashing {mib} MiB ({})", path.display());

    for (algo, tool) in [(DigestAlgo::Sha256, "sha256sum"), (DigestAlgo::Sha512, "sha512sum")] {
        let (ours, digest) = time(|| hash_file(&path, algo).expect("hash_file"));
        let ours_rate = rate(mib, ours);
        println!("{:<10} deps-store {ours_rate:>8.0} MB/s", algo.name());
        match time(|| peer(tool, &path)) {
            (elapsed, Some(hex)) => {
                assert_eq!(hex, digest.hex(), "{tool} disagrees with hash_file");
                let peer_rate = rate(mib, elapsed);
                println!(
                    "{:<10} {tool:<10} {peer_rate:>8.0} MB/s  (ours/peer = {:.2})",
                    algo.name(),
                    ours_rate / peer_rate
                );
            }
            (_, None) => println!("{:<10} {tool:<10} skipped (not installed)", algo.name()),
        }
    }
}

/// Fills `path` with `mib` MiB from a xorshift generator (no rand dependency needed).
fn write_random(path: &Path, mib: usize) {
    let mut out = BufWriter::with_capacity(MIB, std::fs::File::create(path).expect("create bench file"));
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunk = vec![0u8; MIB];
    for _ in 0..mib {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        out.write_all(&chunk).expect("write bench file");
    }
    out.flush().expect("flush bench file");
}

/// Runs `tool path` and returns the hex it prints, or `None` when the tool is missing.
fn peer(tool: &str, path: &Path) -> Option<String> {
    let output = Command::new(tool).arg(path).stderr(Stdio::inherit()).output().ok()?;
    assert!(output.status.success(), "{tool} failed");
    let text = String::from_utf8(output.stdout).expect("utf-8 output");
    text.split_whitespace().next().map(str::to_owned)
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed(), value)
}

fn rate(mib: usize, elapsed: Duration) -> f64 {
    (mib * MIB) as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}
