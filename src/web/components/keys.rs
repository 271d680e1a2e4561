//! Every key of the scenario as a labelled control, generated from its `KeyInfo` table and grouped by what it
//! changes (traffic, app hosts, servers, faults), with unit, default and range. Each control is named by its
//! plain-words label; the key as links and the command line spell it, and the help's source notes, wait under
//! its "Technical details". [`NumberField`] is the one number control of the page and [`ChoiceField`] the one
//! select (scenario keys and controller parameters alike): a slider, log-scaled where the range spans decades,
//! with a number box, applied when the slider is released, not on every arrow press.

use yew::prelude::*;

use crate::engine::keys::{plain_help, KeyInfo, KeyKind};
use crate::registry::{self, ScenarioDef};

/// Rounds to six significant digits, so slider steps give short URL values.
pub fn tidy(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// A range's end for people: whole numbers grouped in thousands ("1,000,000,000"), others as [`tidy`] leaves them.
fn bound(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        crate::engine::picture::human(v, 0)
    } else {
        tidy(v).to_string()
    }
}

/// `unit` as it reads after `v`: a counted thing in the singular for exactly one ("1 thread", "1 copy"); units
/// that are symbols or rates ("ms", "s", "trx/s", "ρ") stay as they are.
fn unit_for(v: f64, unit: &str) -> String {
    let counted = unit.len() > 2 && unit.chars().all(|c| c.is_ascii_lowercase()) && unit.ends_with('s');
    if v != 1.0 || !counted {
        return unit.to_string();
    }
    match unit.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => unit[..unit.len() - 1].to_string(),
    }
}

/// Slider positions (0 to this).
const POSITIONS: f64 = 1000.0;

/// How a slider maps positions to values: linear, or log10 from `lo` (position 0 is exactly `min`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SliderScale {
    min: f64,
    max: f64,
    log_lo: Option<f64>,
}

impl SliderScale {
    /// Log-scaled when the range spans two decades or more above its smallest useful value.
    pub fn new(min: f64, max: f64, default: f64) -> SliderScale {
        // A range from 0 is log-scaled when it reaches a hundred times its default; the slider's log part then
        // starts a hundredth of the default above 0.
        let (lo, spans) = if min > 0.0 {
            (min, max / min >= 100.0)
        } else if default > 0.0 {
            (default / 100.0, max / default >= 100.0)
        } else {
            (max / 1e4, max >= 1000.0)
        };
        let log_lo = (max > 0.0 && lo > 0.0 && spans).then_some(lo.min(max));
        SliderScale { min, max, log_lo }
    }

    /// True when log-scaled.
    pub fn is_log(&self) -> bool {
        self.log_lo.is_some()
    }

    /// The value at slider position `p` (0 to [`POSITIONS`]).
    pub fn value(&self, p: f64) -> f64 {
        let f = (p / POSITIONS).clamp(0.0, 1.0);
        match self.log_lo {
            Some(_) if f == 0.0 => self.min,
            Some(lo) => tidy(10f64.powf(lo.log10() + f * (self.max.log10() - lo.log10()))).clamp(self.min, self.max),
            None => tidy(self.min + f * (self.max - self.min)),
        }
    }

    /// The slider position of value `v`.
    pub fn position(&self, v: f64) -> f64 {
        let f = match self.log_lo {
            Some(lo) if v <= lo => 0.0,
            Some(lo) => (v.log10() - lo.log10()) / (self.max.log10() - lo.log10()),
            None if self.max > self.min => (v - self.min) / (self.max - self.min),
            None => 0.0,
        };
        (f.clamp(0.0, 1.0) * POSITIONS).round()
    }
}

/// Under a control, collapsed: the key as links and the command line spell it, and its whole help line with the
/// sources of its default (the words in view are the label and the help's plain part).
pub fn technical_details(key: &str, help: &str) -> Html {
    html! {
        <details class="tech">
            <summary>{ "Technical details" }</summary>
            <p>{ "In links and on the command line: " }<code class="param-key">{ key.to_string() }</code></p>
            <p>{ sentence(help) }</p>
        </details>
    }
}

