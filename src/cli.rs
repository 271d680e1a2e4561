//! The native command line: headless runs, the list of scenarios, controllers and keys, and the benchmark.
//!
//! Every user error is one line on stderr naming what is valid, with exit status 2, and happens before any output
//! is written. The CLI is the only place (besides the web shell) that reads the wall clock or does IO.

use std::io::{self, Write};
use std::time::Instant;

use crate::config::Config;
use crate::controller::{controller_info, controllers, ControllerSpec};
use crate::engine::keys::KeyInfo;
use crate::engine::run::Run;
use crate::output;
use crate::registry::{self, RunSpec};
use crate::scenario::{self, KeyKind};
use crate::scorecard::{self, Score};
use crate::time::{from_secs_f64, SECOND};

/// Exit status for bad input.
pub const EXIT_USAGE: i32 = 2;

const USAGE: &str =
    "usage: loadlab <run|list|weights|compare|tune|bench|help> [options]; 'loadlab help' shows them all";

const HELP: &str = "\
loadlab: a deterministic lab for database load balancing

  loadlab run --scenario NAME [--controller NAME] [--duration SECONDS] [--time-step SECONDS]
              [--seed N] [--set KEY=VALUE]... [--format csv|json] [--out FILE]
      Run a scenario headless and print one row per time step (EventSimulator's columns).
      Defaults: controller static, duration 100, time step 1, seed 1, format csv, output stdout.
  loadlab list
      Every scenario and controller with a one-line description, and every settable key.
  loadlab weights --controller NAME --loads L1,L2,... --conns C1,C2,... [--set KEY=VALUE]...
      The weights the controller's closed form sets from those loads and connection counts.
  loadlab compare (--scenario NAME | --all) [--controllers a,b,...] [--seed N] [--duration SECONDS]
                  [--time-step SECONDS] [--set KEY=VALUE]... [--format table|csv|json]
      A scorecard per controller: the faulty server's peak and settled connections, how fast its share
      falls and returns, failed or rejected requests, p50/p99, peak worker use, oscillation.
      Defaults: every controller, duration 180, time step 0.5, and recover_at=150 for fault scenarios.
      --all runs every MediaWiki scenario.
  loadlab tune --controller NAME --scenarios a,b,... --budget N [--seed N] [--duration SECONDS]
      Searches the controller's parameters (in parallel) for the lowest cost over the scenarios and prints
      the best values and their scorecard. Cost per scenario: p99 latency in seconds + 10 x the mean
      latency in seconds + 100 x the fraction of requests failed, rejected or overloaded.
  loadlab bench
      Events per second on mmc (20 servers x 8 slots, 10 ms, utilization 0.9) and the wall time
      of a 100-simulated-second plain-s1 run.
";

/// A one-line user error.
#[derive(Debug)]
pub struct UsageError(pub String);

impl<T: Into<String>> From<T> for UsageError {
    fn from(s: T) -> Self {
        UsageError(s.into())
    }
}

/// Parsed options of `loadlab run`.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Scenario name.
    pub scenario: String,
    /// Controller name.
    pub controller: String,
    /// Simulated duration, seconds.
    pub duration_s: f64,
    /// Metrics step, seconds.
    pub time_step_s: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// `--set` pairs, in order.
    pub sets: Vec<(String, String)>,
    /// Output format.
    pub json: bool,
    /// Output file, or stdout.
    pub out: Option<String>,
}

/// Splits `--flag value` pairs, rejecting unknown flags and missing values.
fn flags<'a>(args: &'a [String], known: &[&str]) -> Result<Vec<(&'a str, &'a str)>, UsageError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (flag, None),
        };
        if !known.contains(&name) {
            return Err(format!("unknown option '{flag}'; valid options: {}", known.join(", ")).into());
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i).map(String::as_str).ok_or_else(|| format!("{name} needs a value"))?
            }
        };
        out.push((name, value));
        i += 1;
    }
    Ok(out)
}

fn parse_seconds(name: &str, raw: &str, min: f64, max: f64) -> Result<f64, UsageError> {
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= min && v <= max => Ok(v),
        _ => Err(format!("{name}: '{raw}' is not valid; expected seconds from {min} to {max}").into()),
    }
}

fn parse_seed(raw: &str) -> Result<u64, UsageError> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| format!("--seed: '{raw}' is not valid; expected a whole number from 0 to {}", u64::MAX).into())
}

