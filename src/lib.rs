//! loadlab: a deterministic lab for database load balancing.
//!
//! The core (`engine`, `models`, `parts`, `controller`, `registry`, and `overlay`, which reads your metrics and
//! scores a run against them; `page`, the page's state and reducer) is pure: no clock, no IO, no thread RNG, so the same scenario and seed give the
//! same trace natively and in wasm32. The CLI (`cli`, native only) and the
//! web app (`web`, wasm32 only) are thin shells that build a run from [`registry`], drive it through
//! [`engine::run::Run`] and format its rows. Each model keeps all of its own code in its folder under `models/`.

pub mod controller;
pub mod engine;
pub mod histogram;
pub mod lesson_controls;
pub mod models;
pub mod overlay;
pub mod page;
pub mod parts;
pub mod queue;
pub mod registry;
pub mod rng;
pub mod time;
pub mod urlstate;

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// Runs any registered scenario to its end and returns its summary (`trace_hash` as 16 hex digits, as the CLI's
/// JSON prints it): the one-call entry point shared by the wasm determinism test and the browser's `trace_hash`
/// export.
pub fn run_summary(
    scenario: &str,
    controller: &str,
    sets: &[(String, String)],
    duration_s: f64,
    seed: u64,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let spec = registry::RunSpec {
        controller: controller.to_string(),
        sets: sets.to_vec(),
        seed,
        duration_s: Some(duration_s),
        time_step_s: None,
        file: None,
    };
    let mut run = registry::build(scenario, &spec)?;
    let end = run.duration();
    run.run_until(end, u64::MAX);
    Ok(run.summary())
}
