//! The engine against queueing theory: Little's law on the EventSimulator scenarios (REFERENCE §1) and Erlang C
//! on M/M/c (REFERENCE §5).

use crate::support::{assert_close, run, server_index, window_mean};

/// EventSimulator's totals (REFERENCE §1 table): Σ connRate, the primary's connRate, Σ replica loads.
const TOTAL_RATE: f64 = 7572.8;
const PRIMARY_RATE: f64 = 85.8101;
const REPLICA_LOAD_SUM: f64 = 50.0 * 3.0 + 200.0 * 7.0 + 325.0;
/// db1119: configured load 200, base latency L = avgConns/connRate = 74.8625/868.5980 s.
const DB1119_LOAD: f64 = 200.0;
const DB1119_L_S: f64 = 0.08619;
/// The scenarios' default round trip: a successful connect takes one before the query starts.
const RTT_S: f64 = 0.0005;

/// Requests per second that pick db1119 first: replica traffic × its share of the configured loads.
fn db1119_rate() -> f64 {
    let replica_rate = TOTAL_RATE - PRIMARY_RATE; // 7487.0 req/s
    replica_rate * DB1119_LOAD / REPLICA_LOAD_SUM // 798.6 req/s
}

#[test]
fn plain_s1_db1119_follows_littles_law() {
    // L = λ·W: 798.6 req/s × (0.5 ms connect + 86.19 ms query) ≈ 69.2 connections.
    let seed = 11;
    let (rows, sim) = run("plain-s1", "static", &[], 60, seed);
    let i = server_index(&sim, "db1119");
    let expected = db1119_rate() * (RTT_S + DB1119_L_S);
    assert!((expected - 69.2).abs() < 0.5, "derivation drifted: {expected}");
    let measured = window_mean(&rows, 5.0, 60.0, |r| r.servers[i].active_conns);
    assert_close(measured, expected, 0.05, "plain-s1 db1119 active conns", seed);
}

#[test]
fn slow_db1119_follows_littles_law_after_the_fault() {
    // From t = 30 s each query takes 10 L: 798.6 req/s × (0.5 ms + 861.9 ms) ≈ 689 connections
    // (the Phabricator task reports "about 700" before LoadMonitor reacts).
    let seed = 12;
    let (rows, sim) = run("slow", "static", &[], 70, seed);
    let i = server_index(&sim, "db1119");
    let before = window_mean(&rows, 5.0, 30.0, |r| r.servers[i].active_conns);
    assert_close(before, db1119_rate() * (RTT_S + DB1119_L_S), 0.05, "slow db1119 before the fault", seed);
    // Ten time constants (10 × 0.86 s) after the fault the backlog of slow queries has reached steady state.
    let after = window_mean(&rows, 40.0, 70.0, |r| r.servers[i].active_conns);
    assert_close(after, db1119_rate() * (RTT_S + 10.0 * DB1119_L_S), 0.05, "slow db1119 after the fault", seed);
}

#[test]
fn connect_timeout_db1119_holds_three_seconds_of_connects() {
    // From t = 30 s every connect to db1119 waits the 3 s connect timeout, then re-picks elsewhere:
    // 798.6 req/s × 3 s ≈ 2396 waiting connections (the task reports a peak of "about 2500").
    let seed = 13;
    let (rows, sim) = run("connect-timeout", "static", &[], 60, seed);
    let i = server_index(&sim, "db1119");
    let after = window_mean(&rows, 34.0, 60.0, |r| r.servers[i].active_conns);
    assert_close(after, db1119_rate() * 3.0, 0.05, "connect-timeout db1119 waiting connects", seed);
    // Every one of those attempts fails, and the re-picks keep the requests alive: none fail for lack of servers.
    let failed: u64 = rows.iter().filter(|r| r.time_s > 34.0).map(|r| r.servers[i].failed_conns).sum();
    let attempts: u64 = rows.iter().filter(|r| r.time_s > 34.0).map(|r| r.servers[i].total_conns).sum();
    assert!(failed as f64 >= 0.95 * attempts as f64, "failed {failed} of {attempts}");
    assert_eq!(sim.summary().failed, 0, "re-picks should rescue every request; seed={seed}");
}

#[test]
fn quiet_scales_every_rate_down_a_thousandfold() {
    // Little's law at 1/1000 of the rate: 0.7986 req/s × 86.7 ms ≈ 0.069 connections. Over 2000 s that is
    // about 1600 db1119 connections, so the relative standard error of the mean is about 2.5%; allow 10%.
    let seed = 14;
    let (rows, sim) = run("quiet", "static", &[], 2000, seed);
    let i = server_index(&sim, "db1119");
    let measured = window_mean(&rows, 0.0, 2000.0, |r| r.servers[i].active_conns);
    assert_close(measured, db1119_rate() / 1000.0 * (RTT_S + DB1119_L_S), 0.10, "quiet db1119 active conns", seed);
}

