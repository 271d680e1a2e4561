//! The Galera model against Galera's formulas (gcs.cpp), the seeds' arithmetic and queueing theory. Every expected
//! number is derived here, never copied from a run.

use loadlab::engine::commands::check_round_trips;
use loadlab::engine::run::Run;
use loadlab::engine::Engine;
use loadlab::models::galera::flow_control::limits;
use loadlab::models::galera::{build_engine, GaleraRun, SCENARIOS};
use loadlab::registry::{self, RunSpec};
use serde_json::Value;

fn spec(sets: &[(&str, &str)], seed: u64, duration_s: f64) -> RunSpec {
    RunSpec {
        sets: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        seed,
        duration_s: Some(duration_s),
        time_step_s: Some(1.0),
        ..RunSpec::default()
    }
}

fn engine(scenario: &str, sets: &[(&str, &str)], seed: u64, duration_s: f64) -> Engine<GaleraRun> {
    let def = SCENARIOS.iter().find(|d| d.name == scenario).unwrap();
    build_engine(def, &spec(sets, seed, duration_s)).unwrap_or_else(|e| panic!("{scenario}: {e}"))
}

fn headline(e: &Engine<GaleraRun>, key: &str) -> Value {
    Run::summary(e)["headline"][key].clone()
}

fn run(scenario: &str, sets: &[(&str, &str)], seed: u64, duration_s: f64) -> Engine<GaleraRun> {
    let mut e = engine(scenario, sets, seed, duration_s);
    let end = Run::duration(&e);
    Run::run_until(&mut e, end, u64::MAX);
    e
}

/// A short backup: lock at 10 s, unlock at 20 s, desync off at 30 s.
const SHORT: &[(&str, &str)] = &[("desync_at", "10"), ("ftwrl_at", "10"), ("unlock_at", "20"), ("desync_off_at", "30")];

#[test]
fn limits_follow_gcs_formulas_for_many_groups() {
    for n in 1..=9u32 {
        for fc_limit in [1.0, 16.0, 100.0, 1000.0] {
            for factor in [0.0, 0.5, 0.8, 1.0] {
                for ms in [false, true] {
                    let fan = if ms { 1.0 } else { (n as f64).sqrt() };
                    let upper = (fc_limit * fan + 0.5).floor() as u64;
                    let lower = (upper as f64 * factor + 0.5).floor() as u64;
                    let l = limits(n, fc_limit, factor, ms);
                    assert_eq!((l.upper, l.lower), (upper, lower), "n={n} fc_limit={fc_limit} factor={factor} ms={ms}");
                }
            }
        }
    }
    let e = engine("percona-desync", &[], 1, 1.0);
    assert_eq!((headline(&e, "fc_upper_limit"), headline(&e, "fc_lower_limit")), (28.into(), 28.into()));
}

#[test]
fn a_desynced_node_sends_no_flow_control_and_its_queue_grows_at_offered_minus_applied() {
    // Desynced and locked from 10 s: applied = 0, so the queue grows at the full write rate, 5500/s.
    let mut e = engine(
        "percona-desync",
        &[("desync_at", "10"), ("ftwrl_at", "10"), ("unlock_at", "1000"), ("desync_off_at", "1000")],
        3,
        60.0,
    );
    Run::run_until(&mut e, 60_000_000, u64::MAX);
    let g = &e.model().g;
    assert_eq!(g.stops_sent(), 0, "a desynced node never sends STOP");
    let expected = 5500.0 * 50.0;
    let q = g.nodes[2].queue as f64;
    assert!((q - expected).abs() / expected < 0.01, "queue {q}, expected 5500 × 50 s = {expected}");
    // Unlocked with stalls and still desynced: it applies μ_f × up share = 7000 × 1.24/2 = 4340/s on average,
    // so the queue grows by about 1160/s. The up/stall cycles are random: over 200 s about 100 cycles, so the
    // up share has a relative standard error near 0.76·√(2/100)/1 ≈ 0.1 of the stall share; allow 35 %.
    let mut e = engine(
        "percona-desync",
        &[("desync_at", "10"), ("ftwrl_at", "10"), ("unlock_at", "10"), ("desync_off_at", "5000")],
        4,
        210.0,
    );
    Run::run_until(&mut e, 210_000_000, u64::MAX);
    let grow = e.model().g.nodes[2].queue as f64 / 200.0;
    assert!((grow - 1160.0).abs() / 1160.0 < 0.35, "grows {grow}/s, expected about 1160/s; seed=4");
    assert_eq!(e.model().g.stops_sent(), 0);
}

