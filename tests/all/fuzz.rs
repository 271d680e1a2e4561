//! The fuzzer that stays in the project (issue 8): property tests with `proptest` over URL state, scenario
//! building from random key sets, random command sequences with the invariants after every event, and
//! same-seed replays, for every scenario in `loadlab::registry::all()`, through `Box<dyn Run>` only; since
//! issue 23 also every model's links, mutated section scenario files (`from_toml`), `loadlab run` flag
//! combinations through the clap struct, and horizons of a day to a week sampled within an event budget, each
//! case held to its rows (one per time step) and events; and random sequences of page actions through the
//! page's reducer (`loadlab::page::state`, in [`page`]) with its laws after every action.
//!
//! Every property runs a bounded number of cases in `cargo test`, from a fixed seed, so the suite is
//! deterministic. The long run is on demand:
//!
//! ```text
//! cargo test --release -- --ignored fuzz            # 10⁶ cases in all (LOADLAB_FUZZ_CASES to change)
//! LOADLAB_FUZZ_SEED=7 cargo test fuzz               # other cases than the default seed's
//! ```
//!
//! A failing property prints its name, the seed to reproduce it with, and the minimal input proptest shrank it
//! to, rendered as the scenario, `--set` pairs and command texts a person would type.

use loadlab::engine::commands::{ArgSpec, CommandSpec};
use loadlab::engine::keys::{KeyInfo, KeyKind};
use loadlab::engine::run::Run;
use loadlab::engine::scenario::View;
use loadlab::registry::{self, RunSpec, ScenarioDef};
use loadlab::time::{from_secs_f64, SimTime, SECOND};
use loadlab::urlstate::{self, UrlState};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

mod page;

// -------------------------------------------------------------------------------------------------------------
// The runner: fixed seed, bounded cases, a readable minimal input on failure.
// -------------------------------------------------------------------------------------------------------------

/// Total cases of the long run (`cargo test --release -- --ignored fuzz`) unless `LOADLAB_FUZZ_CASES` says.
const LONG_RUN_CASES: u64 = 1_000_000;

/// The seed of every property's case generator: `LOADLAB_FUZZ_SEED`, else a fixed one.
fn fuzz_seed() -> u64 {
    std::env::var("LOADLAB_FUZZ_SEED").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0x010a_d1ab)
}

/// The long run's share of cases for a property with `weight` parts per thousand of the total.
fn long_cases(weight_per_mille: u64) -> u32 {
    let total = std::env::var("LOADLAB_FUZZ_CASES").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(LONG_RUN_CASES);
    (total * weight_per_mille / 1000).clamp(1, u32::MAX as u64) as u32
}

/// Runs `test` on `cases` inputs drawn from `strategy`; on failure panics with the seed and the shrunk input,
/// described by `describe`.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    describe: impl Fn(&S::Value) -> String,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let seed = fuzz_seed();
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let salt = name.bytes().fold(i as u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        chunk.copy_from_slice(&(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes());
    }
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 2_000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    match runner.run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, input)) => panic!(
            "property {name} failed ({reason}); reproduce with LOADLAB_FUZZ_SEED={seed}\nminimal input: {}",
            describe(&input)
        ),
        Err(TestError::Abort(reason)) => panic!("property {name} aborted ({reason}); LOADLAB_FUZZ_SEED={seed}"),
    }
}

/// Longest error accepted, characters. Quoted input is cut at 60 characters, so an error's length is bounded by
/// the tables it lists: the longest, an unknown key's list of the valid ones with envoy's parameters, is about
/// 720 (a 100 KB input must not give a 100 KB error).
const MAX_ERROR_CHARS: usize = 1_000;

/// Fails the case unless `error` is one short line.
fn one_line(what: &str, error: &str) -> Result<(), TestCaseError> {
    prop_assert!(!error.contains('\n') && !error.contains('\r'), "{what}: error has several lines: {error:?}");
    prop_assert!(
        error.chars().count() < MAX_ERROR_CHARS,
        "{what}: error is {} characters: {error:?}",
        error.chars().count()
    );
    prop_assert!(!error.is_empty(), "{what}: empty error");
    Ok(())
}

// -------------------------------------------------------------------------------------------------------------
// Numbers: in range, at the edges, just outside, far outside, not numbers.
// -------------------------------------------------------------------------------------------------------------

/// A value for a numeric field, relative to its range.
#[derive(Clone, Debug)]
enum Num {
    /// min + f·(max − min), f in [0, 1].
    Inside(f64),
    Min,
    Max,
    /// min − 1 (or min/2 below a zero min).
    Below,
    /// max · 2 + 1.
    Above,
    /// Text that is no finite number.
    Junk(&'static str),
}

fn num() -> impl Strategy<Value = Num> {
    prop_oneof![
        6 => (0.0..=1.0f64).prop_map(Num::Inside),
        2 => Just(Num::Min),
        2 => Just(Num::Max),
        1 => Just(Num::Below),
        1 => Just(Num::Above),
        1 => prop::sample::select(&["NaN", "inf", "-inf", "1e400", "", " ", "3x", "0x10", "1,5", "2\n3", "--1"][..])
            .prop_map(Num::Junk),
    ]
}

impl Num {
    fn render(&self, min: f64, max: f64) -> String {
        match self {
            Num::Inside(f) => format!("{}", min + f * (max - min)),
            Num::Min => format!("{min}"),
            Num::Max => format!("{max}"),
            Num::Below if min == 0.0 => "-0.5".to_string(),
            Num::Below => format!("{}", min - 1.0_f64.max(min.abs() / 2.0)),
            Num::Above => format!("{}", max * 2.0 + 1.0),
            Num::Junk(s) => s.to_string(),
        }
    }