fn parse_set(raw: &str) -> Result<(String, String), UsageError> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("--set: '{raw}' should be KEY=VALUE; 'loadlab list' shows the keys").into()),
    }
}

/// Parses `loadlab run`'s options.
pub fn parse_run(args: &[String]) -> Result<RunArgs, UsageError> {
    let mut run = RunArgs {
        scenario: String::new(),
        controller: "static".into(),
        duration_s: 100.0,
        time_step_s: 1.0,
        seed: 1,
        sets: Vec::new(),
        json: false,
        out: None,
    };
    let known = ["--scenario", "--controller", "--duration", "--time-step", "--seed", "--set", "--format", "--out"];
    for (name, value) in flags(args, &known)? {
        match name {
            "--scenario" => run.scenario = value.to_string(),
            "--controller" => run.controller = value.to_string(),
            "--duration" => run.duration_s = parse_seconds("--duration", value, 0.001, 1e7)?,
            "--time-step" => run.time_step_s = parse_seconds("--time-step", value, 0.001, 1e6)?,
            "--seed" => run.seed = parse_seed(value)?,
            "--set" => run.sets.push(parse_set(value)?),
            "--format" => {
                run.json = match value {
                    "csv" => false,
                    "json" => true,
                    _ => return Err(format!("--format: '{value}' is not valid; expected csv or json").into()),
                }
            }
            "--out" => run.out = Some(value.to_string()),
            _ => unreachable!("flags() only returns known names"),
        }
    }
    if run.scenario.is_empty() {
        let names: Vec<&str> = registry::all().map(|s| s.name).collect();
        return Err(format!("run needs --scenario NAME; valid scenarios: {}", names.join(", ")).into());
    }
    if run.time_step_s > run.duration_s {
        return Err(format!("--time-step {} is longer than --duration {}", run.time_step_s, run.duration_s).into());
    }
    Ok(run)
}

/// Builds the run a `run` describes, through the scenario registry, or a one-line error.
pub fn build_sim(run: &RunArgs) -> Result<Box<dyn Run>, UsageError> {
    let def = registry::find(&run.scenario)?;
    let controller = if def.takes_controller { run.controller.clone() } else { String::new() };
    if !def.takes_controller && run.controller != "static" {
        registry::no_controller(def, &RunSpec { controller: run.controller.clone(), ..RunSpec::default() })?;
    }
    let spec = RunSpec {
        controller,
        sets: run.sets.clone(),
        seed: run.seed,
        duration_s: Some(run.duration_s),
        time_step_s: Some(run.time_step_s),
    };
    Ok((def.build)(def, &spec)?)
}

/// Runs a simulation to its end, streaming rows to `out` a chunk at a time so memory stays bounded.
pub fn run_to(run: &RunArgs, mut sim: Box<dyn Run>, out: &mut dyn Write) -> io::Result<()> {
    let started = Instant::now();
    if run.json {
        write!(
            out,
            "{{\"scenario\":{},\"controller\":{},\"seed\":{},\"duration_s\":{},\"time_step_s\":{},\"rows\":[",
            output::json_string(&run.scenario),
            output::json_string(&run.controller),
            run.seed,
            run.duration_s,
            run.time_step_s
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
        let text = serde_json::to_string(&summary).map_err(io::Error::other)?;
        writeln!(out, "],\"summary\":{text}}}")?;
    }
    out.flush()
}

fn cmd_run(args: &[String]) -> Result<(), UsageError> {
    let run = parse_run(args)?;
    let sim = build_sim(&run)?;
    let result = match &run.out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| format!("--out: cannot create '{path}': {e}"))?;
            run_to(&run, sim, &mut io::BufWriter::new(file))
        }
        None => run_to(&run, sim, &mut io::BufWriter::new(io::stdout().lock())),
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("writing output: {e}").into()),
        _ => Ok(()),
    }
}

fn describe_kind(kind: &KeyKind) -> String {
    match kind {
        KeyKind::Number { min, max } => format!("{min}..{max}"),
        KeyKind::CountOrUnlimited { min, max } => format!("{min}..{max} or unlimited"),
        KeyKind::Choice(options) => options.join("|"),
        KeyKind::FaultSpec => "repeatable".into(),
    }
}

