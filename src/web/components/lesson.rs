//! The lesson beside the live chart: one step at a time, what to look at, this run's numbers next to the
//! incident's, how the chosen controller reacts, and Back / Next / free play.

use yew::prelude::*;

use crate::engine::scenario::{Act, LessonAction};
use crate::registry;

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

/// The lesson panel.
#[component]
pub fn Lesson(props: &LessonProps) -> Html {
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
        <aside class="lesson" id="lesson" aria-labelledby="lesson-title" data-step={props.step.to_string()}>
            <p class="lesson-count">{ format!("Lesson · step {} of {}", props.step + 1, def.lesson.len()) }</p>
            <h2 id="lesson-title">{ step.title }</h2>
            <p class="lesson-text">{ super::glossary::linked(step.text, def.glossary) }</p>
            { actions(step.actions, &props.active, &props.on_act) }
            <div class="lesson-numbers" id="lesson-numbers" aria-live="polite">
                if running {
                    <p>{ format!("Running to t = {:.0} s…", step.at_s) }</p>
                } else {
                    { for props.numbers.iter().enumerate().filter(|(_, n)| !n.is_empty()).map(|(r, n)| html! {
                        <p>{ if ab { format!("{}: {n}", if r == 0 { "A" } else { "B" }) } else { n.clone() } }</p>
                    }) }
                }
            </div>
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
