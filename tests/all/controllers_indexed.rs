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

/// mw-loadmonitor's two hosts over one cluster cache (indexed or scanning), driven through a fixed course:
/// host `h` picks at `now`, its probes answered `answer_ms` later with a count that depends on the server and the
/// round; server 3's probes fail in the second half. Returns per pick (choice, probes asked), and calls `check`
/// after each pick with both hosts' controllers and the pick's view.
struct LoadMonitorCourse {
    hosts: Vec<Box<dyn Controller>>,
    index: LoadIndex,
    cands: Vec<Candidate>,
    /// Probes asked and not answered: (time, host, server).
    probes: Vec<(u64, usize, usize)>,
    indexed: bool,
}

impl LoadMonitorCourse {
    fn new(sets: &[(&str, f64)], loads: &[f64], indexed: bool) -> LoadMonitorCourse {
        let mut spec = ControllerSpec::new("mw-loadmonitor").unwrap();
        for &(k, v) in sets {
            spec.set(k, v).unwrap();
        }
        let hosts = spec.instantiate_all(&vec![Role::Replica; loads.len()], 2);
        let cands =
            loads.iter().enumerate().map(|(i, &l)| Candidate { server: i, configured_load: l, in_flight: 0 }).collect();
        LoadMonitorCourse { hosts, index: LoadIndex::new(loads), cands, probes: Vec::new(), indexed }
    }

    /// Answers the probes due by `now`, in the order asked.
    fn answer(&mut self, now: u64) {
        let due: Vec<_> = self.probes.iter().copied().filter(|p| p.0 <= now).collect();
        self.probes.retain(|p| p.0 > now);
        for (at, h, s) in due {
            let round = at / 1_000_000;
            let connected = !(s == 3 && round >= 30);
            let conn_count = if connected { (5 + 17 * s as u64 + 11 * round) as u32 % 120 } else { 0 };
            let result = ProbeResult { connected, conn_count, elapsed: MILLISECOND };
            self.hosts[h].on_probe_lag(at, s, result, connected.then_some(0.0));
        }
    }

    /// Host `h` picks at `now` (after the probes due are answered); its probes are answered `answer_us` later.
    fn pick(&mut self, h: usize, now: u64, answer_us: u64, rng: &mut Rng) -> (Option<usize>, Vec<usize>) {
        self.answer(now);
        self.index.prepare();
        let index = self.indexed.then_some(&self.index);
        let view = HostView { now, host: h, hosts: 2, candidates: &self.cands, load_index: index };
        let choice = self.hosts[h].pick(&view, rng);
        let mut asked = Vec::new();
        self.hosts[h].take_probes(now, &mut asked);
        self.probes.extend(asked.iter().map(|&s| (now + answer_us, h, s)));
        (choice, asked)
    }

    /// Host `h`'s weights over the full list.
    fn weights(&self, h: usize, now: u64) -> Vec<f64> {
        let view = HostView { now, host: h, hosts: 2, candidates: &self.cands, load_index: None };
        let mut weights = Vec::new();
        self.hosts[h].weights(&view, &mut weights);
        weights
    }

    /// Host `h`'s weights, breaker estimates and diagnostics, as Debug text (so the NaN age of a never-probed
    /// state compares equal to itself), for comparing two courses.
    fn read_outs(&self, h: usize, now: u64) -> String {
        let n = self.cands.len();
        let estimates: Vec<Option<f64>> = (0..n).map(|s| self.hosts[h].conn_estimate(s)).collect();
        let diagnostics: Vec<Vec<(&str, f64)>> = (0..n)
            .map(|s| {
                let mut d = Vec::new();
                self.hosts[h].diagnostics(s, &mut d);
                d
            })
            .collect();
        format!("{:?} {estimates:?} {diagnostics:?}", self.weights(h, now))
    }
}

