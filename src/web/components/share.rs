//! Share and embed: a link to this run at this moment, and an `<iframe>` snippet for a runbook page, each with a
//! copy button. Both carry the whole state (scenario, settings, steps clicked, lesson step) plus the moment to
//! open at, so the reader sees what you saw.

use yew::prelude::*;

use crate::urlstate::{to_query, UrlState};

/// Props of [`Share`].
#[derive(Properties, PartialEq)]
pub struct ShareProps {
    /// The page's state.
    pub url: UrlState,
    /// Simulated time now, s.
    pub time_s: f64,
    /// The scenario's title, for the iframe's title attribute.
    pub title: String,
}

/// The page's address without its query: where the link and the embed point.
fn base() -> String {
    let location = gloo::utils::window().location();
    let origin = location.origin().unwrap_or_default();
    let path = location.pathname().unwrap_or_default();
    format!("{origin}{path}")
}

/// The link to `url` opened at `time_s` (a lesson step opens at its own moment instead).
pub fn link_query(url: &UrlState, time_s: f64) -> String {
    let mut state = url.clone();
    state.embed = false;
    state.watch = false;
    state.at_s = (state.lesson.is_none() && time_s > 0.0).then(|| (time_s * 10.0).round() / 10.0);
    to_query(&state)
}

/// The embed's query: the compact view, at the same moment.
pub fn embed_query(url: &UrlState, time_s: f64) -> String {
    let mut state = url.clone();
    state.embed = true;
    state.at_s = (state.lesson.is_none() && time_s > 0.0).then(|| (time_s * 10.0).round() / 10.0);
    to_query(&state)
}

/// Escapes text for an HTML attribute value in double quotes.
fn attr(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

fn copy(text: String) -> Callback<MouseEvent> {
    Callback::from(move |_: MouseEvent| {
        // The clipboard answers with a promise; a refusal leaves the text selectable in its box.
        let _ = gloo::utils::window().navigator().clipboard().write_text(&text);
    })
}

/// The share button and its panel.
#[component]
pub fn Share(props: &ShareProps) -> Html {
    let open = use_state(|| false);
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let link = format!("{}?{}", base(), link_query(&props.url, props.time_s));
    let src = format!("{}?{}", base(), embed_query(&props.url, props.time_s));
    let snippet = format!(
        "<iframe src=\"{}\" width=\"700\" height=\"520\" title=\"{}\" loading=\"lazy\" style=\"border:0;max-width:100%\"></iframe>",
        attr(&src),
        attr(&format!("loadlab: {}", props.title))
    );
    let select = Callback::from(|e: FocusEvent| e.target_unchecked_into::<web_sys::HtmlInputElement>().select());
    html! {
        <div class="share">
            <button type="button" id="share" aria-expanded={open.to_string()} onclick={toggle}>{ "Share or embed" }</button>
            if *open {
                <div class="share-panel" id="share-panel">
                    <label for="share-link">{ "A link to this run at this moment" }</label>
                    <div class="row">
                        <input id="share-link" type="text" readonly=true value={link.clone()} onfocus={select.clone()} />
                        <button type="button" onclick={copy(link)}>{ "Copy link" }</button>
                    </div>
                    <label for="share-embed">{ "Embed it in a runbook page (700 × 520)" }</label>
                    <div class="row">
                        <input id="share-embed" type="text" readonly=true value={snippet.clone()} onfocus={select} />
                        <button type="button" onclick={copy(snippet)}>{ "Copy embed code" }</button>
                    </div>
                    <p class="hint">{ "Both replay this run event for event: same scenario, settings, random seed and every action you took, opened at the same moment." }</p>
                </div>
            }
        </div>
    }
}
