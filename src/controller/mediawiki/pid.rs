//! `pid`: a PID controller on conn-p's error signal, as suggested in the Phabricator task (seed 002: "instead of
//! sliding window, it can use a PID controller"; the proposer's reply on what the I and D terms would do; a later
//! comment: "Instead of moving average, it could take the previous value and basically turn it into a PID
//! controller"). REFERENCE §2 for the error signal, §3 (Semian's adaptive breaker) for the anti-windup habit.
//!
//! Per server i, with r_i the normalised configured load, C_i the adjusted connection count (see `counts`),
//! T = Σ C and the gain schedule g = 1/(1 + T/E):
//!
//! ```text
//! e_i = (C_i − r_i·T)·g                         error, connections (conn-p's s·e_i is its adjustment)
//! P_i = kp·e_i                                  every pick
//! I_i = ki·∫ e_i dt,  |∫ e_i dt| ≤ integral_max  updated at most every period_ms, over the real elapsed time
//! D_i = kd·g·dC_i/dt                            derivative on the measurement C_i, not on the error, so a
//!                                               change of the setpoint r_i·T (another server's count) does not kick it
//! u_i = clamp(P_i + I_i + D_i, ±output_max)     output clamp
//! w′_i = max(r_i − u_i, 0), renormalised to Σ w′ = 1 (all zero: the configured loads)
//! ```
//!
//! Units: kp in 1/connection (weight fraction per connection of error), ki in 1/(connection·s), kd in
//! s/connection, integral_max in connection·seconds, output_max in weight fraction (1 = the whole section).
//!
//! Recovery: after a fault clears, the integral has to unwind before the server gets its share back. On s1 the
//! integral's time constant is about 90 s (derived in the plain-s1 test), so a server held down by `slow` regains
//! its share over a minute or two: the undershoot Tim Starling predicted in the task ("the connection count will
//! undershoot the target for a while when a stall finishes"). conn-p has no such memory.
//!
//! Anti-windup: the integral is clamped to ±integral_max, and it does not integrate further in a direction in
//! which the output is already saturated (u at ±output_max). The weight's own clamp at 0 does not freeze it: with
//! per-host counts of a few connections that clamp flickers with the noise, and freezing only the positive errors
//! then would bias the integral (load-50 servers on plain-s1 would get several percent more than its equilibrium).
//!
//! Defaults: kp = 1/40 = conn-p's s (S = 40), so P alone is conn-p; ki = kp/10 (an integral time of 10 s, "a small
//! ki"), kd = 0 (the derivative of a count of a handful of connections per host is mostly noise);
//! integral_max = 40 connection·s, so the integral can move a weight by at most ki·40 = 0.1; output_max = 1.
//! With ki = kd = 0 the weights equal conn-p's with S = 1/kp whenever |kp·e| ≤ output_max (always true with the
//! defaults, since kp·e ≥ −r·E/S ≥ −1 and a positive excess is clamped at weight 0 by both).
//!
//! Sampling: the P term uses the error at every pick. A host observes its error only when it picks; the integral
//! holds each observation until the next pick (at most 1 s: a host idle for longer does not wind its integrator
//! on a guess) and takes in what accumulated at most every period; D uses the mean count observed since the
//! previous update. Both hold between updates.

use super::conn_index::{order_bits, Expiring, PositionCounts, Split};
use super::conn_p::{build_counts, clamp_and_normalise, Scratch, Terms, FAILURE_WINDOW, HALVING, REFRESH, SCOPE};
use super::counts::ConnCounts;
use crate::controller::load_index::LoadIndex;
use crate::controller::pick_index::InFlight;
use crate::controller::Candidate;
use crate::controller::Role;
use crate::controller::{pick_weighted, Controller, ControllerInfo, ControllerSpec, HostView, ParamInfo, PID_TERMS};
use crate::rng::Rng;
use crate::time::{from_millis_f64, SimDuration, SimTime, SECOND};

/// Registry entry.
pub const PID: ControllerInfo = ControllerInfo {
    main_params: &["kp", "ki"],
    name: "pid",
    summary: "PID on conn-p's connection-count error: kp, ki, kd, integral clamp, derivative on measurement",
    rule: "a random draw, each server's chance its weight ÷ the total: its share steered by a PID loop on the gap between its connections and its due",
    params: PARAMS,
    build,
    formula: None,
    probe_timeout_ms: crate::controller::PROBE_TIMEOUT_MS,
    charted_terms: PID_TERMS,
    bytes_per_server: 240,
};

