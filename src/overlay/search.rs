//! The search `loadlab fit` runs (and the page can run the same way): which candidates to try, given the losses
//! of those tried so far. Pure and deterministic: candidates come from one seeded stream and depend only on the
//! seed, the budget and the losses reported, in candidate order, so running each round's candidates on any number
//! of threads (or in the page's time slices) gives the same fit.
//!
//! In unit coordinates (each key's range mapped to [0, 1], logarithmically when it spans 100× or more): first
//! ⌈budget/2⌉ candidates as a Latin hypercube (every key's range cut into that many equal strata, one candidate
//! in each, so along one key the best candidate of a unimodal loss is within two strata of the optimum); then
//! the rest in rounds of 8, each a line search per key through the best so far (8 / keys points, at least 2,
//! one in each stratum of the key's window, the other keys held), whose window's half-width starts at two strata
//! and then halves each round, unless the best moved further than that along the key.

use std::ops::Range;

use super::Target;
use crate::engine::keys::{quote, KeyKind};
use crate::engine::run::Run;
use crate::registry::ScenarioDef;
use crate::rng::{Rng, Stream};
use crate::time::SECOND;

/// Candidates per refinement round.
const ROUND: usize = 8;

/// One searched key: its range, and whether it is searched on a log scale or in whole numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Dim {
    /// The key, as `--set` takes it.
    pub key: String,
    /// Its unit.
    pub unit: &'static str,
    /// The smallest value searched.
    pub lo: f64,
    /// The largest value searched.
    pub hi: f64,
    /// Searched on a log scale (the range spans 100× or more and starts above 0).
    pub log: bool,
    /// Searched in whole numbers.
    pub whole: bool,
}

impl Dim {
    /// The key's value at unit coordinate `u`.
    pub fn value(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = if self.log {
            let (a, b) = (crate::rng::ln(self.lo), crate::rng::ln(self.hi));
            crate::rng::exp(a + (b - a) * u).clamp(self.lo, self.hi)
        } else {
            self.lo + (self.hi - self.lo) * u
        };
        if self.whole {
            v.round()
        } else {
            v
        }
    }
}

/// True when the table's key `pattern` (`fault_at`, or `<server>.load` for any server) names `key`.
fn key_matches(pattern: &str, key: &str) -> bool {
    match pattern.strip_prefix('<').and_then(|p| p.split_once(">.")) {
        Some((_, suffix)) => key.split_once('.').is_some_and(|(server, s)| !server.is_empty() && s == suffix),
        None => pattern == key,
    }
}

/// `--keys`: each key of the scenario with its declared range (a `_at` key's up to the run's length), or the
/// narrower `KEY=LO..HI`.
pub fn dims(def: &ScenarioDef, raw: &str, duration_s: f64) -> Result<Vec<Dim>, String> {
    let mut out: Vec<Dim> = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, range) = match item.split_once('=') {
            Some((k, r)) => (k.trim(), Some(r.trim())),
            None => (item, None),
        };
        let info = def.keys.iter().find(|k| k.applies_to(def.name) && key_matches(k.key, key)).ok_or_else(|| {
            let valid: Vec<&str> = def
                .keys
                .iter()
                .filter(|k| k.applies_to(def.name) && matches!(k.kind, KeyKind::Number { .. }))
                .map(|k| k.key)
                .collect();
            format!("--keys: {} is not a key of scenario {}; numeric keys: {}", quote(key), def.name, valid.join(", "))
        })?;
        let (min, max, whole) = match info.kind {
            KeyKind::Number { min, max } => (min, max, false),
            KeyKind::CountOrUnlimited { min, max } => (f64::from(min), f64::from(max), true),
            KeyKind::Choice(_) | KeyKind::FaultSpec => {
                return Err(format!("--keys: {key} is not a number; fit searches numbers (give it with --set)"))
            }
        };
        let (lo, hi) = match range {
            Some(r) => {
                let parsed =
                    r.split_once("..").and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
                match parsed {
                    Some((a, b)) if a >= min && b <= max && a < b => (a, b),
                    _ => {
                        return Err(format!(
                            "--keys {key}={}: expected LO..HI with {min} <= LO < HI <= {max} {}",
                            quote(r).trim_matches('\''),
                            info.unit
                        ))
                    }
                }
            }
            None if key.ends_with("_at") => (min, max.min(duration_s)),
            None => (min, max),
        };
        if lo >= hi {
            return Err(format!("--keys {key}: its range {lo} to {hi} is empty; give KEY=LO..HI"));
        }
        if out.iter().any(|d| d.key == key) {
            return Err(format!("--keys: {key} is named twice"));
        }
        out.push(Dim { key: key.to_string(), unit: info.unit, lo, hi, log: lo > 0.0 && hi / lo >= 100.0, whole });
    }
    if out.is_empty() {
        return Err("fit needs --keys K1,K2,… (the keys to search; 'loadlab list' shows each scenario's)".into());
    }
    Ok(out)
}

