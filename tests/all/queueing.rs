//! The engine against queueing theory: Little's law on the EventSimulator scenarios (REFERENCE §1) and Erlang C
//! on M/M/c (REFERENCE §5).

use crate::support::{assert_close, run, server_index, window_mean};
use loadlab::models::section::metrics::StepRow;

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

/// Four standard errors, relative, of a time-averaged M/G/∞ occupancy (a server's connections, the busy
/// workers) over `window_s`: the count N(t) has autocovariance λ∫_τ^∞ P(S > s) ds, whose integral is λE[S²]/2,
/// so the time average has variance λE[S²]/T about its mean λE[S]; relative, √(E[S²]/E[S]²/(λT)).
fn littles_tolerance(rate: f64, window_s: f64, mean_s: f64, second_moment_s2: f64) -> f64 {
    4.0 * (second_moment_s2 / (mean_s * mean_s) / (rate * window_s)).sqrt()
}

/// Mean and second moment of a connection's life: one round trip, then a query uniform on [0.9 L, 1.1 L]
/// (EventSimulator's `work`), whose variance is (0.2 L)²/12.
fn uniform_hold(latency_s: f64) -> (f64, f64) {
    let mean = RTT_S + latency_s;
    (mean, mean * mean + (0.2 * latency_s).powi(2) / 12.0)
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
    // 798.6 req/s over 55 s: 4σ = 1.9%, so a query time 3% off the table fails.
    let (mean, second) = uniform_hold(DB1119_L_S);
    let tolerance = littles_tolerance(db1119_rate(), 55.0, mean, second);
    assert_close(measured, expected, tolerance, "plain-s1 db1119 active conns", seed);
}

#[test]
fn slow_db1119_follows_littles_law_after_the_fault() {
    // From t = 30 s each query takes 10 L: 798.6 req/s × (0.5 ms + 861.9 ms) ≈ 689 connections
    // (the Phabricator task reports "about 700" before LoadMonitor reacts).
    let seed = 12;
    let (rows, sim) = run("slow", "static", &[], 70, seed);
    let i = server_index(&sim, "db1119");
    let before = window_mean(&rows, 5.0, 30.0, |r| r.servers[i].active_conns);
    let (mean, second) = uniform_hold(DB1119_L_S);
    let tolerance = littles_tolerance(db1119_rate(), 25.0, mean, second); // 2.8%
    assert_close(before, db1119_rate() * mean, tolerance, "slow db1119 before the fault", seed);
    // Ten time constants (10 × 0.86 s) after the fault the backlog of slow queries has reached steady state.
    let after = window_mean(&rows, 40.0, 70.0, |r| r.servers[i].active_conns);
    let (mean, second) = uniform_hold(10.0 * DB1119_L_S);
    let tolerance = littles_tolerance(db1119_rate(), 30.0, mean, second); // 2.6%
    assert_close(after, db1119_rate() * mean, tolerance, "slow db1119 after the fault", seed);
}

#[test]
fn connect_timeout_db1119_holds_three_seconds_of_connects() {
    // From t = 30 s every connect to db1119 waits the 3 s connect timeout, then re-picks elsewhere:
    // 798.6 req/s × 3 s ≈ 2396 waiting connections (the task reports a peak of "about 2500").
    let seed = 13;
    let (rows, sim) = run("connect-timeout", "static", &[], 60, seed);
    let i = server_index(&sim, "db1119");
    let after = window_mean(&rows, 34.0, 60.0, |r| r.servers[i].active_conns);
    // Every wait is exactly 3 s (E[S²] = E[S]²): 4σ = 4/√(798.6 × 26) = 2.8%.
    let tolerance = littles_tolerance(db1119_rate(), 26.0, 3.0, 9.0);
    assert_close(after, db1119_rate() * 3.0, tolerance, "connect-timeout db1119 waiting connects", seed);
    // Every one of those attempts fails, and the re-picks keep the requests alive: none fail for lack of servers.
    let failed: u64 = rows.iter().filter(|r| r.time_s > 34.0).map(|r| r.servers[i].failed_conns).sum();
    let attempts: u64 = rows.iter().filter(|r| r.time_s > 34.0).map(|r| r.servers[i].total_conns).sum();
    assert!(failed as f64 >= 0.95 * attempts as f64, "failed {failed} of {attempts}");
    assert_eq!(sim.summary().failed, 0, "re-picks should rescue every request; seed={seed}");
}

