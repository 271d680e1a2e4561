//! Chooses the scenario: every entry of `scenario::SCENARIOS`, with the chosen one's summary.

use yew::prelude::*;

use crate::scenario::{scenario_info, SCENARIOS};

/// Props of [`ScenarioPicker`].
#[derive(Properties, PartialEq)]
pub struct ScenarioPickerProps {
    /// The chosen scenario's name.
    pub selected: &'static str,
    /// Called with the name the reader picked (validated by the reducer, like any text from the page).
    pub on_pick: Callback<String>,
}

/// A labelled select of scenarios and the chosen one's one-line summary.
#[component]
pub fn ScenarioPicker(props: &ScenarioPickerProps) -> Html {
    let on_change = props.on_pick.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    let summary = scenario_info(props.selected).map_or("", |s| s.summary);
    html! {
        <div class="field scenario">
            <label for="scenario">{ "Scenario" }</label>
            <select id="scenario" name="scenario" onchange={on_change}>
                { for SCENARIOS.iter().map(|s| html! {
                    <option value={s.name} selected={s.name == props.selected}>{ s.name }</option>
                }) }
            </select>
            <p class="summary" id="scenario-summary">{ summary }</p>
        </div>
    }
}
