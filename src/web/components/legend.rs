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
    /// The other targets are one grey bundle in the charts ([`crate::web::runner::greyed`]): the legend names the
    /// faulty ones and one grey entry for the rest.
    #[prop_or_default]
    pub greyed: bool,
}

/// A wrapping list of swatches and names.
#[component]
pub fn Legend(props: &LegendProps) -> Html {
    let rest = props.names.len() - props.faulty.iter().filter(|i| **i < props.names.len()).count();
    let rest_words = match (props.faulty.is_empty(), rest) {
        (true, n) => format!("all {n} servers"),
        (false, 1) => "the other server".to_string(),
        (false, n) => format!("the other {n} servers"),
    };
    let (grey, _, grey_width) = palette::crowd_style(usize::MAX, &[], true);
    html! {
        <ul class="legend" aria-label="servers">
            { for props.names.iter().enumerate().filter(|(i, _)| !props.greyed || props.faulty.contains(i)).map(|(i, name)| {
                let (colour, pattern, width) = palette::crowd_style(i, &props.faulty, props.greyed);
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
            if props.greyed && rest > 0 {
                <li class="rest" title={props.names.iter().enumerate().filter(|(i, _)| !props.faulty.contains(i))
                    .map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ")}>
                    <svg class="swatch" width="26" height="10" viewBox="0 0 26 10" aria-hidden="true">
                        <line x1="1" y1="5" x2="25" y2="5" stroke={grey.css()} stroke-width={(grey_width * 1.4).to_string()} />
                    </svg>
                    { format!("{rest_words} (thin grey)") }
                </li>
            }
        </ul>
    }
}
