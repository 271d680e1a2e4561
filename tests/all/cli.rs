//! The binary's behaviour on bad input: one line on stderr naming what is valid, exit status 2, no panic.

use std::process::Command;

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
        (&["run", "--scenario", "slow", "--set", "fault=melt:db1119@3"], "unknown kind"),
        (&["run", "--scenario", "slow", "--set", "fault=crash:db9999@3"], "valid servers"),
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
    for name in loadlab::scenario::SCENARIOS
        .iter()
        .map(|s| s.name)
        .chain(loadlab::controller::controllers().iter().map(|c| c.name))
    {
        assert!(stdout.contains(name), "list misses {name}");
    }
    for key in loadlab::scenario::KEYS {
        assert!(stdout.contains(key.key), "list misses key {}", key.key);
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
    assert!(stderr.contains("3/3"), "no progress bar: {stderr}");
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
