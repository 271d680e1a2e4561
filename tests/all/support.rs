//! Shared helpers: build a scenario with `--set` pairs, run it, and average a column over a time window.

use loadlab::models::section::metrics::StepRow;
use loadlab::models::section::scenario;
use loadlab::models::section::sim::Sim;
use loadlab::time::SECOND;

/// `--set` pairs from string literals.
pub fn sets(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Runs `scenario` with `controller` for `duration_s` seconds and returns the per-step rows and the sim.
pub fn run(
    scenario: &str,
    controller: &str,
    pairs: &[(&str, &str)],
    duration_s: u64,
    seed: u64,
) -> (Vec<StepRow>, Sim) {
    let mut cfg =
        scenario::build(scenario, controller, &sets(pairs)).unwrap_or_else(|e| panic!("build {scenario}: {e}"));
    cfg.duration = duration_s * SECOND;
    let mut sim = Sim::of(cfg, seed);
    sim.run_to_end();
    let rows = sim.drain_rows().collect();
    (rows, sim)
}

/// Mean of `f(row)` over rows whose step ends in (from_s, to_s].
pub fn window_mean(rows: &[StepRow], from_s: f64, to_s: f64, f: impl Fn(&StepRow) -> f64) -> f64 {
    let picked: Vec<f64> = rows.iter().filter(|r| r.time_s > from_s && r.time_s <= to_s).map(f).collect();
    assert!(!picked.is_empty(), "no rows in ({from_s}, {to_s}]");
    picked.iter().sum::<f64>() / picked.len() as f64
}

/// Index of a server by name in a built scenario.
pub fn server_index(sim: &Sim, name: &str) -> usize {
    sim.server_names().position(|n| n == name).unwrap_or_else(|| panic!("no server {name}"))
}

/// Asserts `measured` is within `rel` of `expected`, with a message carrying the derivation and the seed.
pub fn assert_close(measured: f64, expected: f64, rel: f64, what: &str, seed: u64) {
    let err = (measured - expected).abs() / expected;
    assert!(
        err <= rel,
        "{what}: measured {measured:.3}, expected {expected:.3} (error {:.2}% > {:.1}%); reproduce with seed={seed}",
        err * 100.0,
        rel * 100.0
    );
}

/// Steps `sim` to `until_s` one event at a time, checking every invariant after each; names the seed on failure.
pub fn step_checked(sim: &mut Sim, until_s: u64, what: &str, seed: u64) -> u64 {
    let mut events = 0;
    while sim.now() < until_s * SECOND {
        if !sim.step_event() {
            break;
        }
        events += 1;
        if let Err(violation) = sim.check_invariants() {
            panic!("{what}: after event {events} at t={} µs: {violation}; reproduce with seed={seed}", sim.now());
        }
    }
    events
}

/// A small EventSimulator section (7 hosts with bounded pools) through every fault kind and every limit within
/// five seconds: the gauntlet the invariant tests run, event by event.
pub const FAULT_GAUNTLET: &[(&str, &str)] = &[
    ("hosts", "7"),
    ("workers", "40"),
    ("backlog", "25"),
    ("rate_scale", "0.05"),
    ("max_connections", "30"),
    ("fault", "slow:db1105:20@1"),
    ("fault", "refuse:db1128@1.5"),
    // db1163 carries about 8 connections at this rate, so the crash almost surely loses some (P(0) = e^-8).
    ("fault", "crash:db1163@2"),
    ("fault", "cold:db1119:0.2:2@2"),
    ("fault", "recover:db1163@3"),
    ("max_attempts", "3"),
    ("surge", "8@2.5"),
    ("surge", "1@4"),
];
