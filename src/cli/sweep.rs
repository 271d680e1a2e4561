//! Sweeps: `loadlab compare` (a scorecard per scenario × controller), `loadlab tune` (a seeded random search
//! over a controller's parameters), their shards (`--shard I/N --out FILE`, JSON lines) and `loadlab merge`.
//!
//! A sweep is a list of jobs numbered from 0, fixed by its options alone; shard I of N runs the jobs j with
//! j mod N = I, so the same I/N always does the same work, on any machine. Jobs run on every core with rayon
//! and come back in job order, so output never depends on thread timing. A progress bar is drawn only when
//! stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::args::{CompareOpts, MergeOpts, ShardOpts, TableFormat, TuneOpts};
use super::run::{open_scenario_file, scenario_names};
use super::{emit, read_file, write_file, CliError};
use crate::controller::{controller_info, controllers, ControllerSpec, ParamInfo};
use crate::engine::keys::quote;
use crate::engine::scorecard::{self, Score};
use crate::registry::{RunSpec, ScenarioDef};

/// The shard file format's version.
const SHARD_VERSION: u32 = 1;

/// The longest shard file `merge` reads, bytes.
const MAX_SHARD_BYTES: usize = 256 << 20;

/// Where one of a sweep's scenarios comes from.
#[derive(Clone, Debug)]
enum Source {
    /// A built-in scenario, with the sweep's `--set` pairs.
    Named(&'static ScenarioDef),
    /// A scenario file: its path, its scenario and the spec that runs it, as read.
    File(String, &'static ScenarioDef, Box<RunSpec>),
}

impl Source {
    /// What identifies it in a shard header: the name, or the file's whole config as TOML.
    fn fingerprint(&self) -> Result<Value, CliError> {
        Ok(match self {
            Source::Named(def) => Value::from(def.name),
            Source::File(path, def, spec) => serde_json::json!({"file": path, "toml": def.export_file(spec)?}),
        })
    }

    fn def(&self) -> &'static ScenarioDef {
        match self {
            Source::Named(def) | Source::File(_, def, _) => def,
        }
    }
}

/// One run of a sweep: a scenario and the spec it is scored on.
type Job = (&'static ScenarioDef, RunSpec);

/// Keeps the `--set` pairs that apply to this controller: scenario keys always, controller parameters only for
/// the controllers that have them.
fn sets_for(controller: &str, sets: &[(String, String)]) -> Vec<(String, String)> {
    crate::controller::sets_for(controller, controllers().iter().map(|c| c.name), sets)
}

/// The length and step of a sweep's runs; `None` keeps the default (180 s, 0.5 s) for a named scenario and the
/// file's own for a scenario file.
#[derive(Clone, Copy, Debug)]
struct Timing {
    duration_s: Option<f64>,
    step_s: Option<f64>,
}

/// The spec of one compare/tune run, checked (a bad key or value fails here, before anything runs). A named
/// scenario gets its sets, the duration and step; a file's spec gets the controller (its own parameters if it
/// names the same one), controller parameters and only the overrides given. The scenario's scorecard adds
/// what it scores on (a recovery before the end).
fn job(source: &Source, controller: &str, sets: &[(String, String)], t: Timing) -> Result<Job, CliError> {
    let def = source.def();
    let spec = match source {
        Source::Named(_) => RunSpec {
            controller: controller.to_string(),
            sets: sets_for(controller, sets),
            duration_s: Some(t.duration_s.unwrap_or(180.0)),
            time_step_s: Some(t.step_s.unwrap_or(0.5)),
            ..RunSpec::default()
        },
        Source::File(_, _, spec) => RunSpec {
            controller: controller.to_string(),
            sets: sets_for(controller, sets),
            duration_s: t.duration_s.or(spec.duration_s),
            time_step_s: t.step_s.or(spec.time_step_s),
            ..(**spec).clone()
        },
    };
    if let (Some(d), Some(s)) = (spec.duration_s, spec.time_step_s) {
        crate::engine::limits::check_timing(d, s)?;
    }
    def.check_spec(&spec)?;
    Ok((def, spec))
}

/// Scores one job with its scenario's scorecard.
fn score_job(job: &Job, seed: u64) -> Result<Score, CliError> {
    let (def, spec) = job;
    let card = def.scorecard.ok_or_else(|| format!("scenario {} has no scorecard", def.name))?;
    Ok((card.score)(def, &RunSpec { seed, ..spec.clone() })?)
}

/// The scenarios `compare --all` and `tune` without `--scenarios` score: every one whose scorecard says so.
pub fn default_scenarios() -> Vec<&'static str> {
    crate::registry::all().filter(|d| d.scorecard.is_some_and(|c| c.by_default)).map(|d| d.name).collect()
}

/// The sources a sweep names: built-in scenarios (checked against the registry) and scenario files (read now,
/// so a bad file fails before anything runs); each must have a scorecard.
fn sources(names: &[String], files: &[String]) -> Result<Vec<Source>, CliError> {
    let scored = |def: &ScenarioDef| match def.scorecard {
        Some(_) => Ok(()),
        None => Err(format!("scenario {} has no scorecard (it takes no controller)", def.name)),
    };
    let mut out = Vec::new();
    for n in names {
        let def = crate::registry::find(n)?;
        scored(def)?;
        out.push(Source::Named(def));
    }
    for f in files {
        let (def, spec) = open_scenario_file(f)?;
        scored(def).map_err(|e| format!("{f}: {e}"))?;
        out.push(Source::File(f.clone(), def, Box::new(spec)));
    }
    Ok(out)
}

/// A progress bar on stderr when it is a terminal; otherwise a hidden one (nothing on a piped stderr).
pub(super) fn progress(total: usize, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64).with_prefix(what.to_string());
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({eta})") {
        bar.set_style(style.progress_chars("#>-"));
    }
    bar
}