#[test]
fn catch_up_takes_backlog_over_apply_minus_throttled_incoming_and_throughput_is_offered_times_unpaused() {
    for seed in [1, 2] {
        let e = run("percona-desync", SHORT, seed, 400.0);
        let g = &e.model().g;
        let from = g.catch_up_from.expect("desync off happened");
        let to = g.catch_up_to.unwrap_or_else(|| panic!("not synced in 400 s; seed={seed}"));
        let span = (to.at - from.at) as f64 / 1e6;
        let committed = (to.committed - from.committed) as f64;
        let paused = (to.paused - from.paused) as f64 / 1e6;
        // Backlog at desync off, drained by apply − incoming over the span: applied = backlog + incoming.
        let backlog = g.nodes[2].queue_peak as f64;
        let applied_rate = 7000.0 * (1.0 - paused / span); // the applier runs while the cluster is not paused
        let predicted = backlog / (applied_rate - committed / span);
        assert!(
            (span - predicted).abs() / predicted < 0.1,
            "catch-up {span} s, backlog/(apply − incoming) = {predicted} s; seed={seed}"
        );
        let expected = 5500.0 * (span - paused);
        assert!(
            (committed - expected).abs() / expected < 0.02,
            "committed {committed}, offered × (1 − p) = {expected}; seed={seed}"
        );
    }
}

/// The chart's per-minute columns obey the same law as the whole catch-up: over any minute of flow control,
/// committed writes per second = offered × (1 − paused seconds ÷ 60), and the paused seconds stay within a
/// minute. Per one-second step they could not: a step is either paused or not.
#[test]
fn each_minute_of_flow_control_commits_offered_times_unpaused() {
    let mut e = engine("percona-desync", &[("desync_off_at", "3760")], 1, 4600.0);
    let columns = Run::columns(&e);
    let at = |name: &str| columns.iter().position(|c| c.name == name).unwrap();
    let (paused, committed, time) = (at("paused_s_per_min"), at("committed_per_s_1m"), at("time_s"));
    let end = Run::duration(&e);
    Run::run_until(&mut e, end, u64::MAX);
    let rows: Vec<Vec<f64>> = Run::drain_rows(&mut e).into_iter().filter(|r| r[time] >= 3760.0 + 60.0).collect();
    assert!(rows.len() > 600, "{} rows of flow control", rows.len());
    let mut shares = 0.0;
    for r in &rows {
        assert!((0.0..=60.0).contains(&r[paused]), "{} s paused in a minute at {} s", r[paused], r[time]);
        let expected = 5500.0 * (1.0 - r[paused] / 60.0);
        assert!(
            (r[committed] - expected).abs() < 0.03 * 5500.0,
            "at {} s: {} committed a second, offered × (1 − p) = {expected}",
            r[time],
            r[committed]
        );
        shares += r[paused] / 60.0;
    }
    // Flow control is on: the cluster is paused for a real share of each minute on average (the blog: 23 s).
    let mean = shares / rows.len() as f64;
    assert!((0.2..0.6).contains(&mean), "mean paused share {mean}");
}

