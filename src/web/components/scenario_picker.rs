//! Chooses the scenario (every entry of the registry, grouped by the model and incident it reproduces) and
//! tells its story: the incident behind it,
//! what to watch on the charts and what to try.

use yew::prelude::*;

use crate::registry;

/// Props of [`ScenarioPicker`].
#[derive(Properties, PartialEq)]
pub struct ScenarioPickerProps {
    /// The chosen scenario's name.
    pub selected: String,
    /// Called with the name the reader picked (validated by the reducer, like any text from the page).
    pub on_pick: Callback<String>,
}

/// A labelled select of scenarios and the chosen one's one-line summary.
#[component]
pub fn ScenarioPicker(props: &ScenarioPickerProps) -> Html {
    let on_change = props.on_pick.reform(|e: Event| e.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
    // Each incident once, in the order its first scenario is listed.
    let mut groups: Vec<&'static str> = Vec::new();
    for s in registry::all() {
        if !groups.contains(&s.story.group) {
            groups.push(s.story.group);
        }
    }
    html! {
        <div class="field scenario">
            <label for="scenario">{ "Incident" }</label>
            <select id="scenario" name="scenario" onchange={on_change}>
                { for groups.iter().map(|g| html! {
                    <optgroup label={*g}>
                        { for registry::all().filter(|s| s.story.group == *g).map(|s| {
                            // The headline after its incident's name, then the id the link and the CLI use.
                            let short = s.story.headline.split_once(": ").map_or(s.story.headline, |(_, rest)| rest);
                            html! {
                                <option value={s.name} selected={s.name == props.selected}>{ format!("{short} ({})", s.name) }</option>
                            }
                        }) }
                    </optgroup>
                }) }
            </select>
        </div>
    }
}

/// Props of [`Story`].
#[derive(Properties, PartialEq)]
pub struct StoryProps {
    /// The scenario whose story to tell.
    pub scenario: String,
}

/// The scenario's story: incident, what to watch, what to try, and where the facts come from.
#[component]
pub fn Story(props: &StoryProps) -> Html {
    let Some(s) = registry::find(&props.scenario).ok().map(|d| d.story) else {
        return html! { <section id="story" class="story"><p>{ "No story for this scenario." }</p></section> };
    };
    html! {
        <section id="story" class="story" aria-labelledby="story-title">
            <h2 id="story-title">{ s.title }</h2>
            <dl>
                <div><dt>{ "What happened" }</dt><dd>{ s.incident }</dd></div>
                <div><dt>{ "What to watch" }</dt><dd>{ s.watch }</dd></div>
                <div><dt>{ "What to try" }</dt><dd>{ s.try_this }</dd></div>
            </dl>
            <p class="source">{ "Source: " }{ s.source }</p>
        </section>
    }
}
