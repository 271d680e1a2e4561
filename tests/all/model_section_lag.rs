//! Replication lag in the section model (issue 14): the heartbeat's measurement noise, a large write's ramp and
//! drain, mw-legacy's lag filter on `large-write` (LoadBalancer::getRandomNonLagged), lagged replica mode, the
//! apply queue's bound and the invariants after every event.
//!
//! Expected numbers come from theory: a uniform heartbeat age on [0, I) (mean I/2, variance I²/12), the queue's
//! drain at apply rate − write rate, configured shares load/Σloads, binomial standard errors. Never from output.

use loadlab::models::section::metrics::StepRow;
use loadlab::models::section::scenario::{self, EVENTSIM_S1};
use loadlab::models::section::sim::Sim;
use loadlab::rng::{Rng, Stream};
use loadlab::time::{from_secs_f64, SECOND};

use crate::support::{run, server_index, sets, step_checked};

/// The replicas of the s1 table with their loads.
fn replicas() -> Vec<(&'static str, f64)> {
    EVENTSIM_S1.iter().filter(|r| r.1 == loadlab::models::section::config::Role::Replica).map(|r| (r.0, r.2)).collect()
}

/// `name`'s share of the replicas' own connects (probes left out) over rows ending in (from_s, to_s], and the
/// number of connects it is a share of.
fn share(rows: &[StepRow], sim: &Sim, name: &str, from_s: f64, to_s: f64) -> (f64, f64) {
    let idx: Vec<usize> = replicas().iter().map(|r| server_index(sim, r.0)).collect();
    let me = server_index(sim, name);
    let (mut mine, mut all) = (0.0, 0.0);
    for r in rows.iter().filter(|r| r.time_s > from_s && r.time_s <= to_s) {
        let own = |i: usize| (r.servers[i].total_conns - r.servers[i].probe_conns) as f64;
        mine += own(me);
        all += idx.iter().map(|&i| own(i)).sum::<f64>();
    }
    (mine / all.max(1.0), all)
}

/// Asserts a share is within 5 binomial standard errors of `expected` (n connects).
fn assert_share(measured: (f64, f64), expected: f64, what: &str, seed: u64) {
    let (p, n) = measured;
    let se = (expected * (1.0 - expected) / n).sqrt();
    assert!(
        (p - expected).abs() < 5.0 * se,
        "{what}: share {p:.5}, expected {expected:.5} ± 5·{se:.5} (n = {n}); seed {seed}"
    );
}

fn load_share(name: &str, without: &[&str]) -> f64 {
    let kept: Vec<(&str, f64)> = replicas().into_iter().filter(|r| !without.contains(&r.0)).collect();
    kept.iter().find(|r| r.0 == name).unwrap().1 / kept.iter().map(|r| r.1).sum::<f64>()
}

#[test]
fn measured_minus_true_lag_is_the_heartbeat_age_uniform_on_the_interval() {
    // pt-heartbeat: measured = true lag + the newest applied heartbeat's age, uniform on [0, I) for reads at times
    // unrelated to its phase. For I = 1 s: mean 0.5, variance 1/12. With n = 3000 reads the mean's standard
    // error is √(1/12n) = 0.0053 and the variance's √((1/80 − 1/144)/n) = 0.0014; tolerance 5 of each.
    for (seed, interval) in [(11u64, 1.0f64), (12, 2.5)] {
        let pairs = [("rate_scale", "0.01"), ("heartbeat_interval_s", if interval == 1.0 { "1" } else { "2.5" })];
        let mut cfg = scenario::build("plain-s1", "static", &sets(&pairs)).unwrap();
        cfg.duration = 4000 * SECOND;
        let mut sim = Sim::of(cfg, seed);
        let mut rng = Rng::new(seed, Stream::Control);
        let n = 3000;
        let (mut t, mut sum, mut sum2) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            t += 0.1 + rng.exponential(1.2);
            sim.run_until(from_secs_f64(t), u64::MAX);
            let lags = sim.lags_now();
            let (true_lag, measured) = lags[server_index(&sim, "db1119")];
            assert!((true_lag - 0.075).abs() < 1e-6, "a replica that keeps up lags by the 75 ms delay");
            let x = (measured - true_lag) / interval;
            sum += x;
            sum2 += x * x;
        }
        let mean = sum / n as f64;
        let var = sum2 / n as f64 - mean * mean;
        let se_mean = (1.0 / (12.0 * n as f64)).sqrt();
        let se_var = ((1.0 / 80.0 - 1.0 / 144.0) / n as f64).sqrt();
        assert!((mean - 0.5).abs() < 5.0 * se_mean, "seed {seed}, I = {interval}: mean age {mean}·I, expected I/2");
        assert!(
            (var - 1.0 / 12.0).abs() < 5.0 * se_var,
            "seed {seed}, I = {interval}: variance {var}·I², expected I²/12"
        );
    }
}

