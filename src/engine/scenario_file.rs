//! Scenario files for models configured by their keys (Sahana, Koha, Galera): every key that applies to the
//! scenario, with its value, unit and range, as TOML an SRE can edit and run again.
//!
//! ```toml
//! loadlab_scenario = 1
//! scenario = "sahana-idle-drop"
//! duration_s = 9000
//! time_step_s = 10
//!
//! [keys]
//! # uWSGI worker processes, each with one persistent database connection (workers; 1 to 64)
//! workers = 4
//! # a scheduled command VERB[:TARGET][:ARG]@SECONDS, e.g. kill-worker:w3@7300 (repeatable)
//! operator = ["kill-worker:w3@7300"]
//! ```
//!
//! A file is read back into the same [`RunSpec`] a command line builds (every key as a `--set` pair), so the
//! one validator of keys ([`crate::engine::keys::Params::parse`]) and the model's own builder check it: a file
//! cannot hold what a key refuses, and exporting a scenario then running the file is the same run, byte for
//! byte. The section, whose file is its whole config (servers by name, weights, latencies), writes its own
//! format ([`crate::models::section::scenario_file`]) with the same header and the same error style, both
//! built from this file's helpers. Reading is pure (text in, spec or one-line error out); front ends do the IO.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::keys::{clip_error, quote, KeyInfo, KeyKind};
use super::scenario::{RunSpec, ScenarioDef};

/// The file format's version, written as `loadlab_scenario = 1`.
pub const VERSION: u32 = 1;

/// The longest scenario file read, bytes.
pub const MAX_BYTES: usize = 4 << 20;

/// Line and column (1-based, in characters) of a byte offset of `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// An error at a byte offset of a file, as one line: `PATH:LINE:COLUMN: what was expected`.
pub fn error_at(path: &str, text: &str, offset: usize, msg: &str) -> String {
    let (line, col) = line_col(text, offset);
    let msg: String = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    clip_error(format!("{}:{line}:{col}: {msg}", quote(path).trim_matches('\'')))
}

/// Parses a whole file as `T`, refusing files over [`MAX_BYTES`] and turning TOML errors into
/// [`error_at`]'s line.
pub fn parse<T: for<'de> Deserialize<'de>>(path: &str, text: &str) -> Result<T, String> {
    if text.len() > MAX_BYTES {
        return Err(format!("{}: the file is over {MAX_BYTES} bytes", quote(path)));
    }
    toml::from_str(text).map_err(|e| error_at(path, text, e.span().map_or(0, |s| s.start), e.message()))
}

/// Checks the version a file states.
pub fn check_version(path: &str, text: &str, version: &Spanned<u32>) -> Result<(), String> {
    if *version.get_ref() == VERSION {
        return Ok(());
    }
    Err(error_at(path, text, version.span().start, &format!("expected loadlab_scenario = {VERSION}")))
}

/// What names a file's scenario: its `scenario` line, or (for the section's files, which carry the name inside
/// their config) the table named after a model.
#[derive(Deserialize)]
struct Head {
    scenario: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, toml::Value>,
}

/// The scenario a file is for, found in the registry's list `all`: by its `scenario` line, else by a table
/// named after a model (its first scenario; such a file names the rest inside that table).
pub fn scenario_of(path: &str, text: &str, all: &[&'static ScenarioDef]) -> Result<&'static ScenarioDef, String> {
    let head: Head = parse(path, text)?;
    if let Some(name) = head.scenario {
        return all.iter().copied().find(|d| d.name == name).ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|d| d.name).collect();
            error_at(
                path,
                text,
                0,
                &format!("unknown scenario {}; valid scenarios: {}", quote(&name), names.join(", ")),
            )
        });
    }
    all.iter().copied().find(|d| head.rest.get(d.model).is_some_and(toml::Value::is_table)).ok_or_else(|| {
        error_at(path, text, 0, "expected a line scenario = \"NAME\" (a file from loadlab export-scenario)")
    })
}

/// A keyed scenario file as read, with positions for errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyedIn {
    loadlab_scenario: Spanned<u32>,
    #[allow(dead_code)] // read by `scenario_of`; declared so `deny_unknown_fields` accepts it
    scenario: String,
    duration_s: Spanned<f64>,
    time_step_s: Spanned<f64>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// A key's value as the text `--set` takes; steps (repeatable keys) are arrays of such texts.
fn value_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(if *b { "yes" } else { "no" }.into()),
        _ => None,
    }
}

/// Reads a keyed scenario file into the spec a command line with the same `--set` pairs would give (seed 0;
/// the caller sets it). Every key is checked on its own first, so an error names the line of the key at fault.
pub fn read_keyed(def: &'static ScenarioDef, path: &str, text: &str) -> Result<RunSpec, String> {
    let file: KeyedIn = parse(path, text)?;
    check_version(path, text, &file.loadlab_scenario)?;
    let mut sets = Vec::new();
    for (key, value) in &file.keys {
        let at = |msg: &str| error_at(path, text, value.span().start, msg);
        let info = def.keys.iter().find(|k| k.key == key.get_ref() && k.applies_to(def.name));
        let repeatable = matches!(info.map(|k| k.kind), Some(KeyKind::FaultSpec));
        let texts: Vec<String> = match (value.get_ref(), repeatable) {
            (toml::Value::Array(items), true) => items
                .iter()
                .map(|i| value_text(i).ok_or_else(|| at("expected a step as text")))
                .collect::<Result<_, _>>()?,
            (v, _) => vec![value_text(v).ok_or_else(|| at("expected a number or a word"))?],
        };
        for raw in texts {
            let pair = vec![(key.get_ref().clone(), raw)];
            super::keys::Params::parse(def.keys, def.name, &pair).map_err(|e| {
                let offset = if info.is_some() { value.span().start } else { key.span().start };
                error_at(path, text, offset, &e)
            })?;
            if repeatable {
                // A step names its model's targets and verbs: checked on its own, so its error has its line.
                let alone =
                    RunSpec { sets: pair.clone(), duration_s: Some(*file.duration_s.get_ref()), ..RunSpec::default() };
                def.check_spec(&alone).map_err(|e| at(&e))?;
            }
            sets.extend(pair);
        }
    }
    let spec = RunSpec {
        sets,
        duration_s: Some(*file.duration_s.get_ref()),
        time_step_s: Some(*file.time_step_s.get_ref()),
        ..RunSpec::default()
    };
    super::limits::check_timing(*file.duration_s.get_ref(), *file.time_step_s.get_ref())
        .map_err(|e| error_at(path, text, file.duration_s.span().start, &e))?;
    def.check_spec(&spec).map_err(|e| error_at(path, text, 0, &e))?;
    Ok(spec)
}