/// `count` points of a Latin hypercube in the box `center ± half` ∩ [0, 1]ᵈ: each axis cut into `count` strata,
/// one point in each, strata paired across axes by seeded shuffles.
fn hypercube(rng: &mut Rng, count: usize, center: &[f64], half: f64) -> Vec<Vec<f64>> {
    let axes: Vec<Vec<f64>> = center
        .iter()
        .map(|&c| {
            let mut strata = strata(rng, count, c, half);
            for i in (1..count).rev() {
                strata.swap(i, rng.below(i as u64 + 1) as usize);
            }
            strata
        })
        .collect();
    (0..count).map(|i| axes.iter().map(|axis| axis[i]).collect()).collect()
}

/// `count` points in `c ± half` ∩ [0, 1], one in each of `count` equal strata, in order.
fn strata(rng: &mut Rng, count: usize, c: f64, half: f64) -> Vec<f64> {
    let (a, b) = ((c - half).max(0.0), (c + half).min(1.0));
    (0..count).map(|s| a + (b - a) * (s as f64 + rng.next_f64()) / count as f64).collect()
}

/// A refinement round of at most `max` candidates: for each key in turn, points along it through `center`
/// (one per stratum of `center ± halves[key]`), the other keys held at the center.
fn line_search(rng: &mut Rng, center: &[f64], halves: &[f64], max: usize) -> Vec<Vec<f64>> {
    let per_key = (ROUND / center.len()).max(2);
    let mut out = Vec::new();
    for (k, &h) in halves.iter().enumerate() {
        for u in strata(rng, per_key, center[k], h) {
            let mut p = center.to_vec();
            p[k] = u;
            out.push(p);
        }
    }
    out.truncate(max);
    out
}

/// The search's state: every candidate drawn so far and the losses reported for them.
#[derive(Clone, Debug)]
pub struct Search {
    dims: Vec<Dim>,
    budget: usize,
    rng: Rng,
    /// Candidates in unit coordinates, in the order drawn.
    candidates: Vec<Vec<f64>>,
    /// Losses reported, in candidate order; `None` for a candidate that could not run.
    losses: Vec<Option<f64>>,
    /// The refinement windows' half-widths, per key.
    halves: Vec<f64>,
    /// The best candidate the last round searched around.
    center: Option<Vec<f64>>,
}

impl Search {
    /// A search of `budget` candidates (at least 1) over `dims`, drawn from `seed`; the first round (the Latin
    /// hypercube) is drawn now.
    pub fn new(dims: Vec<Dim>, budget: usize, seed: u64) -> Search {
        let budget = budget.max(1);
        let mut rng = Rng::new(seed, Stream::Control);
        let first = budget.div_ceil(2);
        let candidates = hypercube(&mut rng, first, &vec![0.5; dims.len()], 0.5);
        let halves = vec![(2.0 / first as f64).min(0.5); dims.len()];
        Search { dims, budget, rng, candidates, losses: Vec::new(), halves, center: None }
    }

    /// The candidates drawn but not yet reported: the current round.
    pub fn pending(&self) -> Range<usize> {
        self.losses.len()..self.candidates.len()
    }

