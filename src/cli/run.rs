//! `loadlab run` (a scenario by name or from a scenario file, streamed as CSV or JSON) and
//! `loadlab export-scenario` (a scenario's complete config as a TOML file).

use std::io::{self, Write};
use std::time::Instant;

use clap::Parser;

use super::args::{Cli, Cmd, ExportOpts, RunFormat, RunOpts};
use super::{emit, read_file, write_result, CliError};
use crate::controller::ControllerSpec;
use crate::engine::keys::quote;
use crate::engine::run::Run;
use crate::models::section::config::Config;
use crate::registry::{self, RunSpec};
use crate::time::{as_secs_f64, from_secs_f64, SECOND};

/// What `loadlab run` runs and how it prints it.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Scenario name (a scenario file's `scenario` label when run from a file).
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
    /// The config read from `--scenario-file`, with the command line's overrides applied.
    pub file: Option<Config>,
}

/// Reads and checks a scenario file; errors name the file, line and column.
pub(crate) fn load_scenario_file(path: &str) -> Result<Config, CliError> {
    let text = read_file(path, crate::models::section::scenario_file::MAX_BYTES)?;
    Ok(crate::models::section::scenario_file::from_toml(path, &text)?)
}

/// The scenario names, for "valid scenarios" lists.
pub(crate) fn scenario_names() -> String {
    registry::all().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// `loadlab run`'s options as a [`RunArgs`], reading the scenario file if one is named.
fn run_args(o: RunOpts) -> Result<RunArgs, CliError> {
    let b = o.build;
    let file = match &o.scenario_file {
        Some(path) => {
            if !b.sets.is_empty() {
                return Err("--set does not apply to --scenario-file; edit the file instead".into());
            }
            let mut cfg = load_scenario_file(path)?;
            if let Some(c) = &b.controller {
                cfg.controller = ControllerSpec::new(c)?;
            }
            cfg.duration = b.duration.map_or(cfg.duration, from_secs_f64);
            cfg.time_step = b.time_step.map_or(cfg.time_step, from_secs_f64);
            Some(cfg)
        }
        None => None,
    };
    let scenario = match (&file, &b.scenario) {
        (Some(cfg), _) => cfg.scenario.clone(),
        (None, Some(name)) => name.clone(),
        (None, None) => {
            return Err(format!(
                "run needs --scenario NAME or --scenario-file FILE; valid scenarios: {}",
                scenario_names()
            )
            .into())
        }
    };
    let run = RunArgs {
        scenario,
        controller: file.as_ref().map_or_else(
            || b.controller.clone().unwrap_or_else(|| "static".into()),
            |c| c.controller.name().to_string(),
        ),
        duration_s: file.as_ref().map_or(b.duration, |c| Some(as_secs_f64(c.duration))),
        time_step_s: file.as_ref().map_or(b.time_step, |c| Some(as_secs_f64(c.time_step))),
        seed: o.seed,
        sets: b.sets,
        json: o.format == RunFormat::Json,
        out: o.out,
        file,
    };
    if let (Some(step), Some(duration)) = (run.time_step_s, run.duration_s) {
        if step > duration {
            return Err(format!("--time-step {step} is longer than --duration {duration}").into());
        }
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

/// Builds a section run straight from a config (a scenario file's).
pub(crate) fn build_from_config(cfg: Config, seed: u64) -> Result<Box<dyn Run>, CliError> {
    Ok(crate::models::section::run_from_config(cfg, seed)?)
}

/// Builds the run a `run` describes, through the scenario registry or from its scenario file, or a one-line
/// error.
pub fn build_sim(run: &RunArgs) -> Result<Box<dyn Run>, CliError> {
    if let Some(cfg) = &run.file {
        return build_from_config(cfg.clone(), run.seed);
    }
    let def = registry::find(&run.scenario)?;
    let controller = if def.takes_controller { run.controller.clone() } else { String::new() };
    if !def.takes_controller && run.controller != "static" {
        registry::no_controller(def, &RunSpec { controller: run.controller.clone(), ..RunSpec::default() })?;
    }
    let spec = RunSpec {
        controller,
        sets: run.sets.clone(),
        seed: run.seed,
        duration_s: run.duration_s,
        time_step_s: run.time_step_s,
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
            json_text(&run.scenario)?,
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

/// `loadlab export-scenario`: the config `run --scenario NAME` with the same options would run, as TOML.
pub(crate) fn cmd_export(o: ExportOpts) -> Result<(), CliError> {
    let o = o.build;
    let name = o
        .scenario
        .ok_or_else(|| format!("export-scenario needs --scenario NAME; valid scenarios: {}", scenario_names()))?;
    let def = registry::find(&name)?;
    if def.model != "section" {
        return Err(
            format!("scenario {name} is a {} model; only section-model scenarios export so far", def.model).into()
        );
    }
    let controller = o.controller.unwrap_or_else(|| "static".into());
    let mut cfg = crate::models::section::scenario::build(def.name, &controller, &o.sets)?;
    cfg.duration = from_secs_f64(o.duration.unwrap_or(100.0));
    cfg.time_step = from_secs_f64(o.time_step.unwrap_or(1.0));
    if cfg.time_step > cfg.duration {
        return Err("--time-step is longer than --duration".into());
    }
    emit(&crate::models::section::scenario_file::to_toml(&cfg)?)
}
