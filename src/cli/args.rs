//! The command line's grammar, declared with clap's derive: every subcommand, flag, default and help text.
//!
//! Values with a range are checked here by small parsers whose messages name the valid range, so a bad value
//! fails before anything runs. Flags may repeat; the last one wins (`--set` accumulates).

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::keys::quote;

/// loadlab: a deterministic lab for database load balancing.
#[derive(Parser, Debug)]
#[command(
    name = "loadlab",
    version,
    about = "loadlab: a deterministic lab for database load balancing",
    long_about = "loadlab: a deterministic lab for database load balancing. Runs scenarios headless, scores \
                  controllers, tunes their parameters, and shards sweeps across a batch system. \
                  'loadlab COMMAND --help' shows a command's options.",
    args_override_self = true,
    color = clap::ColorChoice::Never
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a scenario headless and print one row per time step (EventSimulator's columns).
    Run(RunOpts),
    /// Every scenario and controller with a one-line description, and every settable key.
    List(ListOpts),
    /// The weights a controller's closed form sets from loads and connection counts (a runbook calculator).
    Weights(WeightsOpts),
    /// A scorecard per controller and scenario: the faulty server's connections, how fast its share falls and
    /// returns, failed requests, p50/p99, worker use, oscillation.
    Compare(CompareOpts),
    /// Search a controller's parameters for the lowest cost over scenarios; print the best and its scorecard.
    Tune(TuneOpts),
    /// Combine the `--out` files of sharded compare or tune runs into what one unsharded run prints.
    Merge(MergeOpts),
    /// Print a scenario's complete config as a TOML scenario file, to edit and run with --scenario-file.
    ExportScenario(ExportOpts),
    /// Search a scenario's keys for the settings whose run best matches your metrics (Prometheus, Grafana or CSV).
    Fit(FitOpts),
    /// Events per second on mmc (20 servers × 8 slots, 10 ms, utilization 0.9) and a plain-s1 run's wall time.
    Bench(BenchOpts),
}

/// Output of `run`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFormat {
    /// EventSimulator's CSV.
    Csv,
    /// One JSON object: rows and a summary.
    Json,
}

/// Output of `compare`, `tune` and `merge`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// An aligned, Markdown-compatible table.
    #[default]
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of rows.
    Json,
}

/// What to build: a built-in scenario with its controller, length, step and keys (`run` and `export-scenario`).
#[derive(Args, Debug, Clone)]
pub struct BuildOpts {
    /// Scenario name ('loadlab list' shows them).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Balancing controller (default static; with run --scenario-file, the file's own unless given).
    #[arg(long, value_name = "NAME")]
    pub controller: Option<String>,
    /// Simulated seconds, 0.001 to 10000000 (default 100; a scenario file's own unless given).
    #[arg(long, value_name = "SECONDS", value_parser = run_duration, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Seconds per output row, 0.001 to 1000000 (default 1; a scenario file's own unless given).
    #[arg(long, value_name = "SECONDS", value_parser = run_step, allow_hyphen_values = true)]
    pub time_step: Option<f64>,
    /// A scenario key or controller parameter, repeatable ('loadlab list' shows them).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = set_pair)]
    pub sets: Vec<(String, String)>,
}

