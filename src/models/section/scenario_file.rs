//! Scenario files: a whole section model [`Config`] as TOML, so an SRE can describe their own cluster.
//!
//! `loadlab export-scenario` writes one from a built-in scenario; `loadlab run|compare|tune --scenario-file`
//! reads one. The file is the config's every field (times in whole microseconds, `"unlimited"` for an absent
//! limit) under `[section]`, and its scheduled faults and operator overrides as the same text steps `--set
//! fault=…` takes (`slow:db1119:10@30`), so exporting a built-in scenario and running the file is the same run,
//! byte for byte. Reading is pure (text in, config or one-line error out); the CLI does the file IO.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::engine::commands::{format, parse_step};
use crate::engine::keys::quote;
use crate::models::section::commands::{to_parsed, Codec};
use crate::models::section::config::{Config, ScheduledCommand};
use crate::time::as_secs_f64;

pub use crate::engine::scenario_file::{MAX_BYTES, VERSION};

/// A scenario file as written.
#[derive(Serialize)]
struct FileOut<'a> {
    loadlab_scenario: u32,
    scenario: &'a str,
    steps: Vec<String>,
    section: &'a Config,
}

/// A scenario file as read, with the position of every step and of the section, for errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    loadlab_scenario: Spanned<u32>,
    /// The scenario it was exported from (files before this line existed name it only in `[section]`).
    #[serde(default)]
    scenario: Option<Spanned<String>>,
    #[serde(default)]
    steps: Vec<Spanned<String>>,
    section: Spanned<Config>,
}

/// The config as a scenario file: a comment naming where it came from, then TOML.
pub fn to_toml(cfg: &Config) -> Result<String, String> {
    let names: Vec<String> = cfg.servers.iter().map(|s| s.name.clone()).collect();
    let codec = Codec { servers: &names };
    let steps =
        cfg.schedule.iter().map(|s| format!("{}@{}", format(&codec, &to_parsed(&s.command)), as_secs_f64(s.at)));
    let file = FileOut { loadlab_scenario: VERSION, scenario: &cfg.scenario, steps: steps.collect(), section: cfg };
    let body = toml::to_string(&file).map_err(|e| format!("cannot write the scenario as TOML: {e}"))?;
    Ok(format!(
        "# loadlab scenario file (exported from scenario {}). Times are whole microseconds (_us); steps are\n\
         # VERB[:SERVER][:ARG…]@SECONDS as in `loadlab list`. Run it with `loadlab run --scenario-file FILE`.\n{body}",
        cfg.scenario
    ))
}

/// Reads a scenario file's text; `path` names it in errors, which are one line: `PATH:LINE:COLUMN: what was
/// expected`.
pub fn from_toml(path: &str, text: &str) -> Result<Config, String> {
    read(path, text).map_err(crate::engine::keys::clip_error)
}

fn read(path: &str, text: &str) -> Result<Config, String> {
    let at = |offset: usize, msg: &str| crate::engine::scenario_file::error_at(path, text, offset, msg);
    let file: FileIn = crate::engine::scenario_file::parse(path, text)?;
    crate::engine::scenario_file::check_version(path, text, &file.loadlab_scenario)?;
    let section_at = file.section.span().start;
    let mut cfg = file.section.into_inner();
    if let Some(name) = &file.scenario {
        if *name.get_ref() != cfg.scenario {
            let msg = format!(
                "scenario {} differs from the [section] table's {}",
                quote(name.get_ref()),
                quote(&cfg.scenario)
            );
            return Err(at(name.span().start, &msg));
        }
    }
    check_names(&cfg).map_err(|e| at(section_at, &e))?;
    cfg.validate().map_err(|e| at(section_at, &e))?;
    let names: Vec<String> = cfg.servers.iter().map(|s| s.name.clone()).collect();
    let codec = Codec { servers: &names };
    for step in &file.steps {
        let (when, command) = parse_step(&codec, step.get_ref()).map_err(|e| at(step.span().start, &e))?;
        cfg.schedule.push(ScheduledCommand { at: when, command });
    }
    if cfg.schedule.len() > crate::models::section::config::limits::MAX_SCHEDULE {
        return Err(at(0, &format!("at most {} steps", crate::models::section::config::limits::MAX_SCHEDULE)));
    }
    Ok(cfg)
}

