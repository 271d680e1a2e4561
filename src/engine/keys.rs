//! Scenario keys: the one table per model of what `--set KEY=VALUE` (and a URL parameter, and a page control)
//! may change, with unit, default, range or choices, and one validator for all of them.
//!
//! A model declares `&'static [KeyInfo]`; [`Params::parse`] checks a list of `(key, value)` pairs against it and
//! gives typed values, so no model parses text itself and every front end reports the same one-line error.

/// The type and range of a key's value.
#[derive(Clone, Copy, Debug)]
pub enum KeyKind {
    /// A real number in [min, max].
    Number {
        /// Smallest valid value.
        min: f64,
        /// Largest valid value.
        max: f64,
    },
    /// A whole number in [min, max], or the word `unlimited`.
    CountOrUnlimited {
        /// Smallest valid value.
        min: u32,
        /// Largest valid value.
        max: u32,
    },
    /// One of these options.
    Choice(&'static [Opt]),
    /// A scheduled step `VERB[:TARGET][:ARGS]@SECONDS` of the model's command table; may be given many times.
    FaultSpec,
}

/// One option of a [`KeyKind::Choice`]: the word links, scenario files and the command line use, and what it
/// means in plain words, for the page's list ("" when the word says it: `on`, `closed`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Opt {
    /// The word as it is typed: `2`, `kill9`.
    pub word: &'static str,
    /// What it means, in plain words: "about once a second".
    pub means: &'static str,
}

/// An option whose word needs explaining.
pub const fn opt(word: &'static str, means: &'static str) -> Opt {
    Opt { word, means }
}

/// An option whose word says what it means.
pub const fn word(word: &'static str) -> Opt {
    Opt { word, means: "" }
}

impl Opt {
    /// The option as the page lists it: "2: about once a second", or the word alone.
    pub fn text(&self) -> String {
        if self.means.is_empty() {
            self.word.to_string()
        } else {
            format!("{}: {}", self.word, self.means)
        }
    }
}

/// The words of `options`, joined by `sep`, for error messages and `loadlab list`.
pub fn option_words(options: &[Opt], sep: &str) -> String {
    options.iter().map(|o| o.word).collect::<Vec<_>>().join(sep)
}

/// The index of the option `raw` names (surrounding spaces ignored), or the one-line error every door gives:
/// "trx_commit: '3' is not valid; expected one of 1, 2". The one check of a choice's value.
pub fn choice_index(key: &str, options: &[Opt], raw: &str) -> Result<usize, String> {
    options
        .iter()
        .position(|o| o.word == raw.trim())
        .ok_or_else(|| format!("{key}: {} is not valid; expected one of {}", quote(raw), option_words(options, ", ")))
}

/// A settable key.
#[derive(Clone, Copy, Debug)]
pub struct KeyInfo {
    /// The key, as `--set`, links and scenario files spell it; `<server>.` stands for any server name.
    pub key: &'static str,
    /// What the page calls it, in plain words (sentence case, no underscores, dots or code words; unique
    /// among its model's keys): "App workers per host", "Flow-control limit". The key itself is shown only
    /// under the control's technical details, and the CLI's messages keep naming the key.
    pub label: &'static str,
    /// Unit of the value.
    pub unit: &'static str,
    /// Default, as text.
    pub default: &'static str,
    /// One line: what it changes.
    pub help: &'static str,
    /// Scenarios it applies to; empty means every scenario of its model.
    pub scenarios: &'static [&'static str],
    /// Type and range.
    pub kind: KeyKind,
}

/// A number key in [min, max] that applies to every scenario of its model; the one constructor the models'
/// key tables share.
pub const fn number_key(
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    default: &'static str,
    help: &'static str,
    min: f64,
    max: f64,
) -> KeyInfo {
    KeyInfo { key, label, unit, default, help, scenarios: &[], kind: KeyKind::Number { min, max } }
}

/// A choice key that applies to every scenario of its model (a choice has no unit).
pub const fn choice_key(
    key: &'static str,
    label: &'static str,
    default: &'static str,
    help: &'static str,
    options: &'static [Opt],
) -> KeyInfo {
    KeyInfo { key, label, unit: "", default, help, scenarios: &[], kind: KeyKind::Choice(options) }
}

