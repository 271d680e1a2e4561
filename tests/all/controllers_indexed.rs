//! Indexed picks (issue 22): a controller handed the load index (the host's full replica list) picks from its own
//! index in O(log n) instead of scanning the candidates. Each test drives two instances of one controller through
//! the same sequence of picks, connects, failures, closes and load changes, one seeing the index and one not (the
//! full scan), with random generators on the same seed, and asserts they choose the same server every time. p2c's
//! indexed draw redraws a repeat instead of rescanning, so its draws differ: its test checks the distribution
//! instead, by a chi-square test against the probabilities enumerated here from its definition.

use loadlab::controller::load_index::LoadIndex;
use loadlab::controller::{Candidate, Controller, ControllerSpec, HostView, ProbeResult, Role};
use loadlab::rng::{Rng, Stream};
use loadlab::time::MILLISECOND;

/// One instance of `name` with `sets`, for a section of `n` replicas and one host.
fn instance(name: &str, sets: &[(&str, f64)], n: usize) -> Box<dyn Controller> {
    let mut spec = ControllerSpec::new(name).unwrap();
    for &(k, v) in sets {
        spec.set(k, v).unwrap();
    }
    spec.instantiate_all(&vec![Role::Replica; n], 1).pop().unwrap()
}

/// Drives an indexed and a scanning instance through `steps` random steps over replicas with `loads`, and
/// asserts every pick agrees. At `change_at` step, replica 0's load becomes `new_load` (an operator's ramp).
/// Returns how many picks were compared.
fn indexed_equals_scan(name: &str, sets: &[(&str, f64)], loads: &[f64], steps: usize, seed: u64) -> usize {
    indexed_matches_scan(name, sets, loads, steps, seed, 0.0).0
}

/// Whether the uniform draw `u` falls within `tolerance` (relative to the total) of a boundary between two
/// servers' cumulative weights, where the order of floating-point sums may decide the server.
fn near_a_boundary(weights: &[f64], u: f64, tolerance: f64) -> bool {
    let total: f64 = weights.iter().map(|w| w.max(0.0)).sum();
    let target = u * total;
    let mut acc = 0.0;
    weights.iter().any(|w| {
        acc += w.max(0.0);
        (target - acc).abs() <= tolerance * total
    })
}

/// As [`indexed_equals_scan`], for a controller whose index sums the weights in another order than its scan:
/// where the picks differ, the draw must lie within `tolerance` (relative) of a boundary between two servers'
/// cumulative weights (the scan's, from `weights`), and the read-outs must agree to `tolerance`. With tolerance 0
/// every pick and read-out must be identical. Returns the picks compared and how many fell near a boundary.
fn indexed_matches_scan(
    name: &str,
    sets: &[(&str, f64)],
    loads: &[f64],
    steps: usize,
    seed: u64,
    tolerance: f64,
) -> (usize, usize) {
    let mut near = 0;
    let n = loads.len();
    let (mut indexed, mut scan) = (instance(name, sets, n), instance(name, sets, n));
    let mut cands: Vec<Candidate> =
        loads.iter().enumerate().map(|(i, &l)| Candidate { server: i, configured_load: l, in_flight: 0 }).collect();
    let mut index = LoadIndex::new(loads);
    let (mut rng_a, mut rng_b) = (Rng::new(seed, Stream::Balancing), Rng::new(seed, Stream::Balancing));
    let mut work = Rng::new(seed, Stream::Arrivals);
    let mut open: Vec<usize> = Vec::new();
    // Probes asked for and not yet answered: (step of the answer, server).
    let mut probes: Vec<(usize, usize)> = Vec::new();
    let mut picks = 0;
    let both = |a: &mut Box<dyn Controller>, b: &mut Box<dyn Controller>, f: &dyn Fn(&mut dyn Controller)| {
        f(a.as_mut());
        f(b.as_mut());
    };
    for step in 0..steps {
        let now = step as u64 * MILLISECOND;
        if step == steps / 2 {
            let new_load = loads[0] * 3.0;
            index.set(0, new_load);
            cands[0].configured_load = new_load;
        }
        // Probe results due now: connected or not, with a lag over or under LoadBalancer's 6 s filter.
        let (due, later): (Vec<_>, Vec<_>) = probes.iter().partition(|(at, _)| *at <= step);
        probes = later;
        for (_, s) in due {
            let connected = work.chance(0.8);
            let lag = if work.chance(0.3) { 10.0 } else { 0.5 };
            let result = ProbeResult { connected, conn_count: 1, elapsed: MILLISECOND };
            let lag = connected.then_some(lag);
            both(&mut indexed, &mut scan, &|c| c.on_probe_lag(now, s, result, lag));
        }
        let roll = work.next_f64();
        if roll < 0.45 && !open.is_empty() {
            // A connection ends: closed, or its connect failed (a refusal, as the section reports it).
            let s = open.swap_remove(work.below(open.len() as u64) as usize);
            cands[s].in_flight -= 1;
            let left = cands[s].in_flight;
            let failed = work.chance(0.2);
            both(&mut indexed, &mut scan, &|c| {
                c.on_in_flight(s, left);
                if failed {
                    c.on_connect(now, s, false, MILLISECOND);
                } else {
                    c.on_close(now, s, 10 * MILLISECOND);
                }
            });
            continue;
        }
        index.prepare();
        let view = |load_index| HostView { now, host: 0, hosts: 1, candidates: &cands, load_index };
        // One pick in twenty scans on both sides, as a re-pick after a failed connect does in the section.
        let mut weights = Vec::new();
        scan.weights(&view(None), &mut weights);
        let u = rng_b.clone().next_f64();
        let a = indexed.pick(&view(Some(&index).filter(|_| !work.chance(0.05))), &mut rng_a);
        let b = scan.pick(&view(None), &mut rng_b);
        if tolerance > 0.0 && near_a_boundary(&weights, u, tolerance) {
            near += 1;
        } else {
            assert_eq!(a, b, "{name} {sets:?}: pick {picks} (step {step}) differs; seed={seed}");
        }
        let (mut wanted_a, mut wanted_b) = (Vec::new(), Vec::new());
        indexed.take_probes(now, &mut wanted_a);
        scan.take_probes(now, &mut wanted_b);
        assert_eq!(wanted_a, wanted_b, "{name} {sets:?}: probes after pick {picks} differ; seed={seed}");
        probes.extend(wanted_a.into_iter().map(|s| (step + 1 + work.below(40) as usize, s)));
        // The read-outs ("why this server?") agree too, for every server.
        if picks % 7 == 0 {
            for s in 0..n {
                let (mut da, mut db) = (Vec::new(), Vec::new());
                indexed.diagnostics(s, &mut da);
                scan.diagnostics(s, &mut db);
                let agree = da.len() == db.len()
                    && da.iter().zip(&db).all(|((ka, va), (kb, vb))| {
                        ka == kb && (va.to_bits() == vb.to_bits() || (va - vb).abs() <= tolerance * va.abs().max(1.0))
                    });
                assert!(agree, "{name}: diagnostics of {s} at pick {picks}: {da:?} vs {db:?}; seed={seed}");
            }
        }
        picks += 1;
        let Some(k) = a else { continue };
        let s = cands[k].server;
        cands[k].in_flight += 1;
        open.push(s);
        let now_in_flight = cands[k].in_flight;
        both(&mut indexed, &mut scan, &|c| {
            c.on_in_flight(s, now_in_flight);
            c.on_connect(now, s, true, MILLISECOND);
        });
    }
    (picks, near)
}