#[test]
fn quiet_scales_every_rate_down_a_thousandfold() {
    // Little's law at 1/1000 of the rate: 0.7986 req/s × 86.7 ms ≈ 0.069 connections. Over 2000 s that is
    // about 1600 db1119 connections, so the relative standard error of the mean is about 2.5%: 4σ is 10%.
    let seed = 14;
    let (rows, sim) = run("quiet", "static", &[], 2000, seed);
    let i = server_index(&sim, "db1119");
    let measured = window_mean(&rows, 0.0, 2000.0, |r| r.servers[i].active_conns);
    let (mean, second) = uniform_hold(DB1119_L_S);
    let tolerance = littles_tolerance(db1119_rate() / 1000.0, 2000.0, mean, second);
    assert_close(measured, db1119_rate() / 1000.0 * mean, tolerance, "quiet db1119 active conns", seed);
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

/// The mean of the steps' mean latencies weighted by their requests over steps ending after `from_s`, and its
/// standard error from `batches` batch means (consecutive steps grouped; each batch many relaxation times long,
/// so the batch means are nearly independent).
fn batch_mean_and_se(rows: &[StepRow], from_s: f64, batches: usize) -> (f64, f64) {
    let rows: Vec<&StepRow> = rows.iter().filter(|r| r.time_s > from_s && r.requests > 0).collect();
    let per = rows.len() / batches;
    assert!(per >= 1, "too few steps for {batches} batches");
    let means: Vec<f64> = rows
        .chunks(per)
        .take(batches)
        .map(|b| {
            let n: f64 = b.iter().map(|r| r.requests as f64).sum();
            b.iter().map(|r| r.latency_mean_ms * r.requests as f64).sum::<f64>() / n
        })
        .collect();
    let k = means.len() as f64;
    let mean = means.iter().sum::<f64>() / k;
    let var = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (k - 1.0);
    (mean, (var / k).sqrt())
}

fn check_mmc(slots: u32, rho: f64, servers: u32, duration_s: u64, seed: u64) -> f64 {
    // Uniform random routing splits the Poisson stream into independent Poisson streams, so each server is an
    // M/M/c queue with λ/n arrivals; the mean response time over all requests is Erlang C's T.
    let service_s = 0.010;
    let (rows, sim) = run(
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
    // 25 batches (each at least 12 s, over 45 relaxation times 1/(μ(1−√ρ)²) ≈ 0.26 s of one slot at ρ 0.9
    // ... 3.8 s for M/M/1): 4.5 standard errors, for the t-distribution of 24 degrees of freedom (p ≈ 10⁻⁴).
    let (batched, se) = batch_mean_and_se(&rows, 0.0, 25);
    let tolerance = 4.5 * se / expected_ms;
    println!(
        "M/M/{slots} at {rho}: mean {:.3} ms, expected {expected_ms:.3}, 4.5σ = {:.2}%",
        s.latency_mean_ms,
        tolerance * 100.0
    );
    assert!((batched / s.latency_mean_ms - 1.0).abs() < 0.01, "batches {batched} vs run mean {}", s.latency_mean_ms);
    assert_close(
        s.latency_mean_ms,
        expected_ms,
        tolerance,
        &format!("M/M/{slots} at rho {rho} mean response (ms)"),
        seed,
    );
    s.latency_p99_ms
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
    let p99 = check_mmc(1, 0.9, 40, 5_000, 22);
    // First-in first-out makes the response time exponential with rate μ(1 − ρ) (REFERENCE §5), so its p99 is
    // ln(100)/(μ(1 − ρ)) = 460.5 ms; served last-in first-out, the mean is the same but the tail decays at
    // μ(1 − √ρ)² = 0.26/s instead of 10/s, so the p99 would be several seconds. Tolerance: the histogram's 0.8%
    // bucket error plus 4σ of the quantile: σ(p̂) = √(p(1 − p)/n_eff) / f(q), with f(q) = 0.01 × 10/s and
    // n_eff = 40 queues × 5000 s / (2 × 3.8 s relaxation) = 26 000 effectively independent samples: 6.2 ms (1.3%).
    let expected = 100.0_f64.ln() / (100.0 * (1.0 - 0.9)) * 1e3;
    assert!((expected - 460.5).abs() < 0.1, "{expected}");
    let n_eff = 40.0 * 5000.0 / (2.0 / (100.0 * (1.0 - 0.9_f64.sqrt()).powi(2)));
    let sigma = (0.01 * 0.99 / n_eff).sqrt() / (0.01 * 10.0) * 1e3;
    assert_close(p99, expected, 0.008 + 4.0 * sigma / expected, "M/M/1 FIFO p99 response (ms)", 22);
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
    let p = PRIMARY_RATE / TOTAL_RATE;
    // A request's worker time S mixes the primary's and each replica's connection lives; its moments are the
    // mixture's. Busy workers are an M/G/∞ count with λ = 7572.8 req/s: over 35 s, 4σ ≈ 1.0%.
    let (primary_mean, primary_second) = uniform_hold(0.87743);
    let (mut mean, mut second) = (p * primary_mean, p * primary_second);
    for (load, l) in replicas {
        let (m, m2) = uniform_hold(l);
        mean += (1.0 - p) * load / REPLICA_LOAD_SUM * m;
        second += (1.0 - p) * load / REPLICA_LOAD_SUM * m2;
    }
    let expected = TOTAL_RATE * mean;
    let measured = window_mean(&rows, 5.0, 40.0, |r| r.active_workers);
    let tolerance = littles_tolerance(TOTAL_RATE, 35.0, mean, second);
    assert_close(measured, expected, tolerance, "plain-s1 busy workers", seed);
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