    fn render_count(&self, min: u32, max: u32) -> String {
        match self {
            Num::Inside(f) => format!("{}", min as u64 + ((max - min) as f64 * f) as u64),
            Num::Min => min.to_string(),
            Num::Max => max.to_string(),
            Num::Below => min.saturating_sub(1).to_string(),
            Num::Above => (max as u64 + 1).to_string(),
            Num::Junk(s) => s.to_string(),
        }
    }

    fn in_range(&self) -> bool {
        matches!(self, Num::Inside(_) | Num::Min | Num::Max)
    }
}

// -------------------------------------------------------------------------------------------------------------
// Commands: a verb of the run's own table, a target by name (or an unknown one), arguments as `Num`s.
// -------------------------------------------------------------------------------------------------------------

/// A command drawn against whatever table the run has: indices wrap around the table and its targets.
#[derive(Clone, Debug)]
struct Cmd {
    verb: usize,
    /// `None`: a name no run has.
    target: Option<usize>,
    args: Vec<Num>,
    /// Fields added (positive) or removed (negative) at the end; mostly 0.
    extra_fields: i8,
    /// A verb no table has.
    unknown_verb: bool,
}

fn cmd() -> impl Strategy<Value = Cmd> {
    (
        any::<usize>(),
        prop_oneof![12 => any::<usize>().prop_map(Some), 1 => Just(None)],
        prop::collection::vec(num(), 3),
        prop_oneof![20 => Just(0i8), 1 => Just(1i8), 1 => Just(-1i8)],
        prop::bool::weighted(0.03),
    )
        .prop_map(|(verb, target, args, extra_fields, unknown_verb)| Cmd {
            verb,
            target,
            args,
            extra_fields,
            unknown_verb,
        })
}

impl Cmd {
    fn spec<'a>(&self, table: &'a [CommandSpec]) -> &'a CommandSpec {
        &table[self.verb % table.len()]
    }

    /// The command as text for `run`, and whether every part of it is valid syntax and in range.
    fn render(&self, run: &dyn Run) -> (String, bool) {
        let spec = self.spec(run.command_table());
        let mut valid = !self.unknown_verb && self.extra_fields == 0;
        let mut fields = vec![if self.unknown_verb { "no-such-verb".to_string() } else { spec.verb.to_string() }];
        if let Some(kind) = spec.target {
            let names = run.target_names(kind);
            match self.target {
                Some(i) if !names.is_empty() => fields.push(names[i % names.len()].clone()),
                _ => {
                    valid = false;
                    fields.push("nobody".to_string());
                }
            }
        }
        for (a, n) in spec.args.iter().zip(&self.args) {
            valid &= n.in_range();
            fields.push(n.render(a.min, a.max));
        }
        match self.extra_fields {
            1 => fields.push("1".to_string()),
            -1 => {
                fields.pop();
            }
            _ => {}
        }
        (fields.join(":"), valid)
    }

    /// The same command with its first argument moved to another valid value, if it has one.
    fn with_other_arg(&self, table: &[CommandSpec]) -> Option<Cmd> {
        let spec: &ArgSpec = self.spec(table).args.first()?;
        let mut other = self.clone();
        let current = self.args[0].render(spec.min, spec.max).parse::<f64>().ok()?;
        other.args[0] = if current != spec.max { Num::Max } else { Num::Min };
        (spec.min != spec.max).then_some(other)
    }
}

// -------------------------------------------------------------------------------------------------------------
// Scenario key sets.
// -------------------------------------------------------------------------------------------------------------

/// One `--set` pair drawn against a scenario's key table.
#[derive(Clone, Debug)]
struct SetPick {
    key: usize,
    value: Num,
    /// For choices: which option (wrapping), or an unknown word when `None`.
    choice: Option<usize>,
    /// For `<server>.` keys: which server.
    server: usize,
    /// For step keys: the command and its time as a fraction of the run.
    step: Cmd,
    step_at: Num,
    /// `unlimited` for counts.
    unlimited: bool,
    /// A key the table does not have.
    unknown_key: bool,
}

fn set_pick() -> impl Strategy<Value = SetPick> {
    (
        any::<usize>(),
        num(),
        prop_oneof![8 => any::<usize>().prop_map(Some), 1 => Just(None)],
        any::<usize>(),
        cmd(),
        num(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.03),
    )
        .prop_map(|(key, value, choice, server, step, step_at, unlimited, unknown_key)| SetPick {
            key,
            value,
            choice,
            server,
            step,
            step_at,
            unlimited,
            unknown_key,
        })
}

/// A whole build request.
#[derive(Clone, Debug)]
struct BuildCase {
    scenario: usize,
    /// Index into the controllers (wrapping); `None`: a name no controller has.
    controller: Option<usize>,
    seed: u64,
    /// Index into [`DURATIONS_S`].
    duration: usize,
    sets: Vec<SetPick>,
}

/// Run lengths the build cases use, s: the short ones exercise the fast models, the long ones reach the slow
/// models' timers (the Sahana router's hour of idle) within the event cap.
const DURATIONS_S: &[f64] = &[0.2, 2.0, 30.0, 8_000.0];

fn build_case() -> impl Strategy<Value = BuildCase> {
    (
        any::<usize>(),
        prop_oneof![10 => any::<usize>().prop_map(Some), 1 => Just(None)],
        any::<u64>(),
        0..DURATIONS_S.len(),
        prop::collection::vec(set_pick(), 0..6),
    )
        .prop_map(|(scenario, controller, seed, duration, sets)| BuildCase {
            scenario,
            controller,
            seed,
            duration,
            sets,
        })
}

fn scenarios() -> Vec<&'static ScenarioDef> {
    registry::all().collect()
}

fn keys_of(def: &ScenarioDef) -> Vec<&'static KeyInfo> {
    def.keys.iter().filter(|k| k.applies_to(def.name)).collect()
}

