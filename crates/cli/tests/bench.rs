//! The benchmark harness (`cargo xtask bench`) at a tiny scale, so that it
//! cannot rot: every scenario and command gets a row whose figures parse, or
//! says why it was not run. Timings are never asserted: this is a smoke test
//! of the harness, not a benchmark.

use xtask::bench::{self, BenchOptions, COLUMNS, REQUIRE_TOOLS_VAR, SCENARIOS};

/// Real sizes divided by this: a few MB in all.
const SCALE: u64 = 1024;

#[test]
fn the_benchmark_harness_runs_at_a_tiny_scale() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("docs/benchmarks.md");
    let opts = BenchOptions {
        scale: SCALE,
        runs: 1,
        out: out.clone(),
        deps: Some(env!("CARGO_BIN_EXE_deps-cli").into()),
        work: dir.path().join("work"),
    };
    let report = bench::run(&opts).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, report.markdown());
    assert!(text.contains(&format!("| scale | 1/{SCALE} |")), "{text}");

    let results = text.split("## Results").nth(1).and_then(|r| r.split("## Targets").next()).unwrap();
    let rows: Vec<Vec<&str>> = results
        .lines()
        .filter(|l| SCENARIOS.iter().any(|s| l.starts_with(&format!("| {} | ", s.title))))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let expected: usize = SCENARIOS.iter().map(|s| s.contenders.len()).sum();
    assert_eq!(rows.len(), expected, "{text}");
    for scenario in SCENARIOS {
        for contender in scenario.contenders {
            let row = rows
                .iter()
                .find(|r| r[0] == scenario.title && r[1] == contender.label)
                .unwrap_or_else(|| panic!("no row for {} / {}\n{text}", scenario.title, contender.label));
            assert_eq!(row.len(), COLUMNS.len(), "{row:?}");
            let wall = row[2];
            if wall.starts_with("not installed") {
                assert!(std::env::var_os(REQUIRE_TOOLS_VAR).is_none(), "{row:?}");
                continue;
            }
            if wall.starts_with("n/a") {
                continue;
            }
            for cell in &row[2..5] {
                let value: f64 = cell.parse().unwrap_or_else(|_| panic!("{cell:?} in {row:?}"));
                assert!(value.is_finite() && value >= 0.0, "{row:?}");
            }
            if contender.is_deps {
                assert_eq!(row[5], "—", "{row:?}");
            } else {
                let ratio = row[5].strip_suffix('×').unwrap_or_else(|| panic!("{row:?}"));
                assert!(ratio.parse::<f64>().is_ok(), "{row:?}");
            }
        }
    }
    for target in report.targets() {
        assert!(text.contains(target.what), "{}", target.what);
    }
}
