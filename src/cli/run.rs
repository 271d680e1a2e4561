//! `loadlab run` (a scenario by name or from a scenario file, streamed as CSV or JSON) and
//! `loadlab export-scenario` (a scenario's complete config as a TOML file).

use std::io::{self, Write};
use std::time::Instant;

use clap::Parser;

use super::args::{Cli, Cmd, ExportOpts, RunFormat, RunOpts};
use super::{emit, read_file, write_result, CliError};
use crate::engine::keys::quote;
use crate::engine::run::Run;
use crate::registry::{self, RunSpec, ScenarioDef};
use crate::time::{as_secs_f64, SECOND};

/// What `loadlab run` runs and how it prints it.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Scenario name (the scenario a scenario file is for).
    pub scenario: String,
    /// Controller name.
    pub controller: String,
    /// Simulated duration, seconds; `None` runs the scenario's own (100 s for the section, a whole course for
    /// the others, such as percona-desync's backup and catch-up).
    pub duration_s: Option<f64>,
    /// Metrics step, seconds; `None` takes the scenario's own.
    pub time_step_s: Option<f64>,
    /// Seed of every random stream.
    pub seed: u64,
    /// `--set` pairs, in order (none with a scenario file).
    pub sets: Vec<(String, String)>,
    /// JSON instead of CSV.
    pub json: bool,
    /// Output file, or stdout.
    pub out: Option<String>,
    /// The spec read from `--scenario-file`, with the command line's overrides applied.
    pub file: Option<RunSpec>,
}

/// Reads and checks a scenario file of any model: the scenario it is for and the spec that runs it; errors
/// name the file, line and column.
pub(crate) fn open_scenario_file(path: &str) -> Result<(&'static ScenarioDef, RunSpec), CliError> {
    let text = read_file(path, crate::engine::scenario_file::MAX_BYTES)?;
    Ok(registry::open_file(path, &text)?)
}

/// The scenario names, for "valid scenarios" lists.
pub(crate) fn scenario_names() -> String {
    registry::all().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// The controller a command line asks a scenario for: the given one where the scenario takes one, an error
/// naming the scenario where it does not.
fn controller_for(def: &'static ScenarioDef, given: Option<&String>) -> Result<String, CliError> {
    match given {
        Some(c) if !def.takes_controller => {
            registry::no_controller(def, &RunSpec { controller: c.clone(), ..RunSpec::default() })?;
            Ok(String::new())
        }
        Some(c) => Ok(c.clone()),
        None => Ok(String::new()),
    }
}

/// `loadlab run`'s options as a [`RunArgs`], reading the scenario file if one is named.
fn run_args(o: RunOpts) -> Result<RunArgs, CliError> {
    let b = o.build;
    let (scenario, file) = match (&o.scenario_file, &b.scenario) {
        (Some(path), _) => {
            if !b.sets.is_empty() {
                return Err("--set does not apply to --scenario-file; edit the file instead".into());
            }
            let (def, mut spec) = open_scenario_file(path)?;
            let controller = controller_for(def, b.controller.as_ref())?;
            if !controller.is_empty() {
                spec.controller = controller;
            }
            spec.duration_s = b.duration.or(spec.duration_s);
            spec.time_step_s = b.time_step.or(spec.time_step_s);
            (def.name.to_string(), Some(spec))
        }
        (None, Some(name)) => (name.clone(), None),
        (None, None) => {
            return Err(format!(
                "run needs --scenario NAME or --scenario-file FILE; valid scenarios: {}",
                scenario_names()
            )
            .into())
        }
    };
    let controller = file.as_ref().map(|f| f.controller.clone()).or(b.controller).filter(|c| !c.is_empty());
    let run = RunArgs {
        scenario,
        controller: controller.unwrap_or_else(|| crate::engine::scenario::NO_CONTROLLER.into()),
        duration_s: file.as_ref().map_or(b.duration, |f| f.duration_s),
        time_step_s: file.as_ref().map_or(b.time_step, |f| f.time_step_s),
        seed: o.seed,
        sets: b.sets,
        json: o.format == RunFormat::Json,
        out: o.out,
        file,
    };
    if let (Some(step), Some(duration)) = (run.time_step_s, run.duration_s) {
        crate::engine::limits::check_timing(duration, step)?;
    }
    Ok(run)
}

/// Parses `loadlab run`'s options (without `run` itself), for tests and library callers.
pub fn parse_run(args: &[String]) -> Result<RunArgs, CliError> {
    let argv = ["loadlab", "run"].into_iter().map(String::from).chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(Cli { command: Some(Cmd::Run(o)) }) => run_args(o),
        Ok(_) => Err("not a run".into()),
        Err(e) => Err(super::clap_message(&e, &["run".to_string()]).into()),
    }
}

