//! A model's command table: verb, target kind, arguments with unit and range, and inverse. The one source for
//! parsing, formatting, validation of arguments, `loadlab list`, URL steps and the page's buttons.
//!
//! Text form: `VERB[:TARGET][:ARG…]`, and as a scheduled step `VERB[:TARGET][:ARG…]@SECONDS`. A model turns a
//! [`Parsed`] into its own command enum and back ([`CommandCodec`]); [`parse`] and [`format`] do the text, so a
//! round trip through them is exact for every verb of every model.

use super::keys::{name_list, parse_number, quote};
use crate::time::{from_secs_f64, SimTime};

/// One numeric argument of a verb.
#[derive(Clone, Copy, Debug)]
pub struct ArgSpec {
    /// Its name, as shown in help (`factor`, `ramp_s`).
    pub name: &'static str,
    /// Unit (`×`, `s`, `weight`).
    pub unit: &'static str,
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
    /// What a page button sends when it has no slider for it.
    pub default: f64,
}

/// One verb of a model.
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// The verb (`crash`, `kill-worker`, `desync-on`).
    pub verb: &'static str,
    /// The kind of thing it acts on (`server`, `worker`, `node`), or `None` for the whole model.
    pub target: Option<&'static str>,
    /// Its arguments, in order.
    pub args: &'static [ArgSpec],
    /// The verb that undoes it, if any. A table lists a verb that breaks something before the verb that
    /// undoes it ([`heals`] reads that order).
    pub inverse: Option<&'static str>,
    /// One line: what it does.
    pub help: &'static str,
    /// What happened, in a few plain words, as a chart marker prints it ("{target} desynced", "{target}
    /// {factor}× slower"): `{target}` stands for the target's name and `{NAME}` for the argument of that name.
    pub happened: &'static str,
}

/// A command's text (`slow:db1119:10`, `desync-off:node3`) as what happened, in its verb's own words
/// ([`CommandSpec::happened`]: "db1119 10× slower", "node3 rejoins"). Text whose verb is not in `table` comes
/// back as it is, its colons as spaces.
pub fn happened(table: &[CommandSpec], text: &str) -> String {
    let mut parts = text.split(':');
    let verb = parts.next().unwrap_or("");
    let Some(spec) = table.iter().find(|c| c.verb == verb) else { return text.replace(':', " ") };
    let mut out = spec.happened.to_string();
    if spec.target.is_some() {
        out = out.replace("{target}", parts.next().unwrap_or("?"));
    }
    for a in spec.args {
        let value = parts.next().unwrap_or("?");
        let shown = value.parse::<f64>().map_or(value.to_string(), |v| super::picture::human(v, 2));
        out = out.replace(&format!("{{{}}}", a.name), &shown);
    }
    out
}

/// True when `verb` undoes a verb listed before it in `table` (`recover` after `crash`, `repool` after
/// `depool`, `desync-off` after `desync-on`), or is a second way to undo one (Galera's `bootstrap`, whose
/// inverse `crash-all` is listed before it and is undone by `restart-all`): it heals its target rather than
/// breaking it.
pub fn heals(table: &[CommandSpec], verb: &str) -> bool {
    let undoes = |v: &str| table.iter().take_while(|c| c.verb != v).any(|c| c.inverse == Some(v));
    if undoes(verb) {
        return true;
    }
    let Some(inverse) = table.iter().find(|c| c.verb == verb).and_then(|c| c.inverse) else { return false };
    let before = table.iter().take_while(|c| c.verb != verb).find(|c| c.verb == inverse);
    before.is_some_and(|b| !undoes(b.verb) && b.inverse.is_some_and(|healer| healer != verb && undoes(healer)))
}

/// A command as text parsed against a table: which verb, which target (an index into the model's targets of
/// that kind) and the argument values, each already range-checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The verb's spec.
    pub verb: &'static str,
    /// The target's index, when the verb takes one.
    pub target: Option<usize>,
    /// Argument values, in the spec's order.
    pub args: Vec<f64>,
}

/// What a model provides so its commands can be text: its table, the names of its targets, and the
/// conversion between [`Parsed`] and its command enum.
pub trait CommandCodec {
    /// The model's command type.
    type Command;
    /// The command table.
    fn table(&self) -> &'static [CommandSpec];
    /// Names of the targets of `kind` (servers, workers, nodes), in index order.
    fn target_names(&self, kind: &str) -> Vec<String>;
    /// A parsed command as the model's command. (It reads the model's targets, so it takes `self`.)
    #[allow(clippy::wrong_self_convention)]
    fn from_parsed(&self, parsed: &Parsed) -> Result<Self::Command, String>;
    /// The model's command as text parts; `None` for commands that have no text form.
    fn to_parsed(&self, command: &Self::Command) -> Option<Parsed>;
}

fn verbs(table: &[CommandSpec]) -> String {
    table.iter().map(|c| c.verb).collect::<Vec<_>>().join(", ")
}

/// The usage of one verb, as `loadlab list` prints it: `slow:SERVER:FACTOR(×, 0.01–10000)`.
pub fn usage(spec: &CommandSpec) -> String {
    let mut out = spec.verb.to_string();
    if let Some(kind) = spec.target {
        out.push(':');
        out.push_str(&kind.to_uppercase());
    }
    for a in spec.args {
        out.push_str(&format!(":{}({}, {}–{})", a.name.to_uppercase(), a.unit, a.min, a.max));
    }
    out
}