    /// True when every candidate of the budget has been reported (or no round can follow).
    pub fn done(&self) -> bool {
        self.pending().is_empty()
    }

    /// Candidate `i`'s key values, in the order of the dims.
    pub fn values(&self, i: usize) -> Vec<f64> {
        self.dims.iter().zip(&self.candidates[i]).map(|(d, &u)| d.value(u)).collect()
    }

    /// Reports the losses of the pending candidates, in order (`None`: it could not run; NaN counts as +∞), and
    /// draws the next round if the budget has any left.
    pub fn report(&mut self, losses: &[Option<f64>]) {
        let pending = self.pending().len();
        self.losses.extend(losses.iter().take(pending).map(|l| l.map(|x| if x.is_nan() { f64::INFINITY } else { x })));
        self.losses.resize(self.candidates.len(), None);
        let left = self.budget.saturating_sub(self.candidates.len());
        let Some((b, _)) = self.best().filter(|_| left > 0) else { return };
        let best = self.candidates[b].clone();
        if let Some(previous) = &self.center {
            for ((h, old), new) in self.halves.iter_mut().zip(previous).zip(&best) {
                *h = (*h / 2.0).max((new - old).abs());
            }
        }
        let round = line_search(&mut self.rng, &best, &self.halves, left);
        self.candidates.extend(round);
        self.center = Some(best);
    }

    /// The best candidate reported so far and its loss: the lowest loss, the earliest of equal ones.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.losses
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| (i, l)))
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
    }

    /// Candidates reported so far.
    pub fn evaluated(&self) -> usize {
        self.losses.len()
    }
}

/// A candidate's keys as `--set` pairs (`{v}` prints the shortest text that reads back as the same value, so a
/// printed fit reruns exactly).
pub fn sets(dims: &[Dim], values: &[f64]) -> Vec<(String, String)> {
    dims.iter().zip(values).map(|(d, v)| (d.key.clone(), format!("{v}"))).collect()
}

/// A run being scored against a target a piece at a time, so a front end can spread it over many short slices
/// (the page's fit) while the CLI runs it in one go ([`score_run`]).
pub struct Scoring {
    run: Box<dyn Run>,
    wanted: Vec<usize>,
    times: Vec<f64>,
    cols: Vec<Vec<f64>>,
}

impl Scoring {
    /// Starts scoring `run` (from its start) against `target`'s columns.
    pub fn new(run: Box<dyn Run>, target: &Target) -> Scoring {
        let wanted = target.columns();
        let ncols = wanted.iter().max().map_or(0, |m| m + 1);
        Scoring { run, wanted, times: Vec::new(), cols: vec![Vec::new(); ncols] }
    }

    /// Runs on by at most `max_events` events (and at most a thousand rows); true once the run has reached its
    /// end.
    pub fn step(&mut self, max_events: u64) -> bool {
        let end = self.run.duration();
        let chunk = self.run.time_step().saturating_mul(1000).max(SECOND);
        let until = self.run.now().saturating_add(chunk).min(end);
        let reached = self.run.run_until(until, max_events);
        for row in self.run.drain_rows() {
            self.times.push(row[0]);
            for &c in &self.wanted {
                self.cols[c].push(row[c]);
            }
        }
        reached && until >= end
    }

    /// How far the run is, 0 to 1.
    pub fn progress(&self) -> f64 {
        crate::time::as_secs_f64(self.run.now()) / crate::time::as_secs_f64(self.run.duration()).max(1e-9)
    }

    /// The loss of the rows so far (the whole run's once [`Scoring::step`] said so) and each series'.
    pub fn finish(&self, target: &Target) -> (f64, Vec<f64>) {
        let each = target.series_losses(&self.times, |c| &self.cols[c]);
        let loss = each.iter().sum::<f64>() / each.len().max(1) as f64;
        (if loss.is_nan() { f64::INFINITY } else { loss }, each)
    }
}