/// Builds the run a `run` describes, through the scenario registry (a scenario file's spec included), or a
/// one-line error.
pub fn build_sim(run: &RunArgs) -> Result<Box<dyn Run>, CliError> {
    let def = registry::find(&run.scenario)?;
    if let Some(spec) = &run.file {
        return Ok(def.build_run(&RunSpec { seed: run.seed, ..spec.clone() })?);
    }
    let controller =
        controller_for(def, Some(&run.controller).filter(|c| *c != crate::engine::scenario::NO_CONTROLLER))?;
    let spec = RunSpec {
        controller,
        sets: run.sets.clone(),
        seed: run.seed,
        duration_s: run.duration_s,
        time_step_s: run.time_step_s,
        file: None,
    };
    Ok(def.build_run(&spec)?)
}

fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> io::Result<String> {
    serde_json::to_string(v).map_err(io::Error::other)
}

/// Runs a simulation to its end, streaming rows to `out` a chunk at a time so memory stays bounded.
pub fn run_to(run: &RunArgs, mut sim: Box<dyn Run>, out: &mut dyn Write) -> io::Result<()> {
    let started = Instant::now();
    if run.json {
        write!(
            out,
            "{{\"scenario\":{},\"controller\":{},\"seed\":{},\"duration_s\":{},\"time_step_s\":{},\"rows\":[",
            json_text(sim.scenario())?,
            json_text(&run.controller)?,
            run.seed,
            json_text(&as_secs_f64(sim.duration()))?,
            json_text(&as_secs_f64(sim.time_step()))?
        )?;
    } else {
        writeln!(out, "{}", sim.csv_header())?;
    }
    let end = sim.duration();
    let chunk = (sim.time_step().saturating_mul(1000)).max(SECOND);
    let mut first = true;
    loop {
        let until = sim.now().saturating_add(chunk).min(end);
        sim.run_until(until, u64::MAX);
        for row in sim.drain_rows() {
            if run.json {
                if !first {
                    out.write_all(b",")?;
                }
                out.write_all(sim.json_row(&row).as_bytes())?;
            } else {
                writeln!(out, "{}", sim.csv_row(&row))?;
            }
            first = false;
        }
        if until >= end {
            break;
        }
    }
    if run.json {
        let mut summary = sim.summary();
        summary.insert("wall_seconds".into(), started.elapsed().as_secs_f64().into());
        writeln!(out, "],\"summary\":{}}}", json_text(&summary)?)?;
    }
    out.flush()
}

/// `loadlab run`.
pub(crate) fn cmd_run(o: RunOpts) -> Result<(), CliError> {
    let run = run_args(o)?;
    let sim = build_sim(&run)?;
    let result = match &run.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| CliError::Io(format!("--out: cannot create {}: {e}", quote(path))))?;
            run_to(&run, sim, &mut io::BufWriter::new(file))
        }
        None => run_to(&run, sim, &mut io::BufWriter::new(io::stdout().lock())),
    };
    write_result("output", result)
}

/// `loadlab export-scenario`: the scenario file `run --scenario NAME` with the same options would run, for any
/// model.
pub(crate) fn cmd_export(o: ExportOpts) -> Result<(), CliError> {
    let o = o.build;
    let name = o
        .scenario
        .ok_or_else(|| format!("export-scenario needs --scenario NAME; valid scenarios: {}", scenario_names()))?;
    let def = registry::find(&name)?;
    if let (Some(step), Some(duration)) = (o.time_step, o.duration) {
        crate::engine::limits::check_timing(duration, step)?;
    }
    let spec = RunSpec {
        controller: controller_for(def, o.controller.as_ref())?,
        sets: o.sets,
        duration_s: o.duration,
        time_step_s: o.time_step,
        ..RunSpec::default()
    };
    emit(&def.export_file(&spec)?)
}
