//! The chart's legend: one entry per server, with the same colour and line pattern as its line.

use std::rc::Rc;

use yew::prelude::*;

use crate::web::palette;

/// Props of [`Legend`].
#[derive(Properties, PartialEq)]
pub struct LegendProps {
    /// Server names, in config order (the chart's series order).
    pub names: Rc<Vec<String>>,
    /// The targets the scenario breaks (drawn in the reserved colour).
    #[prop_or_default]
    pub faulty: Vec<usize>,
}

/// A wrapping list of swatches and names.
#[component]
pub fn Legend(props: &LegendProps) -> Html {
    html! {
        <ul class="legend" aria-label="servers">
            { for props.names.iter().enumerate().map(|(i, name)| {
                let (colour, pattern, width) = palette::target_style(i, &props.faulty);
                let faulty = props.faulty.contains(&i);
                html! {
                    <li class={classes!(faulty.then_some("faulty"))}>
                        <svg class="swatch" width="26" height="10" viewBox="0 0 26 10" aria-hidden="true">
                            <line x1="1" y1="5" x2="25" y2="5" stroke={colour.css()} stroke-width={(width * 1.4).to_string()}
                                stroke-dasharray={pattern.dasharray()} />
                        </svg>
                        { name.clone() }
                        if faulty { <span class="faulty-tag">{ " (faulty)" }</span> }
                    </li>
                }
            }) }
        </ul>
    }
}
