//! The one scenario registry: every scenario of every model, with its keys, its story, its lesson, the figures
//! its incident reported, and its builder. The CLI, the page, URL state, the scorecard and the fuzzer find
//! scenarios here and nowhere else.
//!
//! A model folder exposes `pub const SCENARIOS: &[ScenarioDef]`; adding a model is one line in [`MODELS`]. The
//! types a scenario is declared with live below the models, in [`crate::engine::scenario`]; this file only
//! lists and builds.

use crate::engine::keys::quote;
use crate::engine::run::Run;
// Front ends name the scenario types through the registry that hands them out; models name them where they
// live, in `engine::scenario`, so that no model imports the registry that lists it.
pub use crate::engine::scenario::{no_controller, Figure, LessonStep, RunSpec, ScenarioDef, Story, NO_CONTROLLER};

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
    def.build_run(spec)
}

/// Reads a scenario file of any model: the scenario it names (by its `scenario` line, or the table named after
/// its model) and the spec that runs it, checked; or one line `PATH:LINE:COLUMN: what was expected`. `path`
/// names the file in errors; the caller sets the seed.
pub fn open_file(path: &str, text: &str) -> Result<(&'static ScenarioDef, RunSpec), String> {
    let def = crate::engine::scenario_file::scenario_of(path, text, &all().collect::<Vec<_>>())?;
    let spec = (def.open)(def, path, text).map_err(crate::engine::keys::clip_error)?;
    Ok((def, spec))
}
