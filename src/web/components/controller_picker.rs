//! Chooses the balancing controller (and a second one for A/B) and tunes its parameters with labelled sliders
//! that show each parameter's unit, default and current value.

use yew::prelude::*;

use crate::controller::{controller_info, controllers, ParamInfo};

/// Props of [`ControllerPicker`].
#[derive(Properties, PartialEq)]
pub struct ControllerPickerProps {
    /// Controller A's name.
    pub controller: String,
    /// Controller B's name, if an A/B comparison is on.
    pub controller_b: Option<String>,
    /// The current value of each of A's parameters that the state sets (others are at their default).
    pub values: Vec<(String, String)>,
    /// Called with the name picked for A.
    pub on_pick: Callback<String>,
    /// Called with the name picked for B ("" ends the comparison).
    pub on_pick_b: Callback<String>,
    /// Called with (key, value) when a slider is released.
    pub on_param: Callback<(String, String)>,
}

/// Rounds to six significant digits, so slider steps give short URL values.
pub fn tidy(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// The controller selects and the selected controller's parameter sliders.
#[component]
pub fn ControllerPicker(props: &ControllerPickerProps) -> Html {
    let on_pick = props.on_pick.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let on_pick_b = props.on_pick_b.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let info = controller_info(&props.controller);
    let summary = info.map_or("", |i| i.summary);
    let b_summary = props.controller_b.as_deref().and_then(controller_info).map_or("", |i| i.summary);
    let params = info.map_or(&[][..], |i| i.params);
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
            <select id="controller-b" name="controller-b" onchange={on_pick_b}>
                <option value="" selected={props.controller_b.is_none()}>{ "off: one run" }</option>
                { for controllers().iter().map(|c| html! {
                    <option value={c.name} selected={Some(c.name) == props.controller_b.as_deref()}>{ c.name }</option>
                }) }
            </select>
            if !b_summary.is_empty() {
                <p class="summary" id="controller-b-summary">{ b_summary }</p>
            }
        </div>
        if !params.is_empty() {
            <fieldset class="params">
                <legend>{ format!("{}'s parameters (changing one restarts the run with the same seed)", props.controller) }</legend>
                { for params.iter().map(|p| param_slider(p, &props.values, &props.on_param)) }
            </fieldset>
        }
        </>
    }
}

fn param_slider(p: &ParamInfo, values: &[(String, String)], on_param: &Callback<(String, String)>) -> Html {
    let current = values
        .iter()
        .rev()
        .find(|(k, _)| k == p.key)
        .and_then(|(_, v)| v.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(p.default);
    let key = p.key.to_string();
    let on_change = on_param.reform(move |e: Event| {
        let raw = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
        let value = raw.parse::<f64>().map(|v| tidy(v).to_string()).unwrap_or(raw);
        (key.clone(), value)
    });
    let id = format!("param-{}", p.key);
    let unit = if p.unit.is_empty() { String::new() } else { format!(" {}", p.unit) };
    html! {
        <div class="param">
            <label for={id.clone()}>
                <span class="param-key">{ p.key }</span>
                { format!(": {}{unit} (default {}{unit})", tidy(current), tidy(p.default)) }
            </label>
            <input id={id.clone()} type="range" data-param={p.key} min={p.min.to_string()} max={p.max.to_string()}
                step="any" value={current.to_string()} onchange={on_change}
                aria-describedby={format!("{id}-help")} />
            <p class="hint" id={format!("{id}-help")}>{ p.help }</p>
        </div>
    }
}