/// The scenario's default run, for its targets and command table.
fn default_run(def: &'static ScenarioDef) -> Box<dyn Run> {
    (def.build)(def, &RunSpec { seed: 1, duration_s: Some(1.0), ..RunSpec::default() })
        .unwrap_or_else(|e| panic!("{}: the defaults do not build: {e}", def.name))
}

impl SetPick {
    fn render(&self, def: &'static ScenarioDef, template: &dyn Run, duration_s: f64) -> (String, String) {
        let keys = keys_of(def);
        if self.unknown_key || keys.is_empty() {
            return ("no_such_key".to_string(), "1".to_string());
        }
        let info = keys[self.key % keys.len()];
        let key = match info.key.strip_prefix("<server>") {
            Some(rest) => {
                let names = template.target_names("server");
                format!("{}{rest}", names.get(self.server % names.len().max(1)).map_or("db0", |s| s.as_str()))
            }
            None => info.key.to_string(),
        };
        let value = match info.kind {
            KeyKind::Number { min, max } => self.value.render(min, max),
            KeyKind::CountOrUnlimited { .. } if self.unlimited => "unlimited".to_string(),
            KeyKind::CountOrUnlimited { min, max } => self.value.render_count(min, max),
            KeyKind::Choice(options) => match self.choice {
                Some(i) => options[i % options.len()].word.to_string(),
                None => "no-such-option".to_string(),
            },
            KeyKind::FaultSpec => {
                let (text, _) = self.step.render(template);
                // The section's surge steps are FACTOR@SECONDS; other step keys are commands of the table.
                let text = if info.key == "surge" { self.value.render(0.0, 1000.0) } else { text };
                format!("{text}@{}", self.step_at.render(0.0, duration_s))
            }
        };
        (key, value)
    }
}

impl BuildCase {
    fn def(&self) -> &'static ScenarioDef {
        let all = scenarios();
        all[self.scenario % all.len()]
    }

    fn spec(&self) -> RunSpec {
        let def = self.def();
        let template = default_run(def);
        let duration_s = DURATIONS_S[self.duration];
        let controllers = loadlab::controller::controllers();
        let controller = match self.controller {
            Some(i) if def.takes_controller => controllers[i % controllers.len()].name.to_string(),
            Some(_) => registry::NO_CONTROLLER.to_string(),
            None => "no-such-controller".to_string(),
        };
        RunSpec {
            controller,
            sets: self.sets.iter().map(|s| s.render(def, template.as_ref(), duration_s)).collect(),
            seed: self.seed,
            duration_s: Some(duration_s),
            time_step_s: Some((duration_s / 20.0).max(0.01)),
            file: None,
        }
    }

    fn describe(&self) -> String {
        let spec = self.spec();
        let sets: Vec<String> = spec.sets.iter().map(|(k, v)| format!("--set {k}={v:?}")).collect();
        format!(
            "loadlab run --scenario {} --controller {} --seed {} --duration {} {}",
            self.def().name,
            spec.controller,
            spec.seed,
            spec.duration_s.unwrap_or(0.0),
            sets.join(" ")
        )
    }
}

// -------------------------------------------------------------------------------------------------------------
// Stepping with the invariants after every event.
// -------------------------------------------------------------------------------------------------------------

/// Runs `run` to `until`, one event per call, checking every invariant and the clock after each; at most
/// `max_events` events. Returns the events processed.
fn step_checked(run: &mut dyn Run, until: SimTime, max_events: u64) -> Result<u64, TestCaseError> {
    let mut events = 0;
    while run.now() < until && events < max_events {
        let before = run.now();
        let reached = run.run_until(until, 1);
        prop_assert!(run.now() >= before, "the clock went back from {before} to {} µs", run.now());
        if let Err(violation) = run.check_invariants() {
            return Err(TestCaseError::fail(format!("after event {events} at t = {} µs: {violation}", run.now())));
        }
        if reached {
            break;
        }
        events += 1;
    }
    Ok(events)
}

// -------------------------------------------------------------------------------------------------------------
// (b) Scenario building from random key sets.
// -------------------------------------------------------------------------------------------------------------

/// What the cases of a property did, so that a fuzzer that only ever meets errors fails.
#[derive(Default)]
struct Tally {
    cases: std::cell::Cell<u64>,
    ran: std::cell::Cell<u64>,
    events: std::cell::Cell<u64>,
}

impl Tally {
    fn add(&self, ran: bool, events: u64) {
        self.cases.set(self.cases.get() + 1);
        self.ran.set(self.ran.get() + ran as u64);
        self.events.set(self.events.get() + events);
    }

    /// Asserts that at least `min_ran_fraction` of the cases ran, and prints the totals.
    fn report(&self, what: &str, min_ran_fraction: f64) {
        let (cases, ran, events) = (self.cases.get(), self.ran.get(), self.events.get());
        println!("{what}: {cases} cases (shrinking included), {ran} ran, {events} events checked");
        assert!(ran as f64 >= min_ran_fraction * cases as f64, "{what}: only {ran} of {cases} cases ran");
    }
}

fn build_property(case: BuildCase, max_events: u64, tally: &Tally) -> Result<(), TestCaseError> {
    let def = case.def();
    let spec = case.spec();
    match (def.build)(def, &spec) {
        Err(e) => {
            tally.add(false, 0);
            one_line("build", &e)
        }
        Ok(mut run) => {
            prop_assert_eq!(run.scenario(), def.name);
            let end = run.duration();
            let events = step_checked(run.as_mut(), end, max_events)?;
            tally.add(true, events);
            let header = run.csv_header();
            prop_assert_eq!(header.split(',').count(), run.columns().iter().filter(|c| c.csv).count());
            Ok(())
        }
    }
}

