//! `loadlab list` (scenarios, controllers and keys, as text or JSON) and `loadlab weights` (a controller's
//! closed form as a runbook calculator).

use serde_json::{json, Value};

use super::args::{ListFormat, ListOpts, WeightsOpts};
use super::{emit, CliError};
use crate::controller::{controllers, ControllerSpec};
use crate::engine::keys::{parse_number, quote, KeyInfo, KeyKind};
use crate::registry;

fn describe_kind(kind: &KeyKind) -> String {
    match kind {
        KeyKind::Number { min, max } => format!("{min}..{max}"),
        KeyKind::CountOrUnlimited { min, max } => format!("{min}..{max} or unlimited"),
        KeyKind::Choice(options) => options.join("|"),
        KeyKind::FaultSpec => "repeatable".into(),
    }
}

/// The text of `loadlab list`.
pub fn list_text() -> String {
    let mut s = String::from("SCENARIOS\n");
    for sc in registry::all() {
        s += &format!("  {:<24} [{}] {}\n", sc.name, sc.model, sc.summary);
    }
    s += "\nCONTROLLERS (--controller NAME; parameters are set with --set KEY=VALUE)\n";
    for c in controllers() {
        s += &format!("  {:<18} {}\n", c.name, c.summary);
        for p in c.params {
            s += &format!(
                "      {:<22} {:<10} default {:<8} {}..{}  {}\n",
                p.key, p.unit, p.default, p.min, p.max, p.help
            );
        }
    }
    s += "\nKEYS (--set KEY=VALUE)\n";
    let tables = key_tables();
    for k in tables.iter().flat_map(|t| t.iter()) {
        let scope = if k.scenarios.is_empty() {
            let names: Vec<&str> =
                registry::all().filter(|sc| sc.keys.iter().any(|x| std::ptr::eq(x, k))).map(|sc| sc.name).collect();
            names.join(", ")
        } else {
            k.scenarios.join(", ")
        };
        s += &format!(
            "  {:<20} unit {:<22} default {:<26} range {:<24} [{scope}]\n      {}\n",
            k.key,
            k.unit,
            k.default,
            describe_kind(&k.kind),
            k.help
        );
    }
    s
}

/// Every key table of the registry's scenarios, each once.
fn key_tables() -> Vec<&'static [KeyInfo]> {
    let mut tables: Vec<&'static [KeyInfo]> = Vec::new();
    for sc in registry::all() {
        if !tables.iter().any(|t| std::ptr::eq(*t, sc.keys)) {
            tables.push(sc.keys);
        }
    }
    tables
}

/// `loadlab list --format json`: the same facts as the text, for scripts.
pub fn list_json() -> Value {
    let scenarios: Vec<Value> = registry::all()
        .map(
            |s| json!({"name": s.name, "model": s.model, "summary": s.summary, "takes_controller": s.takes_controller}),
        )
        .collect();
    let controllers: Vec<Value> = controllers()
        .iter()
        .map(|c| {
            let params: Vec<Value> = c
                .params
                .iter()
                .map(|p| json!({"key": p.key, "unit": p.unit, "default": p.default, "min": p.min, "max": p.max, "help": p.help}))
                .collect();
            json!({"name": c.name, "summary": c.summary, "closed_form": c.formula.is_some(), "params": params})
        })
        .collect();
    let keys: Vec<Value> = key_tables()
        .iter()
        .flat_map(|t| t.iter())
        .map(|k| json!({"key": k.key, "unit": k.unit, "default": k.default, "range": k.range_text(), "scenarios": k.scenarios, "help": k.help}))
        .collect();
    json!({"scenarios": scenarios, "controllers": controllers, "keys": keys})
}

/// `loadlab list`.
pub(crate) fn cmd_list(o: ListOpts) -> Result<(), CliError> {
    match o.format {
        ListFormat::Text => emit(&list_text()),
        ListFormat::Json => emit(&format!("{}\n", list_json())),
    }
}