/// [`ScenarioDef::export`] for models configured by their keys: builds the run to learn its length and step
/// (the model's own when the spec gives none), then writes [`write_keyed`].
pub fn export_keyed(def: &'static ScenarioDef, spec: &RunSpec) -> Result<String, String> {
    let run = def.build_run(spec)?;
    let secs = crate::time::as_secs_f64;
    write_keyed(def, spec, secs(run.duration()), secs(run.time_step()))
}

/// The pairs of `sets` whose value differs from their key's default (numbers compared as numbers): what a
/// link needs of a keyed file. Steps are always kept.
pub fn changed_keys(def: &ScenarioDef, sets: &[(String, String)]) -> Vec<(String, String)> {
    let same = |info: &KeyInfo, raw: &str| match (info.kind, raw.trim().parse::<f64>(), info.default.parse::<f64>()) {
        (KeyKind::FaultSpec, _, _) => false,
        (KeyKind::Number { .. } | KeyKind::CountOrUnlimited { .. }, Ok(a), Ok(b)) => a == b,
        _ => raw.trim() == info.default,
    };
    sets.iter()
        .filter(|(k, v)| !def.keys.iter().any(|i| i.key == k && i.applies_to(def.name) && same(i, v)))
        .cloned()
        .collect()
}

/// A number as TOML: whole numbers as integers, others in Rust's shortest form that reads back exactly.
fn number_toml(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

/// A string as a TOML basic string.
fn string_toml(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The value of `info` a spec runs with, as TOML: the last `--set` of it, else its default.
fn key_toml(info: &KeyInfo, sets: &[(String, String)]) -> Result<String, String> {
    if let KeyKind::FaultSpec = info.kind {
        let steps: Vec<String> = sets.iter().filter(|(k, _)| k == info.key).map(|(_, v)| string_toml(v)).collect();
        return Ok(format!("[{}]", steps.join(", ")));
    }
    let raw = sets.iter().rev().find(|(k, _)| k == info.key).map_or(info.default, |(_, v)| v.as_str()).trim();
    Ok(match info.kind {
        KeyKind::Number { .. } => {
            number_toml(raw.parse::<f64>().map_err(|_| format!("{}: {} is not a number", info.key, quote(raw)))?)
        }
        KeyKind::CountOrUnlimited { .. } if raw != "unlimited" => raw.to_string(),
        _ => string_toml(raw),
    })
}

/// The file of a keyed model's scenario as `spec` would run it: every key that applies, its help, unit and
/// range in a comment above it. `duration_s`/`time_step_s` are the run's own (the model's defaults filled in).
pub fn write_keyed(
    def: &'static ScenarioDef,
    spec: &RunSpec,
    duration_s: f64,
    time_step_s: f64,
) -> Result<String, String> {
    def.check_spec(spec)?;
    let mut out = format!(
        "# loadlab scenario file: {} ({}).\n# Edit any value and run it with `loadlab run --scenario-file FILE`; \
         each key's meaning, unit and range is in the comment above it.\n",
        def.name, def.story.headline
    );
    out += &format!("loadlab_scenario = {VERSION}\nscenario = {}\n", string_toml(def.name));
    out += &format!("# simulated seconds\nduration_s = {}\n", number_toml(duration_s));
    out += &format!("# seconds per output row\ntime_step_s = {}\n\n[keys]\n", number_toml(time_step_s));
    let mut seen: Vec<&str> = Vec::new();
    for info in def.keys.iter().filter(|k| k.applies_to(def.name)) {
        if seen.contains(&info.key) {
            continue;
        }
        seen.push(info.key);
        let unit = match info.kind {
            KeyKind::Number { .. } | KeyKind::CountOrUnlimited { .. } if !info.unit.is_empty() => {
                format!(" {}", info.unit)
            }
            _ => String::new(),
        };
        out += &format!("# {} ({}{unit})\n", info.help, info.range_text());
        out += &format!("{} = {}\n", info.key, key_toml(info, &spec.sets)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 7), (2, 4)); // after the two-byte é
        assert_eq!(line_col(text, 1000), (3, 2));
    }

    #[test]
    fn numbers_read_back_exactly() {
        for v in [0.0, 4.0, 0.1, 1e-7, 2.5e20, 7572.8, -3.0, 1e15] {
            let text = format!("x = {}", number_toml(v));
            let back: BTreeMap<String, toml::Value> = toml::from_str(&text).unwrap();
            let got = match back["x"] {
                toml::Value::Integer(i) => i as f64,
                toml::Value::Float(f) => f,
                _ => panic!("{text}"),
            };
            assert_eq!(got, v, "{text}");
        }
    }
}
