//! `loadlab fit`: searches a scenario's keys for the settings whose run best matches your metrics.
//!
//! The metrics are read, mapped and aligned by [`crate::overlay`] (which also states the loss); this file is the
//! search. Like `tune` it evaluates candidates with rayon, in candidate order, under one progress bar drawn only on
//! a terminal (`sweep::progress`, `sweep::run_jobs_on`), and every candidate is drawn from one seeded stream, so a
//! fit is the same for the same seed and budget on any machine and any number of cores.
//!
//! The search, in unit coordinates (each key's range mapped to [0, 1], logarithmically when it spans 100× or
//! more): first ⌈budget/2⌉ candidates as a Latin hypercube (every key's range cut into that many equal strata,
//! one candidate in each, so along one key the best candidate of a unimodal loss is within two strata of the
//! optimum); then the rest in rounds of 8, each a line search per key through the best so far (8 / keys points,
//! at least 2, one in each stratum of the key's window, the other keys held), whose window's half-width starts
//! at two strata and then halves each round, unless the best moved further than that along the key.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::args::{FitFormat, FitOpts, MetricsFormat};
use super::run::{build_sim, scenario_names, RunArgs};
use super::sweep::{progress, run_jobs_on};
use super::{emit, read_file, CliError};
use crate::engine::keys::{quote, KeyKind};
use crate::overlay::{self, AlignSpec, Format, Limits, MapRule, Target};
use crate::registry::{self, ScenarioDef};
use crate::rng::{Rng, Stream};
use crate::time::{as_secs_f64, SECOND};

/// Candidates per refinement round.
const ROUND: usize = 8;

/// One searched key: its range, and whether it is searched on a log scale or in whole numbers.
#[derive(Clone, Debug)]
struct Dim {
    key: String,
    unit: &'static str,
    lo: f64,
    hi: f64,
    log: bool,
    whole: bool,
}

impl Dim {
    /// The key's value at unit coordinate `u`.
    fn value(&self, u: f64) -> f64 {
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
fn dims(def: &ScenarioDef, raw: &str, duration_s: f64) -> Result<Vec<Dim>, CliError> {
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
                return Err(format!("--keys: {key} is not a number; fit searches numbers (give it with --set)").into())
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
                        )
                        .into())
                    }
                }
            }
            None if key.ends_with("_at") => (min, max.min(duration_s)),
            None => (min, max),
        };
        if lo >= hi {
            return Err(format!("--keys {key}: its range {lo} to {hi} is empty; give KEY=LO..HI").into());
        }
        if out.iter().any(|d| d.key == key) {
            return Err(format!("--keys: {key} is named twice").into());
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

/// A candidate's outcome: its loss and each series' (or why its run could not be built).
type Outcome = Result<(f64, Vec<f64>), String>;

/// Runs one candidate and scores it.
fn evaluate(base: &RunArgs, dims: &[Dim], values: &[f64], target: &Target, ncols: usize) -> Outcome {
    let mut args = base.clone();
    args.sets.extend(dims.iter().zip(values).map(|(d, v)| (d.key.clone(), format!("{v}"))));
    let mut sim = build_sim(&args).map_err(|e| e.message().to_string())?;
    let wanted = target.columns();
    let mut times = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); ncols];
    let end = sim.duration();
    let chunk = sim.time_step().saturating_mul(1000).max(SECOND);
    loop {
        let until = sim.now().saturating_add(chunk).min(end);
        sim.run_until(until, u64::MAX);
        for row in sim.drain_rows() {
            times.push(row[0]);
            for &c in &wanted {
                cols[c].push(row[c]);
            }
        }
        if until >= end {
            break;
        }
    }
    let each = target.series_losses(&times, |c| &cols[c]);
    let loss = each.iter().sum::<f64>() / each.len().max(1) as f64;
    Ok((if loss.is_nan() { f64::INFINITY } else { loss }, each))
}

/// The scenario's fault time for `--align fault=T`: its `fault_at` key, else its first `_at` key (galera's
/// `desync_at`, `crash_at`), as set or by default.
fn fault_time(def: &ScenarioDef, sets: &[(String, String)], dims: &[Dim]) -> Result<(String, f64), CliError> {
    let keys: Vec<&str> = def.keys.iter().filter(|k| k.applies_to(def.name)).map(|k| k.key).collect();
    let key = keys
        .iter()
        .find(|k| **k == "fault_at")
        .or_else(|| keys.iter().find(|k| k.ends_with("_at")))
        .ok_or_else(|| format!("scenario {} has no fault time key; align with --align offset=S", def.name))?;
    if dims.iter().any(|d| d.key == *key) {
        return Err(
            format!("--align fault= pins {key} to the data's fault; search it only with --align offset=S").into()
        );
    }
    let raw = sets.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let default = def.keys.iter().find(|k| k.key == *key).map_or("", |k| k.default);
    let t = raw.unwrap_or(default).trim().parse::<f64>().map_err(|_| {
        format!("--align fault=: scenario {}'s {key} has no time ({}); set it", def.name, quote(default))
    })?;
    Ok((key.to_string(), t))
}

