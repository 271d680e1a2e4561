//! The binary's behaviour on bad input: one line on stderr naming what is valid, exit status 2, no panic; on a
//! failed write: one line, exit status 1; scenario files and sharded sweeps end to end.

use std::fs::File;
use std::process::{Command, Stdio};

fn loadlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadlab")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn bad_input_is_one_line_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "--scenario", "nope"], "valid scenarios: plain-s1, slow, connect-timeout, refuse, quiet, mmc"),
        (&["run", "--scenario", "slow", "--controller", "magic"], "valid controllers: static"),
        (&["run", "--scenario", "slow", "--set", "bogus=1"], "valid keys:"),
        (&["run", "--scenario", "mmc", "--set", "servers=-1"], "servers"),
        (&["run", "--scenario", "mmc", "--set", "utilization=1.5"], "utilization"),
        (&["run", "--scenario", "mmc", "--set", "service_ms=NaN"], "service_ms"),
        (&["run", "--scenario", "mmc", "--set", "servers=2.5"], "whole number"),
        (&["run", "--scenario", "slow", "--duration", "-5"], "--duration"),
        (&["run", "--scenario", "slow", "--time-step", "0"], "--time-step"),
        (&["run", "--scenario", "slow", "--seed", "x"], "--seed"),
        (&["run", "--scenario", "slow", "--format", "xml"], "csv or json"),
        (&["run", "--scenario", "slow", "--set", "fault=melt:db1119@3"], "unknown command 'melt'"),
        (&["run", "--scenario", "slow", "--set", "fault=crash:db9999@3"], "valid: db1118, db1099"),
        (&["run", "--scenario", "slow", "--set", "fault=depool:db1119@3"], "belongs to operator="),
        (&["run", "--scenario", "slow", "--set", "surge=2"], "FACTOR@SECONDS"),
        (&["run", "--scenario", "slow", "--set", "workers=0"], "'unlimited'"),
        (&["run", "--scenario", "slow", "--set", "novalue"], "KEY=VALUE"),
        (&["run", "--scenario", "slow", "--bogus", "1"], "valid options"),
        (&["run"], "valid scenarios"),
        (&["frobnicate"], "valid commands"),
        (&[], "usage"),
    ];
    for (args, hint) in cases {
        let (code, stdout, stderr) = loadlab(args);
        assert_eq!(code, 2, "{args:?} → exit {code}, stderr {stderr}");
        assert!(stdout.is_empty(), "{args:?} wrote to stdout: {stdout}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: not one line: {stderr}");
        assert!(stderr.contains(hint), "{args:?}: '{stderr}' does not mention '{hint}'");
        assert!(!stderr.contains("panicked"), "{args:?} panicked");
    }
}

#[test]
fn list_names_every_scenario_controller_and_key() {
    let (code, stdout, _) = loadlab(&["list"]);
    assert_eq!(code, 0);
    for name in loadlab::models::section::SCENARIOS
        .iter()
        .map(|s| s.name)
        .chain(loadlab::controller::controllers().iter().map(|c| c.name))
    {
        assert!(stdout.contains(name), "list misses {name}");
    }
    for key in loadlab::models::section::scenario::KEYS {
        assert!(stdout.contains(key.key), "list misses key {}", key.key);
    }
}

#[test]
fn first_paint_stories_are_up_to_date() {
    // static/stories.js is what the page shows before its wasm loads; it must say what the registry says.
    let (code, stdout, stderr) = loadlab(&["list", "--format", "stories-js"]);
    assert_eq!(code, 0, "{stderr}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/static/stories.js");
    let file = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        file == stdout,
        "static/stories.js is out of date: run `cargo run --release -- list --format stories-js > static/stories.js`"
    );
    for s in loadlab::registry::all() {
        assert!(stdout.contains(&format!("{:?}: {{\"headline\"", s.name)), "stories.js misses {}", s.name);
    }
}