impl KeyInfo {
    /// The same key, restricted to these scenarios of its model.
    pub const fn for_scenarios(self, scenarios: &'static [&'static str]) -> KeyInfo {
        KeyInfo { scenarios, ..self }
    }

    /// True when this key applies to `scenario`.
    pub fn applies_to(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.contains(&scenario)
    }

    /// The valid values in words, for `loadlab list` and error messages.
    pub fn range_text(&self) -> String {
        match self.kind {
            KeyKind::Number { min, max } => format!("{min} to {max}"),
            KeyKind::CountOrUnlimited { min, max } => format!("{min} to {max}, or unlimited"),
            KeyKind::Choice(options) => option_words(options, " | "),
            KeyKind::FaultSpec => "repeatable".to_string(),
        }
    }
}

/// The part of a key's or parameter's help line a newcomer reads beside its control: the line without its
/// trailing source notes. A help line says what the setting does in plain words first and ends with where its
/// default comes from in parentheses ("listen backlog per host; arrivals beyond it are rejected (PHP-FPM
/// listen.backlog)"); the page shows the whole line under the control's technical details, and this part, as a
/// sentence, in view.
pub fn plain_help(help: &str) -> String {
    let mut text = help.trim_end();
    // Peel balanced parenthesised groups off the end, innermost last: "a (b (c))" → "a".
    while text.ends_with(')') {
        let mut depth = 0usize;
        let mut open = None;
        for (i, c) in text.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        open = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        match open {
            Some(0) | None => break,
            Some(i) => text = text[..i].trim_end(),
        }
    }
    let text = text.trim_end_matches([';', ',', ':']).trim_end();
    let mut chars = text.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let end = if text.ends_with(['.', '?', '!']) { "" } else { "." };
            format!("{}{}{end}", first.to_uppercase(), chars.as_str())
        }
    }
}

/// The longest error the library returns, characters: every front end (CLI, page notices, scenario files)
/// shows at most this much, since every library boundary passes its errors through [`clip_error`].
pub const MAX_ERROR_CHARS: usize = 400;

/// Any message as one line of at most [`MAX_ERROR_CHARS`] characters: control characters escaped, the rest cut
/// with `…`. The one clip for errors' length; front ends add none of their own.
pub fn clip_error(msg: String) -> String {
    let msg = msg.trim_end();
    let plain = msg.chars().count() <= MAX_ERROR_CHARS && !msg.chars().any(char::is_control);
    if plain {
        return msg.to_string();
    }
    cut(msg, MAX_ERROR_CHARS)
}

/// `text` with control characters escaped and at most `max` characters kept (an escape counts as the
/// characters it is written with), then `…` if any were cut.
fn cut(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut kept = 0;
    for c in text.chars() {
        let escaped = c.is_control().then(|| c.escape_default());
        let width = escaped.clone().map_or(1, Iterator::count);
        if kept + width > max {
            out.push('…');
            break;
        }
        kept += width;
        match escaped {
            Some(e) => out.extend(e),
            None => out.push(c),
        }
    }
    out
}

/// A list of valid names for an error: the first few, then how many in all, so a section of 4096 servers
/// does not list every one.
pub fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 12;
    let names: Vec<&str> = names.into_iter().collect();
    if names.len() <= SHOWN {
        return names.join(", ");
    }
    format!("{}, … ({} in all)", names[..SHOWN].join(", "), names.len())
}

/// Quotes user input for an error message: control characters escaped, at most 60 characters kept, so an error
/// is always one short line whatever was typed.
pub fn quote(raw: &str) -> String {
    format!("'{}'", cut(raw, 60))
}

/// Parses a number, rejecting NaN, infinities, trailing garbage and values outside [min, max].
pub fn parse_number(key: &str, raw: &str, min: f64, max: f64, unit: &str) -> Result<f64, String> {
    let value: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("{key}: {} is not a number; expected {min} to {max} {unit}", quote(raw)))?;
    if !value.is_finite() || value < min || value > max {
        return Err(format!("{key}: {} is out of range; expected {min} to {max} {unit}", quote(raw)));
    }
    Ok(value)
}

