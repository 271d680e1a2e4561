//! The seed field: one seed decides the whole run, so the same seed replays the same run.

use yew::prelude::*;

/// Props of [`SeedInput`].
#[derive(Properties, PartialEq)]
pub struct SeedInputProps {
    /// The current run's seed.
    pub seed: u64,
    /// Called with the text the reader submitted (Enter or the button); the reducer validates it.
    pub on_seed: Callback<String>,
}

/// A text field and an apply button; submitting restarts the run with the new seed.
#[component]
pub fn SeedInput(props: &SeedInputProps) -> Html {
    let input = use_node_ref();
    let on_submit = {
        let input = input.clone();
        let on_seed = props.on_seed.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(field) = input.cast::<web_sys::HtmlInputElement>() {
                on_seed.emit(field.value());
            }
        })
    };
    html! {
        <form class="field seed" onsubmit={on_submit}>
            <label for="seed">{ "Seed" }</label>
            <div class="row">
                <input id="seed" name="seed" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"
                    ref={input} value={props.seed.to_string()} />
                <button type="submit">{ "Apply" }</button>
            </div>
        </form>
    }
}
