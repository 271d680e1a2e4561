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
    } else if s.behind && s.achieved_speed > 0.0 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::runner::Engine;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The status line after one more frame of a run asked for `speed`×: `simulated_s` seconds in a 60th of a
    /// second, `behind` when the frame fell short of its target.
    fn frame(engine: &mut Engine, speed: f64, simulated_s: f64, behind: bool) -> String {
        engine.behind = behind;
        engine.note_speed(simulated_s, 1.0 / 60.0, speed);
        let s = Snapshot {
            playing: true,
            speed,
            achieved_speed: engine.achieved_speed,
            behind: engine.lagging,
            ..Snapshot::default()
        };
        line(&s)
    }

    /// The status line after `n` alike frames ([`frame`]).
    fn frames(engine: &mut Engine, n: usize, speed: f64, simulated_s: f64, behind: bool) -> String {
        (0..n).map(|_| frame(engine, speed, simulated_s, behind)).last().unwrap_or_default()
    }

    #[wasm_bindgen_test]
    fn a_run_that_falls_behind_every_frame_says_so_with_the_speed_it_reaches() {
        let mut engine = Engine::default();
        // A worker at 262× asked for 1000×: short of every frame's target.
        let text = frames(&mut engine, 60, 1000.0, 262.0 / 60.0, true);
        assert!(text.contains("running at 262× of the 1000× asked"), "{text}");
        // Keeping up again, it stops saying so within a second.
        let text = frames(&mut engine, 60, 100.0, 100.0 / 60.0, false);
        assert!(text.ends_with(" · 100×"), "{text}");
    }

    #[wasm_bindgen_test]
    fn a_run_in_workers_a_frame_behind_its_target_while_reaching_the_speed_asked_keeps_up() {
        // Run A's worker answers a frame late: every frame ends short of the target asked, at 100× all the same.
        let mut engine = Engine::default();
        let text = frames(&mut engine, 120, 100.0, 100.0 / 60.0, true);
        assert!(text.ends_with(" · 100×"), "{text}");
        assert!(!engine.lagging);
    }

    #[wasm_bindgen_test]
    fn a_worker_reporting_in_bursts_reads_near_its_true_speed_every_frame() {
        // 100× in reports every sixth frame: five frames with no progress, then six frames' worth at once. The
        // smoothed figure moves by a fiftieth of each frame's gap, so it stays within about ±6% of 100×;
        // smoothed over ten frames it swung by ±25%.
        let mut engine = Engine::default();
        let mut seen = Vec::new();
        for i in 0..600 {
            let simulated = if i % 6 == 5 { 6.0 * 100.0 / 60.0 } else { 0.0 };
            engine.behind = false;
            engine.note_speed(simulated, 1.0 / 60.0, 100.0);
            if i >= 300 {
                seen.push(engine.achieved_speed);
            }
        }
        let (low, high) = seen.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        assert!(low > 90.0 && high < 110.0, "the figure swung between {low:.1}× and {high:.1}×");
    }

    #[wasm_bindgen_test]
    fn a_run_on_the_edge_of_keeping_up_does_not_make_the_line_flicker() {
        // Every other frame short of its target, the speed reached swinging around 90% of the asked (workers
        // report in bursts): the line must read the same from frame to frame once the smoothing has settled.
        let mut engine = Engine::default();
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..600 {
            let behind = i % 2 == 0;
            let simulated = if behind { 80.0 } else { 100.0 } / 60.0;
            let text = frame(&mut engine, 100.0, simulated, behind);
            if i >= 120 {
                seen.insert(text);
            }
        }
        assert_eq!(seen.len(), 1, "the line changed between frames: {seen:?}");
    }
}