/// Runs `run` to its end and scores it against `target`: the loss and each series' loss.
pub fn score_run(run: Box<dyn Run>, target: &Target) -> (f64, Vec<f64>) {
    let mut scoring = Scoring::new(run, target);
    while !scoring.step(u64::MAX) {}
    scoring.finish(target)
}

/// The scenario's fault time for `--align fault=T`: its `fault_at` key, else its first `_at` key (galera's
/// `desync_at`, `crash_at`), as set or by default.
pub fn fault_time(def: &ScenarioDef, sets: &[(String, String)], dims: &[Dim]) -> Result<(String, f64), String> {
    let keys: Vec<&str> = def.keys.iter().filter(|k| k.applies_to(def.name)).map(|k| k.key).collect();
    let key = keys
        .iter()
        .find(|k| **k == "fault_at")
        .or_else(|| keys.iter().find(|k| k.ends_with("_at")))
        .ok_or_else(|| format!("scenario {} has no fault time key; align with --align offset=S", def.name))?;
    if dims.iter().any(|d| d.key == *key) {
        return Err(format!("--align fault= pins {key} to the data's fault; search it only with --align offset=S"));
    }
    let raw = sets.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let default = def.keys.iter().find(|k| k.key == *key).map_or("", |k| k.default);
    let t = raw.unwrap_or(default).trim().parse::<f64>().map_err(|_| {
        format!("--align fault=: scenario {}'s {key} has no time ({}); set it", def.name, quote(default))
    })?;
    Ok((key.to_string(), t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys_match_any_server() {
        assert!(key_matches("<server>.load", "db1119.load"));
        assert!(!key_matches("<server>.load", ".load") && !key_matches("<server>.load", "load"));
        assert!(key_matches("fault_at", "fault_at") && !key_matches("fault_at", "fault_a"));
    }

    #[test]
    fn a_hypercube_puts_one_point_in_each_stratum() {
        let mut rng = Rng::new(3, Stream::Control);
        let pts = hypercube(&mut rng, 10, &[0.5, 0.5], 0.5);
        for axis in 0..2 {
            let mut strata: Vec<usize> = pts.iter().map(|p| (p[axis] * 10.0) as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..10).collect::<Vec<_>>());
        }
        let lines = line_search(&mut rng, &[0.95, 0.5], &[0.1, 0.2], 8);
        assert_eq!(lines.len(), 8);
        assert!(lines[..4].iter().all(|p| (0.85..=1.0).contains(&p[0]) && p[1] == 0.5), "{lines:?}");
        assert!(lines[4..].iter().all(|p| (0.3..=0.7).contains(&p[1]) && p[0] == 0.95), "{lines:?}");
    }

    #[test]
    fn values_follow_the_scale() {
        let d = Dim { key: "k".into(), unit: "", lo: 1.0, hi: 10_000.0, log: true, whole: false };
        assert!((d.value(0.5) - 100.0).abs() < 1e-9);
        let w = Dim { key: "k".into(), unit: "", lo: 1.0, hi: 4.0, log: false, whole: true };
        assert_eq!(w.value(0.4), 2.0);
    }

    #[test]
    fn a_search_spends_its_budget_and_converges_on_a_bowl() {
        // A loss with its minimum at u = 0.3 along one key: the refinement must land within the last round's
        // spacing. 64 candidates: 32 strata (1/32), then 4 rounds of 8 in windows of half-width 1/16, 1/32,
        // 1/64, 1/128: the last spacing is 2/128/8 ≈ 0.002.
        let d = Dim { key: "k".into(), unit: "", lo: 0.0, hi: 1.0, log: false, whole: false };
        let mut s = Search::new(vec![d], 64, 9);
        while !s.done() {
            let losses: Vec<Option<f64>> = s.pending().map(|i| Some((s.values(i)[0] - 0.3).powi(2))).collect();
            s.report(&losses);
        }
        assert_eq!(s.evaluated(), 64);
        let (b, _) = s.best().unwrap();
        assert!((s.values(b)[0] - 0.3).abs() < 0.002, "{}", s.values(b)[0]);
    }
}