#[test]
fn fuzz_scenario_builds_from_random_keys() {
    let tally = Tally::default();
    check("scenario_builds", 192, build_case(), BuildCase::describe, |c| build_property(c, 3_000, &tally));
    // Each pair is valid with probability about 0.7, so a quarter of the cases (up to 5 pairs) build.
    tally.report("scenario builds", 0.2);
}

#[test]
fn every_scenario_gets_build_cases() {
    // The build strategy reaches every scenario of the registry (index modulo their number), so a new model
    // joins the fuzzer by registering; this pins that each has at least one key to draw.
    for def in scenarios() {
        assert!(!keys_of(def).is_empty(), "{} has no keys", def.name);
        assert!(!default_run(def).command_table().is_empty(), "{} has no commands", def.name);
    }
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_scenario_builds_from_random_keys() {
    let tally = Tally::default();
    let cases = long_cases(12);
    check("scenario_builds_long", cases, build_case(), BuildCase::describe, |c| build_property(c, 5_000, &tally));
    tally.report("scenario builds", 0.2);
}

// -------------------------------------------------------------------------------------------------------------
// (c) Random command sequences, live and scheduled, with the invariants after every event.
// -------------------------------------------------------------------------------------------------------------

/// One step of a command sequence.
#[derive(Clone, Debug)]
enum Op {
    /// `apply_text` now.
    Live(Cmd),
    /// `schedule_text` this many µs from now (may be before now when negative).
    Schedule(Cmd, i64),
    /// Run this many events, checking after each.
    Events(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => cmd().prop_map(Op::Live),
        3 => (cmd(), prop_oneof![6 => 0i64..(3 * SECOND as i64), 1 => -(SECOND as i64)..0]).prop_map(|(c, d)| Op::Schedule(c, d)),
        4 => (1u16..400).prop_map(Op::Events),
    ]
}

#[derive(Clone, Debug)]
struct CommandCase {
    scenario: usize,
    seed: u64,
    ops: Vec<Op>,
}

fn command_case() -> impl Strategy<Value = CommandCase> {
    (any::<usize>(), any::<u64>(), prop::collection::vec(op(), 1..24)).prop_map(|(scenario, seed, ops)| CommandCase {
        scenario,
        seed,
        ops,
    })
}

/// Scenario keys that make the command cases reach interesting states quickly: small sections, finite pools.
fn command_sets(def: &ScenarioDef) -> Vec<(String, String)> {
    let has = |k: &str| keys_of(def).iter().any(|i| i.key == k);
    let mut sets = Vec::new();
    for (k, v) in [("hosts", "5"), ("workers", "20"), ("backlog", "10"), ("rate_scale", "0.02")] {
        if has(k) && def.name != "mmc" {
            sets.push((k.to_string(), v.to_string()));
        }
    }
    sets
}

impl CommandCase {
    fn def(&self) -> &'static ScenarioDef {
        let all = scenarios();
        all[self.scenario % all.len()]
    }

    fn build(&self) -> Box<dyn Run> {
        let def = self.def();
        let spec = RunSpec { seed: self.seed, sets: command_sets(def), duration_s: Some(30.0), ..RunSpec::default() };
        (def.build)(def, &spec).unwrap_or_else(|e| panic!("{}: {e}", def.name))
    }

    fn describe(&self) -> String {
        let run = self.build();
        let mut out = format!("scenario {} seed {} sets {:?}:", self.def().name, self.seed, command_sets(self.def()));
        for op in &self.ops {
            out += &match op {
                Op::Live(c) => format!(" apply {:?};", c.render(run.as_ref()).0),
                Op::Schedule(c, d) => format!(" schedule {:?} at now{d:+} µs;", c.render(run.as_ref()).0),
                Op::Events(n) => format!(" {n} events;"),
            };
        }
        out
    }
}

/// What a refused command must leave unchanged.
fn fingerprint(run: &dyn Run) -> (SimTime, u64, usize) {
    (run.now(), run.trace_hash(), run.applied_text().len())
}