#[test]
fn batching_changes_no_headline_beyond_tolerance() {
    let keys = ["fc_paused_fraction", "fc_stops_per_min", "throughput_drop", "catch_up_s"];
    let one = run("percona-desync", &[SHORT, &[("batch", "1")]].concat(), 7, 300.0);
    let many = run("percona-desync", &[SHORT, &[("batch", "16")]].concat(), 7, 300.0);
    for k in keys {
        let (a, b) = (headline(&one, k).as_f64().unwrap(), headline(&many, k).as_f64().unwrap());
        // Same seed, same stall draws: only the batching differs, by a few ms per pause of ~0.76 s.
        assert!((a - b).abs() / a < 0.03, "{k}: batch 1 gives {a}, batch 16 gives {b}");
    }
}

#[test]
fn writes_per_trx_are_nodes_files_and_copies() {
    for (nodes, files, replicas) in [(3, 3, 2), (3, 3, 0), (5, 2, 1)] {
        let sets = [
            ("nodes", nodes.to_string()),
            ("files_per_trx", files.to_string()),
            ("storage_replicas", replicas.to_string()),
            // A hypervisor per node (node i on hypervisor i), 4 as in the article when there are fewer nodes.
            ("hypervisors", nodes.max(4).to_string()),
            ("bulk_first_s", "1000".into()),
        ];
        let sets: Vec<(&str, &str)> = sets.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let e = run("galera-hyperconverged", &sets, 1, 20.0);
        let total = (nodes * files * (1 + replicas)) as f64;
        let network = (nodes * files * replicas) as f64;
        assert_eq!(headline(&e, "writes_per_trx").as_f64(), Some(total));
        assert_eq!(headline(&e, "network_writes_per_trx").as_f64(), Some(network));
    }
}

#[test]
fn a_bulk_push_past_nic_capacity_pushes_storage_past_80_ms() {
    // ρ = (200 + 15000) × 6 copies × 16 KiB × 8 / 10 Gbit/s ≈ 1.2: the backlog grows 0.2 s per second.
    let e = run("galera-hyperconverged", &[("bulk_first_s", "10"), ("bulk_rows", "150000")], 1, 30.0);
    let bulk = headline(&e, "storage_p99_ms_bulk").as_f64().unwrap();
    let base = headline(&e, "storage_p99_ms_baseline").as_f64().unwrap();
    assert!(bulk > 80.0, "bulk p99 {bulk} ms");
    assert!(base < 1.0, "baseline p99 {base} ms: idle services and one round trip are ~0.2 ms");
    let bonded = run(
        "galera-hyperconverged",
        &[("bulk_first_s", "10"), ("bulk_rows", "150000"), ("nic_bonded", "yes")],
        1,
        30.0,
    );
    assert!(headline(&bonded, "storage_p99_ms_bulk").as_f64().unwrap() < 80.0, "ρ ≈ 0.6 when bonded");
}

fn losses(sets: &[(&str, &str)], seeds: u64) -> (Vec<f64>, Vec<f64>) {
    let (mut per_node, mut after) = (Vec::new(), Vec::new());
    for seed in 0..seeds {
        let e = run("galera-full-crash", sets, seed, 31.0);
        let lost = headline(&e, "lost_trx_per_node");
        per_node.extend(lost.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()));
        let boot = headline(&e, "lost_after_bootstrap").as_f64().unwrap();
        let min = lost.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).fold(f64::MAX, f64::min);
        if sets.is_empty() {
            assert_eq!(boot, min, "bootstrapping the highest loses the minimum; seed={seed}");
            assert!(headline(&e, "sst_nodes").as_array().unwrap().is_empty(), "seed={seed}");
        }
        after.push(boot);
    }
    (per_node, after)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn power_loss_loses_a_uniform_share_of_the_flush_interval_and_the_highest_loses_least() {
    let seeds = 80;
    let (per_node, after) = losses(&[], seeds);
    // Loss = λ·U·interval with U uniform: mean 100, sd 200/√12 = 57.7; SE over 240 nodes = 3.7. Allow 4 SE.
    let m = mean(&per_node);
    assert!((m - 100.0).abs() < 4.0 * 57.7 / (per_node.len() as f64).sqrt(), "mean loss {m}, expected 100");
    assert!(per_node.iter().all(|&l| l <= 201.0), "at most one interval of commits");
    // Highest: min of 3 uniforms, mean λ/4 = 50, sd 200·√(3/80) = 38.7; SE over 80 runs = 4.3.
    let m = mean(&after);
    assert!((m - 50.0).abs() < 4.0 * 38.7 / (seeds as f64).sqrt(), "bootstrap loss {m}, expected 50");
    let (_, random) = losses(&[("bootstrap", "random")], seeds);
    assert!(mean(&random) > mean(&after), "a random pick loses more on average");
}