#[test]
fn weights_prints_the_closed_form() {
    // static's closed form is the configured loads themselves.
    let (code, stdout, stderr) =
        loadlab(&["weights", "--controller", "static", "--loads", "0,50,200", "--conns", "5,6,7"]);
    assert_eq!((code, stdout.trim()), (0, "0,50,200"), "{stderr}");
    let bad: &[(&[&str], &str)] = &[
        (&["weights", "--controller", "static", "--loads", "1,2", "--conns", "1"], "one of each"),
        (&["weights", "--controller", "static", "--loads", "1,x", "--conns", "1,2"], "comma-separated"),
        (&["weights", "--loads", "1", "--conns", "1"], "closed form"),
        (&["weights", "--controller", "nope", "--loads", "1", "--conns", "1"], "valid controllers"),
    ];
    for (args, hint) in bad {
        let (code, _, stderr) = loadlab(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains(hint) && stderr.trim_end().lines().count() == 1, "{args:?}: {stderr}");
    }
}

#[test]
fn weights_reproduces_loadmonitors_own_unit_test() {
    // LoadMonitorTest: loads [0,100,100,100,100] with connection counts [0,50,100,150,200] → [0,130,111,91,72].
    let args =
        ["weights", "--controller", "mw-loadmonitor", "--loads", "0,100,100,100,100", "--conns", "0,50,100,150,200"];
    let (code, stdout, stderr) = loadlab(&args);
    assert_eq!((code, stdout.trim()), (0, "0,130,111,91,72"), "{stderr}");
}