#[test]
fn a_large_write_ramps_the_lag_to_its_length_and_drains_at_apply_minus_write_rate() {
    // λ = 700 events/s, μ = 1000/s, d = 75 ms, a large write of S = 6 s committed at T = 10 s. It reaches db1119
    // at T + d, which then applies nothing else for S: true lag ramps from d to S + d at 1 s/s. The λ·S = 4200
    // events behind it drain at μ − λ = 300/s: S·λ/(μ − λ) = 14 s, so the lag is back to d at T + d + S + 14.
    let seed = 5;
    let pairs =
        [("rate_scale", "0.001"), ("write_rate", "700"), ("apply_rate", "1000"), ("fault", "large-write:db1119:6@10")];
    let mut cfg = scenario::build("plain-s1", "static", &sets(&pairs)).unwrap();
    cfg.duration = 60 * SECOND;
    let mut sim = Sim::of(cfg, seed);
    let db1119 = server_index(&sim, "db1119");
    let db1099 = server_index(&sim, "db1099");
    let (d, s) = (0.075, 6.0);
    let drain = s * 700.0 / (1000.0 - 700.0);
    let (mut peak, mut caught_up_at) = (0.0f64, None);
    for k in 0..4000 {
        let t = 5.0 + k as f64 * 0.01;
        sim.run_until(from_secs_f64(t), u64::MAX);
        let lags = sim.lags_now();
        let lag = lags[db1119].0;
        peak = peak.max(lag);
        if (t - (10.0 + d + s / 2.0)).abs() < 1e-9 {
            assert!((lag - (s / 2.0 + d)).abs() < 1e-6, "halfway through the write the lag is S/2 + d, got {lag}");
        }
        if t > 10.0 + d + s && caught_up_at.is_none() && lag <= d + 1e-6 {
            caught_up_at = Some(t);
        }
        assert!((lags[db1099].0 - d).abs() < 1e-6, "other replicas keep up");
    }
    assert!((peak - (s + d)).abs() < 0.011, "peak true lag {peak}, expected S + d = {}", s + d);
    let back = caught_up_at.expect("the backlog drains");
    let expected = 10.0 + d + s + drain;
    assert!((back - expected).abs() < 0.011, "caught up at {back} s, expected {expected} s (drain {drain} s)");
}

/// The `large-write` run every mw-legacy test reads: 1 s rows, the scenario's defaults (db1163 overloaded from
/// 20 s, db1119's 15 s write at 30 s).
fn legacy_large_write(extra: &[(&str, &str)], seed: u64) -> (Vec<StepRow>, Sim) {
    run("large-write", "mw-legacy", extra, 100, seed)
}