/// A scenario file's config with another controller (its own parameters if it names the same one), and
/// `sets` over it: the controller's parameters, and steps (`fault`, `operator`, `surge`: what the page records
/// when a command is clicked). Other scenario keys belong in the file.
pub fn from_file(text: &str, controller: &str, sets: &[(String, String)]) -> Result<Config, String> {
    let mut cfg = from_toml("scenario file", text)?;
    if cfg.controller.name() != controller {
        cfg.controller = crate::controller::ControllerSpec::new(controller)?;
    }
    let names = crate::controller::controllers().iter().map(|c| c.name);
    for (key, raw) in crate::controller::sets_for(controller, names, sets) {
        if super::scenario::set_param(&mut cfg.controller, &key, &raw)? {
            continue;
        }
        match super::config::KEYS.iter().find(|k| k.key == key).map(|k| k.kind) {
            Some(crate::engine::keys::KeyKind::FaultSpec) => {
                let step = super::scenario::parse_key_step(&cfg, &key, &raw)?;
                cfg.schedule.push(step);
            }
            _ => return Err(format!("{key} is set in the scenario file; edit the file to change it")),
        }
    }
    cfg.schedule.sort_by_key(|s| s.at); // stable: same-time commands keep their order
    cfg.validate()?;
    Ok(cfg)
}

/// Server names must be unique and plain (letters, digits, `.`, `_`, `-`): they head CSV columns and are the
/// targets of text steps, where `,`, `:` and `@` separate fields.
fn check_names(cfg: &Config) -> Result<(), String> {
    for (i, s) in cfg.servers.iter().enumerate() {
        let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
        if s.name.is_empty() || s.name.len() > 64 || !s.name.chars().all(plain) {
            return Err(format!("server name {} should be 1 to 64 letters, digits, '.', '_' or '-'", quote(&s.name)));
        }
        if cfg.servers[..i].iter().any(|o| o.name == s.name) {
            return Err(format!("server name {} is used twice", quote(&s.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_round_trips_exactly() {
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            ("plain-s1", "static", &[]),
            ("slow", "conn-p", &[("recover_at", "77.5"), ("workers", "20")]),
            ("connect-timeout", "mw-loadmonitor", &[("operator", "drain:db1119:30@40"), ("breaker_conns", "900")]),
            ("refuse", "envoy-least-request", &[("surge", "2@12.25"), ("max_connections", "300")]),
            ("quiet", "pid", &[("fault", "cold:db1119:0.2:60@10"), ("latency_dist", "lognormal")]),
            ("mmc", "static", &[("servers", "3"), ("slots", "2")]),
        ];
        for (scenario, controller, sets) in cases {
            let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let cfg = crate::models::section::scenario::build(scenario, controller, &sets).unwrap();
            let text = to_toml(&cfg).unwrap();
            let back = from_toml("x.toml", &text).unwrap_or_else(|e| panic!("{scenario}: {e}\n{text}"));
            assert_eq!(back, cfg, "{scenario}");
            assert!(!cfg.schedule.is_empty() || *scenario == "plain-s1" || *scenario == "mmc");
        }
    }

    #[test]
    fn a_bad_file_names_line_column_and_what_was_expected() {
        let cfg = crate::models::section::scenario::build("slow", "static", &[]).unwrap();
        let good = to_toml(&cfg).unwrap();
        let line_of = |needle: &str| good.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
        let cases = [
            (good.replace("hosts = 139", "hosts = \"many\""), line_of("hosts ="), "expected u32"),
            (good.replace("hosts = 139", "hostz = 139"), line_of("hosts ="), "unknown field `hostz`"),
            (good.replace("slow:db1119:10@30", "slow:db9999:10@30"), line_of("steps"), "valid: db1118"),
            (good.replace("name = \"static\"", "name = \"magic\""), 0, "valid controllers"),
            (good.replace("loadlab_scenario = 1", "loadlab_scenario = 2"), line_of("loadlab_scenario"), "= 1"),
            (good.replace("[section]", "[section"), line_of("[section"), "expected"),
        ];
        for (text, line, hint) in cases {
            let err = from_toml("my.toml", &text).unwrap_err();
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with("my.toml:"), "{err}");
            assert!(err.contains(hint), "{err} lacks {hint}");
            if line > 0 {
                assert!(err.starts_with(&format!("my.toml:{line}:")), "{err}: expected line {line}");
            }
        }
    }
}
