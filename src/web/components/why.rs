//! "Why this server?": one traced pick per run, A and B, held still until the reader asks for a newer one.

use yew::prelude::*;

use crate::web::charts::fmt;
use crate::web::snapshot::Why;

/// Props of [`WhyPanel`].
#[derive(Properties, PartialEq)]
pub struct WhyProps {
    /// The newest traced pick per run (A, B), from the snapshot.
    pub latest: Vec<Option<Why>>,
    /// The controllers, per run.
    pub controllers: Vec<String>,
    /// Which engine build the picks come from: a pick held from an earlier run is let go.
    pub run: u32,
}

fn table(w: &Why) -> Html {
    html! {
        <table>
            <thead><tr>
                <th scope="col">{ "server" }</th><th scope="col">{ "load" }</th><th scope="col">{ "in flight" }</th>
                <th scope="col">{ "weight" }</th><th scope="col">{ "chance" }</th>
            </tr></thead>
            <tbody>
                { for w.candidates.iter().map(|c| html! {
                    <tr class={classes!(c.chosen.then_some("chosen"))}>
                        <th scope="row">{ c.name.clone() }</th><td>{ fmt(c.load) }</td><td>{ c.in_flight }</td>
                        <td>{ fmt(c.weight) }</td>
                        <td>{ c.chance.map_or("–".to_string(), |p| format!("{p:.1}%")) }</td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

fn explain(label: &str, controller: &str, w: Option<&Why>) -> Html {
    let Some(w) = w else {
        return html! { <p>{ format!("{label}: no pick traced yet; one request in a few hundred is traced once the run starts.") }</p> };
    };
    let chosen = w.chosen.clone().unwrap_or_else(|| "none: the request failed fast".into());
    html! {
        <div class="why-run">
            <p>
                { format!("{label}: at t = {:.3} s, app host {} asked ", w.time_s, w.host) }
                <strong>{ controller.to_string() }</strong>{ " for a replica and got " }<strong>{ chosen }</strong>
                { format!(". Decided by {}.", w.decided_by) }
            </p>
            { table(w) }
            if !w.terms.is_empty() {
                <p class="hint">{ format!("The controller's terms for the chosen server: {}.",
                    w.terms.iter().map(|(k, v)| format!("{} {}", k.replace('_', " "), fmt(*v))).collect::<Vec<_>>().join(", ")) }</p>
            }
        </div>
    }
}

/// The why panel.
#[component]
pub fn WhyPanel(props: &WhyProps) -> Html {
    let held = use_state(|| None::<(u32, Vec<Option<Why>>)>);
    // Hold the first pick of this run that arrives, so the table stays still while it is read.
    let shown = match &*held {
        Some((run, h)) if *run == props.run && h.len() == props.latest.len() => h.clone(),
        _ => {
            if props.latest.iter().any(Option::is_some) {
                held.set(Some((props.run, props.latest.clone())));
            }
            props.latest.clone()
        }
    };
    let newer = {
        let (held, latest, run) = (held.clone(), props.latest.clone(), props.run);
        Callback::from(move |_: MouseEvent| held.set(Some((run, latest.clone()))))
    };
    let ab = props.latest.len() > 1;
    html! {
        <section class="why" aria-labelledby="why-title">
            <h2 id="why-title">{ "Why this server?" }</h2>
            <p class="hint">{ "load: configured load with operator overrides; in flight: this host's open connections to the server (all it knows); weight: what its controller made of them; chance: weight ÷ total." }</p>
            <div id="why" class={classes!("why-runs", ab.then_some("ab"))}>
                { for shown.iter().enumerate().map(|(r, w)| {
                    let label = if ab { if r == 0 { "A" } else { "B" } } else { "This run" };
                    explain(label, props.controllers.get(r).map_or("", String::as_str), w.as_ref())
                }) }
            </div>
            <button type="button" id="why-next" onclick={newer}>{ "Show a newer pick" }</button>
        </section>
    }
}