#[test]
fn tune_never_does_worse_than_the_defaults() {
    // Candidate 0 of every search is the default gains, so the best cost is at most the defaults' cost, which
    // `compare` reports the ingredients of: p99/1000 + 10·mean/1000 + 100·failed/requests.
    let (code, stdout, stderr) =
        loadlab(&["tune", "--controller", "conn-p", "--scenarios", "slow", "--budget", "3", "--duration", "60"]);
    assert_eq!(code, 0, "{stderr}");
    let best: f64 = stdout.split_whitespace().nth(2).and_then(|v| v.parse().ok()).expect("best cost line");
    let (_, card, _) =
        loadlab(&["compare", "--scenario", "slow", "--controllers", "conn-p", "--duration", "60", "--format", "csv"]);
    let lines: Vec<&str> = card.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    let col = |name: &str| -> f64 { row[header.iter().position(|h| *h == name).unwrap()].parse().unwrap() };
    let defaults =
        col("p99_ms") / 1e3 + 10.0 * col("mean_ms") / 1e3 + 100.0 * col("failed_or_rejected") / col("requests");
    // The scorecard prints latencies to 0.1 ms, so allow that rounding.
    assert!(best <= defaults + 1e-3, "best {best} > defaults {defaults}");
    assert!(stdout.contains("--set full_swing_conns="), "{stdout}");
    assert!(stderr.is_empty(), "a piped stderr must get no progress bar: {stderr}");
    let (code, _, stderr) = loadlab(&["tune", "--controller", "static"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no parameters"), "{stderr}");
}

#[test]
fn compare_scores_static_on_slow_by_littles_law() {
    // static never reacts: db1119 settles at 798.6 req/s × (0.5 ms + 10 × 86.19 ms) ≈ 689 connections, and its
    // share never halves.
    let (code, stdout, stderr) =
        loadlab(&["compare", "--scenario", "slow", "--controllers", "static", "--duration", "80", "--format", "csv"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let row: Vec<&str> = lines[1].split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    let settled: f64 = col("settled_conns").parse().unwrap();
    assert!((settled - 689.0).abs() / 689.0 < 0.05, "settled {settled}");
    assert_eq!(col("to_half_share_s"), "-");
    for (args, hint) in [
        (&["compare"][..], "--scenario NAME or --all"),
        (&["compare", "--all", "--format", "xml"][..], "table, csv or json"),
    ] {
        let (code, _, stderr) = loadlab(args);
        assert_eq!(code, 2);
        assert!(stderr.contains(hint), "{stderr}");
    }
}

#[test]
fn run_writes_csv_to_a_file() {
    let dir = std::env::temp_dir().join(format!("loadlab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.csv");
    let (code, stdout, stderr) =
        loadlab(&["run", "--scenario", "quiet", "--duration", "3", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 4);
    std::fs::remove_dir_all(&dir).ok();
}

/// A scratch directory for one test, removed by the caller.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loadlab-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_subcommand_has_help_and_there_is_a_version() {
    for sub in ["run", "list", "weights", "compare", "tune", "fit", "merge", "export-scenario", "bench"] {
        let (code, stdout, stderr) = loadlab(&[sub, "--help"]);
        assert_eq!(code, 0, "{sub} --help: {stderr}");
        assert!(stdout.contains(&format!("Usage: loadlab {sub}")), "{sub} --help: {stdout}");
    }
    let (code, stdout, _) = loadlab(&["help"]);
    assert_eq!(code, 0);
    for sub in ["run", "compare", "tune", "merge", "export-scenario"] {
        assert!(stdout.contains(sub), "help misses {sub}");
    }
    // The version is the manifest's.
    let (code, stdout, _) = loadlab(&["--version"]);
    assert_eq!((code, stdout.trim()), (0, format!("loadlab {}", env!("CARGO_PKG_VERSION")).as_str()));
}

/// Runs the binary with stdout (or stderr) on /dev/full, where every write fails with ENOSPC.
fn to_dev_full(args: &[&str], stderr_full: bool) -> (i32, String) {
    let full = || Stdio::from(File::options().write(true).open("/dev/full").expect("/dev/full exists on Linux"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadlab"));
    cmd.args(args);
    if stderr_full {
        cmd.stdout(Stdio::null()).stderr(full());
    } else {
        cmd.stdout(full()).stderr(Stdio::piped());
    }
    let out = cmd.output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn write_errors_are_one_line_and_exit_below_128() {
    // Issue 8 item 5: each of these panicked with status 134 ("failed printing to stdout").
    let dir = scratch("full");
    let shard = dir.join("shard.jsonl");
    let shard = shard.to_str().unwrap();
    let (code, _, stderr) = loadlab(&[
        "compare",
        "--scenario",
        "quiet",
        "--controllers",
        "static",
        "--duration",
        "5",
        "--shard",
        "0/1",
        "--out",
        shard,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let cases: &[&[&str]] = &[
        &["list"],
        &["list", "--format", "json"],
        &["help"],
        &["--help"],
        &["--version"],
        &["run", "--help"],
        &["run", "--scenario", "quiet", "--duration", "3"],
        &["run", "--scenario", "quiet", "--duration", "3", "--format", "json"],
        &["weights", "--controller", "static", "--loads", "1,2", "--conns", "3,4"],
        &["compare", "--scenario", "quiet", "--controllers", "static", "--duration", "5"],
        &["compare", "--scenario", "quiet", "--controllers", "static", "--duration", "5", "--shard", "0/1"],
        &["tune", "--controller", "conn-p", "--scenarios", "quiet", "--budget", "1", "--duration", "5"],
        &["merge", shard],
        &["export-scenario", "--scenario", "slow"],
        &["bench", "--repeats", "1"],
    ];
    for args in cases {
        let (code, stderr) = to_dev_full(args, false);
        assert_eq!(code, 1, "{args:?} → exit {code}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("No space left"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // Errors with stderr on /dev/full: nowhere to say it, but the status is still the usage error's.
    for args in [&["bogus"][..], &["run", "--scenario", "nope"], &["run", "--bogus"], &[]] {
        assert_eq!(to_dev_full(args, true).0, 2, "{args:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn weights_are_range_checked_where_they_enter() {
    // Issue 8 item 6: 1e308 loads gave NaN (conn-p), inf (envoy) or a 309-digit integer (static), exit 0. Loads
    // are configured loads, so the <server>.load key's range (0 to 10^6) applies.
    for controller in ["conn-p", "envoy-least-request", "static"] {
        let (code, stdout, stderr) =
            loadlab(&["weights", "--controller", controller, "--loads", "1e308,1e308", "--conns", "0,0"]);
        assert_eq!(code, 2, "{controller}: {stdout}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("--loads") && stderr.contains("1000000"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1);
    }
    let (code, _, stderr) = loadlab(&["weights", "--controller", "static", "--loads", "1,1", "--conns", "1e308,0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--conns"), "{stderr}");
    // Within range, every closed form gives finite numbers or a one-line refusal, never NaN or inf.
    let with_formula = loadlab::controller::controllers().iter().filter(|c| c.formula.is_some()).map(|c| c.name);
    for controller in with_formula {
        for (loads, conns) in [("1e6,1e6", "0,0"), ("0,0", "1e7,1e7"), ("0,1e6", "1e7,0"), ("1e-300,1", "0,1e7")] {
            let (code, stdout, stderr) =
                loadlab(&["weights", "--controller", controller, "--loads", loads, "--conns", conns]);
            let lower = stdout.to_lowercase();
            assert!(!lower.contains("nan") && !lower.contains("inf"), "{controller} {loads} {conns}: {stdout}");
            assert!(code == 0 || (code == 2 && stderr.lines().count() == 1), "{controller}: {code} {stderr}");
            if code == 0 {
                let cells: Vec<f64> = stdout.trim().split(',').map(|c| c.parse().unwrap()).collect();
                assert_eq!(cells.len(), 2, "{stdout}");
                assert!(cells.iter().all(|w| w.is_finite() && *w >= 0.0), "{controller}: {stdout}");
            }
        }
    }
}

#[test]
fn errors_quote_input_escaped_and_truncated() {
    // Issue 8 item 9: raw input was echoed as typed, so a newline split the error and a 100 KB argument gave a
    // 100 KB error.
    let huge = "x".repeat(100_000);
    let cases: Vec<Vec<&str>> = vec![
        vec!["run", "--scenario", "slow\nx"],
        vec!["run", "--scenario", &huge],
        vec!["run", "--scenario", "slow", "--controller", "magic\nwand"],
        vec!["run", "--scenario", "slow", "--controller", &huge],
        vec!["run", "--scenario", "slow", "--set", "bo\ngus=1"],
        vec!["run", "--scenario", "slow", "--set", &huge],
        vec!["run", "--scenario", "slow", "--seed", "1\n2"],
        vec!["run", "--scenario", "slow", "--format", "x\ny"],
        vec!["run", "--scenario", "slow", "--bad\noption"],
        vec!["bad\ncommand"],
        vec![&huge],
        vec!["weights", "--controller", "no\npe", "--loads", "1", "--conns", "1"],
        vec!["weights", "--controller", "static", "--loads", "1\n2", "--conns", "1"],
        vec!["compare", "--scenario", "sl\now"],
        vec!["tune", "--controller", "conn-p", "--scenarios", "sl\now"],
        vec!["run", "--scenario-file", "no\nsuch.toml"],
    ];
    for args in &cases {
        let (code, stdout, stderr) = loadlab(args);
        let shown: Vec<String> = args.iter().map(|a| a.chars().take(20).collect()).collect();
        assert_eq!(code, 2, "{shown:?}: {stderr}");
        assert!(stdout.is_empty(), "{shown:?}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{shown:?}: {stderr}");
        assert!(stderr.len() < 1_000, "{shown:?}: {} bytes of error", stderr.len());
    }
}

#[test]
fn an_exported_scenario_file_runs_byte_identically_to_the_scenario() {
    let dir = scratch("file");
    let cases: &[&[&str]] = &[
        &["--scenario", "slow", "--controller", "conn-p", "--set", "recover_at=50", "--set", "workers=20"],
        &["--scenario", "mmc", "--set", "servers=4", "--set", "utilization=0.7"],
        &["--scenario", "plain-s1", "--controller", "mw-loadmonitor", "--set", "operator=drain:db1119:10@5"],
    ];
    for (i, case) in cases.iter().enumerate() {
        let timing = ["--duration", "60", "--time-step", "0.5"];
        let (code, toml, stderr) = loadlab(&[&["export-scenario"], *case, &timing].concat());
        assert_eq!(code, 0, "{stderr}");
        let path = dir.join(format!("s{i}.toml"));
        std::fs::write(&path, &toml).unwrap();
        let (code, by_name, _) = loadlab(&[&["run", "--seed", "5"], *case, &timing].concat());
        assert_eq!(code, 0);
        let (code, by_file, stderr) = loadlab(&["run", "--seed", "5", "--scenario-file", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(by_name.lines().count() == 121, "{case:?}: 60 s in 0.5 s steps and a header");
        assert!(by_name == by_file, "{case:?}: the file's run differs from the scenario's");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_scenario_file_is_one_error_with_line_and_column_and_nothing_runs() {
    let dir = scratch("badfile");
    let (_, good, _) = loadlab(&["export-scenario", "--scenario", "slow"]);
    let line = good.lines().position(|l| l.starts_with("hosts =")).unwrap() + 1;
    let path = dir.join("bad.toml");
    std::fs::write(&path, good.replace("hosts = 139", "hosts = -3")).unwrap();
    let p = path.to_str().unwrap();
    for sub in [&["run"][..], &["compare", "--controllers", "static"], &["tune", "--controller", "conn-p"]] {
        let (code, stdout, stderr) = loadlab(&[sub, &["--scenario-file", p]].concat());
        assert_eq!(code, 2, "{sub:?}: {stderr}");
        assert!(stdout.is_empty(), "{sub:?}: something ran: {stdout}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("bad.toml:{line}:")), "{sub:?}: no line {line}: {stderr}");
        assert!(stderr.contains("u32") || stderr.contains("integer") || stderr.contains("invalid value"), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let dir = scratch("shards");
    let compare = ["compare", "--scenario", "slow", "--scenario", "refuse", "--controllers", "static,conn-p,p2c"];
    let compare = [&compare[..], &["--duration", "40", "--seed", "3"]].concat();
    let tune = ["tune", "--controller", "conn-p", "--scenarios", "slow", "--budget", "5", "--duration", "30"];
    for (base, shards, formats) in [(&compare, 4, &["csv", "json", "table"][..]), (&tune.to_vec(), 2, &["table"])] {
        let mut files = Vec::new();
        for i in 0..shards {
            let file = dir.join(format!("{}-{i}.jsonl", base[0]));
            let f = file.to_str().unwrap().to_string();
            let spec = format!("{i}/{shards}");
            let (code, stdout, stderr) = loadlab(&[&base[..], &["--shard", &spec, "--out", &f]].concat());
            assert_eq!(code, 0, "{stderr}");
            assert!(stdout.is_empty() && stderr.is_empty());
            files.push(f);
        }
        // The same shard twice does the same work, byte for byte.
        let again = dir.join("again.jsonl");
        let spec = format!("1/{shards}");
        loadlab(&[&base[..], &["--shard", &spec, "--out", again.to_str().unwrap()]].concat());
        assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&files[1]).unwrap());
        files.reverse(); // merge does not care about order
        for format in formats {
            let fmt: &[&str] = if base[0] == "compare" { &["--format", format] } else { &[] };
            let (code, whole, stderr) = loadlab(&[&base[..], fmt].concat());
            assert_eq!(code, 0, "{stderr}");
            let files: Vec<&str> = files.iter().map(String::as_str).collect();
            let (code, merged, stderr) = loadlab(&[&["merge"][..], &files, fmt].concat());
            assert_eq!(code, 0, "{stderr}");
            assert!(whole == merged, "{} {format}: merged shards differ:\n{whole}\n---\n{merged}", base[0]);
        }
        // A missing shard, or a shard of another sweep, is refused.
        let (code, _, stderr) = loadlab(&["merge", &files[0]]);
        assert_eq!(code, 2);
        assert!(stderr.contains("missing shard"), "{stderr}");
    }
    let (code, _, stderr) = loadlab(&["compare", "--all", "--shard", "3/3"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("I from 0 to N-1"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_summary_gives_the_clis_trace_hash_for_every_model() {
    // The wasm build's hash check and the page's `trace_hash` export go through `run_summary`; the CLI through
    // `run`. Both must agree for a scenario of each model.
    for (scenario, controller, duration) in
        [("slow", "mw-loadmonitor", "20"), ("mmc", "static", "5"), ("sahana-idle-drop", "static", "600")]
    {
        let (code, out, err) = loadlab(&[
            "run",
            "--scenario",
            scenario,
            "--controller",
            controller,
            "--duration",
            duration,
            "--seed",
            "3",
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        let summary = loadlab::run_summary(scenario, controller, &[], duration.parse().unwrap(), 3).unwrap();
        assert_eq!(summary["trace_hash"], json["summary"]["trace_hash"], "{scenario}");
    }
}