fn command_property(case: CommandCase, tally: &Tally) -> Result<(), TestCaseError> {
    let mut run = case.build();
    let end = run.duration();
    for op in &case.ops {
        match op {
            Op::Live(c) | Op::Schedule(c, _) => {
                let (text, valid) = c.render(run.as_ref());
                let before = fingerprint(run.as_ref());
                let result = match op {
                    Op::Schedule(_, delay) => {
                        let at = run.now().saturating_add_signed(*delay);
                        run.schedule_text(at, &text)
                    }
                    _ => run.apply_text(&text),
                };
                match result {
                    Err(e) => {
                        tally.add(false, 0);
                        one_line(&text, &e)?;
                        prop_assert_eq!(before, fingerprint(run.as_ref()), "{} was refused but changed the run", text);
                    }
                    Ok(()) => {
                        prop_assert!(valid, "{text} is malformed or out of range, yet accepted");
                        tally.add(true, 0);
                    }
                }
                if let Err(v) = run.check_invariants() {
                    return Err(TestCaseError::fail(format!("after {text}: {v}")));
                }
            }
            Op::Events(n) => {
                let events = step_checked(run.as_mut(), end, *n as u64)?;
                tally.events.set(tally.events.get() + events);
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_random_commands_keep_the_invariants() {
    let tally = Tally::default();
    check("commands", 96, command_case(), CommandCase::describe, |c| command_property(c, &tally));
    // About half the commands are valid and fit the state (counted in `cases` here: one per command).
    tally.report("commands accepted", 0.2);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_random_commands_keep_the_invariants() {
    let tally = Tally::default();
    check("commands_long", long_cases(6), command_case(), CommandCase::describe, |c| command_property(c, &tally));
    tally.report("commands accepted", 0.2);
}

// -------------------------------------------------------------------------------------------------------------
// (d) Replays: the same seed and commands give the same trace and CSV; another argument another trace.
// -------------------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ReplayCase {
    scenario: usize,
    seed: u64,
    /// Commands scheduled at these fractions of the run, in order.
    steps: Vec<(Cmd, f64)>,
}

fn replay_case() -> impl Strategy<Value = ReplayCase> {
    (any::<usize>(), any::<u64>(), prop::collection::vec((cmd(), 0.0..0.5f64), 1..5))
        .prop_map(|(scenario, seed, steps)| ReplayCase { scenario, seed, steps })
}

/// Replays run this long, s.
const REPLAY_S: f64 = 3.0;

impl ReplayCase {
    fn def(&self) -> &'static ScenarioDef {
        let all = scenarios();
        all[self.scenario % all.len()]
    }

    /// The run's trace hash and CSV, and the commands that were accepted.
    fn play(&self, steps: &[(Cmd, f64)]) -> (u64, String, Vec<bool>) {
        let def = self.def();
        let spec =
            RunSpec { seed: self.seed, sets: command_sets(def), duration_s: Some(REPLAY_S), ..RunSpec::default() };
        let mut run = (def.build)(def, &spec).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        let accepted = steps
            .iter()
            .map(|(c, at)| {
                let (text, _) = c.render(run.as_ref());
                run.schedule_text(from_secs_f64(at * REPLAY_S), &text).is_ok()
            })
            .collect();
        let mut csv = run.csv_header();
        let end = run.duration();
        while !run.run_until(end, 200_000) {
            for row in run.drain_rows() {
                csv += "\n";
                csv += &run.csv_row(&row);
            }
        }
        for row in run.drain_rows() {
            csv += "\n";
            csv += &run.csv_row(&row);
        }
        (run.trace_hash(), csv, accepted)
    }

    fn describe(&self) -> String {
        let def = self.def();
        let run = default_run(def);
        let steps: Vec<String> =
            self.steps.iter().map(|(c, at)| format!("{}@{}", c.render(run.as_ref()).0, at * REPLAY_S)).collect();
        format!("scenario {} seed {} sets {:?} steps {steps:?}", def.name, self.seed, command_sets(def))
    }
}

fn replay_property(case: ReplayCase) -> Result<(), TestCaseError> {
    let (hash, csv, accepted) = case.play(&case.steps);
    let (hash2, csv2, _) = case.play(&case.steps);
    prop_assert_eq!(hash, hash2, "same seed, same commands, different trace hash");
    prop_assert!(csv == csv2, "same seed, same commands, different CSV");
    // Change the first accepted command that has an argument; its contents enter the hash when it fires.
    let table = default_run(case.def()).command_table();
    let Some((k, other)) = case
        .steps
        .iter()
        .enumerate()
        .filter(|(k, _)| accepted[*k])
        .find_map(|(k, (c, _))| Some((k, c.with_other_arg(table)?)))
    else {
        return Ok(());
    };
    let mut changed = case.steps.clone();
    changed[k].0 = other;
    let (hash3, _, accepted3) = case.play(&changed);
    if accepted3[k] {
        prop_assert_ne!(hash, hash3, "step {} with another argument left the trace hash unchanged", k);
    }
    Ok(())
}

#[test]
fn fuzz_same_seed_replays_match_and_arguments_change_the_hash() {
    check("replays", 16, replay_case(), ReplayCase::describe, replay_property);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_same_seed_replays() {
    check("replays_long", long_cases(1), replay_case(), ReplayCase::describe, replay_property);
}

// -------------------------------------------------------------------------------------------------------------
// (a) URL state: round trips, and any mutated link parses to notices, never a panic.
// -------------------------------------------------------------------------------------------------------------

/// `--set` pairs every URL scenario and controller pair accepts, for building valid states.
fn url_sets(scenario: &str) -> Vec<(&'static str, String)> {
    if scenario == "mmc" {
        vec![("utilization", "0.75".into()), ("servers", "3".into()), ("operator", "depool:s1@10".into())]
    } else {
        vec![
            ("workers", "12".into()),
            ("fault", "refuse:db1128@12.5".into()),
            ("operator", "drain:db1099:5@20".into()),
            ("surge", "2@40".into()),
            ("rate_scale", "0.5".into()),
        ]
    }
}

fn url_state() -> impl Strategy<Value = UrlState> {
    let scenarios: Vec<&'static str> = loadlab::models::section::SCENARIOS.iter().map(|s| s.name).collect();
    let controllers: Vec<&'static str> = loadlab::controller::controllers().iter().map(|c| c.name).collect();
    (
        prop::sample::select(scenarios),
        prop::sample::select(controllers.clone()),
        prop::option::of(prop::sample::select(controllers)),
        any::<u64>(),
        urlstate::SPEED_MIN..=urlstate::SPEED_MAX,
        any::<bool>(),
        prop::collection::vec(any::<usize>(), 0..6),
        0usize..3,
        prop::option::of(urlstate::LENGTH_MIN_S..=3600.0),
        prop::option::of((0.0f64..100_000.0, 0usize..3)),
    )
        .prop_map(
            |(scenario, controller, controller_b, seed, speed, embed, picks, lesson_step, length_s, view)| {
                let mut state = UrlState {
                    scenario: scenario.to_string(),
                    controller: controller.to_string(),
                    controller_b: controller_b.map(str::to_string),
                    seed,
                    speed,
                    embed,
                    watch: false,
                    lesson: if lesson_step == 0 { None } else { Some(lesson_step - 1) },
                    sets: Vec::new(),
                    length_s,
                    at_s: None,
                    file: None,
                    view: view.map(|(t, kind)| match kind {
                        0 => View::Whole,
                        1 => View::Last(t.max(View::SPAN_MIN_S)),
                        _ => View::Span(t, t + 60.0),
                    }),
                };
                let pool = url_sets(scenario);
                for p in picks {
                    let (k, v) = &pool[p % pool.len()];
                    urlstate::set_param(&mut state, k, v);
                }
                // A lesson brings its own keys (the slow lesson's workers=8) when a link opens it, so the states
                // links can hold are the parser's normal forms: take the state through one round trip first.
                urlstate::parse_query(&urlstate::to_query(&state)).state
            },
        )
}

#[test]
fn fuzz_url_states_round_trip() {
    check("url_round_trip", 256, url_state(), urlstate::to_query, url_round_trip);
}

fn url_round_trip(state: UrlState) -> Result<(), TestCaseError> {
    let query = urlstate::to_query(&state);
    let back = urlstate::parse_query(&query);
    prop_assert_eq!(back.ignored, Vec::<String>::new(), "{}", query);
    prop_assert_eq!(&back.state, &state, "{}", query);
    prop_assert_eq!(urlstate::to_query(&back.state), query);
    Ok(())
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_url_states_round_trip() {
    check("url_round_trip_long", long_cases(151), url_state(), urlstate::to_query, url_round_trip);
}

#[test]
fn fuzz_encode_then_decode_is_the_identity() {
    check("encode_decode", 512, any::<String>(), |s| format!("{s:?}"), encode_decode);
}

fn encode_decode(text: String) -> Result<(), TestCaseError> {
    let encoded = urlstate::encode(&text);
    prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded:?} is not plain ASCII");
    prop_assert!(!encoded.contains(['&', '=', '+', '#', '?']), "{encoded:?} has a query separator");
    prop_assert_eq!(urlstate::decode(&encoded), text);
    Ok(())
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_encode_then_decode() {
    check("encode_decode_long", long_cases(330), any::<String>(), |s| format!("{s:?}"), encode_decode);
}

/// One edit of a link's text.
#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let junk = prop_oneof![
        "[&=%+?#:@,.]{1,3}",
        "%[0-9A-Fa-fzZ]{0,2}",
        "[a-z_]{1,8}=[-0-9.e]{0,6}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
        Just("\n".to_string()),
        Just("%0A".to_string()),
        Just("scenario=mmc&".to_string()),
        Just("controller=pid&ab=p2c&".to_string()),
    ];
    prop_oneof![
        4 => (any::<usize>(), junk).prop_map(|(at, s)| Edit::Insert(at, s)),
        2 => (any::<usize>(), 1usize..8).prop_map(|(at, n)| Edit::Delete(at, n)),
        1 => (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply_edit(text: &mut String, e: &Edit) {
    let boundary = |t: &str, at: usize| {
        let mut i = at % (t.len() + 1);
        while !t.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match e {
        Edit::Insert(at, s) => {
            let i = boundary(text, *at);
            text.insert_str(i, s);
        }
        Edit::Delete(at, n) | Edit::Duplicate(at, n) => {
            let i = boundary(text, *at);
            let j = boundary(text, i + n);
            let j = j.max(i);
            if matches!(e, Edit::Delete(..)) {
                text.replace_range(i..j, "");
            } else {
                let piece = text[i..j].to_string();
                text.insert_str(j, &piece);
            }
        }
        Edit::Truncate(at) => {
            let i = boundary(text, *at);
            text.truncate(i);
        }
    }
}

fn mutated_link() -> impl Strategy<Value = String> {
    (url_state(), prop::collection::vec(edit(), 1..6)).prop_map(|(state, edits)| {
        let mut q = urlstate::to_query(&state);
        for e in &edits {
            apply_edit(&mut q, e);
        }
        q
    })
}

/// Any link parses without a panic to a state the page can run, with notices only; and that state's own link
/// parses back to it with no notice at all.
fn url_mutated(query: String) -> Result<(), TestCaseError> {
    let s = urlstate::parse_query(&query).state;
    prop_assert!(loadlab::models::section::scenario::scenario_info(&s.scenario).is_some(), "scenario {:?}", s.scenario);
    prop_assert!(loadlab::controller::controller_info(&s.controller).is_some(), "controller {:?}", s.controller);
    any_model_link_property(query)
}

#[test]
fn fuzz_mutated_links_only_give_notices() {
    check("url_mutated", 512, mutated_link(), |q| format!("{q:?}"), url_mutated);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_mutated_links() {
    check("url_mutated_long", long_cases(500), mutated_link(), |q| format!("{q:?}"), url_mutated);
}

// -------------------------------------------------------------------------------------------------------------
// (e) Links of every model (Sahana, Koha, Galera as well as the section), mutated like the section's.
// -------------------------------------------------------------------------------------------------------------

/// A link for a build case of any registered scenario, with its `--set` pairs as query pairs.
fn any_model_link() -> impl Strategy<Value = String> {
    (build_case(), prop::collection::vec(edit(), 0..5)).prop_map(|(case, edits)| {
        let spec = case.spec();
        let mut q = format!("?scenario={}&seed={}&lesson=off", case.def().name, spec.seed);
        if case.def().takes_controller {
            q.push_str(&format!("&controller={}", urlstate::encode(&spec.controller)));
        }
        for (k, v) in &spec.sets {
            q.push_str(&format!("&{}={}", urlstate::encode(k), urlstate::encode(v)));
        }
        for e in &edits {
            apply_edit(&mut q, e);
        }
        q
    })
}

/// Any model's link parses without a panic to a registered scenario, with short notices; the cleaned link
/// parses back to the same state with none.
fn any_model_link_property(query: String) -> Result<(), TestCaseError> {
    let parsed = urlstate::parse_query(&query);
    let s = &parsed.state;
    prop_assert!(registry::find(&s.scenario).is_ok(), "scenario {:?}", s.scenario);
    prop_assert!((urlstate::SPEED_MIN..=urlstate::SPEED_MAX).contains(&s.speed), "speed {}", s.speed);
    for n in &parsed.ignored {
        prop_assert!(!n.is_empty() && n.chars().count() < MAX_ERROR_CHARS, "notice {n:?}");
    }
    let again = urlstate::parse_query(&urlstate::to_query(s));
    prop_assert_eq!(again.ignored, Vec::<String>::new(), "the cleaned link {}", urlstate::to_query(s));
    prop_assert_eq!(&again.state, s);
    Ok(())
}

#[test]
fn fuzz_links_of_every_model() {
    check("any_model_link", 192, any_model_link(), |q| format!("{q:?}"), any_model_link_property);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_links_of_every_model() {
    check("any_model_link_long", long_cases(40), any_model_link(), |q| format!("{q:?}"), any_model_link_property);
}

// -------------------------------------------------------------------------------------------------------------
// (f) Scenario files: each section scenario's exported TOML, mutated, read back with `from_toml`.
// -------------------------------------------------------------------------------------------------------------

/// Values a file's field may be given in place of its own: edges, nonsense, other types.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1".to_string()),
        Just("1e300".to_string()),
        Just("0.5".to_string()),
        Just("\"primary\"".to_string()),
        Just("\"\"".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        "[0-9]{1,7}",
        "-?[0-9]{1,3}\\.[0-9]{1,3}",
    ]
}

#[derive(Clone, Debug)]
struct FileCase {
    scenario: usize,
    seed: u64,
    /// (line, value): the line's value replaced, when the line is `key = value`.
    values: Vec<(usize, String)>,
    /// Edits of the text itself (most break the syntax).
    edits: Vec<Edit>,
}

impl FileCase {
    fn text(&self) -> String {
        let all = loadlab::models::section::SCENARIOS;
        let def = &all[self.scenario % all.len()];
        let cfg = loadlab::models::section::scenario::build(def.name, "static", &[]).unwrap();
        let text = loadlab::models::section::scenario_file::to_toml(&cfg).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (line, value) in &self.values {
            let i = line % lines.len().max(1);
            if let Some((key, _)) = lines[i].split_once(" = ") {
                lines[i] = format!("{key} = {value}");
            }
        }
        let mut text = lines.join("\n");
        for e in &self.edits {
            apply_edit(&mut text, e);
        }
        text
    }
}

fn file_case() -> impl Strategy<Value = FileCase> {
    (
        any::<usize>(),
        any::<u64>(),
        prop::collection::vec((any::<usize>(), toml_value()), 0..4),
        prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(edit(), 1..3)],
    )
        .prop_map(|(scenario, seed, values, edits)| FileCase { scenario, seed, values, edits })
}

/// A mutated file is refused with one short line, or it runs 2000 events with every invariant after each.
fn file_property(case: FileCase, tally: &Tally) -> Result<(), TestCaseError> {
    match loadlab::models::section::scenario_file::from_toml("fuzz.toml", &case.text()) {
        Err(e) => {
            tally.add(false, 0);
            one_line("from_toml", &e)
        }
        Ok(cfg) => {
            let mut sim = match loadlab::models::section::sim::Sim::try_new(cfg, case.seed) {
                Ok(sim) => sim,
                Err(e) => return one_line("a file's config", &e),
            };
            let mut events = 0;
            while events < 2_000 && sim.step_event() {
                events += 1;
                if let Err(v) = sim.check_invariants() {
                    return Err(TestCaseError::fail(format!("after event {events}: {v}")));
                }
            }
            tally.add(true, events);
            Ok(())
        }
    }
}

#[test]
fn fuzz_scenario_files() {
    let tally = Tally::default();
    check("scenario_files", 96, file_case(), |c| format!("{:?}", c.text()), |c| file_property(c, &tally));
    tally.report("scenario_files", 0.05);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_scenario_files() {
    let tally = Tally::default();
    check(
        "scenario_files_long",
        long_cases(8),
        file_case(),
        |c| format!("{:?}", c.text()),
        |c| file_property(c, &tally),
    );
    tally.report("scenario_files_long", 0.05);
}

// -------------------------------------------------------------------------------------------------------------
// (g) CLI flag combinations through the clap struct (`loadlab run …`).
// -------------------------------------------------------------------------------------------------------------

/// Flags and values to splice into a run's argument list.
fn flag_noise() -> impl Strategy<Value = Vec<String>> {
    let token = prop_oneof![
        Just("--duration".to_string()),
        Just("--time-step".to_string()),
        Just("--seed".to_string()),
        Just("--set".to_string()),
        Just("--controller".to_string()),
        Just("--scenario".to_string()),
        Just("--format".to_string()),
        Just("json".to_string()),
        Just("--scenario-file".to_string()),
        Just("/nonexistent.toml".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("0.0001".to_string()),
        Just("5".to_string()),
        Just("=".to_string()),
        "[a-z_]{1,8}=[-0-9.e@:a-z]{0,8}",
        any::<String>().prop_map(|s| s.chars().take(6).collect()),
    ];
    prop::collection::vec((any::<usize>(), token).prop_map(|(_, t)| t), 0..4)
}

#[derive(Clone, Debug)]
struct CliCase {
    build: BuildCase,
    noise: Vec<String>,
    at: usize,
}

impl CliCase {
    fn argv(&self) -> Vec<String> {
        let spec = self.build.spec();
        let mut argv: Vec<String> = vec!["--scenario".into(), self.build.def().name.into()];
        if self.build.def().takes_controller {
            argv.extend(["--controller".into(), spec.controller.clone()]);
        }
        argv.extend(["--seed".into(), spec.seed.to_string()]);
        argv.extend(["--duration".into(), spec.duration_s.unwrap_or(1.0).to_string()]);
        for (k, v) in &spec.sets {
            argv.extend(["--set".into(), format!("{k}={v}")]);
        }
        let at = self.at % (argv.len() + 1);
        for (i, t) in self.noise.iter().enumerate() {
            argv.insert(at + i, t.clone());
        }
        argv
    }
}

fn cli_case() -> impl Strategy<Value = CliCase> {
    (build_case(), flag_noise(), any::<usize>()).prop_map(|(build, noise, at)| CliCase { build, noise, at })
}

/// Any argument list is refused with one short line, or builds a run that keeps every invariant for 3000
/// events and whose rows stay within one per time step.
fn cli_property(case: CliCase, tally: &Tally) -> Result<(), TestCaseError> {
    let built = loadlab::cli::parse_run(&case.argv())
        .and_then(|args| loadlab::cli::build_sim(&args).map(|sim| (args, sim)))
        .map_err(|e| e.message().to_string());
    match built {
        Err(e) => {
            tally.add(false, 0);
            one_line("loadlab run", &e)
        }
        Ok((_, mut run)) => {
            let end = run.duration();
            let events = step_checked(run.as_mut(), end, 3_000)?;
            rows_within_bound(run.as_mut())?;
            tally.add(true, events);
            Ok(())
        }
    }
}

/// The memory bound of a case: rows buffered so far are at most one per time step elapsed, plus the t = 0 row
/// and one for a final partial step, and each is as wide as the columns.
fn rows_within_bound(run: &mut dyn Run) -> Result<u64, TestCaseError> {
    let rows = run.drain_rows();
    let bound = run.now() / run.time_step().max(1) + 2;
    prop_assert!(rows.len() as u64 <= bound, "{} rows by t = {} µs, bound {bound}", rows.len(), run.now());
    let width = run.columns().len();
    prop_assert!(rows.iter().all(|r| r.len() == width), "a row is not {width} wide");
    Ok(rows.len() as u64)
}

#[test]
fn fuzz_cli_flag_combinations() {
    let tally = Tally::default();
    check("cli_flags", 128, cli_case(), |c| format!("loadlab run {}", c.argv().join(" ")), |c| cli_property(c, &tally));
    tally.report("cli_flags", 0.05);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_cli_flag_combinations() {
    let tally = Tally::default();
    check(
        "cli_flags_long",
        long_cases(8),
        cli_case(),
        |c| format!("loadlab run {}", c.argv().join(" ")),
        |c| cli_property(c, &tally),
    );
    tally.report("cli_flags_long", 0.05);
}

// -------------------------------------------------------------------------------------------------------------
// (h) Long horizons: days to weeks of simulated time, so Sahana's router and keepalive timers, Koha's recycling
// and Galera's desync, catch-up and bulk pushes fire; sampled at a few points so a case stays short.
// -------------------------------------------------------------------------------------------------------------

/// Horizons, s: a day, a week, and Galera's whole percona course.
const HORIZONS_S: &[f64] = &[86_400.0, 604_800.0, 25_200.0];

/// Events a horizon case may process in all (its time bound), spread over its samples.
const HORIZON_EVENTS: u64 = 200_000;

#[derive(Clone, Debug)]
struct HorizonCase {
    build: BuildCase,
    horizon: usize,
    samples: u8,
}

impl HorizonCase {
    fn spec(&self) -> RunSpec {
        let mut spec = self.build.spec();
        let duration_s = HORIZONS_S[self.horizon % HORIZONS_S.len()];
        spec.duration_s = Some(duration_s);
        // Each model's own step where it has one; the section's at a minute, so rows stay few.
        spec.time_step_s = if self.build.def().takes_controller { Some(60.0) } else { None };
        spec
    }
}

fn horizon_case() -> impl Strategy<Value = HorizonCase> {
    (build_case(), any::<usize>(), 2u8..6).prop_map(|(build, horizon, samples)| HorizonCase { build, horizon, samples })
}

/// Runs to `samples` evenly spaced times within the event budget, checking the invariants and the row bound at
/// each; the events processed stay within the budget.
fn horizon_property(case: HorizonCase, tally: &Tally) -> Result<(), TestCaseError> {
    let def = case.build.def();
    let mut run = match (def.build)(def, &case.spec()) {
        Err(e) => {
            tally.add(false, 0);
            return one_line("build", &e);
        }
        Ok(run) => run,
    };
    let end = run.duration();
    let per_sample = HORIZON_EVENTS / case.samples as u64;
    for k in 1..=case.samples as u64 {
        let at = end / case.samples as u64 * k;
        run.run_until(at, per_sample);
        if let Err(v) = run.check_invariants() {
            return Err(TestCaseError::fail(format!("at t = {} µs: {v}", run.now())));
        }
        rows_within_bound(run.as_mut())?;
    }
    prop_assert!(run.events() <= HORIZON_EVENTS + case.samples as u64, "{} events", run.events());
    tally.add(true, run.events());
    Ok(())
}

#[test]
fn fuzz_long_horizons_sampled() {
    let tally = Tally::default();
    let describe = |c: &HorizonCase| format!("{} over {:?} s", c.build.describe(), c.spec().duration_s);
    check("horizons", 24, horizon_case(), describe, |c| horizon_property(c, &tally));
    tally.report("horizons", 0.05);
}

#[test]
#[ignore = "long fuzz run: cargo test --release -- --ignored fuzz"]
fn fuzz_long_long_horizons_sampled() {
    let tally = Tally::default();
    let describe = |c: &HorizonCase| format!("{} over {:?} s", c.build.describe(), c.spec().duration_s);
    check("horizons_long", long_cases(1) / 4, horizon_case(), describe, |c| horizon_property(c, &tally));
    tally.report("horizons_long", 0.05);
}