const PARAMS: &[ParamInfo] = &[
    ParamInfo {
        key: "kp",
        label: "Proportional gain",
        unit: "1/conn",
        default: 0.025,
        min: 0.0,
        max: 100.0,
        choices: &[],
        help: "proportional gain: weight moved per connection of error (conn-p's s = 1/S = 1/40)",
    },
    ParamInfo {
        key: "ki",
        label: "Integral gain",
        unit: "1/(conn·s)",
        default: 0.0025,
        min: 0.0,
        max: 100.0,
        choices: &[],
        help: "integral gain (kp/10: an integral time of 10 s)",
    },
    ParamInfo {
        key: "kd",
        label: "Derivative gain",
        unit: "s/conn",
        default: 0.0,
        min: 0.0,
        max: 100.0,
        choices: &[],
        help: "derivative gain, on the measured count (0: per-host counts are too noisy to differentiate)",
    },
    ParamInfo {
        key: "integral_max_conn_s",
        label: "Integral clamp",
        unit: "conn·s",
        default: 40.0,
        min: 0.0,
        max: 1e9,
        choices: &[],
        help: "anti-windup clamp on ∫error dt (ki·40 = 0.1: the I term moves a weight by at most 10 points)",
    },
    ParamInfo {
        key: "output_max",
        label: "Output clamp",
        unit: "weight",
        default: 1.0,
        min: 0.0,
        max: 100.0,
        choices: &[],
        help: "output clamp on |P + I + D|, in normalised weight (1 = the whole section)",
    },
    ParamInfo {
        key: "period_ms",
        label: "Update period",
        unit: "ms",
        default: 100.0,
        min: 0.0,
        max: 60_000.0,
        choices: &[],
        help: "the I and D terms update at most this often, integrating the real elapsed time",
    },
    HALVING,
    FAILURE_WINDOW,
    SCOPE,
    REFRESH,
];

/// The longest elapsed time one observed error is integrated over.
const MAX_INTEGRATION_STEP: SimDuration = SECOND;

/// Gains and limits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gains {
    /// Proportional gain, 1/connection.
    pub kp: f64,
    /// Integral gain, 1/(connection·s).
    pub ki: f64,
    /// Derivative gain, s/connection.
    pub kd: f64,
    /// Clamp on ∫e dt, connection·s.
    pub integral_max: f64,
    /// Clamp on |u|, weight fraction.
    pub output_max: f64,
    /// Least time between I/D updates, µs.
    pub period: SimDuration,
    /// E, connections.
    pub halving: f64,
}

impl Gains {
    fn from_spec(spec: &ControllerSpec) -> Gains {
        Gains {
            kp: spec.get("kp"),
            ki: spec.get("ki"),
            kd: spec.get("kd"),
            integral_max: spec.get("integral_max_conn_s"),
            output_max: spec.get("output_max"),
            period: from_millis_f64(spec.get("period_ms")),
            halving: spec.get("halving_conns"),
        }
    }
}

fn build(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
    let gains = Gains::from_spec(spec);
    build_counts(spec, servers.len(), hosts)
        .into_iter()
        .map(|counts| Box::new(Pid::new(counts, gains, servers.len())) as Box<dyn Controller>)
        .collect()
}

/// One server's controller memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ServerPid {
    /// ∫ e dt, connection·s.
    integral: f64,
    /// The measured count at the last sample, and when.
    last_count: Option<(f64, SimTime)>,
    /// The derivative term held since the last sample.
    d_term: f64,
    /// The integral hit its clamp or was frozen by saturation at the last sample.
    wound: bool,
    /// The error seen at this host's last pick, held until the next one, and when it was seen.
    held: Option<(f64, SimTime)>,
    /// ∫ e dt accumulated since the last sample, connection·s.
    pending: f64,
    /// Sum of the counts observed at this host's picks since the last sample, and how many.
    count_sum: f64,
    observations: u32,
}

/// One app host's PID controller.
#[derive(Debug)]
pub struct Pid {
    counts: ConnCounts,
    gains: Gains,
    servers: Vec<ServerPid>,
    last_sample: Option<SimTime>,
    terms: Vec<Option<Terms>>,
    scratch: Scratch,
    /// The failure window in host scope, where picks over the full replica list go through `index`.
    window_s: Option<u64>,
    index: Option<PidIndex>,
    /// This host's failures still in the window, to take each out of the index when it leaves.
    expiring: Expiring,
    /// The last pick's weights came from the index: its terms are derived from it when asked.
    indexed_last: bool,
}

impl Pid {
    /// A controller reading `counts`, for `servers` servers.
    pub fn new(counts: ConnCounts, gains: Gains, servers: usize) -> Pid {
        Pid {
            window_s: counts.host_window_s(),
            counts,
            gains,
            servers: vec![ServerPid::default(); servers],
            last_sample: None,
            terms: vec![None; servers],
            scratch: Scratch::default(),
            index: None,
            expiring: Expiring::default(),
            indexed_last: false,
        }
    }

    /// The I and D terms' update, if a period has passed since the last one.
    fn sample(&mut self, now: SimTime, view: &HostView<'_>, sc: &Scratch, total: f64) {
        // The integral holds each observed error until the host's next pick: e(t_k)·(t_k+1 − t_k). Picks are
        // Poisson arrivals, so the error seen at one is an unbiased sample of the time average, and the gap that
        // follows it is independent of it. (Integrating an error over the gap *before* it was seen, or sampling
        // one pick per period, is biased: the gap and the pick's own earlier connection both correlate with the
        // counts, and db1163's long queries would be pushed a few percent past the integral's equilibrium.)
        for (k, c) in view.candidates.iter().enumerate() {
            let s = &mut self.servers[c.server];
            if let Some((e, at)) = s.held {
                s.pending += e * (now.saturating_sub(at).min(MAX_INTEGRATION_STEP) as f64 / 1e6);
            }
            s.held = Some((sc.errors[k], now));
            s.count_sum += sc.counts[k];
            s.observations += 1;
        }
        if self.due(now) {
            self.update(now, total);
        }
    }