/// Parses `VERB[:TARGET][:ARG…]` against `codec`'s table.
pub fn parse<C: CommandCodec + ?Sized>(codec: &C, text: &str) -> Result<Parsed, String> {
    let table = codec.table();
    let mut parts = text.split(':');
    let verb = parts.next().unwrap_or("");
    let spec = table
        .iter()
        .find(|c| c.verb == verb)
        .ok_or_else(|| format!("unknown command {}; valid commands: {}", quote(verb), verbs(table)))?;
    let rest: Vec<&str> = parts.collect();
    let wanted = spec.target.is_some() as usize + spec.args.len();
    if rest.len() != wanted {
        return Err(format!("{}: expected {} (got {} field(s) after the verb)", quote(text), usage(spec), rest.len()));
    }
    let mut fields = rest.into_iter();
    let target = match spec.target {
        Some(kind) => {
            let name = fields.next().unwrap_or("");
            let names = codec.target_names(kind);
            let index = names.iter().position(|n| n == name).ok_or_else(|| {
                format!(
                    "{verb}: unknown {kind} {}; valid: {}",
                    quote(name),
                    name_list(names.iter().map(|n| n.as_str()))
                )
            })?;
            Some(index)
        }
        None => None,
    };
    let args = spec
        .args
        .iter()
        .zip(fields)
        .map(|(a, raw)| parse_number(&format!("{verb} {}", a.name), raw, a.min, a.max, a.unit))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed { verb: spec.verb, target, args })
}

/// Formats a parsed command back to text (the inverse of [`parse`]). Numbers print in Rust's shortest
/// round-trip form, so `parse(format(p)) == p` exactly.
pub fn format<C: CommandCodec + ?Sized>(codec: &C, parsed: &Parsed) -> String {
    let mut out = parsed.verb.to_string();
    if let (Some(i), Some(kind)) =
        (parsed.target, codec.table().iter().find(|c| c.verb == parsed.verb).and_then(|c| c.target))
    {
        out.push(':');
        out.push_str(codec.target_names(kind).get(i).map_or("?", |s| s.as_str()));
    }
    for a in &parsed.args {
        out.push_str(&format!(":{a}"));
    }
    out
}

/// Parses a text command into the model's command.
pub fn parse_command<C: CommandCodec + ?Sized>(codec: &C, text: &str) -> Result<C::Command, String> {
    codec.from_parsed(&parse(codec, text)?)
}

/// Parses a scheduled step `COMMAND@SECONDS` (seconds from 0 to 10⁶).
pub fn parse_step<C: CommandCodec + ?Sized>(codec: &C, text: &str) -> Result<(SimTime, C::Command), String> {
    let (command, at) = text
        .rsplit_once('@')
        .ok_or_else(|| format!("{}: a step needs @SECONDS, like {}", quote(text), step_example(codec)))?;
    let at = parse_number("step time", at, 0.0, 1e6, "s")?;
    Ok((from_secs_f64(at), parse_command(codec, command)?))
}

/// An example step of this model's own table: its first verb, on its first target, at 30 s.
fn step_example<C: CommandCodec + ?Sized>(codec: &C) -> String {
    let Some(spec) = codec.table().first() else { return "VERB@30".into() };
    let target = spec.target.and_then(|k| codec.target_names(k).into_iter().next());
    format!("{}{}@30", spec.verb, target.map_or(String::new(), |t| format!(":{t}")))
}

/// Checks that every verb of `codec`'s table survives format → parse → format with its defaults and with its
/// range ends. Returns the first mismatch. Every model's tests call it.
pub fn check_round_trips<C>(codec: &C) -> Result<usize, String>
where
    C: CommandCodec + ?Sized,
    C::Command: PartialEq + std::fmt::Debug,
{
    let mut checked = 0;
    for spec in codec.table() {
        let targets = spec.target.map(|k| codec.target_names(k).len()).unwrap_or(1);
        if targets == 0 {
            return Err(format!("{}: no {} to target", spec.verb, spec.target.unwrap_or("")));
        }
        for pick in [|a: &ArgSpec| a.default, |a: &ArgSpec| a.min, |a: &ArgSpec| a.max] {
            let parsed = Parsed {
                verb: spec.verb,
                target: spec.target.map(|_| targets - 1),
                args: spec.args.iter().map(pick).collect(),
            };
            let text = format(codec, &parsed);
            let reparsed = parse(codec, &text).map_err(|e| format!("{text} does not parse: {e}"))?;
            if reparsed != parsed {
                return Err(format!("{text} parses to {reparsed:?}, not {parsed:?}"));
            }
            let command = codec.from_parsed(&parsed).map_err(|e| format!("{text}: {e}"))?;
            let back = codec.to_parsed(&command).ok_or_else(|| format!("{text} has no text form"))?;
            if back != parsed {
                return Err(format!("{text} → {command:?} → {back:?}"));
            }
            checked += 1;
        }
    }
    Ok(checked)
}