/// The flush clock runs at `flush_interval_s`, not at the metrics step (1 s here): with 5 s a node loses
/// λ·U·5 s, mean 500 and sd 1000/√12 = 288.7 (SE 37 over 60 nodes), up to 1000, far past the 200 a 1 s clock
/// could lose; with 0.25 s it loses at most 0.25·200 = 50, mean 25 (sd 14.4, SE 1.9).
#[test]
fn power_loss_follows_the_flush_interval_not_the_time_step() {
    for (interval, seeds) in [(5.0, 20), (0.25, 20)] {
        let text = interval.to_string();
        let (per_node, _) = losses(&[("flush_interval_s", text.as_str())], seeds);
        let (expected, sd) = (200.0 * interval / 2.0, 200.0 * interval / 12f64.sqrt());
        let m = mean(&per_node);
        let se = sd / (per_node.len() as f64).sqrt();
        assert!((m - expected).abs() < 4.0 * se, "flush every {interval} s: mean loss {m}, expected {expected}");
        let most = per_node.iter().copied().fold(0.0, f64::max);
        assert!(most <= 200.0 * interval + 1.0, "flush every {interval} s: a node lost {most}");
    }
}

/// Every CONT leaves at the lower limit exactly (`gcs_fc_cont_begin`: `lower_limit >= queue`), one writeset
/// from a shifted boundary: fc_factor 0.5 on three nodes gives lower ⌊28·0.5 + 0.5⌋ = 14, and the applier's
/// stalls (`stalls=always`) make nodes 2 and 3 stop and continue many times a minute (no backup: all SYNCED).
#[test]
fn every_cont_is_sent_at_the_lower_limit_exactly() {
    let sets = [("fc_factor", "0.5"), ("stalls", "always"), ("desync_at", "1000"), ("ftwrl_at", "1000")];
    let mut e = engine("percona-desync", &sets, 5, 60.0);
    let mut conts = [0u64; 3];
    let mut checked = 0;
    while e.now() < 60_000_000 && e.step_event() {
        let g = &e.model().g;
        for (i, seen) in conts.iter_mut().enumerate() {
            if g.fc[i].conts_sent != *seen {
                assert_eq!(g.fc[i].conts_sent, *seen + 1, "node{}: two CONTs in one event", i + 1);
                assert_eq!(g.nodes[i].queue, 14, "node{} sent CONT at t = {} µs", i + 1, e.now());
                *seen = g.fc[i].conts_sent;
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} CONTs in a minute");
}

#[test]
fn trx_commit_1_and_kill9_lose_nothing() {
    for sets in [[("trx_commit", "1")], [("crash_kind", "kill9")]] {
        for seed in 0..5 {
            let e = run("galera-full-crash", &sets, seed, 31.0);
            let lost = headline(&e, "lost_trx_per_node");
            assert!(lost.as_array().unwrap().iter().all(|v| v.as_u64() == Some(0)), "{sets:?}: {lost}; seed={seed}");
        }
    }
}

#[test]
fn invariants_hold_after_every_event() {
    let steps = [
        ("fault", "ftwrl:node2@3"),
        ("fault", "unlock:node2@4"),
        ("fault", "write-rate:9000@5"),
        ("fault", "crash-all@7"),
        ("fault", "restart-all@7.5"),
    ];
    for (scenario, extra) in [
        ("percona-desync", &[("desync_at", "1"), ("ftwrl_at", "1"), ("unlock_at", "2"), ("desync_off_at", "2.5")][..]),
        ("galera-hyperconverged", &[("bulk_first_s", "2"), ("bulk_rows", "20000")][..]),
        ("galera-full-crash", &[("crash_at", "5")][..]),
    ] {
        let sets: Vec<(&str, &str)> =
            extra.iter().chain(if scenario == "percona-desync" { &steps[..] } else { &[][..] }).copied().collect();
        let mut e = engine(scenario, &sets, 11, 9.0);
        let mut events = 0u64;
        while e.now() < 9_000_000 && e.step_event() {
            events += 1;
            if let Err(v) = Run::check_invariants(&e) {
                panic!("{scenario}: after event {events} at {} µs: {v}; seed=11", e.now());
            }
        }
        assert!(events > 100, "{scenario}: only {events} events");
    }
}

#[test]
fn bad_keys_and_commands_give_one_line_errors_and_commands_round_trip() {
    for (key, value) in [
        ("fc_limit", "0"),
        ("nope", "1"),
        ("bootstrap", "oldest"),
        ("nodes", "NaN"),
        ("fault", "desync-on:node7@3"),
        ("fault", "explode@1"),
    ] {
        let err = registry::build("percona-desync", &spec(&[(key, value)], 1, 10.0))
            .err()
            .unwrap_or_else(|| panic!("{key}={value} accepted"));
        assert!(!err.contains('\n') && !err.is_empty(), "{key}={value}: {err}");
    }
    let e = engine("percona-desync", &[], 1, 10.0);
    assert!(check_round_trips(e.model()).unwrap() > 0);
    let mut e: Box<dyn Run> = registry::build("galera-full-crash", &spec(&[], 1, 10.0)).unwrap();
    assert!(e.apply_text("restart-all").is_ok(), "a restart of a running cluster is accepted and does nothing");
    assert_eq!(e.summary()["committed"], 0);
    // An accepted live command enters the trace; refused ones below change nothing.
    let before = e.trace_hash();
    assert!(e.apply_text("desync-on:node4").unwrap_err().contains("node1, node2, node3"));
    assert!(e.apply_text("write-rate:-1").is_err());
    assert_eq!(e.trace_hash(), before);
}

/// Node i runs on hypervisor i and each write is copied to `storage_replicas` other hypervisors (the seed's
/// article: "copied to (at least) two other hypervisors"), so a layout short of either is refused, in one line
/// naming the key to change; the article's own (3 nodes, 4 hypervisors, 2 copies) and the least that fits
/// (3 hypervisors) build.
#[test]
fn a_hyperconverged_layout_without_enough_hypervisors_is_refused() {
    for (sets, words) in [
        (&[("nodes", "9"), ("hypervisors", "1")][..], "hypervisors=1 is fewer than nodes=9"),
        (&[("hypervisors", "2")][..], "hypervisors=2 is fewer than nodes=3"),
        (&[("nodes", "2"), ("hypervisors", "2")][..], "storage_replicas=2"),
    ] {
        let err = registry::build("galera-hyperconverged", &spec(sets, 1, 10.0)).err().expect("accepted");
        assert!(err.contains(words) && !err.contains('\n'), "{sets:?}: {err}");
    }
    for sets in [&[][..], &[("hypervisors", "3")][..]] {
        assert!(registry::build("galera-hyperconverged", &spec(sets, 1, 10.0)).is_ok(), "{sets:?}");
    }
}

#[test]
fn runs_are_deterministic() {
    let hash = |seed| run("percona-desync", SHORT, seed, 60.0).trace_hash();
    assert_eq!(hash(5), hash(5));
    assert_ne!(hash(5), hash(6));
}
