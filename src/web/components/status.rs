//! The status line: where the run is, what it has done, and how fast it really runs.

use yew::prelude::*;

use crate::web::snapshot::{LaneStatus, Snapshot};

/// Props of [`Status`].
#[derive(Properties, PartialEq)]
pub struct StatusProps {
    /// The latest snapshot.
    pub snapshot: std::rc::Rc<Snapshot>,
    /// Run the scenario twice as long (replayed from the seed to where it is).
    #[prop_or_default]
    pub on_extend: Callback<()>,
}

/// A count for people, with the same thousands separators as the lesson cards' numbers ("1,234,567").
pub fn grouped(n: u64) -> String {
    crate::engine::picture::human(n as f64, 0)
}

fn totals(l: &LaneStatus) -> String {
    if !l.has_requests {
        return format!("{} events", grouped(l.events));
    }
    format!(
        "{} requests · {} failed requests · {} rejected · {} overloaded",
        grouped(l.requests),
        grouped(l.failed),
        grouped(l.rejected),
        grouped(l.overloaded)
    )
}

/// The status line's text.
pub fn line(s: &Snapshot) -> String {
    let mut out = format!("t = {:.1} s", s.time_s);
    match s.lanes.as_slice() {
        [] => {}
        [a] => out.push_str(&format!(" · {}", totals(a))),
        [a, b, ..] => out.push_str(&format!(" · A: {} · B: {}", totals(a), totals(b))),
    }
    if s.ended {
        out.push_str(&format!(" · end of run: this scenario runs {} s", crate::engine::picture::human(s.end_s, 1)));
    } else if !s.playing {
        out.push_str(" · paused");
    } else if s.achieved_speed > 0.0 && s.achieved_speed < 0.9 * s.speed {
        out.push_str(&format!(
            " · running at {:.0}× of the {}× asked (this device cannot keep up)",
            s.achieved_speed, s.speed
        ));
    } else {
        out.push_str(&format!(" · {}×", s.speed));
    }
    out
}

/// The status line.
#[component]
pub fn Status(props: &StatusProps) -> Html {
    let extend = props.on_extend.reform(|_: MouseEvent| ());
    html! {
        <p class="status" id="status" aria-live="off">{ line(&props.snapshot) }
            if props.snapshot.ended {
                { " " }<button type="button" id="extend" class="link" onclick={extend}>{ "Run it twice as long" }</button>
            }
        </p>
    }
}
