//! One chart panel: title, hint, the canvas the frame loop draws on, and its text alternative from the
//! snapshot. The canvas is this component's own element; the loop finds it by its id.

use yew::prelude::*;

use crate::web::charts::Panel;

/// Props of [`ChartFigure`].
#[derive(Properties, PartialEq)]
pub struct ChartProps {
    /// The panel.
    pub panel: Panel,
    /// Its text alternative now.
    #[prop_or_default]
    pub alt: String,
    /// Drawn big, on the first screen.
    pub wide: bool,
    /// Extra controls between the caption and the canvas (the PID chart's server select).
    #[prop_or_default]
    pub children: Html,
}

/// A chart figure.
#[component]
pub fn ChartFigure(props: &ChartProps) -> Html {
    let p = &props.panel;
    html! {
        <figure class={classes!("chart", props.wide.then_some("wide"))} data-panel={p.dom_id.clone()}>
            <figcaption>
                <h2>{ p.title.clone() }</h2>
                <p class="hint">{ p.hint.clone() }</p>
            </figcaption>
            { props.children.clone() }
            <div class="canvas-box">
                <canvas id={p.dom_id.clone()} role="img" aria-label={p.aria.clone()} />
            </div>
            <details class="alt">
                <summary>{ "Values now (text)" }</summary>
                <p>{ props.alt.clone() }</p>
            </details>
        </figure>
    }
}
