//! loadlab: a deterministic lab for database load balancing.
//!
//! The core (`engine`, `models`, `parts`, `controller`, `registry`) is pure: no clock, no IO, no thread RNG, so
//! the same scenario and seed give the same trace natively and in wasm32. The CLI (`cli`, native only) and the
//! web app (`web`, wasm32 only) are thin shells that build a run from [`registry`], drive it through
//! [`engine::run::Run`] and format its rows. Each model keeps all of its own code in its folder under `models/`.

pub mod controller;
pub mod engine;
pub mod histogram;
pub mod models;
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

/// Runs a scenario to its end and returns the summary: the one-call entry point shared by the CLI's hash check,
/// the wasm determinism test and the browser's `trace_hash` export.
pub fn run_summary(
    scenario: &str,
    controller: &str,
    sets: &[(String, String)],
    duration_s: f64,
    seed: u64,
) -> Result<models::section::metrics::Summary, String> {
    let mut cfg = models::section::scenario::build(scenario, controller, sets)?;
    cfg.duration = time::from_secs_f64(duration_s);
    let mut sim = models::section::sim::Sim::try_new(cfg, seed)?;
    sim.run_to_end();
    Ok(sim.summary())
}