/// The range of a `Number` key of the section's table, by name.
fn key_range(key: &str) -> (f64, f64, &'static str) {
    let k =
        crate::models::section::scenario::KEYS.iter().find(|k| k.key == key).expect("the section declares this key");
    match k.kind {
        KeyKind::Number { min, max } => (min, max, k.unit),
        KeyKind::CountOrUnlimited { min, max } => (min as f64, max as f64, k.unit),
        _ => (0.0, f64::MAX, k.unit),
    }
}

/// Parses a comma-separated list of numbers, each within [min, max] (the range of the key they stand for).
fn parse_list(name: &str, raw: &str, min: f64, max: f64, unit: &str) -> Result<Vec<f64>, CliError> {
    let max_servers = crate::models::section::config::limits::MAX_SERVERS;
    let cells: Vec<&str> = raw.split(',').collect();
    if raw.trim().is_empty() || cells.len() > max_servers {
        return Err(format!(
            "{name}: {} is not valid; expected 1 to {max_servers} comma-separated numbers from {min} to {max}",
            quote(raw)
        )
        .into());
    }
    cells
        .iter()
        .map(|c| parse_number(name, c, min, max, unit))
        .collect::<Result<Vec<f64>, String>>()
        .map_err(|e| format!("{e} (comma-separated numbers)").into())
}

/// Formats weights: whole numbers as integers (LoadMonitor rounds), others with up to 4 decimals.
pub fn format_weights(weights: &[f64]) -> String {
    let cells: Vec<String> = weights
        .iter()
        .map(|w| {
            if w.fract() == 0.0 && w.abs() < 1e15 {
                format!("{}", *w as i64)
            } else {
                let s = format!("{w:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        })
        .collect();
    cells.join(",")
}

/// `loadlab weights`.
pub(crate) fn cmd_weights(o: WeightsOpts) -> Result<(), CliError> {
    let with_formula: Vec<&str> = controllers().iter().filter(|c| c.formula.is_some()).map(|c| c.name).collect();
    let name = o.controller.ok_or_else(|| {
        format!("weights needs --controller NAME; controllers with a closed form: {}", with_formula.join(", "))
    })?;
    let mut spec = ControllerSpec::new(&name)?;
    let formula = spec.info().formula.ok_or_else(|| {
        format!("controller {name} has no closed form; controllers with one: {}", with_formula.join(", "))
    })?;
    for (key, raw) in &o.sets {
        let p = spec.info().params.iter().find(|p| p.key == key).ok_or_else(|| {
            let keys: Vec<&str> = spec.info().params.iter().map(|p| p.key).collect();
            format!(
                "controller {name} has no parameter {}; its parameters: {}",
                quote(key),
                if keys.is_empty() { "none".into() } else { keys.join(", ") }
            )
        })?;
        spec.set(p.key, parse_number(p.key, raw, p.min, p.max, p.unit)?)?;
    }
    // Loads are configured loads (the <server>.load key's range); connection counts are bounded by what a
    // server can hold (the max_connections key's range), so the closed forms stay finite.
    let (lmin, lmax, lunit) = key_range("<server>.load");
    let (_, cmax, cunit) = key_range("max_connections");
    let loads = parse_list("--loads", o.loads.as_deref().ok_or("weights needs --loads L1,L2,...")?, lmin, lmax, lunit)?;
    let conns = parse_list("--conns", o.conns.as_deref().ok_or("weights needs --conns C1,C2,...")?, 0.0, cmax, cunit)?;
    if loads.len() != conns.len() {
        return Err(format!(
            "--loads has {} values but --conns has {}; give one of each per server",
            loads.len(),
            conns.len()
        )
        .into());
    }
    let weights = formula(&spec, &loads, &conns);
    if weights.iter().any(|w| !w.is_finite()) {
        return Err(format!("controller {name}'s closed form is not finite for these loads and connections").into());
    }
    emit(&format!("{}\n", format_weights(&weights)))
}
