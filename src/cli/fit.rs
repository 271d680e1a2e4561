//! `loadlab fit`: searches a scenario's keys for the settings whose run best matches your metrics.
//!
//! The metrics are read, mapped and aligned by [`crate::overlay`] (which also states the loss), and the
//! candidates are drawn by [`crate::overlay::search`] (pure, so the page can run the same search); this file
//! reads the files, runs each round's candidates and prints the result. Like `tune` it evaluates candidates with
//! rayon, in candidate order, under one progress bar drawn only on a terminal (`sweep::progress`,
//! `sweep::run_jobs_on`), so a fit is the same for the same seed and budget on any machine and any number of
//! cores.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::args::{FitFormat, FitOpts, MetricsFormat};
use super::run::{build_sim, open_scenario_file, scenario_names, RunArgs};
use super::sweep::{progress, run_jobs_on};
use super::{emit, read_file, CliError};
use crate::engine::keys::quote;
use crate::overlay::search::{self, Dim, Search};
use crate::overlay::{self, AlignSpec, Format, Limits, MapRule, Target};
use crate::registry::{self, RunSpec, ScenarioDef};
use crate::time::as_secs_f64;

/// A candidate's outcome: its loss and each series' (or why its run could not be built).
type Outcome = Result<(f64, Vec<f64>), String>;

