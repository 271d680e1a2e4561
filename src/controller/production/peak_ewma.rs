//! `peak-ewma`: Finagle's and Linkerd's power of two choices over a peak-sensitive EWMA of round-trip time, with
//! cost = RTT estimate × (outstanding + 1) (REFERENCE §3: decay 10 s, default RTT 30 ms).
//!
//! Sources:
//! - Finagle `finagle-core/src/main/scala/com/twitter/finagle/loadbalancer/PeakEwma.scala`, class `Metric`:
//!   `observe(rtt)` sets cost = rtt when rtt > cost, else cost·w + rtt·(1 − w) with w = exp(−Δt/τ) and Δt the time
//!   since the previous observation; `get()` first observes 0 (so reading the load decays the cost toward 0 and
//!   moves the time stamp) and returns `Penalty + pending` when cost = 0 with requests outstanding (Penalty =
//!   `Long.MaxValue >> 16` ns), else cost × (pending + 1); a session that fails to open calls `end` too, so its
//!   short time to failure is observed as an RTT.
//! - Finagle `p2c/P2CPick.scala`, `pick`: two *distinct* nodes uniformly at random; the strictly lower load wins,
//!   ties go to the second draw.
//! - Finagle `TrafficDistributor.scala`, `Distributor`: endpoints are grouped into classes of equal weight; a class
//!   is chosen with probability weight × size, and P2C balances within it.
//! - Linkerd: `linkerd2-proxy` balances with tower's `tower/src/load/peak_ewma.rs` (`PeakEwma::load` decays the
//!   estimate on every read through `RttEstimate::decay`, then returns estimate × (pending + 1)), with
//!   `EWMA_DEFAULT_RTT` = 30 ms as the estimate of an endpoint without history and `EWMA_DECAY` = 10 s.
//!
//! loadlab combines them: Linkerd's `default_rtt_ms` (30; set 0 for Finagle's start at 0, where the penalty then
//! applies to an endpoint with requests outstanding and no RTT yet), Finagle's weight classes (Linkerd's P2C
//! ignores weights; without classes the EventSimulator loads 50/200/325 would mean nothing), and Finagle's P2C.
//!
//! A request is a connection: the RTT sample is the connection's lifetime from its connect attempt to its close
//! (`held`), and a failed connect is observed with its time to failure, as Finagle does. A server that refuses
//! every connect within one round trip therefore feeds 0.5 ms samples that drag its estimate far below the ~90 ms
//! of the healthy servers, and it wins every comparison it is drawn into. Finagle pairs the balancer with failure
//! accrual (mark dead after 5 consecutive failures, REFERENCE §3), a separate module this controller does not model;
//! the integration tests show what peak-EWMA does without it.

use crate::controller::pick_index::InFlight;
use crate::controller::Role;
use crate::controller::{per_host, Candidate, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo};
use crate::rng::{self, Rng};
use crate::time::{from_secs_f64, SimDuration, SimTime};

/// Finagle's penalty for an endpoint with requests outstanding and no RTT history: `Long.MaxValue >> 16` ns
/// (about 1.6 days), here in µs.
const PENALTY_US: f64 = (i64::MAX >> 16) as f64 / 1e3;

/// Registry entry.
pub const INFO: ControllerInfo = ControllerInfo {
    main_params: &["decay_s"],
    name: "peak-ewma",
    summary: "Finagle/Linkerd P2C on peak-EWMA RTT × (outstanding + 1), within weight classes",
    rule: "a weight class drawn by load, then two of its servers at random, and the one with the lower expected wait (peak round-trip average × (outstanding + 1)) wins",
    params: &[
        ParamInfo { key: "decay_s", label: "Round-trip estimate decay time", unit: "s", default: 10.0, min: 0.001, max: 86_400.0, choices: &[], help: "time constant τ of the RTT estimate's decay (Finagle decayTime and Linkerd ewma decay: 10 s)" },
        ParamInfo { key: "default_rtt_ms", label: "Round-trip estimate of a new server", unit: "ms", default: 30.0, min: 0.0, max: 1_000_000.0, choices: &[], help: "RTT estimate of a server with no history (Linkerd default_rtt: 30 ms; 0 is Finagle, which penalizes instead)" },
    ],
    build,
    formula: None,
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
    charted_terms: &[],
    bytes_per_server: 48,
};