/// Parses a whole number in [min, max] or `unlimited` (`None`).
pub fn parse_count(key: &str, raw: &str, min: u32, max: u32) -> Result<Option<u32>, String> {
    if raw.trim() == "unlimited" {
        return Ok(None);
    }
    match raw.trim().parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
        _ => Err(format!(
            "{key}: {} is not valid; expected a whole number from {min} to {max}, or 'unlimited'",
            quote(raw)
        )),
    }
}

/// A typed value of one key.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A [`KeyKind::Number`].
    Number(f64),
    /// A [`KeyKind::CountOrUnlimited`]; `None` is unlimited.
    Count(Option<u32>),
    /// A [`KeyKind::Choice`], as the option's index.
    Choice(usize),
    /// One [`KeyKind::FaultSpec`] entry, as given (the model's command table parses it).
    Step(String),
}

/// Validated `--set` values for one scenario: the last value of each plain key, and every step in order.
#[derive(Clone, Debug, Default)]
pub struct Params {
    values: Vec<(&'static str, Value)>,
}

impl Params {
    /// Checks `sets` against the keys of `table` that apply to `scenario`. Unknown keys, bad numbers, numbers out
    /// of range and unknown choices give a one-line error naming what is valid; nothing is half-applied.
    pub fn parse(table: &'static [KeyInfo], scenario: &str, sets: &[(String, String)]) -> Result<Params, String> {
        let mut values = Vec::with_capacity(sets.len());
        for (key, raw) in sets {
            let Some(info) = table.iter().find(|k| k.key == key && k.applies_to(scenario)) else {
                let valid: Vec<&str> = table.iter().filter(|k| k.applies_to(scenario)).map(|k| k.key).collect();
                return Err(format!(
                    "unknown key {} for scenario {scenario}; valid keys: {}",
                    quote(key),
                    valid.join(", ")
                ));
            };
            let value = match info.kind {
                KeyKind::Number { min, max } => Value::Number(parse_number(info.key, raw, min, max, info.unit)?),
                KeyKind::CountOrUnlimited { min, max } => Value::Count(parse_count(info.key, raw, min, max)?),
                KeyKind::Choice(options) => Value::Choice(choice_index(info.key, options, raw)?),
                KeyKind::FaultSpec => Value::Step(raw.clone()),
            };
            values.push((info.key, value));
        }
        Ok(Params { values })
    }