    /// A period has passed since the I and D terms' last update.
    fn due(&self, now: SimTime) -> bool {
        self.last_sample.is_none_or(|t| now.saturating_sub(t) >= self.gains.period)
    }

    /// The I and D terms' update from what the picks since the last one observed.
    fn update(&mut self, now: SimTime, total: f64) {
        self.last_sample = Some(now);
        let g = 1.0 / (1.0 + total / self.gains.halving);
        let gains = self.gains;
        for s in self.servers.iter_mut().filter(|s| s.observations > 0) {
            let count = s.count_sum / s.observations as f64;
            let increment = std::mem::take(&mut s.pending);
            (s.count_sum, s.observations) = (0.0, 0);
            // Conditional integration: no further winding in a direction in which the output is saturated.
            let e = s.held.map_or(0.0, |(e, _)| e);
            let u = gains.kp * e + gains.ki * s.integral + s.d_term;
            let frozen = (u >= gains.output_max && increment > 0.0) || (u <= -gains.output_max && increment < 0.0);
            if !frozen {
                s.integral += increment;
            }
            let limit = gains.integral_max;
            s.wound = frozen || s.integral.abs() > limit;
            s.integral = s.integral.clamp(-limit, limit);
            s.d_term = match s.last_count {
                Some((before, at)) if now > at => gains.kd * g * (count - before) / ((now - at) as f64 / 1e6),
                _ => 0.0,
            };
            s.last_count = Some((count, now));
        }
    }

    /// Appends the weights for the filled scratch; records each candidate's terms if `record`.
    fn weights_into(&mut self, view: &HostView<'_>, sc: &mut Scratch, record: bool) {
        let gains = self.gains;
        for (k, c) in view.candidates.iter().enumerate() {
            let s = &self.servers[c.server];
            let (p, i, d) = (gains.kp * sc.errors[k], gains.ki * s.integral, s.d_term);
            let u = (p + i + d).clamp(-gains.output_max, gains.output_max);
            let w = sc.ratios[k] - u;
            sc.weights.push(w);
            if record {
                let clamped = s.wound || w < 0.0 || (p + i + d).abs() > gains.output_max;
                let terms = Terms { conns: sc.counts[k], error: sc.errors[k], p, i, d, clamped, weight: 0.0 };
                self.terms[c.server] = Some(terms);
            }
        }
        clamp_and_normalise(&mut sc.weights);
        if sc.weights.iter().all(|&w| w <= 0.0) {
            sc.weights.clear();
            sc.weights.extend_from_slice(&sc.ratios);
        }
        if record {
            for (k, c) in view.candidates.iter().enumerate() {
                if let Some(t) = &mut self.terms[c.server] {
                    t.weight = sc.weights[k];
                }
            }
        }
    }
}

impl Pid {
    /// The pick over any candidate list, every server observed: returns the choice and T.
    fn pick_scan(&mut self, view: &HostView<'_>, rng: &mut Rng) -> (Option<usize>, f64) {
        let mut sc = std::mem::take(&mut self.scratch);
        let total = sc.fill(view, &mut self.counts, self.gains.halving, true);
        self.sample(view.now, view, &sc, total);
        self.weights_into(view, &mut sc, true);
        let weights = &sc.weights;
        let chosen = pick_weighted(view.candidates, rng, |i, _| weights[i]);
        self.scratch = sc;
        if let Some(k) = chosen {
            self.counts.on_pick(view.candidates[k].server);
        }
        (chosen, total)
    }

    /// The pick over the full replica list from the live index: the same observations, I and D updates and
    /// weights as `pick_scan`, in O(log n) but at an update.
    fn pick_indexed(&mut self, view: &HostView<'_>, loads: &LoadIndex, rng: &mut Rng) -> Option<usize> {
        let gains = self.gains;
        let mut index = self.index.take().expect("a live index");
        let (total, damping) = index.observe(view.now, &gains);
        if self.due(view.now) {
            index.write_out(&mut self.servers);
            self.update(view.now, total);
            index.start(view.now, total, &self.servers, &gains);
            if !index.safe {
                // The output clamp may bind until the next update: this pick's weights as the scan's.
                index.write_out(&mut self.servers);
                self.index = Some(index);
                self.indexed_last = false;
                let mut sc = std::mem::take(&mut self.scratch);
                sc.fill(view, &mut self.counts, gains.halving, true);
                self.weights_into(view, &mut sc, true);
                let weights = &sc.weights;
                let chosen = pick_weighted(view.candidates, rng, |i, _| weights[i]);
                self.scratch = sc;
                return chosen;
            }
        }
        let chosen = index.draw(total, damping, &gains, loads, rng);
        self.index = Some(index);
        self.indexed_last = true;
        chosen
    }
}