fn build(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
    let tau = from_secs_f64(spec.get("decay_s")).max(1) as f64;
    let default_rtt = spec.get("default_rtt_ms") * 1e3;
    let member: Vec<bool> = servers.iter().map(|&r| r == Role::Replica).collect();
    per_host(hosts, |_| PeakEwma::new(tau, default_rtt, &member))
}

/// Finagle's `Metric` for one endpoint, as one host sees it.
#[derive(Clone, Copy, Debug)]
struct Metric {
    /// The peak-sensitive RTT estimate, µs.
    cost: f64,
    /// When the estimate was last observed (sampled or read).
    stamp: SimTime,
}

impl Metric {
    /// The estimate decayed to `now` after observing `rtt` µs (Finagle's `observe`), without storing it.
    fn observed(&self, now: SimTime, rtt: f64, tau: f64) -> f64 {
        let dt = now.saturating_sub(self.stamp) as f64;
        let w = rng::exp(-dt / tau);
        if rtt > self.cost {
            rtt
        } else {
            self.cost * w + rtt * (1.0 - w)
        }
    }

    fn observe(&mut self, now: SimTime, rtt: f64, tau: f64) {
        self.cost = self.observed(now, rtt, tau);
        self.stamp = self.stamp.max(now);
    }
}

/// Finagle's load from a decayed estimate and the requests outstanding.
fn load_of(cost: f64, pending: u32) -> f64 {
    if cost == 0.0 && pending != 0 {
        PENALTY_US + f64::from(pending)
    } else {
        cost * (f64::from(pending) + 1.0)
    }
}

/// One host's peak-EWMA balancer.
#[derive(Clone, Debug)]
pub struct PeakEwma {
    tau: f64,
    metrics: Vec<Metric>,
    member: Vec<bool>,
    /// This host's in-flight counts, now and at its last pick (for diagnostics).
    pending: InFlight,
    last_now: SimTime,
}

impl PeakEwma {
    /// A balancer with decay time `tau` µs and initial estimate `default_rtt` µs; `member` marks the replicas.
    fn new(tau: f64, default_rtt: f64, member: &[bool]) -> PeakEwma {
        PeakEwma {
            tau,
            metrics: vec![Metric { cost: default_rtt, stamp: 0 }; member.len()],
            member: member.to_vec(),
            pending: InFlight::new(member.len()),
            last_now: 0,
        }
    }

    /// Finagle's `Metric.get`: decays the estimate to `now` (storing it) and returns the load.
    fn read_load(&mut self, c: &Candidate, now: SimTime) -> f64 {
        let m = &mut self.metrics[c.server];
        m.observe(now, 0.0, self.tau);
        load_of(m.cost, c.in_flight)
    }

    /// The load `read_load` would return, without changing anything (for charts).
    fn peek_load(&self, c: &Candidate, now: SimTime) -> f64 {
        load_of(self.metrics[c.server].observed(now, 0.0, self.tau), c.in_flight)
    }

    fn sample(&mut self, now: SimTime, server: usize, rtt: SimDuration) {
        self.last_now = self.last_now.max(now);
        if self.member.get(server).copied().unwrap_or(false) {
            self.metrics[server].observe(now, rtt as f64, self.tau);
        }
    }
}

/// Position of the `r`-th candidate (0-based) with configured load exactly `class`.
fn nth_in_class(cands: &[Candidate], class: f64, r: usize) -> usize {
    cands.iter().enumerate().filter(|(_, c)| c.configured_load == class).nth(r).map_or(0, |(i, _)| i)
}