const UNEQUAL: [f64; 11] = [50.0, 200.0, 200.0, 300.0, 300.0, 300.0, 325.0, 325.0, 400.0, 400.0, 500.0];

#[test]
fn controller_static_indexed_pick_equals_the_scan() {
    assert!(indexed_equals_scan("static", &[], &UNEQUAL, 20_000, 1) > 5_000);
}

#[test]
fn controller_least_conn_indexed_pick_equals_the_scan() {
    // HAProxy's weighted key with FIFO ties (idle servers first: many ties), on unequal and on equal loads.
    assert!(indexed_equals_scan("least-conn", &[], &UNEQUAL, 40_000, 2) > 10_000);
    assert!(indexed_equals_scan("least-conn", &[], &[100.0; 64], 40_000, 3) > 10_000);
    // The plain count, ties drawn by load.
    let plain = [("weighted_leastconn", 0.0)];
    assert!(indexed_equals_scan("least-conn", &plain, &UNEQUAL, 40_000, 4) > 10_000);
}

#[test]
fn controller_envoy_indexed_pick_equals_the_scan() {
    // Equal weights: P2C over choice_count draws; unequal: the weighted draw over weight/(active + 1)^bias. With
    // a fifth of the ends being failed connects, hosts are ejected (then the scan runs for both) and come back.
    assert!(indexed_equals_scan("envoy-least-request", &[], &[100.0; 64], 40_000, 5) > 10_000);
    assert!(indexed_equals_scan("envoy-least-request", &[("choice_count", 3.0)], &[100.0; 9], 40_000, 6) > 10_000);
    assert!(indexed_equals_scan("envoy-least-request", &[], &UNEQUAL, 40_000, 7) > 10_000);
    let slow = [("slow_start_window_s", 5.0), ("active_request_bias", 1.5), ("max_ejection_percent", 50.0)];
    assert!(indexed_equals_scan("envoy-least-request", &slow, &UNEQUAL, 40_000, 8) > 10_000);
}

#[test]
fn controller_peak_ewma_indexed_pick_equals_the_scan() {
    // Weight classes of 1, 2, 3 and 2 members, and one class of 64.
    assert!(indexed_equals_scan("peak-ewma", &[], &UNEQUAL, 40_000, 9) > 10_000);
    assert!(indexed_equals_scan("peak-ewma", &[], &[100.0; 64], 40_000, 10) > 10_000);
}