/// Runs `job` for each of `mine` on every core, with a progress bar, and returns the results in job order.
fn run_jobs<R: Send>(mine: &[usize], what: &str, job: impl Fn(usize, &ProgressBar) -> R + Sync) -> Vec<(usize, R)> {
    let bar = progress(mine.len(), what);
    let results = run_jobs_on(&bar, mine, job);
    bar.finish_and_clear();
    results
}

/// [`run_jobs`] on a bar the caller owns, for a search that runs its jobs in rounds (`fit`).
pub(super) fn run_jobs_on<R: Send>(
    bar: &ProgressBar,
    mine: &[usize],
    job: impl Fn(usize, &ProgressBar) -> R + Sync,
) -> Vec<(usize, R)> {
    mine.par_iter()
        .map(|&j| {
            let r = job(j, bar);
            bar.inc(1);
            (j, r)
        })
        .collect()
}

/// The jobs of `0..total` that `shard` runs: all of them unsharded, else those with j mod N = I.
fn my_jobs(total: usize, shard: Option<(usize, usize)>) -> Vec<usize> {
    let (i, n) = shard.unwrap_or((0, 1));
    (0..total).filter(|j| j % n == i).collect()
}

/// The first line of a shard file: what sweep it belongs to and which part it holds.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct ShardHeader {
    /// Format version, [`SHARD_VERSION`].
    loadlab_shard: u32,
    /// `compare` or `tune`.
    kind: String,
    /// This shard's index I.
    shard: usize,
    /// The shard count N.
    of: usize,
    /// Jobs in the whole sweep.
    jobs: usize,
    /// Every option that decides the sweep's jobs; shards of one sweep have the same.
    sweep: Value,
}

/// One finished job: a compare job's score, or a tune candidate's values, cost and per-scenario scores.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
struct JobLine {
    job: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    score: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    values: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scores: Option<Vec<Score>>,
}

fn json_line<T: Serialize>(v: &T) -> Result<String, CliError> {
    serde_json::to_string(v).map(|s| s + "\n").map_err(|e| CliError::Io(format!("encoding JSON: {e}")))
}

