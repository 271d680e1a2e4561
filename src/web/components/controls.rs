//! Play/pause, restart and speed: how fast simulated time runs against the wall clock.

use yew::prelude::*;

use crate::web::state::SPEEDS;

/// Props of [`Controls`].
#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    /// True while the simulation runs.
    pub playing: bool,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// Pause or play.
    pub on_toggle: Callback<()>,
    /// Start again from time zero.
    pub on_restart: Callback<()>,
    /// Called with the speed the reader picked, as text (validated by the reducer).
    pub on_speed: Callback<String>,
}

/// The transport controls.
#[component]
pub fn Controls(props: &ControlsProps) -> Html {
    let on_toggle = props.on_toggle.reform(|_: MouseEvent| ());
    let on_restart = props.on_restart.reform(|_: MouseEvent| ());
    let on_speed = props.on_speed.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    html! {
        <div class="field transport">
            <span class="label" id="transport-label">{ "Run" }</span>
            <div class="row" role="group" aria-labelledby="transport-label">
                <button type="button" id="play" class="primary" aria-pressed={(!props.playing).to_string()} onclick={on_toggle}>
                    { if props.playing { "Pause" } else { "Play" } }
                </button>
                <button type="button" id="restart" onclick={on_restart}>{ "Restart" }</button>
                <label class="inline" for="speed">{ "Speed" }</label>
                <select id="speed" name="speed" onchange={on_speed}>
                    { for SPEEDS.iter().map(|&s| html! {
                        <option value={s.to_string()} selected={s == props.speed}>{ format!("{s}×") }</option>
                    }) }
                </select>
            </div>
        </div>
    }
}