#[test]
fn controller_mw_legacy_indexed_pick_equals_the_scan() {
    // Probes answer 1 to 40 ms later; states expire every second (state_ttl_s) and local copies every 1 to 500
    // ms; a third of the lags are over the 6 s filter, so all-lagged "lagged replica mode" happens on few servers.
    assert!(indexed_equals_scan("mw-legacy", &[], &UNEQUAL, 60_000, 13) > 20_000);
    assert!(indexed_equals_scan("mw-legacy", &[], &[100.0; 3], 60_000, 14) > 20_000);
    let fast = [("state_ttl_s", 0.05), ("local_ttl_ms", 20.0)];
    assert!(indexed_equals_scan("mw-legacy", &fast, &[100.0; 64], 60_000, 15) > 20_000);
}

#[test]
fn controller_conn_p_indexed_pick_equals_the_scan() {
    // Counts change at every step (T with them, so every weight); a fifth of the ends are failed connects, which
    // count for the 10 s failure window and leave it (steps are 1 ms: 60 s of them). Clamped weights: with
    // S = 40 one connection on a load-50 replica among 3300 of load is over the threshold; with S = 2 most are.
    // The index sums the weights in another order, so a draw within 1e-9 of a boundary may differ: such draws
    // are counted, and every other pick must agree.
    let mut near = 0;
    for (sets, loads, seed) in [
        (&[][..], &UNEQUAL[..], 16),
        (&[][..], &[100.0; 64][..], 17),
        (&[("full_swing_conns", 2.0), ("halving_conns", 10.0)][..], &UNEQUAL[..], 18),
    ] {
        let (picks, n) = indexed_matches_scan("conn-p", sets, loads, 60_000, seed, 1e-9);
        assert!(picks > 20_000, "{picks}");
        near += n;
    }
    // A draw lands within 1e-9 of one of up to 64 boundaries with chance about 1e-7 per pick: none expected.
    assert!(near <= 2, "{near} draws near a boundary");
}

#[test]
fn controller_pid_indexed_pick_equals_the_scan() {
    // As conn-p, with the I term (updated every 100 ms of the 1 ms steps, its ∫e dt kept lazily by the index), a
    // D term, a short period, and an output clamp of 0.05 that can bind (then the picks scan until the next
    // update). The index integrates in another order, so I differs in its last bits and draws within 1e-9 of a
    // boundary may differ.
    let mut near = 0;
    for (sets, loads, seed) in [
        (&[][..], &UNEQUAL[..], 19),
        (&[("kd", 0.05), ("period_ms", 7.0)][..], &[100.0; 64][..], 20),
        (&[("ki", 0.05), ("integral_max_conn_s", 4.0)][..], &UNEQUAL[..], 21),
        (&[("output_max", 0.05)][..], &UNEQUAL[..], 22),
    ] {
        let (picks, n) = indexed_matches_scan("pid", sets, loads, 60_000, seed, 1e-9);
        assert!(picks > 20_000, "{picks}");
        near += n;
    }
    assert!(near <= 2, "{near} draws near a boundary");
}

/// The probability that p2c (two distinct draws by load, successive sampling; fewer in flight wins, ties to the
/// first draw) picks each server, enumerated over every ordered pair.
fn p2c_theory(loads: &[f64], in_flight: &[u32]) -> Vec<f64> {
    let total: f64 = loads.iter().sum();
    let mut p = vec![0.0; loads.len()];
    for i in 0..loads.len() {
        for j in (0..loads.len()).filter(|&j| j != i) {
            let pair = loads[i] / total * loads[j] / (total - loads[i]);
            p[if in_flight[j] < in_flight[i] { j } else { i }] += pair;
        }
    }
    p
}

#[test]
fn controller_p2c_indexed_pick_has_the_scans_distribution() {
    // Loads 1, 2, 3, 4 (a repeat draw is likely: the indexed draw redraws it) with in-flight 1, 1, 0, 1: server 2
    // wins whenever it is drawn, the others only against each other, and then only when drawn first.
    let loads = [1.0, 2.0, 3.0, 4.0];
    let in_flight = [1, 1, 0, 1];
    let expected = p2c_theory(&loads, &in_flight);
    let cands: Vec<Candidate> =
        (0..4).map(|i| Candidate { server: i, configured_load: loads[i], in_flight: in_flight[i] }).collect();
    let index = LoadIndex::new(&loads);
    // 400 000 picks: the smallest expected count is 400 000 × P(server 0) ≫ 5, as the chi-square test needs.
    let picks = 400_000;
    for (seed, load_index) in [(11, Some(&index)), (12, None)] {
        let mut p2c = instance("p2c", &[], 4);
        let mut rng = Rng::new(seed, Stream::Balancing);
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index };
        let mut counts = [0u32; 4];
        for _ in 0..picks {
            counts[p2c.pick(&view, &mut rng).unwrap()] += 1;
        }
        let chi2: f64 = (0..4)
            .map(|i| {
                let e = expected[i] * picks as f64;
                (f64::from(counts[i]) - e).powi(2) / e
            })
            .sum();
        // 3 degrees of freedom: P(χ² > 16.27) = 0.001.
        assert!(
            chi2 < 16.27,
            "indexed {}: χ² = {chi2}, counts {counts:?}, expected {expected:?}; seed={seed}",
            load_index.is_some()
        );
    }
}