/// Writes a shard's JSON lines to `--out`, or to stdout.
fn write_shard(opts: &ShardOpts, header: &ShardHeader, lines: &[JobLine]) -> Result<(), CliError> {
    let mut text = json_line(header)?;
    for l in lines {
        text += &json_line(l)?;
    }
    match &opts.out {
        Some(path) => write_file(path, &text),
        None => emit(&text),
    }
}

/// The scorecard as CSV, through the `csv` crate: byte-identical to joining the cells with commas while no cell
/// needs quoting, and correctly quoted when one does (a scenario file's name with a comma).
fn scores_csv(scores: &[Score]) -> Result<String, CliError> {
    let io = |e: csv::Error| CliError::Io(format!("writing CSV: {e}"));
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(scorecard::COLUMNS).map_err(io)?;
    for s in scores {
        w.write_record(scorecard::cells(s)).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| CliError::Io(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| CliError::Io(format!("writing CSV: {e}")))
}

/// The scorecard as a JSON array, one object per row with the table's columns and rounding (`-` is null).
fn scores_json(scores: &[Score]) -> Result<String, CliError> {
    let rows: Result<Vec<String>, CliError> = scores
        .iter()
        .map(|s| {
            let row: Map<String, Value> = scorecard::COLUMNS
                .iter()
                .zip(scorecard::cells(s))
                .map(|(k, v)| {
                    let value = if let Ok(i) = v.parse::<i64>() {
                        Value::from(i)
                    } else if let Ok(x) = v.parse::<f64>() {
                        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                    } else if v == "-" {
                        Value::Null
                    } else {
                        Value::from(v)
                    };
                    (k.to_string(), value)
                })
                .collect();
            serde_json::to_string(&row).map_err(|e| CliError::Io(format!("encoding JSON: {e}")))
        })
        .collect();
    Ok(format!("[{}]\n", rows?.join(",\n")))
}

fn scores_text(scores: &[Score], format: TableFormat) -> Result<String, CliError> {
    match format {
        TableFormat::Csv => scores_csv(scores),
        TableFormat::Json => scores_json(scores),
        TableFormat::Table => Ok(scorecard::table(scores)),
    }
}

fn split_names(raw: &str) -> Vec<String> {
    raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// `loadlab compare`.
pub(crate) fn cmd_compare(o: CompareOpts) -> Result<(), CliError> {
    let mut names = o.scenarios.clone();
    if o.all {
        names.extend(default_scenarios().iter().map(|s| s.to_string()));
    }
    if names.is_empty() && o.scenario_files.is_empty() {
        return Err(format!(
            "compare needs --scenario NAME or --all (or --scenario-file FILE); valid scenarios: {}",
            scenario_names()
        )
        .into());
    }
    let controllers_named: Vec<String> = match &o.controllers {
        Some(list) => split_names(list),
        None => controllers().iter().map(|c| c.name.to_string()).collect(),
    };
    for c in &controllers_named {
        ControllerSpec::new(c)?;
    }
    let timing = Timing { duration_s: o.duration, step_s: o.time_step };
    if let (Some(d), Some(t)) = (o.duration, o.time_step) {
        if t > d {
            return Err(format!("--time-step {t} is longer than --duration {d}").into());
        }
    }
    for (key, _) in &o.sets {
        let is_param = controllers().iter().any(|c| c.params.iter().any(|p| p.key == key));
        let compared = |n: &String| controller_info(n).is_some_and(|c| c.params.iter().any(|p| p.key == key));
        if is_param && !controllers_named.iter().any(compared) {
            return Err(format!("--set {key}: none of the compared controllers has that parameter").into());
        }
    }
    let sources = sources(&names, &o.scenario_files)?;
    // Build every config first, so a bad name or value fails before any run starts.
    let mut jobs = Vec::new();
    for s in &sources {
        for c in &controllers_named {
            jobs.push(job(s, c, &o.sets, timing)?);
        }
    }
    let mine = my_jobs(jobs.len(), o.shard.shard);
    let results = run_jobs(&mine, "compare", |j, _| score_job(&jobs[j], o.seed));
    let mut lines = Vec::new();
    for (job, r) in results {
        lines.push(JobLine { job, score: Some(r?), values: None, cost: None, scores: None });
    }
    if o.shard.shard.is_none() && o.shard.out.is_none() {
        let scores: Vec<Score> = lines.into_iter().filter_map(|l| l.score).collect();
        return emit(&scores_text(&scores, o.format)?);
    }
    let fingerprints: Result<Vec<Value>, CliError> = sources.iter().map(Source::fingerprint).collect();
    let sweep = serde_json::json!({
        "scenarios": fingerprints?, "controllers": controllers_named, "seed": o.seed,
        "duration_s": o.duration, "time_step_s": o.time_step, "sets": o.sets,
    });
    let (shard, of) = o.shard.shard.unwrap_or((0, 1));
    let header =
        ShardHeader { loadlab_shard: SHARD_VERSION, kind: "compare".into(), shard, of, jobs: jobs.len(), sweep };
    write_shard(&o.shard, &header, &lines)
}

/// The tuning cost of one scorecard row: p99 latency in seconds + 10 × mean latency in seconds + 100 × the
/// fraction of requests failed, rejected or overloaded. One percentage point of failed requests costs as much
/// as a second of p99 or 100 ms of mean latency: an SRE would rather fail 1% fast than slow everyone down by more.
pub fn tune_cost(score: &Score) -> f64 {
    let failure_fraction =
        if score.requests > 0 { score.failed_or_rejected as f64 / score.requests as f64 } else { 0.0 };
    score.latency_p99_ms / 1e3 + 10.0 * score.latency_mean_ms / 1e3 + 100.0 * failure_fraction
}

/// Draws a candidate value for a parameter: one of its choices, each as likely, for a switch; log-uniform within
/// a decade either side of the default (clamped to the documented range) when the default is positive, else
/// uniform over [min, min + 1] ∩ range.
fn sample_param(p: &ParamInfo, rng: &mut crate::rng::Rng) -> f64 {
    if !p.choices.is_empty() {
        let k = ((rng.next_f64() * p.choices.len() as f64) as usize).min(p.choices.len() - 1);
        p.choices[k].0
    } else if p.default > 0.0 {
        let lo = (p.default / 10.0).max(p.min).max(f64::MIN_POSITIVE);
        let hi = (p.default * 10.0).min(p.max);
        let (a, b) = (crate::rng::ln(lo), crate::rng::ln(hi.max(lo)));
        crate::rng::exp(a + (b - a) * rng.next_f64())
    } else {
        let hi = (p.min + 1.0).min(p.max);
        p.min + (hi - p.min) * rng.next_f64()
    }
}

/// Candidate 0 is the defaults; the rest are drawn from one seeded stream, so the search is reproducible and
/// every shard sees the same list.
fn candidates(params: &[ParamInfo], budget: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = crate::rng::Rng::new(seed, crate::rng::Stream::Control);
    (0..budget)
        .map(|i| params.iter().map(|p| if i == 0 { p.default } else { sample_param(p, &mut rng) }).collect())
        .collect()
}

/// What `tune` prints: the best candidate (the first of equal cost), its values and its scorecard.
fn tune_text(params: &[ParamInfo], lines: &[JobLine]) -> Result<String, CliError> {
    let mut best: Option<&JobLine> = None;
    for l in lines {
        if best.is_none_or(|b| l.cost.unwrap_or(f64::INFINITY) < b.cost.unwrap_or(f64::INFINITY)) {
            best = Some(l);
        }
    }
    let best = best.ok_or("tune evaluated no candidate")?;
    let default_note = if best.job == 0 { " (the defaults)" } else { "" };
    let mut out =
        format!("best cost {:.4} after {} evaluations{default_note}:\n", best.cost.unwrap_or(f64::NAN), lines.len());
    for (p, v) in params.iter().zip(best.values.as_deref().unwrap_or(&[])) {
        out += &format!("  --set {}={:.6}   ({}; default {})\n", p.key, v, p.unit, p.default);
    }
    out += &scorecard::table(best.scores.as_deref().unwrap_or(&[]));
    Ok(out)
}

/// One tune candidate's outcome: its total cost and a scorecard row per scenario.
type Evaluation = Result<(f64, Vec<Score>), CliError>;

/// `loadlab tune`.
pub(crate) fn cmd_tune(o: TuneOpts) -> Result<(), CliError> {
    let name = o.controller.clone().ok_or("tune needs --controller NAME")?;
    let spec = ControllerSpec::new(&name)?;
    let params = spec.info().params;
    if params.is_empty() {
        return Err(format!("controller {name} has no parameters to tune").into());
    }
    let names = match &o.scenarios {
        Some(list) => split_names(list),
        None if o.scenario_files.is_empty() => default_scenarios().iter().map(|s| s.to_string()).collect(),
        None => Vec::new(),
    };
    let sources = sources(&names, &o.scenario_files)?;
    let timing = Timing { duration_s: o.duration, step_s: None };
    let candidates = candidates(params, o.budget, o.seed);
    let sets_of = |values: &[f64]| -> Vec<(String, String)> {
        params.iter().zip(values).map(|(p, v)| (p.key.to_string(), format!("{v}"))).collect()
    };
    // Check the defaults' configs now, so a bad file or name fails before the search starts.
    for s in &sources {
        job(s, &name, &sets_of(&candidates[0]), timing)?;
    }
    let evaluate = |values: &[f64]| -> Evaluation {
        let mut cost = 0.0;
        let mut scores = Vec::new();
        for s in &sources {
            let score = score_job(&job(s, &name, &sets_of(values), timing)?, o.seed)?;
            cost += tune_cost(&score);
            scores.push(score);
        }
        Ok((cost, scores))
    };
    let mine = my_jobs(o.budget, o.shard.shard);
    let best_so_far = std::sync::Mutex::new(f64::INFINITY);
    let results = run_jobs(&mine, "tune", |j, bar| {
        let r = evaluate(&candidates[j]);
        if let Ok((cost, _)) = &r {
            let mut best = best_so_far.lock().unwrap_or_else(|e| e.into_inner());
            *best = best.min(*cost);
            bar.set_message(format!("best cost {:.4}", *best));
        }
        r
    });
    let mut lines = Vec::new();
    for (job, r) in results {
        let (cost, scores) = r?;
        lines.push(JobLine {
            job,
            score: None,
            values: Some(candidates[job].clone()),
            cost: Some(cost),
            scores: Some(scores),
        });
    }
    if o.shard.shard.is_none() && o.shard.out.is_none() {
        return emit(&tune_text(params, &lines)?);
    }
    let fingerprints: Result<Vec<Value>, CliError> = sources.iter().map(Source::fingerprint).collect();
    let sweep = serde_json::json!({
        "controller": name, "scenarios": fingerprints?, "budget": o.budget, "seed": o.seed, "duration_s": o.duration,
    });
    let (shard, of) = o.shard.shard.unwrap_or((0, 1));
    let header = ShardHeader { loadlab_shard: SHARD_VERSION, kind: "tune".into(), shard, of, jobs: o.budget, sweep };
    write_shard(&o.shard, &header, &lines)
}

/// Reads one shard file: its header and job lines; errors name the file and line.
fn read_shard(path: &str) -> Result<(ShardHeader, Vec<JobLine>), CliError> {
    let text = read_file(path, MAX_SHARD_BYTES)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let bad = |n: usize, e: serde_json::Error| -> CliError {
        format!(
            "{}:{}:{}: {e}; expected a shard file written by compare or tune --out",
            quote(path).trim_matches('\''),
            n + 1,
            e.column()
        )
        .into()
    };
    let (n, first) = lines.next().ok_or_else(|| format!("{} is empty; expected a shard file", quote(path)))?;
    let header: ShardHeader = serde_json::from_str(first).map_err(|e| bad(n, e))?;
    if header.loadlab_shard != SHARD_VERSION {
        return Err(format!("{}: shard format {} is not {SHARD_VERSION}", quote(path), header.loadlab_shard).into());
    }
    let jobs: Result<Vec<JobLine>, CliError> =
        lines.map(|(n, l)| serde_json::from_str::<JobLine>(l).map_err(|e| bad(n, e))).collect();
    Ok((header, jobs?))
}

/// `loadlab merge`: checks that the files are every shard of one sweep, each once, and prints what the
/// unsharded run prints.
pub(crate) fn cmd_merge(o: MergeOpts) -> Result<(), CliError> {
    let mut first: Option<ShardHeader> = None;
    let mut seen_shards = Vec::new();
    let mut all: Vec<Option<JobLine>> = Vec::new();
    for path in &o.files {
        let (h, jobs) = read_shard(path)?;
        let base = first.get_or_insert_with(|| h.clone());
        if (&h.kind, h.of, h.jobs, &h.sweep) != (&base.kind, base.of, base.jobs, &base.sweep) {
            return Err(format!("{} is from a different sweep than {}", quote(path), quote(&o.files[0])).into());
        }
        if seen_shards.contains(&h.shard) {
            return Err(format!("shard {}/{} is given twice ({})", h.shard, h.of, quote(path)).into());
        }
        seen_shards.push(h.shard);
        all.resize_with(h.jobs, || None);
        for l in jobs {
            let slot = all.get_mut(l.job).ok_or_else(|| format!("{}: job {} is out of range", quote(path), l.job))?;
            *slot = Some(l);
        }
    }
    let header = first.ok_or("merge needs at least one FILE")?;
    let missing: Vec<usize> = (0..header.of).filter(|s| !seen_shards.contains(s)).collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(10).map(|s| format!("{s}/{}", header.of)).collect();
        return Err(format!("missing shard(s) {}; merge needs all {} shards", list.join(", "), header.of).into());
    }
    let lines: Vec<JobLine> = all
        .into_iter()
        .enumerate()
        .map(|(j, l)| l.ok_or(j))
        .collect::<Result<_, _>>()
        .map_err(|j| format!("job {j} is missing from every shard; re-run its shard"))?;
    if header.kind == "tune" {
        let name = header.sweep.get("controller").and_then(Value::as_str).unwrap_or("");
        let info = controller_info(name).ok_or_else(|| format!("shards name an unknown controller {}", quote(name)))?;
        return emit(&tune_text(info.params, &lines)?);
    }
    let scores: Vec<Score> = lines.into_iter().filter_map(|l| l.score).collect();
    emit(&scores_text(&scores, o.format)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_crate_gives_the_old_bytes_and_quotes_when_needed() {
        // The scorecard CSV was the cells joined with commas; the csv crate must give those bytes for every name a
        // built-in scenario has, and quote (RFC 4180) a cell with a comma.
        let def = crate::registry::all().find(|d| d.scorecard.is_some()).expect("a scenario with a scorecard");
        let timing = Timing { duration_s: Some(10.0), step_s: None };
        let score = score_job(&job(&Source::Named(def), "static", &[], timing).unwrap(), 1).unwrap();
        let joined = format!("{}\n{}\n", scorecard::COLUMNS.join(","), scorecard::cells(&score).join(","));
        assert_eq!(scores_csv(std::slice::from_ref(&score)).unwrap(), joined);
        let odd = Score { scenario: "my,cluster".into(), ..score };
        assert!(scores_csv(&[odd]).unwrap().lines().nth(1).unwrap().starts_with("\"my,cluster\",static,"));
    }

    #[test]
    fn shards_partition_the_jobs() {
        // Every job in exactly one shard, whatever N, and shard I of N is always the same list.
        for n in 1..=7 {
            let mut all: Vec<usize> = (0..n).flat_map(|i| my_jobs(23, Some((i, n)))).collect();
            all.sort_unstable();
            assert_eq!(all, (0..23).collect::<Vec<_>>(), "N = {n}");
        }
        assert_eq!(my_jobs(10, Some((1, 3))), vec![1, 4, 7]);
        assert_eq!(my_jobs(4, None), vec![0, 1, 2, 3]);
    }
}