#[test]
fn mw_legacy_depools_the_lagging_replica_and_keeps_the_drowning_one() {
    // db1119's true lag is t − 30 from 30.075 s to 45.075 s (S = 15), then falls at 1 s/s (μ/λ − 1 = 1) from
    // 15.075 to 0.075; measured lag ≥ true. So its measured lag is over 6 s from 36 s until at least 54.1 s.
    // The filter reads the cached state, at most the 1 s WAN TTL plus the 0.5 s local TTL old (plus a round
    // trip), so from 37.6 s to 54.1 s every pick drops db1119: rows ending 39 to 54 have no connect to it.
    let seed = 1;
    let (rows, sim) = legacy_large_write(&[], seed);
    let db1119 = server_index(&sim, "db1119");
    for r in rows.iter().filter(|r| r.time_s > 38.5 && r.time_s < 54.5) {
        let own = r.servers[db1119].total_conns - r.servers[db1119].probe_conns;
        assert_eq!(own, 0, "t = {}: db1119 got {own} connects while lagged; seed {seed}", r.time_s);
        assert!(r.servers[db1119].true_lag_s > 2.0, "the row's lag is the lag");
    }
    // Before the write and after the drain (measured ≤ 1.075 s < 6 s): its configured share, load/Σloads.
    assert_share(share(&rows, &sim, "db1119", 0.0, 30.0), load_share("db1119", &[]), "db1119 before", seed);
    assert_share(share(&rows, &sim, "db1119", 62.0, 100.0), load_share("db1119", &[]), "db1119 after", seed);
    // db1163 drowns from 20 s but replicates normally: its configured share, renormalised while db1119 is out.
    assert_share(share(&rows, &sim, "db1163", 0.0, 30.0), load_share("db1163", &[]), "db1163 before", seed);
    let during = load_share("db1163", &["db1119"]);
    assert_share(share(&rows, &sim, "db1163", 38.5, 54.5), during, "db1163 while db1119 is out", seed);
    assert_share(share(&rows, &sim, "db1163", 62.0, 100.0), load_share("db1163", &[]), "db1163 after", seed);
    // It is drowning: 1298 req/s offered, 200 slots / 0.252 s = 794 served, so its connections grow by hundreds
    // a second, and its measured lag never leaves [d, d + I].
    let conns = |t: f64| {
        rows.iter().find(|r| (r.time_s - t).abs() < 1e-9).unwrap().servers[server_index(&sim, "db1163")].active_conns
    };
    assert!(conns(60.0) - conns(40.0) > 20.0 * 300.0, "db1163 grows from {} to {}", conns(40.0), conns(60.0));
    let db1163 = server_index(&sim, "db1163");
    assert!(rows.iter().all(|r| r.servers[db1163].measured_lag_s <= 1.075 + 1e-9));
    assert_eq!(sim.summary().failed, 0);
}

#[test]
fn mw_loadmonitor_with_lag_times_drops_the_lagging_replica_too() {
    // The rework's LoadBalancer reads lags from its own `rdbms-lags` key, read on every pick with a TTL of
    // 11–20 s, i.e. under LOW_TTL: MediaWiki 1.43's WANObjectCache refreshes it with chance (age/TTL)⁴ per read.
    // At 7487 reads/s the chance that a value survives to age a unrefreshed is exp(−7487·a⁵/(5·TTL⁴)); at a = 4 s
    // and TTL 20 s that is e^−9.6 ≈ 7·10⁻⁵, so the lags in use are under 4 s old. db1119's measured lag is over 6 s
    // from 36 s to at least 54.1 s (the mw-legacy test above), so every pick from 40.1 s to 54.1 s drops it: rows
    // ending 42 to 54 have no request connect to it. With lag_times=0 it keeps being picked.
    let seed = 2;
    let (rows, sim) = run("large-write", "mw-loadmonitor", &[("lag_times", "1")], 70, seed);
    let db1119 = server_index(&sim, "db1119");
    for r in rows.iter().filter(|r| r.time_s > 41.5 && r.time_s < 54.5) {
        let own = r.servers[db1119].total_conns - r.servers[db1119].probe_conns;
        assert_eq!(own, 0, "t = {}: db1119 got {own} connects while lagged; seed {seed}", r.time_s);
    }
    let (rows, sim) = run("large-write", "mw-loadmonitor", &[], 70, seed);
    let db1119 = server_index(&sim, "db1119");
    let picked: u64 = (rows.iter().filter(|r| r.time_s > 38.5 && r.time_s < 54.5))
        .map(|r| r.servers[db1119].total_conns - r.servers[db1119].probe_conns)
        .sum();
    assert!(picked > 1000, "without the lag filter db1119 keeps serving: {picked} connects; seed {seed}");
}

