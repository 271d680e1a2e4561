//! The page's components, one per file. Each takes plain props and reports what the reader did through
//! callbacks; only [`live_chart::LiveChart`] holds a simulation.

pub mod controls;
pub mod legend;
pub mod live_chart;
pub mod notice;
pub mod scenario_picker;
pub mod seed_input;