/// `text` with a capital first letter, as a sentence in the page.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// Props of [`NumberField`].
#[derive(Properties, PartialEq)]
pub struct NumberFieldProps {
    /// The key (`kp`, `workers`).
    pub key_name: String,
    /// What the page calls it ("Proportional gain", "App workers per host").
    pub label: String,
    /// The element id.
    pub id: String,
    /// Unit.
    pub unit: String,
    /// The default, as text.
    pub default_text: String,
    /// One line of help.
    pub help: String,
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
    /// The default as a number, for the slider's scale.
    pub default: f64,
    /// The value now (`None` at the default).
    pub value: Option<f64>,
    /// `data-param` (controller parameters) or `data-key` (scenario keys).
    pub param: bool,
    /// A warning shown when the value is at or above this (mmc's ρ ≥ 1).
    #[prop_or_default]
    pub warn_at: Option<(f64, &'static str)>,
    /// Called with (key, value text) when the reader lets go of the slider or enters a number.
    pub on_set: Callback<(String, String)>,
}

/// A labelled slider and number box.
#[component]
pub fn NumberField(props: &NumberFieldProps) -> Html {
    let scale = SliderScale::new(props.min, props.max, props.default);
    let current = props.value.unwrap_or(props.default);
    let shown = use_state(|| current);
    let keyboard = use_mut_ref(|| false);
    {
        let shown = shown.clone();
        use_effect_with(current.to_bits(), move |_| shown.set(current));
    }
    let commit = {
        let (key, on_set) = (props.key_name.clone(), props.on_set.clone());
        move |v: f64| on_set.emit((key.clone(), format!("{}", tidy(v))))
    };
    let on_input = {
        let shown = shown.clone();
        Callback::from(move |e: InputEvent| {
            let raw = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            if let Ok(p) = raw.parse::<f64>() {
                shown.set(scale.value(p));
            }
        })
    };
    let on_change = {
        let (shown, keyboard, commit) = (shown.clone(), keyboard.clone(), commit.clone());
        Callback::from(move |e: Event| {
            let raw = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            let Ok(p) = raw.parse::<f64>() else { return };
            shown.set(scale.value(p));
            // Arrow keys fire a change per press: those wait for Enter or leaving the slider.
            if !*keyboard.borrow() {
                commit(scale.value(p));
            }
        })
    };
    let on_keydown = {
        let (keyboard, shown, commit) = (keyboard.clone(), shown.clone(), commit.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                *keyboard.borrow_mut() = false;
                commit(*shown);
            } else if e.key().starts_with("Arrow")
                || e.key().starts_with("Page")
                || e.key() == "Home"
                || e.key() == "End"
            {
                *keyboard.borrow_mut() = true;
            }
        })
    };
    let on_blur = {
        let (keyboard, shown, commit) = (keyboard.clone(), shown.clone(), commit.clone());
        Callback::from(move |_: FocusEvent| {
            if std::mem::replace(&mut *keyboard.borrow_mut(), false) && (*shown - current).abs() > 0.0 {
                commit(*shown);
            }
        })
    };
    let problem = use_state(|| None::<String>);
    // What the reader is typing in the number box, until it is handed over: the box shows it, so a redraw of the
    // running page does not put the old value back under the reader's fingers.
    let typed = use_state(|| None::<String>);
    let on_typing = {
        let typed = typed.clone();
        Callback::from(move |e: InputEvent| {
            typed.set(Some(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()));
        })
    };
    let on_box = {
        let (problem, key, on_set, typed) =
            (problem.clone(), props.key_name.clone(), props.on_set.clone(), typed.clone());
        Callback::from(move |e: Event| {
            typed.set(None);
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            let raw = input.value();
            // Any number goes to the page's one validator (the URL state, through the scenario's key table or the
            // controller's parameter table), which applies it or says in the page's notice why not; only text
            // that is no number at all (the browser hands it over as "") is stopped here.
            if raw.trim().parse::<f64>().is_err() {
                problem.set(Some("That is not a number: not applied.".into()));
                return;
            }
            problem.set(None);
            on_set.emit((key.clone(), raw.trim().to_string()));
            // The box shows the value in effect: a refused number does not stay in it (the notice names it).
            input.set_value(&tidy(current).to_string());
        })
    };
    let pending = *keyboard.borrow() && (*shown - current).abs() > 0.0;
    let unit = if props.unit.is_empty() { String::new() } else { format!(" {}", props.unit) };
    let id = props.id.clone();
    // What people read: "1 thread", "5,500 trx/s" (the number box keeps the plain number).
    let said = |v: f64| {
        format!(
            "{}{}",
            bound(v),
            if props.unit.is_empty() { String::new() } else { format!(" {}", unit_for(v, &props.unit)) }
        )
    };
    let warning = props.warn_at.filter(|(at, _)| *shown >= *at).map(|(_, text)| text);
    // A default that is a word ("never") takes no unit, and stands for the value until one is set.
    let numeric_default = default_number(&props.default_text).is_some();
    let default_text = match (props.default_text.split_once(' '), default_number(&props.default_text)) {
        (Some((_, rest)), Some(n)) => format!("{} {rest}", said(n)),
        (None, Some(n)) => said(n),
        _ => props.default_text.clone(),
    };
    let value_text = if props.value.is_none() && !numeric_default && *shown == current {
        format!(": {}", props.default_text)
    } else {
        format!(": {}", said(*shown))
    };
    html! {
        <div class="param">
            <label for={id.clone()}>
                <span class="param-label">{ props.label.clone() }</span>
                { value_text }
                <span class="param-default">{ format!(" (default {default_text}; {} to {}{})", bound(props.min), bound(props.max),
                    if scale.is_log() { ", log scale" } else { "" }) }</span>
            </label>
            <div class="param-inputs">
                <input id={id.clone()} type="range" data-param={props.param.then(|| props.key_name.clone())}
                    data-key={(!props.param).then(|| props.key_name.clone())}
                    data-log={scale.is_log().to_string()}
                    min="0" max={POSITIONS.to_string()} step="1" value={scale.position(*shown).to_string()}
                    oninput={on_input} onchange={on_change} onkeydown={on_keydown} onblur={on_blur}
                    aria-describedby={format!("{id}-help")} aria-valuetext={format!("{}{unit}", tidy(*shown))} />
                <input type="number" class="number-box" aria-label={format!("{} value", props.label)}
                    min={props.min.to_string()} max={props.max.to_string()} step="any"
                    value={(*typed).clone().unwrap_or_else(|| tidy(*shown).to_string())} oninput={on_typing} onchange={on_box} />
            </div>
            if pending {
                <p class="hint" role="status">{ "Press Enter (or leave the slider) to apply this value; the run restarts with it." }</p>
            }
            if let Some(text) = (*problem).clone() {
                <p class="warning" role="alert">{ text }</p>
            }
            if let Some(text) = warning {
                <p class="warning" role="status">{ text }</p>
            }
            <p class="hint" id={format!("{id}-help")}>{ plain_help(&props.help) }</p>
            { technical_details(&props.key_name, &props.help) }
        </div>
    }
}

