//! The one scenario registry: every scenario of every model, with its keys, its story, its lesson, the figures
//! its incident reported, and its builder. The CLI, the page, URL state, the scorecard and the fuzzer find
//! scenarios here and nowhere else.
//!
//! A model folder exposes `pub const SCENARIOS: &[ScenarioDef]`; adding a model is one line in [`MODELS`].

use serde_json::{Map, Value};

use crate::engine::keys::{quote, KeyInfo};
use crate::engine::run::Run;
pub use crate::story::Story;

/// What a front end asks for: the controller (for models that balance), the `--set` pairs, the seed, and
/// optional overrides of the run length and metrics step.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    /// Controller name; models without a balancer take only their default and reject others.
    pub controller: String,
    /// `--set KEY=VALUE` pairs, in order.
    pub sets: Vec<(String, String)>,
    /// The run's seed.
    pub seed: u64,
    /// Run length, s (the scenario's own when `None`).
    pub duration_s: Option<f64>,
    /// Metrics step, s (the scenario's own when `None`).
    pub time_step_s: Option<f64>,
}

/// A number the incident itself reported, to set beside this run's.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    /// The summary field it compares with (`headline.longest_stall_s`).
    pub field: &'static str,
    /// What the incident reported, as text with its unit ("924.6 s", "about 700").
    pub reported: &'static str,
    /// Where it comes from (seed file, source path).
    pub source: &'static str,
}

/// One step of a scenario's lesson: what to look at, where the run pauses for it, and this run's numbers.
#[derive(Clone, Copy, Debug)]
pub struct LessonStep {
    /// A short heading.
    pub title: &'static str,
    /// The simulated time the step runs to, s.
    pub at_s: f64,
    /// What to look at, in plain words.
    pub text: &'static str,
    /// The chart id the step is about.
    pub chart: &'static str,
    /// This run's numbers at that moment beside the incident's, from the run's summary.
    pub numbers: fn(&Map<String, Value>) -> String,
}

/// Builds a run of a scenario from what the front end asked for, or says in one line why not.
pub type Builder = fn(&'static ScenarioDef, &RunSpec) -> Result<Box<dyn Run>, String>;

/// One scenario.
#[derive(Clone, Copy, Debug)]
pub struct ScenarioDef {
    /// The name, as given to `--scenario`.
    pub name: &'static str,
    /// The model folder it runs (`section`, `sahana`, `koha`, `galera`).
    pub model: &'static str,
    /// One line for `loadlab list`.
    pub summary: &'static str,
    /// The seed file it reproduces.
    pub seed_file: &'static str,
    /// Every key it takes (the model's table; `applies_to` filters by scenario).
    pub keys: &'static [KeyInfo],
    /// True when `--controller` chooses a balancer for it.
    pub takes_controller: bool,
    /// Its story (incident, what to watch, what to try, sources).
    pub story: &'static Story,
    /// Its lesson, three to six steps.
    pub lesson: &'static [LessonStep],
    /// Keys the lesson sets on top of the scenario's defaults (say why in the first step's text), such as a
    /// finite worker pool so the meltdown shows; the CLI's run of the scenario keeps its own defaults.
    pub lesson_sets: &'static [(&'static str, &'static str)],
    /// A plain-words paragraph per controller on how it reacts here (empty for models without one).
    pub controller_notes: &'static [(&'static str, &'static str)],
    /// What the incident reported.
    pub figures: &'static [Figure],
    /// Builds a run.
    pub build: Builder,
}

/// Every model's scenarios, in the order `loadlab list` prints them.
pub const MODELS: &[&[ScenarioDef]] = &[
    crate::models::section::SCENARIOS,
    crate::models::sahana::SCENARIOS,
    crate::models::koha::SCENARIOS,
    crate::models::galera::SCENARIOS,
];

/// Every scenario.
pub fn all() -> impl Iterator<Item = &'static ScenarioDef> {
    MODELS.iter().flat_map(|m| m.iter())
}

/// Looks up a scenario, or says which exist.
pub fn find(name: &str) -> Result<&'static ScenarioDef, String> {
    all().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = all().map(|s| s.name).collect();
        format!("unknown scenario {}; valid scenarios: {}", quote(name), names.join(", "))
    })
}

/// Builds a run of the named scenario.
pub fn build(name: &str, spec: &RunSpec) -> Result<Box<dyn Run>, String> {
    let def = find(name)?;
    (def.build)(def, spec)
}

/// The default controller of scenarios without a balancer, which is the only one they accept.
pub const NO_CONTROLLER: &str = "static";

/// For models without a balancer: refuses any controller but the default, in one line.
pub fn no_controller(def: &ScenarioDef, spec: &RunSpec) -> Result<(), String> {
    if spec.controller.is_empty() || spec.controller == NO_CONTROLLER {
        Ok(())
    } else {
        Err(format!(
            "scenario {} has no balancer; --controller does not apply (got {})",
            def.name,
            quote(&spec.controller)
        ))
    }
}