impl Controller for Pid {
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize> {
        let gains = self.gains;
        let index = &mut self.index;
        self.expiring.expire(view.now, |server| {
            if let Some(index) = index {
                index.change(server, None, -1, &gains);
            }
        });
        let full = view.load_index.filter(|_| self.window_s.is_some());
        if let Some(loads) = full {
            let fits = self.index.as_ref().is_some_and(|i| i.fits(loads.generation(), view.candidates));
            if fits && self.index.as_ref().is_some_and(|i| i.live && i.safe) {
                return self.pick_indexed(view, loads, rng);
            }
        }
        // A scan: the terms of the last indexed pick written out first, for the servers it will not record.
        if std::mem::take(&mut self.indexed_last) {
            if let Some(index) = &self.index {
                for &server in &index.list.servers {
                    self.terms[server] = index.terms(server, &self.servers, &gains);
                }
            }
        }
        if let Some(index) = &mut self.index {
            index.write_out(&mut self.servers);
        }
        let (chosen, total) = self.pick_scan(view, rng);
        if let Some(loads) = full {
            // That scan observed every server: the index starts from it.
            if !self.index.as_ref().is_some_and(|i| i.fits(loads.generation(), view.candidates)) {
                let counts = &self.scratch.counts;
                self.index = Some(PidIndex::new(loads.generation(), view.candidates, counts, self.terms.len()));
            }
            if let Some(index) = &mut self.index {
                index.start(view.now, total, &self.servers, &gains);
            }
        }
        chosen
    }

    fn on_in_flight(&mut self, server: usize, in_flight: u32) {
        if let Some(index) = &mut self.index {
            index.change(server, Some(in_flight), 0, &self.gains);
        }
    }

    fn on_connect(&mut self, now: SimTime, server: usize, ok: bool, _elapsed: SimDuration) {
        self.counts.on_connect(now, server, ok);
        if let (false, Some(window_s)) = (ok, self.window_s) {
            self.expiring.push(now, server, window_s);
            if let Some(index) = &mut self.index {
                index.change(server, None, 1, &self.gains);
            }
        }
    }

    fn on_close(&mut self, _now: SimTime, server: usize, _held: SimDuration) {
        self.counts.on_close(server);
    }

    /// As conn-p: the section's open connections in section scope, none in host scope.
    fn conn_estimate(&self, server: usize) -> Option<f64> {
        self.counts.section_open(server)
    }

    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        let mut sc = Scratch::default();
        let mut counts_view = Vec::new();
        self.counts.measure_now(view, &mut counts_view);
        sc.loads.extend(view.candidates.iter().map(|c| c.configured_load));
        super::conn_p::error_signal(&sc.loads, &counts_view, self.gains.halving, &mut sc.ratios, &mut sc.errors);
        sc.counts = counts_view;
        let gains = self.gains;
        for (k, c) in view.candidates.iter().enumerate() {
            let s = &self.servers[c.server];
            let u =
                (gains.kp * sc.errors[k] + gains.ki * s.integral + s.d_term).clamp(-gains.output_max, gains.output_max);
            sc.weights.push(sc.ratios[k] - u);
        }
        clamp_and_normalise(&mut sc.weights);
        if sc.weights.iter().all(|&w| w <= 0.0) {
            sc.weights.clear();
            sc.weights.extend_from_slice(&sc.ratios);
        }
        out.extend_from_slice(&sc.weights);
    }

    fn diagnostics(&self, server: usize, out: &mut Vec<(&'static str, f64)>) {
        let indexed =
            self.indexed_last.then(|| self.index.as_ref().and_then(|i| i.terms(server, &self.servers, &self.gains)));
        if let Some(t) = indexed.unwrap_or_else(|| self.terms.get(server).copied().flatten()) {
            t.push(out);
            out.push(("integral_conn_s", self.servers[server].integral));
        }
    }
}