#[test]
fn every_replica_lagged_is_lagged_replica_mode_with_the_configured_shares() {
    // A 15 s write on every replica at 30 s: all are over 6 s from 36 s to about 54 s, so getRandomNonLagged
    // leaves no load and pickReaderIndex picks from all by weight: the configured shares, nobody depooled.
    let seed = 3;
    let faults: Vec<String> = replicas().iter().map(|r| format!("large-write:{}:15@30", r.0)).collect();
    let mut extra: Vec<(&str, &str)> = faults.iter().map(|f| ("fault", f.as_str())).collect();
    extra.push(("overload_factor", "1"));
    extra.push(("overload_slots", "100000"));
    let (rows, sim) = legacy_large_write(&extra, seed);
    let lagged = rows.iter().find(|r| (r.time_s - 45.0).abs() < 1e-9).unwrap();
    assert!(lagged.servers.iter().skip(1).all(|s| s.measured_lag_s > 6.0), "every replica lags at 45 s");
    for name in ["db1119", "db1163", "db1099"] {
        assert_share(share(&rows, &sim, name, 38.5, 54.5), load_share(name, &[]), name, seed);
    }
    assert_eq!(sim.summary().failed + sim.summary().overloaded, 0);
}

#[test]
fn a_large_write_run_keeps_every_invariant_after_every_event() {
    // Lag ≥ 0 and measured ≥ true, the apply queue within its bound and in commit order, the newest applied
    // heartbeat never behind a previous one (Replica::check, part of check_invariants).
    let seed = 9;
    let pairs = [
        ("rate_scale", "0.02"),
        ("overload_at", "2"),
        ("fault_at", "4"),
        ("large_write_s", "3"),
        ("fault", "large-write:db1119:1@5"),
        ("fault", "large-write:db1105:2@6.5"),
        ("heartbeat_interval_s", "0.25"),
    ];
    let cfg = scenario::build("large-write", "mw-legacy", &sets(&pairs)).unwrap();
    let mut sim = Sim::of(cfg, seed);
    let mut events = 0;
    while sim.now() < 14 * SECOND {
        let next = sim.now() / SECOND + 1;
        events += step_checked(&mut sim, next, "large-write", seed);
        for (i, (true_lag, measured)) in sim.lags_now().into_iter().enumerate() {
            assert!(
                true_lag >= 0.0 && measured >= true_lag - 1e-9,
                "server {i}: lags {true_lag}, {measured}; seed {seed}"
            );
        }
    }
    assert!(events > 1000, "{events} events");
}

#[test]
fn the_apply_queue_bound_and_the_stream_are_checked_at_build_time() {
    let many: Vec<String> = (0..65).map(|k| format!("large-write:db1119:1@{k}")).collect();
    let pairs: Vec<(&str, &str)> = many.iter().map(|f| ("fault", f.as_str())).collect();
    let err = scenario::build("plain-s1", "static", &sets(&pairs)).unwrap_err();
    assert!(err.contains("64") && err.contains("fewer large-write"), "{err}");
    assert!(!err.contains('\n'));
    let err = scenario::build("plain-s1", "static", &sets(&[("write_rate", "2000")])).unwrap_err();
    assert!(err.contains("apply_rate") && err.contains("write_rate"), "{err}");
    // A large write on the primary is refused: nothing replicates to it.
    let cfg = scenario::build("plain-s1", "static", &sets(&[("fault", "large-write:db1118:5@1")])).unwrap();
    assert!(Sim::try_new(cfg, 1).err().expect("refused").contains("db1118"));
    // The command parses from the table like every other (CLI, page, URL).
    let mut run = loadlab::registry::build("plain-s1", &Default::default()).unwrap();
    run.apply_text("large-write:db1119:2.5").unwrap();
    assert!(run.apply_text("large-write:db1119:0").is_err());
    assert!(run.apply_text("large-write:db1118:1").is_err());
}
