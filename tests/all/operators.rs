//! Operator overrides and the section circuit breaker: the share of new connections a server gets follows the
//! overridden configured loads exactly as the arithmetic says.

use crate::support::{run, server_index};
use loadlab::models::section::metrics::StepRow;

/// Σ of the EventSimulator replica loads other than db1119's 200 (REFERENCE §1): 3×50 + 6×200 + 325.
const OTHER_LOADS: f64 = 1675.0;

/// db1119's share of replica connection attempts in one step.
fn share(row: &StepRow, db1119: usize, replicas: &[usize]) -> f64 {
    let total: u64 = replicas.iter().map(|&i| row.servers[i].total_conns).sum();
    row.servers[db1119].total_conns as f64 / total as f64
}

/// Checks db1119's share in each step ending in (from, to] against `expected(step midpoint)`. Each step holds
/// about 7487 replica attempts, so a share p has standard error √(p(1−p)/7487) ≤ 0.0058; 0.02 is over 3.4 σ.
fn check_share(
    rows: &[StepRow],
    sim: &loadlab::models::section::sim::Sim,
    from: f64,
    to: f64,
    expected: impl Fn(f64) -> f64,
    what: &str,
) {
    let db = server_index(sim, "db1119");
    let replicas: Vec<usize> = (1..12).collect();
    for r in rows.iter().filter(|r| r.time_s > from && r.time_s <= to) {
        let want = expected(r.time_s - 0.5);
        let got = share(r, db, &replicas);
        assert!((got - want).abs() < 0.02, "{what}: step ending {}: share {got:.4}, expected {want:.4}", r.time_s);
    }
}

#[test]
fn depool_stops_new_connections_and_repool_ramps_them_back() {
    // depool at 10 s; repool at 20 s with a 20 s linear ramp: load(t) = 200·(t − 20)/20 for t in [20, 40].
    let pairs = [("operator", "depool:db1119@10"), ("operator", "repool:db1119:20@20")];
    let (rows, sim) = run("plain-s1", "static", &pairs, 50, 31);
    let load = |t: f64| {
        if t < 10.0 {
            200.0
        } else if t < 20.0 {
            0.0
        } else {
            200.0 * ((t - 20.0) / 20.0).min(1.0)
        }
    };
    let expected = |t: f64| load(t) / (OTHER_LOADS + load(t));
    check_share(&rows, &sim, 11.0, 20.0, expected, "depooled");
    check_share(&rows, &sim, 21.0, 50.0, expected, "repool ramp");
    let db = server_index(&sim, "db1119");
    assert!(rows.iter().filter(|r| r.time_s > 11.0 && r.time_s <= 20.0).all(|r| r.servers[db].total_conns == 0));
}

#[test]
fn drain_ramps_the_share_down_linearly() {
    // drain over 20 s from 10 s: load(t) = 200·(1 − (t − 10)/20).
    let (rows, sim) = run("plain-s1", "static", &[("operator", "drain:db1119:20@10")], 35, 32);
    let load = |t: f64| 200.0 * (1.0 - ((t - 10.0) / 20.0).clamp(0.0, 1.0));
    check_share(&rows, &sim, 0.0, 35.0, |t| load(t) / (OTHER_LOADS + load(t)), "drain");
}

#[test]
fn pin_fixes_the_share_whatever_the_controller() {
    // Pinned at 600 from 10 s: 600 / (1675 + 600) = 0.2637 of replica connections; unpinned at 20 s.
    let pairs = [("operator", "pin:db1119:600@10"), ("operator", "unpin:db1119@20")];
    let (rows, sim) = run("plain-s1", "static", &pairs, 30, 33);
    let load = |t: f64| if (10.0..20.0).contains(&t) { 600.0 } else { 200.0 };
    check_share(&rows, &sim, 0.0, 30.0, |t| load(t) / (OTHER_LOADS + load(t)), "pin");
}

#[test]
fn breaker_fails_fast_instead_of_queueing() {
    // Two single-slot servers at 95% utilisation behind one host: without a breaker the M/M/1 queues hold
    // ρ/(1−ρ) = 19 requests each on average. With a cap of 3 in-flight per server, a request that finds both
    // servers at the cap fails fast as "overloaded", which bounds the queues and cuts the tail latency.
    let base = [("servers", "2"), ("slots", "1"), ("service_ms", "10"), ("utilization", "0.95")];
    let (_, open) = run("mmc", "static", &base, 300, 34);
    let mut capped = base.to_vec();
    capped.push(("breaker_conns", "3"));
    let (rows, closed) = run("mmc", "static", &capped, 300, 34);
    let (o, c) = (open.summary(), closed.summary());
    assert_eq!(o.overloaded, 0);
    assert!(c.overloaded > c.requests / 100, "breaker never opened: {c:?}");
    assert_eq!(rows.iter().map(|r| r.overloaded).sum::<u64>(), c.overloaded);
    assert!(
        c.latency_p99_ms < o.latency_p99_ms / 2.0,
        "p99 {} vs {} without breaker",
        c.latency_p99_ms,
        o.latency_p99_ms
    );
}

#[test]
fn bad_operator_steps_are_rejected_before_running() {
    for bad in [
        "depool:db9999@3",
        "drain:db1119@3",
        "pin:db1119:-5@3",
        "controller-off:db1119@3",
        "explode@3",
        "depool:db1119",
    ] {
        let err =
            loadlab::models::section::scenario::build("slow", "static", &crate::support::sets(&[("operator", bad)]))
                .unwrap_err();
        assert!(err.starts_with("operator") || err.contains("pin weight"), "{bad}: {err}");
    }
}

#[test]
fn read_outs_for_the_ui_report_what_the_host_saw() {
    use loadlab::time::SECOND;
    let sets = crate::support::sets(&[("operator", "pin:db1119:600@1"), ("operator", "depool:db1099@1")]);
    let cfg = loadlab::models::section::scenario::build("plain-s1", "static", &sets).unwrap();
    let mut sim = loadlab::models::section::sim::Sim::of(cfg, 41);
    sim.set_pick_tracing(1);
    sim.run_until(2 * SECOND, u64::MAX);
    // Both scheduled commands are in the log, at 1 s.
    let applied: Vec<_> = sim.applied().map(|(t, _)| *t).collect();
    assert_eq!(applied, vec![SECOND, SECOND]);
    // static's weights are the configured loads: db1099 (index 1) depooled is left out, db1119 (index 4)
    // reports its pin, the other nine keep their loads from the table.
    let weights = sim.host_weights(0);
    assert_eq!(weights.len(), 10);
    assert!(!weights.iter().any(|(s, _)| *s == 1));
    assert_eq!(weights.iter().find(|(s, _)| *s == 4).unwrap().1, 600.0);
    assert_eq!(weights.iter().find(|(s, _)| *s == 8).unwrap().1, 325.0);
    let pick = sim.last_pick().expect("every pick is traced");
    assert_eq!(pick.candidates.len(), pick.weights.len());
    assert!(pick.candidates.iter().all(|c| c.server != 1), "a depooled server is not a candidate");
    let chosen = pick.chosen.expect("static always picks");
    assert!(pick.candidates.iter().any(|c| c.server == chosen));
    assert!(["controller", "pinned"].contains(&pick.decided_by));
}