/// pid's picks over the host's full replica list in O(log n) (issue 22), host scope.
///
/// Between two updates of the I and D terms (every `period_ms`), server i's weight before renormalising is
/// `w_i = r_i − u_i = (1 + kp·g·T)·r_i − kp·g·C_i − q_i` with g = 1/(1 + T/E) and q_i = ki·I_i + D_i fixed: a
/// linear form, with coefficients common to every server, of r_i, C_i and q_i (split in its positive and negative
/// parts), so four Fenwick trees (the crate's [`LoadIndex`]) give every prefix sum and the draw is one descent of
/// all four ([`LoadIndex::find_linear`]). w_i grows with T (the P term's pull falls as T rises), so server i's
/// weight is positive exactly when T ≥ its own threshold T*_i: servers whose weight is clamped at 0 are left out
/// of the trees, and the greatest threshold kept and the least left out are the tops of two min-trees. The output
/// clamp ±output_max cannot bind while output_max ≥ every r_i and kp·r_i·E − q_i ≤ output_max (checked at every
/// update; otherwise picks scan).
///
/// The per-pick bookkeeping is lazy too: each pick adds its held error to every server's ∫e dt (the error seen at
/// the previous pick times the time since), e_i·Δ = C_i·g·Δ − r_i·g·T·Δ; the sums of g·Δ and g·T·Δ over picks are
/// kept once for the section, and a server's own count enters only when it changes (it is marked, and settled at
/// the next pick against the sums), as do the counts observed for D. At an update every server's terms are
/// written out (O(n) once a period) and the trees rebuilt.
#[derive(Debug)]
struct PidIndex {
    generation: u64,
    list: PositionCounts,
    ratios: Vec<f64>,
    /// C per position, now and at the last pick.
    counts: InFlight,
    total_conns: u64,
    /// q_i = ki·I_i + D_i since the last update.
    q: Vec<f64>,
    /// Kept positions' r, C, max(q, 0) and max(−q, 0).
    trees: [LoadIndex; 4],
    /// Kept ⇔ T*_i ≤ T.
    split: Split,
    /// Σ over picks of g·Δ and g·T·Δ (Δ the capped time to the next pick), and the number of picks.
    g_sum: f64,
    h_sum: f64,
    picks: u64,
    /// `h_sum` and `picks` when the lazy sums were last written out.
    h_start: f64,
    picks_start: u64,
    /// Per position: the count in force since `g_ref`/`p_ref`, and the ∫e dt (less its r part) and Σ counts
    /// settled so far, and the observations before `picks_start`.
    c_ref: Vec<u32>,
    g_ref: Vec<f64>,
    p_ref: Vec<u64>,
    pending: Vec<f64>,
    count_sum: Vec<f64>,
    observations: Vec<u32>,
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// The last pick: when, its 1 + T/E, T; the renormalising sum and whether every weight was 0.
    last: Option<(SimTime, f64, f64)>,
    sum: f64,
    all_zero: bool,
    /// The output clamp cannot bind until the next update.
    safe: bool,
    /// The lazy sums are live (false after a scan, until the next indexed pick rebuilds them).
    live: bool,
}

impl PidIndex {
    fn new(generation: u64, cands: &[Candidate], counts: &[f64], servers: usize) -> PidIndex {
        let n = cands.len();
        let total_load: f64 = cands.iter().map(|c| c.configured_load.max(0.0)).sum();
        let mut at = InFlight::new(n);
        for (p, c) in counts.iter().enumerate() {
            at.set(p, *c as u32);
        }
        let zeros = vec![0.0; n];
        PidIndex {
            generation,
            list: PositionCounts::new(cands, counts, servers),
            ratios: cands.iter().map(|c| c.configured_load.max(0.0) / total_load).collect(),
            counts: at,
            total_conns: counts.iter().map(|&c| c as u64).sum(),
            q: zeros.clone(),
            trees: std::array::from_fn(|_| LoadIndex::new(&zeros)),
            split: Split::new(vec![u64::MAX - 1; n]),
            g_sum: 0.0,
            h_sum: 0.0,
            picks: 0,
            h_start: 0.0,
            picks_start: 0,
            c_ref: vec![0; n],
            g_ref: zeros.clone(),
            p_ref: vec![0; n],
            pending: zeros.clone(),
            count_sum: zeros,
            observations: vec![0; n],
            dirty: Vec::new(),
            is_dirty: vec![false; n],
            last: None,
            sum: 0.0,
            all_zero: false,
            safe: false,
            live: false,
        }
    }

    fn fits(&self, generation: u64, cands: &[Candidate]) -> bool {
        self.generation == generation && self.list.servers.len() == cands.len()
    }

    fn count(&self, p: usize) -> u32 {
        self.list.count(p)
    }

    /// T*_i: the weight is positive exactly when T ≥ this. w·(1 + T/E) = (r − q) + T·(kp·r + (r − q)/E) − kp·C.
    fn key(&self, p: usize, gains: &Gains) -> u64 {
        let (r, c) = (self.ratios[p], self.count(p) as f64);
        let rho = r - self.q[p];
        let slope = gains.kp * r + rho / gains.halving;
        let t = if slope > 0.0 { (gains.kp * c - rho) / slope } else { f64::INFINITY };
        order_bits(if t.is_nan() { f64::INFINITY } else { t })
    }

    /// Puts position `p`'s terms into the trees or takes them out.
    fn keep(&mut self, p: usize, kept: bool) {
        let q = self.q[p];
        let values = if kept { [self.ratios[p], self.count(p) as f64, q.max(0.0), (-q).max(0.0)] } else { [0.0; 4] };
        for (tree, v) in self.trees.iter_mut().zip(values) {
            tree.set(p, v);
        }
    }

    fn changed(&mut self, p: usize, before: u32, gains: &Gains) {
        let now = self.count(p);
        if now == before {
            return;
        }
        self.total_conns = self.total_conns + now as u64 - before as u64;
        self.counts.set(p, now);
        if !self.is_dirty[p] {
            self.is_dirty[p] = true;
            self.dirty.push(p as u32);
        }
        match self.split.place(p, self.key(p, gains)) {
            (true, true) => self.trees[1].set(p, now as f64),
            (kept, was) if kept != was => self.keep(p, kept),
            _ => {}
        }
    }

