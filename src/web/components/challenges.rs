//! The scenario's challenges: goals the reader reaches by changing the run, each judged live on this run's
//! numbers (per run when comparing A and B), so the page says when the goal is met.

use yew::prelude::*;

use crate::engine::scenario::{Challenge, Verdict};
use crate::web::snapshot::Snapshot;

/// Props of [`Challenges`].
#[derive(Properties, PartialEq)]
pub struct ChallengesProps {
    /// The scenario's challenges.
    pub list: ChallengeList,
    /// The runs now.
    pub snapshot: std::rc::Rc<Snapshot>,
}

/// A challenge table as a prop: equal when it is the same table.
#[derive(Clone, Copy, Debug)]
pub struct ChallengeList(pub &'static [Challenge]);

impl PartialEq for ChallengeList {
    fn eq(&self, other: &ChallengeList) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

fn verdict(v: &Verdict) -> (&'static str, &'static str, &str) {
    match v {
        Verdict::Open(w) => ("open", "Not decided yet", w),
        Verdict::Met(w) => ("met", "Met", w),
        Verdict::Missed(w) => ("missed", "Missed", w),
    }
}

/// The challenges with where each run stands.
#[component]
pub fn Challenges(props: &ChallengesProps) -> Html {
    if props.list.0.is_empty() {
        return html! {};
    }
    let s = &props.snapshot;
    let ab = s.lanes.len() > 1;
    html! {
        <section class="challenges" id="challenges" aria-label="challenges">
            { for props.list.0.iter().map(|c| html! {
                <div class="challenge">
                    <p class="challenge-goal"><strong>{ "Challenge: " }</strong>{ c.goal }</p>
                    <p class="hint">{ c.hint }</p>
                    { for s.lanes.iter().enumerate().map(|(r, lane)| {
                        let v = (c.check)(&lane.summary, s.time_s, s.end_s);
                        let (class, word, words) = verdict(&v);
                        let who = if ab { format!("{}: ", if r == 0 { "A" } else { "B" }) } else { String::new() };
                        html! {
                            <p class={classes!("verdict", class)} data-verdict={class}>
                                <strong>{ format!("{who}{word}") }</strong>{ format!(" · {words}") }
                            </p>
                        }
                    }) }
                </div>
            }) }
        </section>
    }
}