/// Options of `loadlab run`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Defaults: controller static, duration 100, time step 1, seed 1, format csv, output stdout.")]
pub struct RunOpts {
    /// The scenario and what to change in it.
    #[command(flatten)]
    pub build: BuildOpts,
    /// A scenario file (TOML, from 'loadlab export-scenario') to run instead of a named scenario.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    pub scenario_file: Option<String>,
    /// Seed of every random stream.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RunFormat::Csv)]
    pub format: RunFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

/// Options of `loadlab list`.
#[derive(Args, Debug)]
pub struct ListOpts {
    /// Output format: text, or json for scripts.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// Output of `list`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    /// Aligned text.
    Text,
    /// One JSON object: scenarios, controllers, keys.
    Json,
    /// The web page's first paint, static/stories.js: each scenario's headline, brief and first lesson step,
    /// which static/boot.js shows before the wasm has loaded.
    StoriesJs,
}

/// Options of `loadlab weights`.
#[derive(Args, Debug)]
pub struct WeightsOpts {
    /// A controller with a closed form.
    #[arg(long, value_name = "NAME")]
    pub controller: Option<String>,
    /// Configured loads, one per server, each within the <server>.load key's range.
    #[arg(long, value_name = "L1,L2,...")]
    pub loads: Option<String>,
    /// Connection counts, one per server.
    #[arg(long, value_name = "C1,C2,...")]
    pub conns: Option<String>,
    /// A controller parameter, repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = set_pair)]
    pub sets: Vec<(String, String)>,
}

/// Options shared by `compare` and `tune` for sharding and machine-readable output.
#[derive(Args, Debug, Clone)]
pub struct ShardOpts {
    /// Run only shard I of N (I from 0 to N-1; job j belongs to shard j mod N) and write JSON lines.
    #[arg(long, value_name = "I/N", value_parser = shard)]
    pub shard: Option<(usize, usize)>,
    /// Write the results as JSON lines to FILE (for 'loadlab merge') instead of printing them.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

/// Options of `loadlab compare`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Defaults: every controller, duration 180, time step 0.5, and recover_at=150 for fault \
                        scenarios. --all runs every MediaWiki scenario.")]
pub struct CompareOpts {
    /// Scenario name, repeatable.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Every MediaWiki (EventSimulator) scenario.
    #[arg(long)]
    pub all: bool,
    /// A scenario file to score, repeatable (its schedule and length are its own).
    #[arg(long = "scenario-file", value_name = "FILE")]
    pub scenario_files: Vec<String>,
    /// Controllers to compare, comma-separated (default: all).
    #[arg(long, value_name = "A,B,...")]
    pub controllers: Option<String>,
    /// Seed of every run.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// Simulated seconds, 1 to 1000000 (default 180; a scenario file's own unless given).
    #[arg(long, value_name = "SECONDS", value_parser = sweep_duration, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Seconds per scored step, 0.01 to 10000 (default 0.5; a scenario file's own unless given).
    #[arg(long, value_name = "SECONDS", value_parser = sweep_step, allow_hyphen_values = true)]
    pub time_step: Option<f64>,
    /// A scenario key or controller parameter, repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = set_pair)]
    pub sets: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    /// Sharding and JSON-lines output.
    #[command(flatten)]
    pub shard: ShardOpts,
}

/// Options of `loadlab tune`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Cost per scenario: p99 latency in seconds + 10 x the mean latency in seconds + 100 x the \
                        fraction of requests failed, rejected or overloaded. Candidate 0 is the defaults.")]
pub struct TuneOpts {
    /// The controller whose parameters to search.
    #[arg(long, value_name = "NAME")]
    pub controller: Option<String>,
    /// Scenarios to average over, comma-separated (default: every MediaWiki scenario).
    #[arg(long, value_name = "A,B,...")]
    pub scenarios: Option<String>,
    /// A scenario file to tune on, repeatable (instead of, or besides, --scenarios).
    #[arg(long = "scenario-file", value_name = "FILE")]
    pub scenario_files: Vec<String>,
    /// Candidates to evaluate, 1 to 10000.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = budget, allow_hyphen_values = true)]
    pub budget: usize,
    /// Seed of the search and of every run.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// Simulated seconds per run, 1 to 100000 (default 180; a scenario file's own unless given).
    #[arg(long, value_name = "SECONDS", value_parser = tune_duration, allow_hyphen_values = true)]
    pub duration: Option<f64>,
    /// Sharding and JSON-lines output.
    #[command(flatten)]
    pub shard: ShardOpts,
}

/// Options of `loadlab merge`.
#[derive(Args, Debug)]
pub struct MergeOpts {
    /// The shards' --out files, every shard of one sweep, in any order.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// Output format of a merged compare (a merged tune prints as tune does).
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Options of `loadlab export-scenario`: the same as `run`'s for what to build.
#[derive(Args, Debug)]
pub struct ExportOpts {
    /// The scenario and what to change in it.
    #[command(flatten)]
    pub build: BuildOpts,
}

/// Output of `fit`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FitFormat {
    /// The best keys, the loss per series and the `loadlab run` line that reproduces the fit.
    #[default]
    Text,
    /// One JSON object: `keys` (name → value), `loss`, and the details.
    Json,
}

/// How `fit` reads its metrics file.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MetricsFormat {
    /// JSON is Prometheus; a CSV starting with `"Time"` or `sep=` is Grafana's; any other CSV is plain.
    #[default]
    Auto,
    /// Prometheus `query_range` JSON (a matrix result).
    Prometheus,
    /// A Grafana panel's "Download CSV" (numeric times are epoch milliseconds).
    Grafana,
    /// A plain CSV, long (`time,series,value`) or wide (time, then a column per series; numeric times are seconds).
    Csv,
}

/// Options of `loadlab fit`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Loss: for each mapped series, the mean squared difference between its points and the \
                        simulated column at their times (linear between rows), divided by the series' variance; \
                        the mean over series. 0 is an exact match, 1 no better than the series' mean. \
                        --keys k searches k's declared range (k_at keys up to the run's length), log-scaled when \
                        it spans 100x or more; k=LO..HI narrows it. Defaults: budget 40, seed 1, align offset=0.")]
