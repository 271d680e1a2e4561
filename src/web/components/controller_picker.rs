//! Chooses the balancing controller (and a second one for A/B) and tunes its parameters with labelled sliders
//! that show each parameter's unit, default and current value.

use yew::prelude::*;

use super::keys::{ChoiceField, NumberField};
use crate::controller::{controller_info, controllers, ParamInfo};

/// Props of [`ControllerPicker`].
#[derive(Properties, PartialEq)]
pub struct ControllerPickerProps {
    /// Controller A's name.
    pub controller: String,
    /// Controller B's name, if an A/B comparison is on.
    pub controller_b: Option<String>,
    /// Called with the name picked for A.
    pub on_pick: Callback<String>,
    /// Called with the name picked for B ("" ends the comparison).
    pub on_pick_b: Callback<String>,
}

/// The controller selects and the selected controller's parameter sliders.
#[component]
pub fn ControllerPicker(props: &ControllerPickerProps) -> Html {
    let on_pick = props.on_pick.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let on_pick_b = props.on_pick_b.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let info = controller_info(&props.controller);
    let summary = info.map_or("", |i| i.summary);
    let b_summary = props.controller_b.as_deref().and_then(controller_info).map_or("", |i| i.summary);
    html! {
        <>
        <div class="field controller">
            <label for="controller">{ "Controller (A)" }</label>
            <select id="controller" name="controller" onchange={on_pick}>
                { for controllers().iter().map(|c| html! {
                    <option value={c.name} selected={c.name == props.controller}>{ c.name }</option>
                }) }
            </select>
            <p class="summary" id="controller-summary">{ summary }</p>
            <label for="controller-b">{ "Compare with (B)" }</label>
            <select id="controller-b" name="controller-b" onchange={on_pick_b} title={b_summary}>
                <option value="" selected={props.controller_b.is_none()}>{ "off: one run" }</option>
                { for controllers().iter().map(|c| html! {
                    <option value={c.name} selected={Some(c.name) == props.controller_b.as_deref()}>{ c.name }</option>
                }) }
            </select>
        </div>
        </>
    }
}

/// Props of [`ControllerParams`].
#[derive(Properties, PartialEq)]
pub struct ControllerParamsProps {
    /// Controller A's name.
    pub controller: String,
    /// The `--set` pairs now.
    pub values: Vec<(String, String)>,
    /// Called with (key, value) when a slider is let go or a number entered.
    pub on_param: Callback<(String, String)>,
}

/// Controller A's parameters, each a [`NumberField`].
#[component]
pub fn ControllerParams(props: &ControllerParamsProps) -> Html {
    let params = controller_info(&props.controller).map_or(&[][..], |i| i.params);
    html! {
        <>
        if !params.is_empty() {
            <fieldset class="params">
                <legend>{ format!("{}'s parameters (a change restarts the run with the same random seed; sliders apply when let go)", props.controller) }</legend>
                { for params.iter().map(|p| param_slider(p, &props.values, &props.on_param, "param")) }
            </fieldset>
        }
        </>
    }
}

/// One controller parameter's slider and number box, as the controller's panel and the lesson card draw it;
/// `place` makes its element id unique on the page (`param` in the controller's panel).
pub fn param_slider(
    p: &ParamInfo,
    values: &[(String, String)],
    on_param: &Callback<(String, String)>,
    place: &str,
) -> Html {
    let value = values
        .iter()
        .rev()
        .find(|(k, _)| k == p.key)
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .filter(|v| v.is_finite());
    if !p.choices.is_empty() {
        // A switch or a choice of versions: its choices in words, each applied at once.
        let words = |v: f64| p.choices.iter().find(|(c, _)| *c == v).map_or(String::new(), |(_, w)| w.to_string());
        let options: Vec<(String, String)> = p.choices.iter().map(|(v, w)| (v.to_string(), w.to_string())).collect();
        return html! {
            <ChoiceField key_name={p.key} label={p.label} id={format!("{place}-{}", p.key)} options={options}
                current={value.unwrap_or(p.default).to_string()} default_words={words(p.default)} help={p.help}
                param={true} on_set={on_param.clone()} />
        };
    }
    html! {
        <NumberField key_name={p.key} label={p.label} id={format!("{place}-{}", p.key)} unit={p.unit} default_text={format!("{}", p.default)}
            help={p.help} min={p.min} max={p.max} default={p.default} value={value} param={true} on_set={on_param.clone()} />
    }
}
