#![cfg(not(target_arch = "wasm32"))]
//! The native integration tests: one binary, one module per concern (STYLE.md §11).
//!
//! Every expected number is derived in the test from theory (Little's law, Erlang C) or from the sources
//! (REFERENCE.md), never copied from the program's output. Randomized tests print their seed when they fail.

mod chart_views;
mod cli;
mod controllers_indexed;
mod controllers_mediawiki;
mod controllers_production;
mod determinism;
mod fit;
mod fuzz;
mod invariants;
mod lesson_controls;
mod lessons;
mod model_galera;
mod model_koha;
mod model_sahana;
mod model_section_lag;
mod operators;
mod picture;
mod queueing;
mod reliability;
mod scenario_files;
mod support;