    /// As `ConnIndex::change`.
    fn change(&mut self, server: usize, in_flight: Option<u32>, delta: i32, gains: &Gains) {
        if let Some((p, before)) = self.list.change(server, in_flight, delta) {
            self.changed(p, before, gains);
        }
    }

    /// Keeps exactly the positions with T*_i ≤ `total`.
    fn set_threshold(&mut self, total: f64) {
        let mut moved = Vec::new();
        self.split.set_threshold(order_bits(total), |p, kept| moved.push((p, kept)));
        for (p, kept) in moved {
            self.keep(p, kept);
        }
    }

    /// Settles position `p`'s lazy sums up to now and starts them again from its current count.
    fn settle(&mut self, p: usize) {
        let c = self.c_ref[p] as f64;
        self.pending[p] += c * (self.g_sum - self.g_ref[p]);
        self.count_sum[p] += c * (self.picks - self.p_ref[p]) as f64;
        (self.c_ref[p], self.g_ref[p], self.p_ref[p]) = (self.count(p), self.g_sum, self.picks);
    }

    /// Writes every position's lazy sums into `servers` (as the scan would have them now) and stops them.
    fn write_out(&mut self, servers: &mut [ServerPid]) {
        if !self.live {
            return;
        }
        for p in 0..self.list.servers.len() {
            self.settle(p);
            let s = &mut servers[self.list.servers[p]];
            s.pending = self.pending[p] - self.ratios[p] * (self.h_sum - self.h_start);
            s.count_sum = self.count_sum[p];
            s.observations = self.observations[p] + (self.picks - self.picks_start) as u32;
            if let Some((at, damping, total)) = self.last {
                let c = self.counts.at_last_pick(p) as f64;
                s.held = Some(((c - self.ratios[p] * total) / damping, at));
            }
        }
        self.live = false;
    }

    /// Starts the lazy sums from `servers` after a pick at `now` with T = `total` that observed every position
    /// (a scan, or an update), and rebuilds the trees from the current I and D terms.
    fn start(&mut self, now: SimTime, total: f64, servers: &[ServerPid], gains: &Gains) {
        let n = self.list.servers.len();
        self.dirty.clear();
        self.is_dirty.iter_mut().for_each(|d| *d = false);
        (self.h_start, self.picks_start) = (self.h_sum, self.picks);
        let mut safe = true;
        for p in 0..n {
            let s = &servers[self.list.servers[p]];
            self.pending[p] = s.pending;
            self.count_sum[p] = s.count_sum;
            self.observations[p] = s.observations;
            (self.c_ref[p], self.g_ref[p], self.p_ref[p]) = (self.count(p), self.g_sum, self.picks);
            self.q[p] = gains.ki * s.integral + s.d_term;
            let r = self.ratios[p];
            safe &= r <= gains.output_max && gains.kp * r * gains.halving - self.q[p] <= gains.output_max;
        }
        self.counts.mark_pick();
        self.last = Some((now, 1.0 + total / gains.halving, total));
        // Rebuild the trees and the thresholds from scratch for the new q: nothing kept, then T lets in its share.
        let zeros = vec![0.0; n];
        self.trees = std::array::from_fn(|_| LoadIndex::new(&zeros));
        self.split = Split::new((0..n).map(|p| self.key(p, gains)).collect());
        self.set_threshold(total);
        self.safe = safe;
        self.live = true;
    }

    /// The lazy part of `Pid::sample` for a pick at `now`: the previous pick's held errors integrated, this
    /// pick observed. Returns T and 1 + T/E.
    fn observe(&mut self, now: SimTime, gains: &Gains) -> (f64, f64) {
        if let Some((at, damping, total)) = self.last {
            let dt = now.saturating_sub(at).min(MAX_INTEGRATION_STEP) as f64 / 1e6;
            self.g_sum += dt / damping;
            self.h_sum += total * dt / damping;
        }
        for k in 0..self.dirty.len() {
            let p = self.dirty[k] as usize;
            self.is_dirty[p] = false;
            self.settle(p);
        }
        self.dirty.clear();
        self.picks += 1;
        self.counts.mark_pick();
        let total = self.total_conns as f64;
        let damping = 1.0 + total / gains.halving;
        self.last = Some((now, damping, total));
        (total, damping)
    }

    /// The draw over the current weights (the configured loads' ratios if every weight is 0).
    fn draw(&mut self, total: f64, damping: f64, gains: &Gains, loads: &LoadIndex, rng: &mut Rng) -> Option<usize> {
        self.set_threshold(total);
        let g = 1.0 / damping;
        let coefs = [1.0 + gains.kp * g * total, -gains.kp * g, -1.0, 1.0];
        let sum: f64 = self.trees.iter().zip(coefs).map(|(t, c)| c * t.total()).sum();
        self.sum = sum;
        self.all_zero = !(sum > 0.0 && sum.is_finite());
        if self.all_zero {
            return loads.sample(rng);
        }
        let parts: [(&LoadIndex, f64); 4] = std::array::from_fn(|k| (&self.trees[k], coefs[k]));
        LoadIndex::find_linear(&parts, rng.next_f64() * sum)
    }

