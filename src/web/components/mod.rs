//! The page's components, one per file. Each takes plain props (the reducer's state or the frame loop's
//! snapshot) and reports what the reader did through callbacks; none reads or changes a run.

pub mod challenges;
pub mod chart;
pub mod controller_picker;
pub mod controls;
pub mod glossary;
pub mod keys;
pub mod lesson;
pub mod metrics;
pub mod notice;
pub mod overview;
pub mod picture;
pub mod scenario_file;
pub mod scenario_picker;
pub mod servers;
pub mod share;
pub mod status;
pub mod why;
