//! Time: play/pause, step, speed, and reset with a seed. One seed decides the whole run, so the same seed
//! replays the same run. A reader who prefers reduced motion gets a paused run and the Play button.

use yew::prelude::*;

use crate::web::hooks::on_screen::use_no_autoplay_under_reduced_motion;
use crate::web::state::SPEEDS;

/// Props of [`Controls`].
#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    /// True while the simulation runs.
    pub playing: bool,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// The current run's seed.
    pub seed: u64,
    /// Pause or play.
    pub on_toggle: Callback<()>,
    /// Advance one time step (pauses first); the charts redraw.
    pub on_step: Callback<()>,
    /// Called with the speed the reader picked, as text (validated by the reducer).
    pub on_speed: Callback<String>,
    /// Restart from time zero with the seed in the field, as text (validated by the reducer).
    pub on_restart: Callback<String>,
}

/// The transport controls and the seed.
#[component]
pub fn Controls(props: &ControlsProps) -> Html {
    // Under prefers-reduced-motion the run waits for Play instead of starting by itself.
    use_no_autoplay_under_reduced_motion(props.playing, props.on_toggle.clone());
    let input = use_node_ref();
    let on_toggle = props.on_toggle.reform(|_: MouseEvent| ());
    let on_step = props.on_step.reform(|_: MouseEvent| ());
    let on_speed = props.on_speed.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let on_submit = {
        let input = input.clone();
        let on_restart = props.on_restart.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(field) = input.cast::<web_sys::HtmlInputElement>() {
                on_restart.emit(field.value());
            }
        })
    };
    let mut speeds: Vec<f64> = SPEEDS.to_vec();
    if !speeds.contains(&props.speed) {
        speeds.push(props.speed);
        speeds.sort_by(f64::total_cmp);
    }
    html! {
        <div class="field transport">
            <span class="label" id="transport-label">{ "Time" }</span>
            <div class="row" role="group" aria-labelledby="transport-label">
                <button type="button" id="play" class="primary" aria-pressed={(!props.playing).to_string()} onclick={on_toggle}>
                    { if props.playing { "Pause" } else { "Play" } }
                </button>
                <button type="button" id="step" onclick={on_step} title="Pause and advance one half-second step">{ "Step" }</button>
                <label class="inline" for="speed">{ "Speed" }</label>
                <select id="speed" name="speed" onchange={on_speed}>
                    { for speeds.iter().map(|&s| html! {
                        <option value={s.to_string()} selected={s == props.speed}>{ format!("{s}×") }</option>
                    }) }
                </select>
            </div>
            <form class="row seed" onsubmit={on_submit}>
                <label class="inline" for="seed">{ "Random seed" }</label>
                <input id="seed" name="seed" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
                    ref={input} value={props.seed.to_string()} />
                <button type="submit" id="restart">{ "Restart" }</button>
            </form>
        </div>
    }
}