/// Builds one candidate's run (as `loadlab run` would) and scores it.
fn evaluate(base: &RunArgs, dims: &[Dim], values: &[f64], target: &Target) -> Outcome {
    let mut args = base.clone();
    args.sets.extend(search::sets(dims, values));
    let sim = build_sim(&args).map_err(|e| e.message().to_string())?;
    Ok(search::score_run(sim, target))
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
/// Keys at their defaults are left out (a scenario file's every key is among `sets`).
fn run_line(def: &ScenarioDef, o: &FitOpts, base: &RunArgs, sets: &[(String, String)]) -> String {
    let mut line = format!("loadlab run --scenario {}", def.name);
    if let Some(c) = &o.build.controller {
        line += &format!(" --controller {}", shell_word(c));
    }
    if let Some(d) = base.duration_s {
        line += &format!(" --duration {d}");
    }
    if let Some(s) = base.time_step_s {
        line += &format!(" --time-step {s}");
    }
    line += &format!(" --seed {}", o.seed);
    for (k, v) in crate::engine::scenario_file::changed_keys(def, sets) {
        line += &format!(" --set {}", shell_word(&format!("{k}={v}")));
    }
    line
}

/// The fit's scenario file: the scenario with the fixed and the fitted keys, as `export-scenario` writes it.
fn scenario_file(def: &'static ScenarioDef, base: &RunArgs, sets: &[(String, String)]) -> Result<String, CliError> {
    let controller = if def.takes_controller { base.controller.clone() } else { String::new() };
    let spec = RunSpec {
        controller,
        sets: sets.to_vec(),
        duration_s: base.duration_s,
        time_step_s: base.time_step_s,
        ..RunSpec::default()
    };
    Ok(def.export_file(&spec)?)
}

/// A fit's scenario, its fixed keys, its length and step (the scenario's own when `None`).
type FitBase = (&'static ScenarioDef, Vec<(String, String)>, Option<f64>, Option<f64>);

/// The scenario a fit runs and its fixed keys: a named one with `--set`, or a scenario file's keys (those
/// `--keys` searches left out, since the fit chooses them). A section file is a whole config, not keys: refused.
fn fit_base(o: &FitOpts) -> Result<FitBase, CliError> {
    let Some(path) = &o.scenario_file else {
        let name = o.build.scenario.clone().ok_or_else(|| {
            format!("fit needs --scenario NAME or --scenario-file FILE; valid scenarios: {}", scenario_names())
        })?;
        return Ok((registry::find(&name)?, o.build.sets.clone(), o.build.duration, o.build.time_step));
    };
    if !o.build.sets.is_empty() {
        return Err("--set does not apply to --scenario-file; edit the file instead".into());
    }
    let (def, spec) = open_scenario_file(path)?;
    if spec.file.is_some() {
        return Err(format!(
            "{path}: a {} scenario file is a whole config, not keys; fit the named scenario with --set instead",
            def.name
        )
        .into());
    }
    let searched: Vec<&str> =
        o.keys.as_deref().unwrap_or("").split(',').map(|k| k.split('=').next().unwrap_or("").trim()).collect();
    let fixed = spec.sets.into_iter().filter(|(k, _)| !searched.contains(&k.as_str())).collect();
    Ok((def, fixed, o.build.duration.or(spec.duration_s), o.build.time_step.or(spec.time_step_s)))
}

/// `loadlab fit`.
pub(crate) fn cmd_fit(o: FitOpts) -> Result<(), CliError> {
    let (def, fixed, duration_s, time_step_s) = fit_base(&o)?;
    let path = o.metrics.clone().ok_or("fit needs --metrics FILE (Prometheus JSON, Grafana CSV or plain CSV)")?;
    let rules = o.maps.iter().map(|m| MapRule::parse(m)).collect::<Result<Vec<_>, _>>()?;
    let align = o.align.as_deref().map(AlignSpec::parse).transpose()?.unwrap_or(AlignSpec::Offset(0.0));
    let base = RunArgs {
        scenario: def.name.to_string(),
        controller: o.build.controller.clone().unwrap_or_else(|| crate::engine::scenario::NO_CONTROLLER.into()),
        duration_s,
        time_step_s,
        seed: o.seed,
        sets: fixed,
        json: false,
        out: None,
        file: None,
    };
    // One run built (not run) with the fixed keys: checks them and gives the length, step and columns.
    let probe = build_sim(&base)?;
    let (duration_s, step_s) = (as_secs_f64(probe.duration()), as_secs_f64(probe.time_step()));
    let columns: Vec<String> = probe.columns().into_iter().map(|c| c.name).collect();
    drop(probe);
    let dims = search::dims(def, o.keys.as_deref().unwrap_or(""), duration_s)?;
    if let Some((k, _)) = base.sets.iter().find(|(k, _)| dims.iter().any(|d| d.key == *k)) {
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
            let (key, t) = search::fault_time(def, &base.sets, &dims)?;
            (format!(" (the fault: {key} = {t} s)"), align.with_fault_time(t))
        }
        AlignSpec::Offset(_) => (String::new(), align.with_fault_time(0.0)),
    };
    let last_row = (duration_s / step_s + 1e-9).floor() * step_s;
    let target = overlay::Target::new(&metrics, &pairs, align, step_s, last_row)?;

    // The search: each round's candidates run on every core, their losses go back in candidate order.
    let mut search = Search::new(dims.clone(), o.budget, o.seed);
    let mut outcomes: Vec<Outcome> = Vec::new();
    let bar = progress(o.budget, "fit");
    while !search.done() {
        let jobs: Vec<usize> = search.pending().collect();
        let results = run_jobs_on(&bar, &jobs, |j, _| evaluate(&base, &dims, &search.values(j), &target));
        let losses: Vec<Option<f64>> = results.iter().map(|(_, r)| r.as_ref().ok().map(|x| x.0)).collect();
        outcomes.extend(results.into_iter().map(|(_, r)| r));
        search.report(&losses);
        if let Some((_, loss)) = search.best() {
            bar.set_message(format!("best loss {loss:.4}"));
        }
    }
    bar.finish_and_clear();
    let Some((b, _)) = search.best() else {
        let why = outcomes.iter().find_map(|r| r.as_ref().err()).cloned().unwrap_or_default();
        return Err(format!("no candidate could run: {why}").into());
    };
    let (loss, each) = outcomes[b].clone().map_err(CliError::Usage)?;
    let values = search.values(b);
    let failed = outcomes.iter().filter(|r| r.is_err()).count();
    let mut sets = base.sets.clone();
    sets.extend(search::sets(&dims, &values));
    let command = run_line(def, &o, &base, &sets);
    let toml = scenario_file(def, &base, &sets)?;

    if let Some(path) = &o.out_scenario {
        std::fs::write(path, &toml)
            .map_err(|e| CliError::Io(format!("--out-scenario: cannot write {}: {e}", quote(path))))?;
    }
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
            "command": command, "scenario_file": toml,
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
    match &o.out_scenario {
        Some(path) => {
            let _ = writeln!(out, "scenario file of the fit: {path} (run it with loadlab run --scenario-file {path})");
        }
        None => {
            let _ = writeln!(out, "save the fit as a scenario file to edit and run: add --out-scenario FILE");
        }
    }
    emit(&out)
}