    /// The terms pid recorded for `server` at the last pick, derived from the counts then.
    fn terms(&self, server: usize, servers: &[ServerPid], gains: &Gains) -> Option<Terms> {
        let p = self.list.position(server)?;
        let (_, damping, total) = self.last?;
        let s = &servers[server];
        let conns = self.counts.at_last_pick(p) as f64;
        let r = self.ratios[p];
        let error = (conns - r * total) / damping;
        let (pt, i, d) = (gains.kp * error, gains.ki * s.integral, s.d_term);
        let w = r - (pt + i + d).clamp(-gains.output_max, gains.output_max);
        let clamped = s.wound || w < 0.0 || (pt + i + d).abs() > gains.output_max;
        let weight = if self.all_zero {
            r
        } else if w > 0.0 {
            w / self.sum
        } else {
            0.0
        };
        Some(Terms { conns, error, p: pt, i, d, clamped, weight })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{Candidate, StaticWeights};
    use crate::rng::Stream;
    use crate::time::MILLISECOND;

    fn host_counts() -> ConnCounts {
        ConnCounts::host_scope(0, 1, 3, 10)
    }

    fn weights_of(c: &dyn Controller, view: &HostView<'_>) -> Vec<f64> {
        let mut out = Vec::new();
        c.weights(view, &mut out);
        out
    }

    #[test]
    fn with_ki_and_kd_zero_it_is_conn_p() {
        // Random loads and in-flight counts, default S = E = 40 and kp = 1/40: the same weights, bit for bit, and
        // the same picks from the same random stream.
        let mut spec = ControllerSpec::new("pid").unwrap();
        spec.set("ki", 0.0).unwrap();
        spec.set("kd", 0.0).unwrap();
        let servers = vec![Role::Replica; 3];
        let mut pid = build(&spec, &servers, 1).pop().unwrap();
        let mut conn_p =
            (super::super::CONN_P.build)(&ControllerSpec::new("conn-p").unwrap(), &servers, 1).pop().unwrap();
        let mut gen = Rng::new(7, Stream::Control);
        let (mut rng_a, mut rng_b) = (Rng::new(8, Stream::Balancing), Rng::new(8, Stream::Balancing));
        for step in 0..2_000u64 {
            let cands: Vec<Candidate> = (0..3)
                .map(|s| Candidate {
                    server: s,
                    configured_load: 1.0 + gen.below(400) as f64,
                    in_flight: gen.below(if step % 2 == 0 { 5 } else { 200 }) as u32,
                })
                .collect();
            let view =
                HostView { now: step * 37 * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None };
            assert_eq!(pid.pick(&view, &mut rng_a), conn_p.pick(&view, &mut rng_b), "step {step}");
            assert_eq!(weights_of(pid.as_ref(), &view), weights_of(conn_p.as_ref(), &view), "step {step}");
            if gen.chance(0.3) {
                let server = gen.below(3) as usize;
                pid.on_connect(view.now, server, false, SECOND);
                conn_p.on_connect(view.now, server, false, SECOND);
            }
        }
    }

    fn gains() -> Gains {
        Gains {
            kp: 0.01,
            ki: 0.001,
            kd: 0.0,
            integral_max: 1e9,
            output_max: 1.0,
            period: 100 * MILLISECOND,
            halving: 1e12, // g = 1 to within 1e-11 for these counts
        }
    }

    #[test]
    fn the_integral_accumulates_the_error_over_real_elapsed_time() {
        // Loads 1:1, C = (4, 0): T = 4, r·T = 2, e = (2, −2) (g ≈ 1). Picks at 0, 50, 100, 250 ms: the samples are
        // at 0 (first: nothing to integrate), 100 ms (dt 0.1 s → ∫ = 0.2) and 250 ms (dt 0.15 s → ∫ = 0.5);
        // the 50 ms pick is inside the period and changes nothing.
        let mut pid = Pid::new(host_counts(), gains(), 3);
        let cands = [
            Candidate { server: 0, configured_load: 1.0, in_flight: 4 },
            Candidate { server: 1, configured_load: 1.0, in_flight: 0 },
        ];
        let mut rng = Rng::new(1, Stream::Balancing);
        for (ms, integral) in [(0u64, 0.0), (50, 0.0), (100, 0.2), (250, 0.5)] {
            let view = HostView { now: ms * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None };
            pid.pick(&view, &mut rng);
            assert!((pid.servers[0].integral - integral).abs() < 1e-9, "{ms} ms: {}", pid.servers[0].integral);
            assert!((pid.servers[1].integral + integral).abs() < 1e-9);
        }
        // Weights at 250 ms: u = kp·e + ki·∫ = (0.02 + 0.0005, −0.02 − 0.0005) → w′ = (0.4795, 0.5205).
        let view = HostView { now: 250 * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None };
        let w = weights_of(&pid, &view);
        assert!((w[0] - 0.4795).abs() < 1e-9 && (w[1] - 0.5205).abs() < 1e-9, "{w:?}");
        // A 10 s silence integrates at most 1 s of the observed error: ∫ = 0.5 + 2·1.
        let later = HostView { now: 10_250 * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None };
        pid.pick(&later, &mut rng);
        assert!((pid.servers[0].integral - 2.5).abs() < 1e-9);
    }

    #[test]
    fn the_integral_is_clamped_and_frozen_while_the_output_is_saturated() {
        // Clamp at 0.3 conn·s: e = 2 for 0.1 s twice would reach 0.4; it stops at 0.3 and is flagged.
        let mut g = gains();
        g.integral_max = 0.3;
        let mut pid = Pid::new(host_counts(), g, 3);
        let cands = [
            Candidate { server: 0, configured_load: 1.0, in_flight: 4 },
            Candidate { server: 1, configured_load: 1.0, in_flight: 0 },
        ];
        let mut rng = Rng::new(1, Stream::Balancing);
        for ms in [0u64, 100, 200] {
            pid.pick(
                &HostView { now: ms * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None },
                &mut rng,
            );
        }
        assert_eq!(pid.servers[0].integral, 0.3);
        let mut d = Vec::new();
        pid.diagnostics(0, &mut d);
        assert!(d.contains(&("clamped", 1.0)), "{d:?}");
        // Output clamp at 0.5 and kp = 0.3: server 0's u = kp·e = 0.6 is saturated and its error is positive, so
        // it does not wind further; server 1 (e = −2, u = −0.6, also saturated) does not either.
        let mut g = gains();
        g.kp = 0.3;
        g.output_max = 0.5;
        let mut pid = Pid::new(host_counts(), g, 3);
        for ms in [0u64, 100, 200] {
            pid.pick(
                &HostView { now: ms * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None },
                &mut rng,
            );
        }
        assert_eq!(pid.servers[0].integral, 0.0, "wound up while saturated");
        assert_eq!(pid.servers[1].integral, 0.0, "wound down while saturated");
        // With a wider output clamp server 1 (u = −0.6 within ±1) integrates: −2 × (0.1 + 0.1) s. Server 0's
        // weight is clamped at 0 (u = 0.6 > r = 0.5), which does not freeze its integral.
        let mut g = gains();
        g.kp = 0.3;
        let mut pid = Pid::new(host_counts(), g, 3);
        for ms in [0u64, 100, 200] {
            pid.pick(
                &HostView { now: ms * MILLISECOND, host: 0, hosts: 1, candidates: &cands, load_index: None },
                &mut rng,
            );
        }
        assert!((pid.servers[0].integral - 0.4).abs() < 1e-9);
        assert!((pid.servers[1].integral + 0.4).abs() < 1e-9);
    }

    #[test]
    fn the_derivative_acts_on_the_measurement_not_the_setpoint() {
        // kd = 0.1 s/conn, kp = ki = 0. Server 0's count rises 2 → 6 in 0.1 s: D = 0.1·40 conn/s = 4·g.
        // Server 1's count stays 2 while the setpoint r·T moves with server 0's count: its D stays 0.
        let mut g = gains();
        g.kp = 0.0;
        g.ki = 0.0;
        g.kd = 0.1;
        g.halving = 12.0; // at T = 8, g = 1/(1 + 8/12) = 0.6
        let mut pid = Pid::new(host_counts(), g, 3);
        let mut rng = Rng::new(1, Stream::Balancing);
        let cands = |in_flight_0| {
            [
                Candidate { server: 0, configured_load: 1.0, in_flight: in_flight_0 },
                Candidate { server: 1, configured_load: 1.0, in_flight: 2 },
            ]
        };
        pid.pick(&HostView { now: 0, host: 0, hosts: 1, candidates: &cands(2), load_index: None }, &mut rng);
        pid.pick(
            &HostView { now: 100 * MILLISECOND, host: 0, hosts: 1, candidates: &cands(6), load_index: None },
            &mut rng,
        );
        assert!((pid.servers[0].d_term - 0.1 * 0.6 * 40.0).abs() < 1e-9, "{}", pid.servers[0].d_term);
        assert_eq!(pid.servers[1].d_term, 0.0);
    }

    #[test]
    fn with_no_connections_the_weights_are_the_configured_loads() {
        let pid = Pid::new(host_counts(), gains(), 3);
        let cands = [
            Candidate { server: 0, configured_load: 50.0, in_flight: 0 },
            Candidate { server: 1, configured_load: 150.0, in_flight: 0 },
        ];
        let view = HostView { now: 0, host: 0, hosts: 1, candidates: &cands, load_index: None };
        assert_eq!(weights_of(&pid, &view), vec![0.25, 0.75]);
        assert_eq!(weights_of(&StaticWeights, &view), vec![50.0, 150.0]);
    }
}
