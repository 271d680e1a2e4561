//! `loadlab bench`: prints what [`crate::bench`] measures (the engine against a bare loop, pick scaling per
//! controller, each model's course), best of `--repeats`.

use super::args::BenchOpts;
use super::{emit, CliError};

/// Runs every benchmark and prints one line each.
pub(crate) fn cmd_bench(o: BenchOpts) -> Result<(), CliError> {
    let repeats = o.repeats;
    let mut text = String::new();
    for (name, figure) in crate::bench::all(repeats)? {
        text.push_str(&format!("{name}: {figure} (best of {repeats})\n"));
    }
    emit(&text)
}