    fn last(&self, key: &str) -> Option<&Value> {
        self.values.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The number set for `key`, or `default`.
    pub fn number(&self, key: &str, default: f64) -> f64 {
        match self.last(key) {
            Some(Value::Number(v)) => *v,
            _ => default,
        }
    }

    /// The number set for `key`, or `default`, which must be whole: a one-line error naming the key otherwise.
    pub fn whole(&self, key: &str, default: f64) -> Result<u64, String> {
        let v = self.number(key, default);
        if v.fract() != 0.0 {
            return Err(format!("{key}: {v} is not a whole number"));
        }
        Ok(v as u64)
    }

    /// [`Params::whole`] as a `u32`, saturating like `f64 as u32`.
    pub fn whole_u32(&self, key: &str, default: f64) -> Result<u32, String> {
        self.whole(key, default).map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    /// The count set for `key` (`None` for unlimited), or `default`.
    pub fn count(&self, key: &str, default: Option<u32>) -> Option<u32> {
        match self.last(key) {
            Some(Value::Count(v)) => *v,
            _ => default,
        }
    }

    /// The index of the choice set for `key`, or `default`.
    pub fn choice(&self, key: &str, default: usize) -> usize {
        match self.last(key) {
            Some(Value::Choice(i)) => *i,
            _ => default,
        }
    }

    /// True when `key` was set.
    pub fn has(&self, key: &str) -> bool {
        self.last(key).is_some()
    }

    /// Every step given for `key`, in order.
    pub fn steps<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values.iter().filter(move |(k, _)| *k == key).filter_map(|(_, v)| match v {
            Value::Step(s) => Some(s.as_str()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_help_keeps_the_words_and_drops_the_trailing_source_notes() {
        assert_eq!(
            plain_help("listen backlog per host; arrivals beyond it are rejected (PHP-FPM listen.backlog)"),
            "Listen backlog per host; arrivals beyond it are rejected."
        );
        assert_eq!(plain_help("ramp shape (Envoy (aggression: 1.0))"), "Ramp shape.");
        assert_eq!(plain_help("a (b) in the middle stays"), "A (b) in the middle stays.");
        assert_eq!(plain_help("(all in parentheses)"), "(all in parentheses).");
        assert_eq!(plain_help(""), "");
    }

    const KEYS: &[KeyInfo] = &[
        KeyInfo {
            key: "rate",
            label: "Rate",
            unit: "req/s",
            default: "2",
            help: "",
            scenarios: &[],
            kind: KeyKind::Number { min: 0.0, max: 10.0 },
        },
        KeyInfo {
            key: "dispatch",
            label: "Dispatch",
            unit: "",
            default: "ordered",
            help: "",
            scenarios: &[],
            kind: KeyKind::Choice(&[word("ordered"), word("lifo")]),
        },
        KeyInfo {
            key: "only_b",
            label: "Only b",
            unit: "",
            default: "1",
            help: "",
            scenarios: &["b"],
            kind: KeyKind::CountOrUnlimited { min: 1, max: 5 },
        },
        KeyInfo {
            key: "fault",
            label: "Fault",
            unit: "",
            default: "none",
            help: "",
            scenarios: &[],
            kind: KeyKind::FaultSpec,
        },
    ];

    fn sets(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn escapes_count_towards_the_cut() {
        // Control characters escape to 2 or more characters each; the clip still holds (issue 23).
        let clipped = clip_error("a\n".repeat(500));
        assert_eq!(clipped.chars().count(), MAX_ERROR_CHARS + 1, "kept, then the ellipsis");
        assert!(clipped.ends_with('…') && !clipped.chars().any(char::is_control));
        assert_eq!(quote(&"\u{7}".repeat(100)).chars().count(), 60 + 3, "60 kept, two quotes, the ellipsis");
        assert_eq!(clip_error("x".repeat(MAX_ERROR_CHARS)).chars().count(), MAX_ERROR_CHARS, "nothing cut");
    }

    #[test]
    fn typed_values_last_one_wins_and_steps_accumulate() {
        let p = Params::parse(
            KEYS,
            "a",
            &sets(&[("rate", "3"), ("rate", "4.5"), ("dispatch", "lifo"), ("fault", "x@1"), ("fault", "y@2")]),
        )
        .unwrap();
        assert_eq!(p.number("rate", 2.0), 4.5);
        assert_eq!(p.choice("dispatch", 0), 1);
        assert_eq!(p.count("only_b", Some(1)), Some(1));
        assert_eq!(p.steps("fault").collect::<Vec<_>>(), ["x@1", "y@2"]);
    }

    #[test]
    fn errors_name_what_is_valid_and_stay_one_short_line() {
        let e = Params::parse(KEYS, "a", &sets(&[("only_b", "2")])).unwrap_err();
        assert!(e.contains("valid keys: rate, dispatch, fault"), "{e}");
        let e = Params::parse(KEYS, "a", &sets(&[("rate", "11")])).unwrap_err();
        assert!(e.contains("0 to 10 req/s"), "{e}");
        let e = Params::parse(KEYS, "a", &sets(&[("dispatch", "fifo\nsecond line")])).unwrap_err();
        assert!(!e.contains('\n') && e.contains("ordered, lifo"), "{e}");
        let long = "x".repeat(100_000);
        let e = Params::parse(KEYS, "a", &sets(&[("rate", &long)])).unwrap_err();
        assert!(e.len() < 200, "{} bytes", e.len());
        for bad in ["NaN", "inf", "1e400", "3x", ""] {
            assert!(Params::parse(KEYS, "a", &sets(&[("rate", bad)])).is_err(), "{bad}");
        }
    }
}