/// The text of `loadlab list`.
pub fn list_text() -> String {
    let mut s = String::from("SCENARIOS\n");
    for sc in registry::all() {
        s += &format!("  {:<24} [{}] {}\n", sc.name, sc.model, sc.summary);
    }
    s += "\nCONTROLLERS (--controller NAME; parameters are set with --set KEY=VALUE)\n";
    for c in controllers() {
        s += &format!("  {:<18} {}\n", c.name, c.summary);
        for p in c.params {
            s += &format!(
                "      {:<22} {:<10} default {:<8} {}..{}  {}\n",
                p.key, p.unit, p.default, p.min, p.max, p.help
            );
        }
    }
    s += "\nKEYS (--set KEY=VALUE)\n";
    let mut tables: Vec<&'static [KeyInfo]> = Vec::new();
    for sc in registry::all() {
        if !tables.iter().any(|t| std::ptr::eq(*t, sc.keys)) {
            tables.push(sc.keys);
        }
    }
    for k in tables.iter().flat_map(|t| t.iter()) {
        let scope = if k.scenarios.is_empty() {
            let names: Vec<&str> =
                registry::all().filter(|sc| sc.keys.iter().any(|x| std::ptr::eq(x, k))).map(|sc| sc.name).collect();
            names.join(", ")
        } else {
            k.scenarios.join(", ")
        };
        s += &format!(
            "  {:<20} unit {:<22} default {:<26} range {:<24} [{scope}]\n      {}\n",
            k.key,
            k.unit,
            k.default,
            describe_kind(&k.kind),
            k.help
        );
    }
    s
}

/// Measures the engine's speed. Prints events per second on the mmc benchmark and the plain-s1 wall time.
fn cmd_bench(args: &[String]) -> Result<(), UsageError> {
    let mut repeats = 3u32;
    for (name, value) in flags(args, &["--repeats"])? {
        if name == "--repeats" {
            repeats = value
                .parse()
                .ok()
                .filter(|r| (1..=100).contains(r))
                .ok_or_else(|| format!("--repeats: '{value}' is not valid; expected 1 to 100"))?;
        }
    }
    for (name, figure) in crate::bench::all(repeats)? {
        println!("{name}: {figure} (best of {repeats})");
    }
    Ok(())
}