/// Erlang C mean response time T = C(c, a)/(cμ − λ) + 1/μ, with a = λ/μ (REFERENCE §5).
fn erlang_c_response(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let tail = term * c as f64 / (c as f64 - a); // a^c/c! · c/(c − a)
    let wait_prob = tail / (sum + tail);
    wait_prob / (c as f64 * mu - lambda) + 1.0 / mu
}

#[test]
fn erlang_c_closed_form_matches_known_values() {
    // M/M/1: C = ρ, so T = 1/(μ(1 − ρ)); at ρ = 0.9, μ = 100/s that is 100 ms.
    assert!((erlang_c_response(1, 90.0, 100.0) - 0.1).abs() < 1e-12);
    // M/M/2 at a = 1: C = (1/2·2)/(1 + 1 + 1) = 1/3, Wq = (1/3)/(2 − 1) = 1/3 → T = 4/3 with μ = 1.
    assert!((erlang_c_response(2, 1.0, 1.0) - 4.0 / 3.0).abs() < 1e-12);
}

fn check_mmc(slots: u32, rho: f64, servers: u32, duration_s: u64, seed: u64) {
    // Uniform random routing splits the Poisson stream into independent Poisson streams, so each server is an
    // M/M/c queue with λ/n arrivals; the mean response time over all requests is Erlang C's T.
    let service_s = 0.010;
    let (_, sim) = run(
        "mmc",
        "static",
        &[
            ("servers", &servers.to_string()),
            ("slots", &slots.to_string()),
            ("service_ms", "10"),
            ("utilization", &rho.to_string()),
        ],
        duration_s,
        seed,
    );
    let mu = 1.0 / service_s;
    let lambda_per_server = rho * slots as f64 * mu;
    let expected_ms = erlang_c_response(slots, lambda_per_server, mu) * 1e3;
    let s = sim.summary();
    assert!(s.completed > 100_000, "too few samples: {}", s.completed);
    assert_close(s.latency_mean_ms, expected_ms, 0.02, &format!("M/M/{slots} at rho {rho} mean response (ms)"), seed);
}

// Run lengths: the sample mean of M/M/1 response times at ρ = 0.9 mixes slowly (relaxation time of order
// 1/(μ(1−√ρ)²) ≈ 380 service times). Measured over eight seeds, 40 queues × 2500 s gave a spread of 0.7%;
// 5000 s halves the variance, putting 2% at about four standard errors. The other cases mix faster.

#[test]
fn mm1_random_routing_at_half_load() {
    check_mmc(1, 0.5, 20, 1_000, 21);
}

#[test]
fn mm1_random_routing_at_ninety_percent() {
    // T = 1/(μ(1 − ρ)) = 100 ms for every queue, whatever the number of queues.
    check_mmc(1, 0.9, 40, 5_000, 22);
}

#[test]
fn mm8_at_half_load() {
    check_mmc(8, 0.5, 10, 300, 23);
}

#[test]
fn mm8_at_ninety_percent() {
    check_mmc(8, 0.9, 20, 600, 24);
}

#[test]
fn cluster_wide_littles_law_for_workers() {
    // Little's law for the whole section: busy workers = arrival rate × mean request time. The mean request time
    // is p·(rtt + L_primary) + (1 − p)·Σ share_i (rtt + L_i), all from the REFERENCE table.
    let seed = 15;
    let (rows, _) = run("plain-s1", "static", &[], 40, seed);
    let replicas: [(f64, f64); 11] = [
        (50.0, 0.08962),
        (50.0, 0.09181),
        (50.0, 0.09815),
        (200.0, 0.08619),
        (200.0, 0.08942),
        (200.0, 0.08885),
        (200.0, 0.08934),
        (325.0, 0.12621),
        (200.0, 0.08921),
        (200.0, 0.08831),
        (200.0, 0.09341),
    ];
    let replica_time: f64 = replicas.iter().map(|(load, l)| load / REPLICA_LOAD_SUM * (RTT_S + l)).sum();
    let p = PRIMARY_RATE / TOTAL_RATE;
    let expected = TOTAL_RATE * (p * (RTT_S + 0.87743) + (1.0 - p) * replica_time);
    let measured = window_mean(&rows, 5.0, 40.0, |r| r.active_workers);
    assert_close(measured, expected, 0.03, "plain-s1 busy workers", seed);
}

#[test]
fn rate_scale_is_relative_to_production_rates() {
    // quiet is plain-s1 at its default rate_scale of 0.001: 7.5728 req/s. Setting rate_scale=0.002 doubles it.
    // Over 2000 s the Poisson counts have means 15 146 and 30 291 and standard deviations 123 and 174; allow 4σ.
    let seed = 16;
    for (sets, per_second) in [(vec![], TOTAL_RATE * 0.001), (vec![("rate_scale", "0.002")], TOTAL_RATE * 0.002)] {
        let (_, sim) = run("quiet", "static", &sets, 2000, seed);
        let expected = per_second * 2000.0;
        let measured = sim.summary().requests as f64;
        assert!(
            (measured - expected).abs() < 4.0 * expected.sqrt(),
            "{sets:?}: {measured} arrivals, expected {expected}; seed={seed}"
        );
    }
}