/// A shell word: as is when it is plain, else single-quoted.
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-=:@,/+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The `loadlab run` line that reruns the fit's best candidate.
fn run_line(def: &ScenarioDef, o: &FitOpts, sets: &[(String, String)]) -> String {
    let mut line = format!("loadlab run --scenario {}", def.name);
    if let Some(c) = &o.build.controller {
        line += &format!(" --controller {}", shell_word(c));
    }
    if let Some(d) = o.build.duration {
        line += &format!(" --duration {d}");
    }
    if let Some(s) = o.build.time_step {
        line += &format!(" --time-step {s}");
    }
    line += &format!(" --seed {}", o.seed);
    for (k, v) in sets {
        line += &format!(" --set {}", shell_word(&format!("{k}={v}")));
    }
    line
}

/// The fit's scenario file, once every model exports one (`export-scenario`, in progress with the scenario-file
/// work): the spot where `fit` will print it. `None` until then.
fn scenario_file(_def: &ScenarioDef, _sets: &[(String, String)]) -> Option<String> {
    None
}

/// `loadlab fit`.
pub(crate) fn cmd_fit(o: FitOpts) -> Result<(), CliError> {
    let name = o
        .build
        .scenario
        .clone()
        .ok_or_else(|| format!("fit needs --scenario NAME; valid scenarios: {}", scenario_names()))?;
    let def = registry::find(&name)?;
    let path = o.metrics.clone().ok_or("fit needs --metrics FILE (Prometheus JSON, Grafana CSV or plain CSV)")?;
    let rules = o.maps.iter().map(|m| MapRule::parse(m)).collect::<Result<Vec<_>, _>>()?;
    let align = o.align.as_deref().map(AlignSpec::parse).transpose()?.unwrap_or(AlignSpec::Offset(0.0));
    let base = RunArgs {
        scenario: def.name.to_string(),
        controller: o.build.controller.clone().unwrap_or_else(|| "static".into()),
        duration_s: o.build.duration,
        time_step_s: o.build.time_step,
        seed: o.seed,
        sets: o.build.sets.clone(),
        json: false,
        out: None,
        file: None,
    };
    // One run built (not run) with the fixed keys: checks them and gives the length, step and columns.
    let probe = build_sim(&base)?;
    let (duration_s, step_s) = (as_secs_f64(probe.duration()), as_secs_f64(probe.time_step()));
    let columns: Vec<String> = probe.columns().into_iter().map(|c| c.name).collect();
    drop(probe);
    let dims = dims(def, o.keys.as_deref().unwrap_or(""), duration_s)?;
    if let Some((k, _)) = o.build.sets.iter().find(|(k, _)| dims.iter().any(|d| d.key == *k)) {
        return Err(format!("--set {k} and --keys {k}: the fit chooses it; give one or the other").into());
    }
    let limits = Limits::default();
    let text = read_file(&path, limits.max_bytes)?;
    let file = quote(&path).trim_matches('\'').to_string();
    let format = match o.metrics_format {
        MetricsFormat::Auto => overlay::detect(&text),
        MetricsFormat::Prometheus => Format::Prometheus,
        MetricsFormat::Grafana => Format::Grafana,
        MetricsFormat::Csv => Format::Csv,
    };
    let metrics = overlay::parse_as(&text, format, &limits).map_err(|e| format!("{file}: {e}"))?;
    drop(text);
    let pairs = overlay::map_series(&metrics, &rules, &columns)?;
    let (fault_note, align) = match align {
        AlignSpec::Fault(_) => {
            let (key, t) = fault_time(def, &o.build.sets, &dims)?;
            (format!(" (the fault: {key} = {t} s)"), align.with_fault_time(t))
        }
        AlignSpec::Offset(_) => (String::new(), align.with_fault_time(0.0)),
    };
    let last_row = (duration_s / step_s + 1e-9).floor() * step_s;
    let target = overlay::Target::new(&metrics, &pairs, align, step_s, last_row)?;

    // The search.
    let mut rng = Rng::new(o.seed, Stream::Control);
    let first = o.budget.div_ceil(2);
    let mut candidates: Vec<Vec<f64>> = hypercube(&mut rng, first, &vec![0.5; dims.len()], 0.5);
    let mut outcomes: Vec<Outcome> = Vec::new();
    let bar = progress(o.budget, "fit");
    let mut halves = vec![(2.0 / first as f64).min(0.5); dims.len()];
    let mut center: Option<Vec<f64>> = None;
    let best_of = |outcomes: &[Outcome]| -> Option<usize> {
        let loss = |i: usize| outcomes[i].as_ref().map_or(f64::INFINITY, |r| r.0);
        (0..outcomes.len())
            .filter(|&i| outcomes[i].is_ok())
            .min_by(|&a, &b| loss(a).total_cmp(&loss(b)).then(a.cmp(&b)))
    };
    loop {
        let jobs: Vec<usize> = (outcomes.len()..candidates.len()).collect();
        let results = run_jobs_on(&bar, &jobs, |j, _| {
            let values: Vec<f64> = dims.iter().zip(&candidates[j]).map(|(d, &u)| d.value(u)).collect();
            evaluate(&base, &dims, &values, &target, columns.len())
        });
        outcomes.extend(results.into_iter().map(|(_, r)| r));
        let best = best_of(&outcomes);
        if let Some(b) = best {
            bar.set_message(format!("best loss {:.4}", outcomes[b].as_ref().map_or(f64::NAN, |r| r.0)));
        }
        let left = o.budget - candidates.len();
        let Some(b) = best.filter(|_| left > 0) else { break };
        let best = candidates[b].clone();
        if let Some(previous) = &center {
            for ((h, old), new) in halves.iter_mut().zip(previous).zip(&best) {
                *h = (*h / 2.0).max((new - old).abs());
            }
        }
        candidates.extend(line_search(&mut rng, &best, &halves, left));
        center = Some(best);
    }
    bar.finish_and_clear();
    let Some(b) = best_of(&outcomes) else {
        let why = outcomes.iter().find_map(|r| r.as_ref().err()).cloned().unwrap_or_default();
        return Err(format!("no candidate could run: {why}").into());
    };
    let (loss, each) = outcomes[b].clone().map_err(CliError::Usage)?;
    let values: Vec<f64> = dims.iter().zip(&candidates[b]).map(|(d, &u)| d.value(u)).collect();
    let failed = outcomes.iter().filter(|r| r.is_err()).count();
    let mut sets = o.build.sets.clone();
    sets.extend(dims.iter().zip(&values).map(|(d, v)| (d.key.clone(), format!("{v}"))));
    let command = run_line(def, &o, &sets);

    if o.format == FitFormat::Json {
        let keys: Map<String, Value> =
            dims.iter().zip(&values).map(|(d, v)| (d.key.clone(), Value::from(*v))).collect();
        let series: Vec<Value> = target
            .series
            .iter()
            .zip(&each)
            .map(|(s, l)| {
                serde_json::json!({"name": s.name, "column": columns[s.column], "points": s.points.len(), "loss": l})
            })
            .collect();
        let out = serde_json::json!({
            "scenario": def.name, "keys": keys, "loss": loss, "evaluations": outcomes.len(), "failed": failed,
            "seed": o.seed, "budget": o.budget, "metrics_format": metrics.format.name(), "series": series,
            "command": command,
        });
        return emit(&(out.to_string() + "\n"));
    }
    let mut out = format!(
        "fit of {} to {file} ({} series, read as {}): loss {loss:.4} after {} runs{}\n",
        def.name,
        target.series.len(),
        metrics.format.name(),
        outcomes.len(),
        if failed > 0 { format!(" ({failed} could not run)") } else { String::new() }
    );
    let width = dims.iter().map(|d| d.key.len()).max().unwrap_or(0);
    for (d, v) in dims.iter().zip(&values) {
        let scale = if d.log { ", log scale" } else { "" };
        let _ = writeln!(out, "  {:width$} = {v:<14} ({}; searched {} to {}{scale})", d.key, d.unit, d.lo, d.hi);
    }
    let _ = writeln!(
        out,
        "per series (loss: squared error over the series' variance; 0 exact, 1 no better than its mean){fault_note}:"
    );
    let width = target.series.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for (s, l) in target.series.iter().zip(&each) {
        let _ = writeln!(out, "  {:width$} -> {}  loss {l:.4}  ({} points)", s.name, columns[s.column], s.points.len());
    }
    let _ = writeln!(out, "reproduce: {command}");
    if let Some(toml) = scenario_file(def, &sets) {
        out += &toml;
    }
    emit(&out)
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
}
