//! The page's components, one per file. Each takes plain props and reports what the reader did through
//! callbacks; only [`lab::Lab`] runs the simulations (through the shared engine).

pub mod cluster;
pub mod controller_picker;
pub mod controls;
pub mod lab;
pub mod legend;
pub mod notice;
pub mod scenario_picker;
pub mod servers;