pub struct FitOpts {
    /// The scenario, its controller, length, step and fixed keys.
    #[command(flatten)]
    pub build: BuildOpts,
    /// A scenario file (from 'loadlab export-scenario') to fit instead of a named scenario: its keys are the
    /// fixed ones, except those --keys searches.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    pub scenario_file: Option<String>,
    /// Your metrics: Prometheus query_range JSON, a Grafana panel CSV, or a plain CSV (long or wide).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<String>,
    /// How to read --metrics.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = MetricsFormat::Auto)]
    pub metrics_format: MetricsFormat,
    /// Compare series SERIES with the run's column COLUMN, repeatable; '*' in SERIES matches anything and fills
    /// the '*' in COLUMN (default: series named as columns map to themselves).
    #[arg(long = "map", value_name = "SERIES=COLUMN")]
    pub maps: Vec<String>,
    /// fault=T: the data's time T is the scenario's fault time; offset=S: the data's time S is the run's 0.
    #[arg(long, value_name = "fault=T|offset=S", allow_hyphen_values = true)]
    pub align: Option<String>,
    /// The keys to search, comma-separated, each optionally KEY=LO..HI.
    #[arg(long, value_name = "K1,K2,...")]
    pub keys: Option<String>,
    /// Runs to evaluate, 1 to 10000: half spread over the ranges, half refining around the best.
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = budget, allow_hyphen_values = true)]
    pub budget: usize,
    /// Seed of the search and of every run.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FitFormat::Text)]
    pub format: FitFormat,
    /// Write the fit's scenario file (the scenario with the fitted keys) here.
    #[arg(long, value_name = "FILE")]
    pub out_scenario: Option<String>,
}

/// Options of `loadlab bench`.
#[derive(Args, Debug)]
pub struct BenchOpts {
    /// Repeats; the best is reported. 1 to 100.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = repeats, allow_hyphen_values = true)]
    pub repeats: u32,
}

fn seconds(name: &str, raw: &str, min: f64, max: f64) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= min && v <= max => Ok(v),
        _ => Err(format!("{name}: {} is not valid; expected seconds from {min} to {max}", quote(raw))),
    }
}

fn run_duration(raw: &str) -> Result<f64, String> {
    let (min, max) = crate::engine::limits::DURATION_S;
    seconds("--duration", raw, min, max)
}

fn run_step(raw: &str) -> Result<f64, String> {
    let (min, max) = crate::engine::limits::TIME_STEP_S;
    seconds("--time-step", raw, min, max)
}

fn sweep_duration(raw: &str) -> Result<f64, String> {
    seconds("--duration", raw, 1.0, 1e6)
}

fn sweep_step(raw: &str) -> Result<f64, String> {
    seconds("--time-step", raw, 0.01, 1e4)
}

fn tune_duration(raw: &str) -> Result<f64, String> {
    seconds("--duration", raw, 1.0, 1e5)
}

fn whole(name: &str, raw: &str, min: u64, max: u64, what: &str) -> Result<u64, String> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| format!("{name}: {} is not valid; expected {what} from {min} to {max}", quote(raw)))
}

fn seed(raw: &str) -> Result<u64, String> {
    whole("--seed", raw, 0, u64::MAX, "a whole number")
}

fn budget(raw: &str) -> Result<usize, String> {
    whole("--budget", raw, 1, 10_000, "evaluations").map(|v| v as usize)
}

fn repeats(raw: &str) -> Result<u32, String> {
    whole("--repeats", raw, 1, 100, "repeats").map(|v| v as u32)
}

fn set_pair(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("--set: {} should be KEY=VALUE; 'loadlab list' shows the keys", quote(raw))),
    }
}

/// The largest shard count: more shards than this would each get a sliver of one sweep.
pub const MAX_SHARDS: usize = 100_000;

fn shard(raw: &str) -> Result<(usize, usize), String> {
    let parsed = raw.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if (1..=MAX_SHARDS).contains(&n) && i < n => Ok((i, n)),
        _ => Err(format!(
            "--shard: {} is not valid; expected I/N with N from 1 to {MAX_SHARDS} and I from 0 to N-1",
            quote(raw)
        )),
    }
}
