//! The native command line: headless runs, the list of scenarios, controllers and keys, and the benchmark.
//!
//! Every user error is one line on stderr naming what is valid, with exit status 2, and happens before any output
//! is written. The CLI is the only place (besides the web shell) that reads the wall clock or does IO.

use std::io::{self, Write};
use std::time::Instant;

use crate::controller::controllers;
use crate::output;
use crate::scenario::{self, KeyKind, KEYS, SCENARIOS};
use crate::sim::Sim;
use crate::time::{from_secs_f64, SECOND};

/// Exit status for bad input.
pub const EXIT_USAGE: i32 = 2;

const USAGE: &str = "usage: loadlab <run|list|bench|help> [options]; 'loadlab help' shows them all";

const HELP: &str = "\
loadlab: a deterministic lab for database load balancing

  loadlab run --scenario NAME [--controller NAME] [--duration SECONDS] [--time-step SECONDS]
              [--seed N] [--set KEY=VALUE]... [--format csv|json] [--out FILE]
      Run a scenario headless and print one row per time step (EventSimulator's columns).
      Defaults: controller static, duration 100, time step 1, seed 1, format csv, output stdout.
  loadlab list
      Every scenario and controller with a one-line description, and every settable key.
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
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        return Err(format!("run needs --scenario NAME; valid scenarios: {}", names.join(", ")).into());
    }
    if run.time_step_s > run.duration_s {
        return Err(format!("--time-step {} is longer than --duration {}", run.time_step_s, run.duration_s).into());
    }
    Ok(run)
}

/// Builds the simulation a `run` describes, or a one-line error.
pub fn build_sim(run: &RunArgs) -> Result<Sim, UsageError> {
    let mut cfg = scenario::build(&run.scenario, &run.controller, &run.sets)?;
    cfg.duration = from_secs_f64(run.duration_s);
    cfg.time_step = from_secs_f64(run.time_step_s);
    Ok(Sim::try_new(cfg, run.seed)?)
}

/// Runs a simulation to its end, streaming rows to `out` a chunk at a time so memory stays bounded.
pub fn run_to(run: &RunArgs, mut sim: Sim, out: &mut dyn Write) -> io::Result<()> {
    let started = Instant::now();
    let names: Vec<String> = sim.server_names().map(str::to_string).collect();
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
        writeln!(out, "{}", output::csv_header(names.iter().map(String::as_str)))?;
    }
    let end = sim.config().duration;
    let chunk = (sim.config().time_step * 1000).max(SECOND);
    let mut first = true;
    loop {
        let until = sim.now().saturating_add(chunk).min(end);
        sim.run_until(until, u64::MAX);
        for row in sim.drain_rows() {
            if run.json {
                if !first {
                    out.write_all(b",")?;
                }
                out.write_all(output::json_row(&row, names.iter().map(String::as_str)).as_bytes())?;
            } else {
                writeln!(out, "{}", output::csv_row(&row))?;
            }
            first = false;
        }
        if until >= end {
            break;
        }
    }
    if run.json {
        writeln!(out, "],\"summary\":{}}}", output::json_summary(&sim.summary(), started.elapsed().as_secs_f64()))?;
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
    for sc in SCENARIOS {
        s += &format!("  {:<18} {}\n", sc.name, sc.summary);
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
    for k in KEYS {
        let scope = if k.scenarios.is_empty() { "all scenarios".to_string() } else { k.scenarios.join(", ") };
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
    let set = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    let mmc = set(&[("servers", "20"), ("slots", "8"), ("service_ms", "10"), ("utilization", "0.9")]);
    let mut best_rate = 0.0f64;
    let mut best_plain = f64::INFINITY;
    let mut plain_requests = 0;
    for _ in 0..repeats {
        let mut cfg = scenario::build("mmc", "static", &mmc)?;
        cfg.duration = 200 * SECOND;
        let mut sim = Sim::try_new(cfg, 1)?;
        let t = Instant::now();
        sim.run_to_end();
        let wall = t.elapsed().as_secs_f64();
        best_rate = best_rate.max(sim.summary().events as f64 / wall);

        let cfg = scenario::build("plain-s1", "static", &[])?;
        let mut sim = Sim::try_new(cfg, 1)?;
        let t = Instant::now();
        sim.run_to_end();
        best_plain = best_plain.min(t.elapsed().as_secs_f64());
        plain_requests = sim.summary().requests;
    }
    println!("mmc 20x8 slots, 10 ms, rho 0.9, 200 s simulated: {:.2} M events/s (best of {repeats})", best_rate / 1e6);
    println!("plain-s1 100 s simulated ({plain_requests} requests): {:.3} s wall (best of {repeats})", best_plain);
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
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'; valid commands: run, list, bench, help").into()),
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