/// Props of [`ChoiceField`].
#[derive(Properties, PartialEq)]
pub struct ChoiceFieldProps {
    /// The key (`latency_dist`, `lag_times`).
    pub key_name: String,
    /// What the page calls it.
    pub label: String,
    /// The element id.
    pub id: String,
    /// Each option as (the value sent, the words shown), in order.
    pub options: Vec<(String, String)>,
    /// The value now (one of the options' values).
    pub current: String,
    /// The default in words.
    pub default_words: String,
    /// One line of help.
    pub help: String,
    /// `data-param` (controller parameters) or `data-key` (scenario keys).
    pub param: bool,
    /// Called with (key, value) when another option is picked; it applies at once.
    pub on_set: Callback<(String, String)>,
}

/// A labelled select of a setting's choices in words, applied at once: a scenario key's choices, or a controller
/// parameter's switch or choice of versions (a value outside them cannot be picked; one from a link was refused
/// by the setting's own check).
#[component]
pub fn ChoiceField(props: &ChoiceFieldProps) -> Html {
    let id = props.id.clone();
    let key = props.key_name.clone();
    let on_change = props
        .on_set
        .reform(move |e: Event| (key.clone(), e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
    let name = props.key_name.clone();
    html! {
        <div class="param">
            <label for={id.clone()}><span class="param-label">{ props.label.clone() }</span>
                <span class="param-default">{ format!(" (default: {})", props.default_words) }</span></label>
            <select id={id.clone()} data-param={props.param.then(|| name.clone())} data-key={(!props.param).then(|| name.clone())}
                onchange={on_change} aria-describedby={format!("{id}-help")}>
                { for props.options.iter().map(|(value, words)| html! {
                    <option value={value.clone()} selected={*value == props.current}>{ words.clone() }</option>
                }) }
            </select>
            <p class="hint" id={format!("{id}-help")}>{ plain_help(&props.help) }</p>
            { technical_details(&props.key_name, &props.help) }
        </div>
    }
}

/// The leading number of a default's text ("1 (quiet: 0.001)" → 1), if any.
fn default_number(text: &str) -> Option<f64> {
    text.split(|c: char| c.is_whitespace() || c == '(').next().and_then(|t| t.parse().ok())
}

/// Props of [`Keys`].
#[derive(Properties, PartialEq)]
pub struct KeysProps {
    /// The scenario.
    pub scenario: String,
    /// The `--set` pairs now.
    pub sets: Vec<(String, String)>,
    /// Called with (key, value text); "" goes back to the default.
    pub on_set: Callback<(String, String)>,
}

/// One scenario key's control (slider and number box, count box or select), as the settings panel and the lesson
/// card draw it; `place` makes its element ids unique on the page (`key` in the settings panel).
pub fn key_control(
    def: &'static ScenarioDef,
    k: &'static KeyInfo,
    sets: &[(String, String)],
    on_set: &Callback<(String, String)>,
    place: &str,
) -> Html {
    let value = sets.iter().rev().find(|(key, _)| key == k.key).map(|(_, v)| v.clone());
    let id = format!("{place}-{}", k.key);
    match k.kind {
        KeyKind::Number { min, max } => {
            let default = default_number(k.default).unwrap_or(min);
            let warn_at = def.key_warnings.iter().find(|w| w.key == k.key).map(|w| (w.at_or_above, w.words));
            html! {
                <NumberField key_name={k.key} label={k.label} id={id} unit={k.unit} default_text={k.default} help={k.help}
                    min={min} max={max} default={default} value={value.and_then(|v| v.parse().ok())} param={false}
                    warn_at={warn_at} on_set={on_set.clone()} />
            }
        }
        KeyKind::CountOrUnlimited { min, max } => {
            let current = value.clone().unwrap_or_else(|| k.default.to_string());
            let key = k.key.to_string();
            let on_change = on_set.reform(move |e: Event| {
                let v = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                (key.clone(), v)
            });
            html! {
                <div class="param">
                    <label for={id.clone()}>
                        <span class="param-label">{ k.label }</span>
                        { format!(": {current} {}", k.unit) }
                        <span class="param-default">{ format!(" (default {}; {min} to {max}, or unlimited)", k.default) }</span>
                    </label>
                    <input id={id.clone()} type="text" inputmode="numeric" data-key={k.key} value={current.clone()}
                        onchange={on_change} aria-describedby={format!("{id}-help")} />
                    <p class="hint" id={format!("{id}-help")}>{ format!("{} Type a number or 'unlimited'.", plain_help(k.help)) }</p>
                    { technical_details(k.key, k.help) }
                </div>
            }
        }
        KeyKind::Choice(options) => {
            // The first option leaves the key unset: its default, which may differ per scenario.
            let default =
                options.iter().find(|o| o.word == k.default).map_or_else(|| k.default.to_string(), |o| o.text());
            let options: Vec<(String, String)> = std::iter::once((String::new(), format!("default ({default})")))
                .chain(options.iter().map(|o| (o.word.to_string(), o.text())))
                .collect();
            html! {
                <ChoiceField key_name={k.key} label={k.label} id={id} options={options}
                    current={value.unwrap_or_default()} default_words={k.default} help={k.help} param={false}
                    on_set={on_set.clone()} />
            }
        }
        KeyKind::FaultSpec => html! {},
    }
}

/// The scenario's keys, grouped.
#[component]
pub fn Keys(props: &KeysProps) -> Html {
    let Ok(def) = registry::find(&props.scenario) else { return html! {} };
    let keys: Vec<&'static KeyInfo> = def
        .keys
        .iter()
        .filter(|k| k.applies_to(def.name) && !k.key.starts_with('<') && !matches!(k.kind, KeyKind::FaultSpec))
        .collect();
    let steps: Vec<&(String, String)> = props.sets.iter().filter(|(k, _)| def.is_step(k)).collect();
    // The model's own groups, then any key it did not place (its tests say there is none).
    let placed = |key: &str| def.key_groups.iter().any(|(_, keys)| keys.contains(&key));
    let other: Vec<&'static str> = keys.iter().map(|k| k.key).filter(|k| !placed(k)).collect();
    let groups: Vec<(&str, Vec<&'static KeyInfo>)> = def
        .key_groups
        .iter()
        .map(|(title, names)| (*title, names.to_vec()))
        .chain(std::iter::once(("Other settings", other)))
        .map(|(title, names)| {
            (title, names.iter().filter_map(|n| keys.iter().copied().find(|k| k.key == *n)).collect())
        })
        .collect();
    html! {
        <details class="keys" id="keys" open={true}>
            <summary><h2>{ format!("Scenario settings: {} (each change restarts the run with the same random seed)", def.name) }</h2></summary>
            <div class="key-groups">
                { for groups.iter().filter(|(_, mine)| !mine.is_empty()).map(|(title, mine)| html! {
                    <fieldset class="params">
                        <legend>{ *title }</legend>
                        { for mine.iter().map(|k| key_control(def, k, &props.sets, &props.on_set, "key")) }
                    </fieldset>
                }) }
            </div>
            if !steps.is_empty() {
                <p class="hint" id="steps">{ format!("Scheduled steps in this link: {}.",
                    steps.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")) }</p>
            }
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn values_read_as_people_say_them() {
        assert_eq!(unit_for(1.0, "threads"), "thread");
        assert_eq!(unit_for(1.0, "copies"), "copy");
        assert_eq!(unit_for(2.0, "threads"), "threads");
        assert_eq!(unit_for(0.0, "failures"), "failures");
        for symbol in ["ms", "s", "trx/s", "ρ", "conn·s", "KiB"] {
            assert_eq!(unit_for(1.0, symbol), symbol);
        }
        assert_eq!(bound(1e9), "1,000,000,000");
        assert_eq!(bound(5500.0), "5,500");
        assert_eq!(bound(0.001), "0.001");
        assert_eq!(bound(0.025), "0.025");
    }

    #[wasm_bindgen_test]
    fn log_sliders_reach_every_decade_and_round_trip() {
        // pid's kp: 0 to 100, default 0.025. A linear slider moves 0.1 per position; the log one puts the
        // default near the middle and covers 2.5e-4 to 100.
        let s = SliderScale::new(0.0, 100.0, 0.025);
        assert!(s.is_log());
        assert_eq!(s.value(0.0), 0.0);
        assert_eq!(s.value(POSITIONS), 100.0);
        let p = s.position(0.025);
        assert!(p > 200.0 && p < 600.0, "{p}");
        assert!((s.value(p) / 0.025 - 1.0).abs() < 0.02, "{}", s.value(p));
        let linear = SliderScale::new(0.0, 1.0, 0.5);
        assert!(!linear.is_log());
        assert_eq!(linear.value(linear.position(0.37)), 0.37);
    }
}
