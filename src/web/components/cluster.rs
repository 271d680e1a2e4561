//! Cluster-wide knobs: the arrival rate (a `rate_scale` setting, so it restarts the run) and a live surge.

use yew::prelude::*;

use super::controller_picker::tidy;

/// Surge factors offered.
pub const SURGE_FACTORS: &[f64] = &[1.5, 2.0, 3.0, 5.0];

/// Props of [`Cluster`].
#[derive(Properties, PartialEq)]
pub struct ClusterProps {
    /// The scenario's own `rate_scale` (1, or 0.001 for `quiet`).
    pub rate_base: f64,
    /// The current `rate_scale`.
    pub rate: f64,
    /// The surge factor in force now (1 when none).
    pub surge: f64,
    /// Called with the new `rate_scale` when the slider is released.
    pub on_rate: Callback<String>,
    /// Called with the surge factor to apply now (1 ends a surge).
    pub on_surge: Callback<f64>,
    /// True while an operator has switched the controllers off.
    pub controller_off: bool,
    /// Called with true to switch the controllers off now, false to switch them back on.
    pub on_controller_off: Callback<bool>,
}

/// The arrival-rate slider and the surge button.
#[component]
pub fn Cluster(props: &ClusterProps) -> Html {
    let factor = use_state(|| 3.0);
    let on_rate = props.on_rate.reform(|e: Event| {
        let raw = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
        raw.parse::<f64>().map(|v| tidy(v).to_string()).unwrap_or(raw)
    });
    let on_factor = {
        let factor = factor.clone();
        Callback::from(move |e: Event| {
            let raw = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            if let Ok(v) = raw.parse::<f64>() {
                if SURGE_FACTORS.contains(&v) {
                    factor.set(v);
                }
            }
        })
    };
    let surging = (props.surge - 1.0).abs() > 1e-9;
    let on_surge = {
        let (factor, on_surge) = (*factor, props.on_surge.clone());
        Callback::from(move |_: MouseEvent| on_surge.emit(if surging { 1.0 } else { factor }))
    };
    let on_toggle = {
        let (off, emit) = (props.controller_off, props.on_controller_off.clone());
        Callback::from(move |_: MouseEvent| emit.emit(!off))
    };
    let base = props.rate_base;
    html! {
        <div class="field cluster">
            <label for="rate">
                { format!("Arrival rate: ×{} (rate_scale; default ×{base}; restarts the run)", tidy(props.rate)) }
            </label>
            <input id="rate" type="range" min="0" max={(3.0 * base).to_string()} step={tidy(0.05 * base).to_string()}
                value={props.rate.to_string()} onchange={on_rate} />
            <div class="row">
                <label class="inline" for="surge-factor">{ "Surge" }</label>
                <select id="surge-factor" onchange={on_factor} disabled={surging}>
                    { for SURGE_FACTORS.iter().map(|&f| html! {
                        <option value={f.to_string()} selected={f == *factor}>{ format!("×{f}") }</option>
                    }) }
                </select>
                <button type="button" id="surge" aria-pressed={surging.to_string()} onclick={on_surge}>
                    { if surging { format!("End surge (now ×{})", props.surge) } else { format!("Surge ×{} now", *factor) } }
                </button>
            </div>
            <div class="row">
                <button type="button" id="controller-toggle" aria-pressed={props.controller_off.to_string()} onclick={on_toggle}>
                    { if props.controller_off { "Controllers back on" } else { "Switch controllers off (operator)" } }
                </button>
            </div>
        </div>
    }
}