#[test]
fn controller_mw_loadmonitor_indexed_lookups_equal_the_scans() {
    // On MediaWiki 1.39's cache the refresh lottery never fires on a value under 30 s old, and the merged
    // freshness reads the cluster only while a copy is at most 10 s old: the lookups draw nothing, so the
    // states, probes and weights are determined by the course, and the indexed and scanning hosts must agree on
    // every one of them, exactly (their picks draw differently: the index by rejection). Two hosts share the
    // cluster cache: one's probes change what the other reads. Picks come 1 to 400 ms apart for 200 s, so every
    // copy goes through young (reading), fresh, expired (looked up literally) and locked (probe out).
    for (loads, seed) in [(&UNEQUAL[..], 30), (&[100.0; 9][..], 31)] {
        let sets = [("wan_rule", 0.0)];
        let (mut a, mut b) = (LoadMonitorCourse::new(&sets, loads, true), LoadMonitorCourse::new(&sets, loads, false));
        let (mut rng_a, mut rng_b) = (Rng::new(seed, Stream::Balancing), Rng::new(seed, Stream::Balancing));
        let mut work = Rng::new(seed, Stream::Arrivals);
        let mut now = 0;
        let mut probes = 0;
        while now < 200_000_000 {
            now += 1_000 + work.below(400_000);
            let h = work.below(2) as usize;
            let answer = 1_000 + work.below(1_500_000);
            let (_, asked_a) = a.pick(h, now, answer, &mut rng_a);
            let (_, asked_b) = b.pick(h, now, answer, &mut rng_b);
            assert_eq!(asked_a, asked_b, "probes at {now} µs by host {h}; seed={seed}");
            probes += asked_a.len();
            for host in 0..2 {
                assert_eq!(a.read_outs(host, now), b.read_outs(host, now), "host {host} at {now} µs; seed={seed}");
            }
        }
        // Each state is regenerated once its 60 s cluster value has expired and a host's copy with it (at most
        // 70 s): at least twice per server in 200 s, beyond the first.
        assert!(probes >= 3 * loads.len(), "{probes} probes: the course regenerates states; seed={seed}");
    }
}

/// The upper point of the chi-square distribution with `df` degrees of freedom at tail probability 10⁻⁴, by
/// Wilson–Hilferty: df·(1 − 2/(9df) + z·√(2/(9df)))³ with z = 3.719 (the normal's 10⁻⁴ point).
fn chi2_critical(df: usize) -> f64 {
    let d = df as f64;
    let a = 2.0 / (9.0 * d);
    d * (1.0 - a + 3.719 * a.sqrt()).powi(3)
}

/// The two-sample chi-square statistic of equal-sized samples' counts, over the categories with any count, and
/// its degrees of freedom. Categories whose expected count would be under 5 are pooled into one.
fn chi2_two_samples(a: &[u64], b: &[u64]) -> (f64, usize) {
    let (mut stat, mut df, mut small_a, mut small_b) = (0.0, 0usize, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        if x + y < 10 {
            small_a += x;
            small_b += y;
            continue;
        }
        stat += (x as f64 - y as f64).powi(2) / (x + y) as f64;
        df += 1;
    }
    if small_a + small_b > 0 {
        stat += (small_a as f64 - small_b as f64).powi(2) / (small_a + small_b) as f64;
        df += 1;
    }
    (stat, df.saturating_sub(1).max(1))
}

#[test]
fn controller_mw_loadmonitor_indexed_draws_have_the_scans_distribution() {
    // With a 12 s cluster TTL the refresh lottery fires with chance (age/12)⁴, up to 0.48 on a 10 s old value,
    // so the index's thinned lottery decides much of the course; a course of picks by two hosts over 14 s then
    // goes through stores by the other host (a hit takes the new value, a fired key keeps its copy), expired
    // cluster values (the stampede mutex, looked up literally) and a failed server. Each trial runs the course
    // on fresh instances with its own seed; the outcome is the last pick's choice and how many probes the
    // course asked (pooled above 8). The indexed and the scanning courses' outcomes must be one distribution:
    // a two-sample chi-square test at tail probability 10⁻⁴, over 20 000 trials each (the categories kept have
    // at least 10 outcomes between the samples).
    let loads = [100.0, 100.0, 200.0, 50.0, 300.0, 100.0];
    let course: [(usize, u64); 9] =
        [(0, 0), (1, 2_000), (1, 5_000), (0, 8_000), (0, 9_500), (1, 10_500), (0, 11_000), (1, 12_500), (0, 14_000)];
    for sets in [&[("wan_ttl_s", 12.0)][..], &[][..]] {
        let trials = 20_000u64;
        let mut counts = [vec![0u64; 6 * 10], vec![0u64; 6 * 10]];
        for (k, indexed) in [true, false].into_iter().enumerate() {
            for trial in 0..trials {
                let mut c = LoadMonitorCourse::new(sets, &loads, indexed);
                let mut rng = Rng::new(1000 + trial + 100_000 * k as u64, Stream::Balancing);
                let mut probes = 0;
                let mut last = None;
                for &(h, ms) in &course {
                    let (choice, asked) = c.pick(h, ms * 1_000, 300_000, &mut rng);
                    probes += asked.len();
                    last = choice;
                }
                let choice = last.expect("a server is up");
                counts[k][choice * 10 + probes.saturating_sub(6).min(9)] += 1;
            }
        }
        let (stat, df) = chi2_two_samples(&counts[0], &counts[1]);
        assert!(
            stat < chi2_critical(df),
            "{sets:?}: χ² = {stat:.1} on {df} df (critical {:.1}); indexed {:?}, scan {:?}",
            chi2_critical(df),
            counts[0],
            counts[1]
        );
    }
}