/// Runs the CLI on `args` (without the program name); returns the exit status.
pub fn main_with(args: &[String]) -> i32 {
    let result = match args.first().map(String::as_str) {
        Some("run") => cmd_run(&args[1..]),
        Some("list") if args.len() == 1 => {
            print!("{}", list_text());
            Ok(())
        }
        Some("list") => Err(UsageError("list takes no options".into())),
        Some("bench") => cmd_bench(&args[1..]),
        Some("weights") => cmd_weights(&args[1..]),
        Some("compare") => cmd_compare(&args[1..]),
        Some("tune") => cmd_tune(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => {
            Err(format!("unknown command '{other}'; valid commands: run, list, weights, compare, tune, bench, help")
                .into())
        }
        None => Err(USAGE.into()),
    };
    match result {
        Ok(()) => 0,
        Err(UsageError(msg)) => {
            eprintln!("loadlab: error: {msg}");
            EXIT_USAGE
        }
    }
}

/// Parses a comma-separated list of finite numbers.
fn parse_list(name: &str, raw: &str) -> Result<Vec<f64>, UsageError> {
    let values: Result<Vec<f64>, _> = raw.split(',').map(|v| v.trim().parse::<f64>()).collect();
    match values {
        Ok(v)
            if !v.is_empty()
                && v.len() <= crate::config::limits::MAX_SERVERS
                && v.iter().all(|x| x.is_finite() && *x >= 0.0) =>
        {
            Ok(v)
        }
        _ => Err(format!(
            "{name}: '{raw}' is not valid; expected 1 to {} comma-separated numbers ≥ 0",
            crate::config::limits::MAX_SERVERS
        )
        .into()),
    }
}

/// Formats weights: whole numbers as integers (LoadMonitor rounds), others with up to 4 decimals.
pub fn format_weights(weights: &[f64]) -> String {
    let cells: Vec<String> = weights
        .iter()
        .map(|w| {
            if w.fract() == 0.0 && w.abs() < 1e15 {
                format!("{}", *w as i64)
            } else {
                let s = format!("{w:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        })
        .collect();
    cells.join(",")
}

fn cmd_weights(args: &[String]) -> Result<(), UsageError> {
    let mut controller = None;
    let (mut loads, mut conns) = (None, None);
    let mut sets = Vec::new();
    for (name, value) in flags(args, &["--controller", "--loads", "--conns", "--set"])? {
        match name {
            "--controller" => controller = Some(value.to_string()),
            "--loads" => loads = Some(parse_list("--loads", value)?),
            "--conns" => conns = Some(parse_list("--conns", value)?),
            _ => sets.push(parse_set(value)?),
        }
    }
    let with_formula: Vec<&str> = controllers().iter().filter(|c| c.formula.is_some()).map(|c| c.name).collect();
    let name = controller.ok_or_else(|| {
        format!("weights needs --controller NAME; controllers with a closed form: {}", with_formula.join(", "))
    })?;
    let mut spec = ControllerSpec::new(&name)?;
    let formula = spec.info().formula.ok_or_else(|| {
        format!("controller {name} has no closed form; controllers with one: {}", with_formula.join(", "))
    })?;
    for (key, raw) in &sets {
        let p = spec.info().params.iter().find(|p| p.key == key).ok_or_else(|| {
            let keys: Vec<&str> = spec.info().params.iter().map(|p| p.key).collect();
            format!(
                "controller {name} has no parameter '{key}'; its parameters: {}",
                if keys.is_empty() { "none".into() } else { keys.join(", ") }
            )
        })?;
        let v: f64 = raw.trim().parse().map_err(|_| format!("{key}: '{raw}' is not a number"))?;
        spec.set(p.key, v)?;
    }
    let loads = loads.ok_or("weights needs --loads L1,L2,...")?;
    let conns = conns.ok_or("weights needs --conns C1,C2,...")?;
    if loads.len() != conns.len() {
        return Err(format!(
            "--loads has {} values but --conns has {}; give one of each per server",
            loads.len(),
            conns.len()
        )
        .into());
    }
    println!("{}", format_weights(&formula(&spec, &loads, &conns)));
    Ok(())
}

/// Scenarios `compare --all` and the README scorecard cover: every MediaWiki (EventSimulator) scenario.
pub const MEDIAWIKI_SCENARIOS: &[&str] = &["plain-s1", "slow", "connect-timeout", "refuse", "quiet"];

/// Keeps the `--set` pairs that apply to this controller: scenario keys always, controller parameters only for
/// the controllers that have them.
fn sets_for(controller: &str, sets: &[(String, String)]) -> Vec<(String, String)> {
    let info = controller_info(controller);
    let is_param_elsewhere = |k: &str| controllers().iter().any(|c| c.params.iter().any(|p| p.key == k));
    sets.iter()
        .filter(|(k, _)| info.is_some_and(|i| i.params.iter().any(|p| p.key == k)) || !is_param_elsewhere(k))
        .cloned()
        .collect()
}

/// Builds the config of one compare/tune run: the scenario with its sets, the duration and step, and (for fault
/// scenarios) a recovery 30 s before the end unless the caller set `recover_at`, so the scorecard sees both the
/// reaction and the return.
fn compare_config(
    scenario: &str,
    controller: &str,
    sets: &[(String, String)],
    duration_s: f64,
    step_s: f64,
) -> Result<Config, UsageError> {
    let mut sets = sets_for(controller, sets);
    let faulted = crate::scenario::KEYS.iter().any(|k| k.key == "recover_at" && k.scenarios.contains(&scenario));
    let fault_at =
        sets.iter().rev().find(|(k, _)| k == "fault_at").and_then(|(_, v)| v.trim().parse().ok()).unwrap_or(30.0);
    if faulted && !sets.iter().any(|(k, _)| k == "recover_at") && duration_s - 30.0 > fault_at {
        sets.push(("recover_at".into(), format!("{}", duration_s - 30.0)));
    }
    let mut cfg = scenario::build(scenario, controller, &sets)?;
    cfg.duration = from_secs_f64(duration_s);
    cfg.time_step = from_secs_f64(step_s);
    Ok(cfg)
}

/// Runs jobs on every core, returning results in job order (so output does not depend on thread timing).
fn parallel_map<T: Sync, R: Send>(
    jobs: &[T],
    f: impl Fn(&T) -> R + Sync,
    progress: impl Fn(usize, &R) + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs.len() {
                    break;
                }
                let r = f(&jobs[i]);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, &r);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|r| r.expect("every job ran")).collect()
}

fn print_scores(scores: &[Score], format: &str) {
    match format {
        "csv" => {
            println!("{}", scorecard::COLUMNS.join(","));
            for s in scores {
                println!("{}", scorecard::cells(s).join(","));
            }
        }
        "json" => {
            let rows: Vec<String> = scores
                .iter()
                .map(|s| {
                    let fields: Vec<String> = scorecard::COLUMNS
                        .iter()
                        .zip(scorecard::cells(s))
                        .map(|(k, v)| {
                            let value = if v.parse::<f64>().is_ok() {
                                v
                            } else if v == "-" {
                                "null".into()
                            } else {
                                output::json_string(&v)
                            };
                            format!("{}:{value}", output::json_string(k))
                        })
                        .collect();
                    format!("{{{}}}", fields.join(","))
                })
                .collect();
            println!("[{}]", rows.join(",\n"));
        }
        _ => print!("{}", scorecard::table(scores)),
    }
}

fn split_names(raw: &str) -> Vec<String> {
    raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn cmd_compare(args: &[String]) -> Result<(), UsageError> {
    let mut scenarios = Vec::new();
    let mut names: Vec<String> = controllers().iter().map(|c| c.name.to_string()).collect();
    let (mut seed, mut duration, mut step) = (1u64, 180.0, 0.5);
    let mut format = "table".to_string();
    let mut sets = Vec::new();
    // --all takes no value; expand it before the flag parser sees it.
    let mut rest = Vec::new();
    for a in args {
        if a == "--all" {
            scenarios.extend(MEDIAWIKI_SCENARIOS.iter().map(|s| s.to_string()));
        } else {
            rest.push(a.clone());
        }
    }
    let known = ["--scenario", "--controllers", "--seed", "--duration", "--time-step", "--set", "--format"];
    for (name, value) in flags(&rest, &known)? {
        match name {
            "--scenario" => scenarios.push(value.to_string()),
            "--controllers" => names = split_names(value),
            "--seed" => seed = parse_seed(value)?,
            "--duration" => duration = parse_seconds("--duration", value, 1.0, 1e6)?,
            "--time-step" => step = parse_seconds("--time-step", value, 0.01, 1e4)?,
            "--set" => sets.push(parse_set(value)?),
            _ => {
                if !["table", "csv", "json"].contains(&value) {
                    return Err(format!("--format: '{value}' is not valid; expected table, csv or json").into());
                }
                format = value.to_string();
            }
        }
    }
    if scenarios.is_empty() {
        return Err(format!(
            "compare needs --scenario NAME or --all; valid scenarios: {}",
            crate::models::section::SCENARIOS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        )
        .into());
    }
    if step > duration {
        return Err(format!("--time-step {step} is longer than --duration {duration}").into());
    }
    for (key, _) in &sets {
        let is_param = controllers().iter().any(|c| c.params.iter().any(|p| p.key == key));
        if is_param && !names.iter().any(|n| controller_info(n).is_some_and(|c| c.params.iter().any(|p| p.key == key)))
        {
            return Err(format!("--set {key}: none of the compared controllers has that parameter").into());
        }
    }
    // Build every config first, so a bad name or value fails before any run starts.
    let mut jobs = Vec::new();
    for s in &scenarios {
        for c in &names {
            jobs.push(compare_config(s, c, &sets, duration, step)?);
        }
    }
    let scores = parallel_map(&jobs, |cfg| scorecard::score(cfg.clone(), seed), |_, _| {});
    let scores: Result<Vec<Score>, String> = scores.into_iter().collect();
    print_scores(&scores?, &format);
    Ok(())
}

/// The tuning cost of one scorecard row: p99 latency in seconds + 10 × mean latency in seconds + 100 × the
/// fraction of requests failed, rejected or overloaded. One percentage point of failed requests costs as much
/// as a second of p99 or 100 ms of mean latency: an SRE would rather fail 1% fast than slow everyone down by more.
pub fn tune_cost(score: &Score) -> f64 {
    let failure_fraction =
        if score.requests > 0 { score.failed_or_rejected as f64 / score.requests as f64 } else { 0.0 };
    score.latency_p99_ms / 1e3 + 10.0 * score.latency_mean_ms / 1e3 + 100.0 * failure_fraction
}

/// Draws a candidate value for a parameter: log-uniform within a decade either side of the default (clamped
/// to the documented range) when the default is positive, else uniform over [min, min + 1] ∩ range.
fn sample_param(p: &crate::controller::ParamInfo, rng: &mut crate::rng::Rng) -> f64 {
    if p.default > 0.0 {
        let lo = (p.default / 10.0).max(p.min).max(f64::MIN_POSITIVE);
        let hi = (p.default * 10.0).min(p.max);
        let (a, b) = (crate::rng::ln(lo), crate::rng::ln(hi.max(lo)));
        crate::rng::exp(a + (b - a) * rng.next_f64())
    } else {
        let hi = (p.min + 1.0).min(p.max);
        p.min + (hi - p.min) * rng.next_f64()
    }
}

fn cmd_tune(args: &[String]) -> Result<(), UsageError> {
    let (mut controller, mut scenario_list, mut budget) = (None, None, 20usize);
    let (mut seed, mut duration) = (1u64, 180.0);
    for (name, value) in flags(args, &["--controller", "--scenarios", "--budget", "--seed", "--duration"])? {
        match name {
            "--controller" => controller = Some(value.to_string()),
            "--scenarios" => scenario_list = Some(split_names(value)),
            "--budget" => {
                budget = value
                    .parse()
                    .ok()
                    .filter(|b| (1..=10_000).contains(b))
                    .ok_or_else(|| format!("--budget: '{value}' is not valid; expected 1 to 10000 evaluations"))?
            }
            "--seed" => seed = parse_seed(value)?,
            _ => duration = parse_seconds("--duration", value, 1.0, 1e5)?,
        }
    }
    let name = controller.ok_or("tune needs --controller NAME")?;
    let spec = ControllerSpec::new(&name)?;
    let params = spec.info().params;
    if params.is_empty() {
        return Err(format!("controller {name} has no parameters to tune").into());
    }
    let scenarios = scenario_list.unwrap_or_else(|| MEDIAWIKI_SCENARIOS.iter().map(|s| s.to_string()).collect());
    for s in &scenarios {
        scenario::scenario_info(s).ok_or_else(|| {
            format!(
                "unknown scenario '{s}'; valid scenarios: {}",
                crate::models::section::SCENARIOS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            )
        })?;
    }
    // Candidate 0 is the defaults; the rest are drawn from one seeded stream, so the search is reproducible.
    let mut rng = crate::rng::Rng::new(seed, crate::rng::Stream::Control);
    let candidates: Vec<Vec<f64>> = (0..budget)
        .map(|i| params.iter().map(|p| if i == 0 { p.default } else { sample_param(p, &mut rng) }).collect())
        .collect();
    let evaluate = |values: &Vec<f64>| -> Result<(f64, Vec<Score>), String> {
        let sets: Vec<(String, String)> =
            params.iter().zip(values).map(|(p, v)| (p.key.to_string(), format!("{v}"))).collect();
        let mut cost = 0.0;
        let mut scores = Vec::new();
        for s in &scenarios {
            let cfg = compare_config(s, &name, &sets, duration, 0.5).map_err(|e| e.0)?;
            let score = scorecard::score(cfg, seed)?;
            cost += tune_cost(&score);
            scores.push(score);
        }
        Ok((cost, scores))
    };
    let best_so_far = std::sync::Mutex::new(f64::INFINITY);
    let results = parallel_map(&candidates, evaluate, |done, r| {
        let mut best = best_so_far.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok((cost, _)) = r {
            *best = best.min(*cost);
        }
        let filled = done * 30 / budget;
        eprint!("\r[{}{}] {done}/{budget} best cost {:.4}", "#".repeat(filled), " ".repeat(30 - filled), *best);
    });
    eprintln!();
    let mut best: Option<(usize, f64, Vec<Score>)> = None;
    for (i, r) in results.into_iter().enumerate() {
        let (cost, scores) = r?;
        if best.as_ref().is_none_or(|(_, c, _)| cost < *c) {
            best = Some((i, cost, scores));
        }
    }
    let (i, cost, scores) = best.expect("budget ≥ 1");
    let default_note = if i == 0 { " (the defaults)" } else { "" };
    println!("best cost {cost:.4} after {budget} evaluations{default_note}:");
    for (p, v) in params.iter().zip(&candidates[i]) {
        println!("  --set {}={:.6}   ({}; default {})", p.key, v, p.unit, p.default);
    }
    print_scores(&scores, "table");
    Ok(())
}