impl Controller for PeakEwma {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        let cands = view.candidates;
        self.last_now = self.last_now.max(view.now);
        if view.load_index.is_none() {
            for c in cands {
                self.pending.set(c.server, c.in_flight);
            }
        }
        self.pending.mark_pick();
        // The weight class, with probability weight × size: a draw by configured load, keeping only its class.
        let first = view.sample_by_load(rng)?;
        // Over the full replica list the load index holds the classes (O(1)); otherwise scan for them.
        let class = view.load_index.map(|index| index.class_of(first));
        let load = cands[first].configured_load;
        let size = class.map_or_else(|| cands.iter().filter(|c| c.configured_load == load).count(), <[u32]>::len);
        if size == 1 {
            return Some(first);
        }
        // P2CPick: two distinct members uniformly, the second draw skipping the first.
        let a = rng.below(size as u64) as usize;
        let mut b = rng.below(size as u64 - 1) as usize;
        if b >= a {
            b += 1;
        }
        let nth = |r: usize| class.map_or_else(|| nth_in_class(cands, load, r), |class| class[r] as usize);
        let (a, b) = (nth(a), nth(b));
        let load_a = self.read_load(&cands[a], view.now);
        let load_b = self.read_load(&cands[b], view.now);
        Some(if load_a < load_b { a } else { b })
    }

    fn on_in_flight(&mut self, server: usize, in_flight: u32) {
        self.pending.set(server, in_flight);
    }

    fn on_connect(&mut self, now: SimTime, server: usize, ok: bool, elapsed: SimDuration) {
        if ok {
            self.last_now = self.last_now.max(now); // the session is open; its RTT is observed at the close
        } else {
            self.sample(now, server, elapsed); // Finagle: a failed session ends too, observing its time to failure
        }
    }

    fn on_close(&mut self, now: SimTime, server: usize, held: SimDuration) {
        self.sample(now, server, held);
    }

    /// The exact pick probability of each candidate now (weight class × within-class P2C on the loads as they
    /// would read now), scaled to the sum of the configured loads.
    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let cands = view.candidates;
        let total: f64 = cands.iter().map(|c| c.configured_load.max(0.0)).sum();
        let loads: Vec<f64> = cands.iter().map(|c| self.peek_load(c, view.now)).collect();
        for (i, c) in cands.iter().enumerate() {
            let w = c.configured_load;
            if w.is_nan() || w <= 0.0 || total <= 0.0 {
                out.push(0.0);
                continue;
            }
            let members: Vec<usize> = (0..cands.len()).filter(|&j| cands[j].configured_load == w).collect();
            let class_p = w * members.len() as f64 / total;
            let m = members.len() as f64;
            let within = if members.len() == 1 {
                1.0
            } else {
                let wins: f64 = (members.iter().filter(|&&j| j != i))
                    .map(|&j| f64::from(u8::from(loads[i] < loads[j])) + f64::from(u8::from(loads[i] <= loads[j])))
                    .sum();
                wins / (m * (m - 1.0))
            };
            out.push(class_p * within * total);
        }
    }

    /// As of this host's latest event: the RTT estimate decayed to then, the requests outstanding at the last pick,
    /// and the resulting load, in ms.
    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        let Some(m) = self.metrics.get(server) else { return };
        let estimate = m.observed(self.last_now, 0.0, self.tau);
        let pending = self.pending.at_last_pick(server);
        out.push(("rtt_estimate_ms", estimate / 1e3));
        out.push(("pending", f64::from(pending)));
        out.push(("load_ms", load_of(estimate, pending) / 1e3));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::{MILLISECOND, SECOND};

    const TAU: f64 = 10e6;

    fn cand(server: usize, load: f64, in_flight: u32) -> Candidate {
        Candidate { server, configured_load: load, in_flight }
    }

    fn estimate_ms(p: &PeakEwma, server: usize) -> f64 {
        p.metrics[server].cost / 1e3
    }

    #[test]
    fn peak_ewma_update_on_a_hand_sequence() {
        // τ = 10 s, start 30 ms at t = 0.
        let mut p = PeakEwma::new(TAU, 30e3, &[true]);
        // t = 1 s, RTT 50 ms > 30 ms: the peak is taken as is.
        p.on_close(SECOND, 0, 50 * MILLISECOND);
        assert_eq!(estimate_ms(&p, 0), 50.0);
        // t = 11 s, RTT 20 ms < 50 ms: w = e^(−10/10) = 0.367879; 50·w + 20·(1 − w) = 31.0364 ms.
        p.on_close(11 * SECOND, 0, 20 * MILLISECOND);
        let e1 = (-1.0f64).exp();
        assert!((estimate_ms(&p, 0) - (50.0 * e1 + 20.0 * (1.0 - e1))).abs() < 1e-9);
        assert!((estimate_ms(&p, 0) - 31.0364).abs() < 1e-4);
        // Same instant, RTT 20 ms again: Δt = 0 gives w = 1, so a simultaneous sample moves nothing.
        p.on_close(11 * SECOND, 0, 20 * MILLISECOND);
        assert!((estimate_ms(&p, 0) - 31.0364).abs() < 1e-4);
        // A read 10 s later decays toward 0: 31.0364·e^−1 = 11.4176 ms; the load with 2 outstanding is 3× that.
        let c = cand(0, 1.0, 2);
        let load = p.read_load(&c, 21 * SECOND);
        assert!((estimate_ms(&p, 0) - 11.4176).abs() < 1e-4);
        assert!((load / 1e3 - 3.0 * 11.4176).abs() < 1e-3);
        // A spike is taken at once, whatever the history.
        p.on_close(21 * SECOND, 0, 900 * MILLISECOND);
        assert_eq!(estimate_ms(&p, 0), 900.0);
    }

    #[test]
    fn finagle_penalizes_an_endpoint_with_no_history_and_requests_outstanding() {
        // default_rtt 0 is Finagle's start: an idle endpoint with no history has load 0 (it is tried first), one
        // with requests outstanding gets Penalty + pending.
        let mut p = PeakEwma::new(TAU, 0.0, &[true, true]);
        assert_eq!(p.read_load(&cand(0, 1.0, 0), SECOND), 0.0);
        assert_eq!(p.read_load(&cand(0, 1.0, 3), SECOND), PENALTY_US + 3.0);
        // Linkerd's 30 ms default: load 30 ms × (pending + 1), decaying with τ.
        let mut p = PeakEwma::new(TAU, 30e3, &[true]);
        assert_eq!(p.read_load(&cand(0, 1.0, 1), 0), 60e3);
    }

    #[test]
    fn refused_connects_drag_the_estimate_toward_their_round_trip() {
        // A server at 90 ms that starts refusing every 10 ms within 0.5 ms: each sample multiplies the gap to
        // 0.5 ms by e^(−Δt/τ), so after 10 s the estimate is 0.5 + 89.5·e^−1 = 33.43 ms and after 30 s
        // 0.5 + 89.5·e^−3 = 4.96 ms, far below the healthy servers' 90 ms.
        let mut p = PeakEwma::new(TAU, 30e3, &[true]);
        p.on_close(0, 0, 90 * MILLISECOND);
        for k in 1..=3000u64 {
            p.on_connect(k * 10 * MILLISECOND, 0, false, 500);
            if k == 1000 {
                assert!((estimate_ms(&p, 0) - (0.5 + 89.5 * (-1.0f64).exp())).abs() < 1e-6);
            }
        }
        assert!((estimate_ms(&p, 0) - (0.5 + 89.5 * (-3.0f64).exp())).abs() < 1e-6);
        // A successful connect alone observes nothing: the RTT comes at the close.
        p.on_connect(31 * SECOND, 0, true, 500);
        assert!((estimate_ms(&p, 0) - (0.5 + 89.5 * (-3.0f64).exp())).abs() < 1e-6);
    }

    #[test]
    fn weight_classes_then_p2c_within_the_class() {
        // Server 0 alone in class 100; servers 1 and 2 in class 200. Class probabilities 100/500 and 400/500.
        // Within class 200 both are always drawn, and server 1 (lower load) always wins: 0.2, 0.8, 0.
        let mut p = PeakEwma::new(TAU, 30e3, &[true; 3]);
        let cands = [cand(0, 100.0, 0), cand(1, 200.0, 0), cand(2, 200.0, 1)];
        let view = HostView { now: SECOND, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let mut w = Vec::new();
        p.weights(&view, &mut w);
        assert!((w[0] - 100.0).abs() < 1e-9 && (w[1] - 400.0).abs() < 1e-9 && w[2] == 0.0, "{w:?}");
        let seed = 51;
        let mut rng = Rng::new(seed, Stream::Balancing);
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            counts[p.pick(&view, &mut rng).unwrap()] += 1;
        }
        // σ = √(0.16/100k) = 0.0013; allow 0.006.
        assert!((f64::from(counts[0]) / 1e5 - 0.2).abs() < 0.006 && counts[2] == 0, "{counts:?}; seed={seed}");
    }

    #[test]
    fn equal_loads_split_evenly_and_the_second_draw_takes_ties() {
        // Two members with equal loads: whichever is drawn second wins, so each gets ½; with three members and
        // loads 30, 30, 60 (ms × 1): the two cheap ones win every pair they are in: each ½, the dear one 0.
        let p = PeakEwma::new(TAU, 30e3, &[true; 3]);
        let cands = [cand(0, 1.0, 0), cand(1, 1.0, 0), cand(2, 1.0, 1)];
        let mut w = Vec::new();
        p.weights(&HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: None }, &mut w);
        assert!((w[0] - 1.5).abs() < 1e-12 && (w[1] - 1.5).abs() < 1e-12 && w[2] == 0.0, "{w:?}");
    }

    #[test]
    fn the_primary_is_not_sampled() {
        let mut p = PeakEwma::new(TAU, 30e3, &[false, true]);
        p.on_close(SECOND, 0, 5 * SECOND);
        assert_eq!(estimate_ms(&p, 0), 30.0);
    }
}
