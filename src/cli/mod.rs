//! The native command line: headless runs, scenario files, the list of scenarios, controllers and keys, the
//! scorecard, tuning, sharded sweeps and the benchmark.
//!
//! Every user error is one line on stderr naming what is valid, with exit status 2, and happens before any output
//! is written. A failed write (a full disk, a closed stderr) is one line too, with exit status 1; nothing here
//! panics on IO, so no `print!`. The CLI is the only place (besides the web shell) that reads the wall clock or
//! does IO.

mod args;
mod bench;
mod fit;
mod list;
mod run;
mod sweep;

use std::io::{self, Write};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

pub use args::{Cli, Cmd};
pub use list::{format_weights, list_text};
pub use run::{build_sim, parse_run, run_to, RunArgs};
pub use sweep::{default_scenarios, tune_cost};

use crate::engine::keys::quote;

/// Exit status for bad input.
pub const EXIT_USAGE: i32 = 2;
/// Exit status for a failed read or write.
pub const EXIT_IO: i32 = 1;

const USAGE: &str = "usage: loadlab <run|list|weights|compare|tune|fit|merge|export-scenario|bench|help> [options]; \
                     'loadlab help' shows them all";

/// Why a command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: exit status 2.
    Usage(String),
    /// A read or write failed: exit status 1.
    Io(String),
}

/// The old name of [`CliError`], kept for callers.
pub type UsageError = CliError;

impl From<String> for CliError {
    fn from(s: String) -> Self {
        CliError::Usage(s)
    }
}

impl From<&str> for CliError {
    fn from(s: &str) -> Self {
        CliError::Usage(s.to_string())
    }
}

impl CliError {
    /// The message, whichever kind.
    pub fn message(&self) -> &str {
        match self {
            CliError::Usage(m) | CliError::Io(m) => m,
        }
    }
}

/// A write failure as a CLI error; a closed pipe (`loadlab list | head`) is not a failure, so it ends quietly.
pub(crate) fn write_result(what: &str, r: io::Result<()>) -> Result<(), CliError> {
    match r {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Io(format!("writing {what}: {e}"))),
        _ => Ok(()),
    }
}

/// Writes `text` to stdout and flushes it, or says why it could not.
pub(crate) fn emit(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    write_result("to stdout", out.write_all(text.as_bytes()).and_then(|_| out.flush()))
}

/// Writes `text` to the file at `path` (created or truncated).
pub(crate) fn write_file(path: &str, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| CliError::Io(format!("--out: cannot write {}: {e}", quote(path))))
}

/// Reads a text file named on the command line, bounded to `max` bytes.
pub(crate) fn read_file(path: &str, max: usize) -> Result<String, CliError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| CliError::Usage(format!("cannot open {}: {e}", quote(path))))?;
    let mut text = String::new();
    file.take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", quote(path))))?;
    if text.len() > max {
        return Err(CliError::Usage(format!("{} is over {max} bytes", quote(path))));
    }
    Ok(text)
}

/// Makes any message one short line: control characters escaped, at most 400 characters.
fn one_line(msg: &str) -> String {
    const MAX_CHARS: usize = crate::engine::keys::MAX_ERROR_CHARS;
    let escape = |c: char| if c.is_control() { c.escape_default().to_string() } else { c.to_string() };
    let mut out: String = msg.trim_end().chars().take(MAX_CHARS).map(escape).collect();
    if msg.trim_end().chars().nth(MAX_CHARS).is_some() {
        out.push('…');
    }
    out
}

fn context_text(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// The long options of the subcommand `args` names, for "valid options" lists.
fn options_of(args: &[String]) -> String {
    let cmd = Cli::command();
    let sub = args.first().and_then(|name| cmd.find_subcommand(name));
    let names: Vec<String> = sub
        .map(|s| {
            s.get_arguments()
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .chain(["--help".to_string()])
                .collect()
        })
        .unwrap_or_default();
    names.join(", ")
}

fn command_names() -> String {
    let cmd = Cli::command();
    let mut names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
    names.push("help".into());
    names.join(", ")
}

/// clap's error as one line naming what is valid (clap's own rendering spans several lines).
fn clap_message(err: &clap::Error, args: &[String]) -> String {
    let arg = context_text(err, ContextKind::InvalidArg).unwrap_or_default();
    let value = context_text(err, ContextKind::InvalidValue).unwrap_or_default();
    match err.kind() {
        ErrorKind::UnknownArgument => {
            format!("unknown option {}; valid options: {}", quote(&arg), options_of(args))
        }
        ErrorKind::InvalidSubcommand => {
            let name = context_text(err, ContextKind::InvalidSubcommand).unwrap_or_default();
            format!("unknown command {}; valid commands: {}", quote(&name), command_names())
        }
        ErrorKind::InvalidValue if value.is_empty() => format!("{} needs a value", arg.split(' ').next().unwrap_or("")),
        ErrorKind::InvalidValue => {
            let valid = match err.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) if v.len() > 1 => {
                    format!("{} or {}", v[..v.len() - 1].join(", "), v[v.len() - 1])
                }
                _ => context_text(err, ContextKind::ValidValue).unwrap_or_default(),
            };
            format!("{}: {} is not valid; expected {valid}", arg.split(' ').next().unwrap_or(""), quote(&value))
        }
        ErrorKind::ValueValidation => std::error::Error::source(err).map_or_else(|| err.to_string(), |e| e.to_string()),
        ErrorKind::ArgumentConflict => {
            let other = context_text(err, ContextKind::PriorArg).unwrap_or_default();
            format!("{arg} and {other} cannot be used together")
        }
        _ => {
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments").trim_start_matches("error: ").to_string();
            format!("{first}; '{} --help' shows the valid options", args.first().map_or("loadlab", |s| s.as_str()))
        }
    }
}

/// Parses and runs one command line.
fn dispatch(args: &[String]) -> Result<(), CliError> {
    if args.is_empty() {
        return Err(USAGE.into());
    }
    let argv = std::iter::once("loadlab".to_string()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return emit(&e.render().to_string());
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => return Err(USAGE.into()),
        Err(e) => return Err(clap_message(&e, args).into()),
    };
    match cli.command {
        None => Err(USAGE.into()),
        Some(Cmd::Run(o)) => run::cmd_run(o),
        Some(Cmd::List(o)) => list::cmd_list(o),
        Some(Cmd::Weights(o)) => list::cmd_weights(o),
        Some(Cmd::Compare(o)) => sweep::cmd_compare(o),
        Some(Cmd::Tune(o)) => sweep::cmd_tune(o),
        Some(Cmd::Merge(o)) => sweep::cmd_merge(o),
        Some(Cmd::ExportScenario(o)) => run::cmd_export(o),
        Some(Cmd::Fit(o)) => fit::cmd_fit(o),
        Some(Cmd::Bench(o)) => bench::cmd_bench(o),
    }
}

/// Runs the CLI on `args` (without the program name); returns the exit status.
pub fn main_with(args: &[String]) -> i32 {
    match dispatch(args) {
        Ok(()) => 0,
        Err(e) => {
            let code = if matches!(e, CliError::Io(_)) { EXIT_IO } else { EXIT_USAGE };
            // If stderr fails too there is nowhere left to say so; the exit status still tells.
            let _ = writeln!(io::stderr().lock(), "loadlab: error: {}", one_line(e.message()));
            code
        }
    }
}
