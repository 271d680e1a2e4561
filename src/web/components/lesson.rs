//! The lesson beside the live chart: one step at a time, what to look at, this run's numbers next to the
//! incident's (right under the words, so they stay on the card's first screen on a long step), the buttons
//! and the one to three controls the step is about (the settings panel's own widgets), how the chosen
//! controller reacts, and Back / Next / free play.

use yew::prelude::*;

use super::controller_picker::param_slider;
use super::keys::key_control;
use crate::engine::scenario::{Act, LessonAction};
use crate::lesson_controls::{step_controls, Control};
use crate::registry::{self, LessonStep, ScenarioDef};

/// Props of [`Lesson`].
#[derive(Properties, PartialEq)]
pub struct LessonProps {
    /// The scenario.
    pub scenario: String,
    /// The step shown.
    pub step: usize,
    /// Controllers A and B ("" for none).
    pub controllers: Vec<String>,
    /// This run's numbers for the step, per run (from the snapshot's summaries).
    pub numbers: Vec<String>,
    /// Simulated time now, s.
    pub time_s: f64,
    /// Go on to the next step (the last one hands over to free play).
    pub on_next: Callback<()>,
    /// Back one step (replayed from the seed).
    pub on_back: Callback<()>,
    /// Leave the lesson.
    pub on_skip: Callback<()>,
    /// Do what a step's button says.
    pub on_act: Callback<Act>,
    /// Which of the step's buttons are in effect now (their controller runs, their key is set), in order.
    #[prop_or_default]
    pub active: Vec<bool>,
    /// The `--set` pairs now, for the step's controls.
    #[prop_or_default]
    pub sets: Vec<(String, String)>,
    /// Called with (key, value text) when one of the step's controls changes, as the settings panel's do.
    pub on_set: Callback<(String, String)>,
}

/// The controls the step is about (its set keys, its controllers' main parameters), drawn and applied exactly
/// as in the settings panel; element ids start with `lesson-` so they differ from the panel's.
fn controls(
    def: &'static ScenarioDef,
    step: &LessonStep,
    sets: &[(String, String)],
    on_set: &Callback<(String, String)>,
) -> Html {
    let list = step_controls(def, step);
    if list.is_empty() {
        return html! {};
    }
    html! {
        <div class="lesson-controls" id="lesson-controls" role="group" aria-label="What this step is about">
            <p class="label">{ "Change it here (the run restarts with the same random seed):" }</p>
            { for list.iter().enumerate().map(|(i, c)| match c {
                Control::Key(k) => key_control(def, k, sets, on_set, "lesson-key"),
                Control::Param(name, p) => {
                    // A controller's settings under its name, once for the run of them.
                    let first = i == 0 || !matches!(list[i - 1], Control::Param(n, _) if n == *name);
                    html! {
                        <>
                            if first { <p class="lesson-param-of">{ format!("{name}'s settings") }</p> }
                            { param_slider(p, sets, on_set, "lesson-param") }
                        </>
                    }
                }
            }) }
        </div>
    }
}

/// A step's buttons: each does what its words say.
fn actions(list: &'static [LessonAction], active: &[bool], on_act: &Callback<Act>) -> Html {
    if list.is_empty() {
        return html! {};
    }
    html! {
        <div class="lesson-actions" role="group" aria-label="Try it">
            <span class="label">{ "Try it:" }</span>
            { for list.iter().enumerate().map(|(i, a)| {
                let act = a.act;
                let on = active.get(i).copied().unwrap_or(false);
                html! {
                    <button type="button" class={classes!("lesson-act", on.then_some("on"))} aria-pressed={on.to_string()}
                        onclick={on_act.reform(move |_: MouseEvent| act)}>{ a.label }</button>
                }
            }) }
        </div>
    }
}

/// Shows a new step from its top: the card's own scroll back to the start, and the card's top scrolled into view
/// when it lies above the screen or in its lower quarter.
fn keep_in_view(card: &NodeRef) {
    let Some(el) = card.cast::<web_sys::Element>() else { return };
    el.set_scroll_top(0);
    let height = gloo::utils::window().inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
    let top = el.get_bounding_client_rect().top();
    if top < 0.0 || top > 0.75 * height {
        el.scroll_into_view_with_bool(true);
    }
}

/// The lesson panel.
#[component]
pub fn Lesson(props: &LessonProps) -> Html {
    let card = use_node_ref();
    let shown_step = use_mut_ref(|| props.step);
    {
        // A new step can move the card (on a phone the picture and the challenges sit above it) or start above
        // the screen (Next is at its foot): bring its top back into view once the page has laid it out.
        let (card, shown_step) = (card.clone(), shown_step.clone());
        use_effect_with(props.step, move |step| {
            let moved = std::mem::replace(&mut *shown_step.borrow_mut(), *step) != *step;
            let timer = moved.then(|| gloo::timers::callback::Timeout::new(80, move || keep_in_view(&card)));
            move || drop(timer)
        });
    }
    let Ok(def) = registry::find(&props.scenario) else { return html! {} };
    let Some(step) = def.lesson.get(props.step) else { return html! {} };
    let last = props.step + 1 == def.lesson.len();
    let running = props.time_s + 1e-6 < step.at_s;
    let notes: Vec<(String, &str)> = props
        .controllers
        .iter()
        .filter(|c| !c.is_empty())
        .filter_map(|c| def.controller_notes.iter().find(|(n, _)| n == c).map(|(n, t)| (n.to_string(), *t)))
        .collect();
    let ab = props.numbers.len() > 1;
    html! {
        <aside class="lesson" id="lesson" ref={card} aria-labelledby="lesson-title" data-step={props.step.to_string()}>
            <p class="lesson-count">{ format!("Lesson · step {} of {}", props.step + 1, def.lesson.len()) }</p>
            <h2 id="lesson-title">{ step.title }</h2>
            <p class="lesson-text">{ super::glossary::linked(step.text, def.glossary) }</p>
            <div class="lesson-numbers" id="lesson-numbers" aria-live="polite">
                if running {
                    <p>{ format!("Running to t = {:.0} s…", step.at_s) }</p>
                } else {
                    { for props.numbers.iter().enumerate().filter(|(_, n)| !n.is_empty()).map(|(r, n)| html! {
                        <p>{ if ab { format!("{}: {n}", if r == 0 { "A" } else { "B" }) } else { n.clone() } }</p>
                    }) }
                }
            </div>
            { actions(step.actions, &props.active, &props.on_act) }
            { controls(def, step, &props.sets, &props.on_set) }
            { for notes.iter().map(|(name, text)| html! {
                <p class="lesson-note"><strong>{ format!("{name}: ") }</strong>{ *text }</p>
            }) }
            <div class="row lesson-nav">
                <button type="button" id="lesson-back" onclick={props.on_back.reform(|_: MouseEvent| ())}
                    disabled={props.step == 0}>{ "Back" }</button>
                <button type="button" id="lesson-next" class="primary" onclick={props.on_next.reform(|_: MouseEvent| ())}>
                    { if last { "Free play" } else { "Next" } }
                </button>
                <button type="button" id="lesson-skip" class="link" onclick={props.on_skip.reform(|_: MouseEvent| ())}>
                    { "Skip to free play" }
                </button>
            </div>
        </aside>
    }
}