#[test]
fn controller_mw_loadmonitor_indexed_pick_follows_scale_loads() {
    // From settled states (every copy fresh, so a pick changes nothing), the indexed pick (rejection from the load
    // index) must choose each server with its scaleLoads weight ÷ the total: a chi-square test against those
    // shares, 200 000 picks, 5 degrees of freedom (P(χ² > 25.7) = 10⁻⁴). The states: counts from the course's
    // probes, server 3 down, so its weight is 0 and it must never be chosen.
    let loads = [100.0, 100.0, 200.0, 50.0, 300.0, 100.0];
    let mut c = LoadMonitorCourse::new(&[], &loads, true);
    let mut rng = Rng::new(40, Stream::Balancing);
    c.pick(0, 31_000_000, 1_000, &mut rng);
    c.pick(0, 31_010_000, 1_000, &mut rng); // the answers at 31.001 s are in the local cache
    let now = 45_000_000; // copies 14 s old: fresh under the merged check, nothing looked up
    let weights = c.weights(0, now);
    c.pick(0, now, 1_000, &mut rng);
    assert_eq!(weights, c.weights(0, now), "fresh copies: a pick changes no weight");
    assert_eq!(weights[3], 0.0, "server 3's probe failed");
    let total: f64 = weights.iter().sum();
    let picks = 200_000;
    let mut counts = [0u64; 6];
    for _ in 0..picks {
        counts[c.pick(0, now, 1_000, &mut rng).0.unwrap()] += 1;
    }
    assert_eq!(counts[3], 0);
    let chi2: f64 = (0..6)
        .filter(|&i| weights[i] > 0.0)
        .map(|i| {
            let e = weights[i] / total * picks as f64;
            (counts[i] as f64 - e).powi(2) / e
        })
        .sum();
    assert!(chi2 < 25.7, "χ² = {chi2}: counts {counts:?}, weights {weights:?}; seed=40");
}

#[test]
fn controller_mw_loadmonitor_a_tiny_refresh_chance_fires_nothing() {
    // With state_ttl_s = 1 ms a key is read through the cluster cache only while its copy is at most 1 ms old, when
    // MediaWiki 1.43's lottery fires with chance at most (0.001/60)⁴ ≈ 8·10⁻²⁰ a read: in a few thousand reads none
    // may fire, indexed or not. (The index's geometric gaps divide by ln(1 − p̄), which must not round to 0.)
    for indexed in [true, false] {
        let mut c = LoadMonitorCourse::new(&[("state_ttl_s", 0.001)], &[100.0; 6], indexed);
        let mut rng = Rng::new(50, Stream::Balancing);
        assert_eq!(c.pick(0, 0, 100, &mut rng).1.len(), 6, "the first look regenerates every key");
        // Picks every 10 µs for 20 ms: the states stored at 100 µs are read at each pick until they are 1 ms old.
        let later: usize = (1..2000u64).map(|k| c.pick(0, 100 + 10 * k, 100, &mut rng).1.len()).sum();
        assert_eq!(later, 0, "indexed {indexed}: {later} probes; seed=50");
    }
}
