//! The browser app (wasm32 only): the explainer. A Yew page that runs the simulator live.
//!
//! Pick a scenario and read its story, pick a controller (and a second one for A/B) and tune it, break servers
//! and take operator actions while it runs, and watch the charts. The layout follows Yew's examples: [`App`]
//! here, the reducer in [`state`], one component per file in [`components`], and the model-driving code
//! ([`runner`], [`history`], [`plot`], [`frame_stats`]) free of any HTML.
//!
//! Invariants: the page never changes simulation state except through `Run::run_until` and text commands; the
//! wall clock only decides how far to advance simulated time; the URL holds the whole state (`urlstate`) and is
//! rewritten on every change; anything from the reader or the URL is validated and rejected with a visible
//! notice, never a panic.

pub mod charts;
pub mod components;
pub mod export;
pub mod frame_stats;
pub mod history;
pub mod hooks;
pub mod pace;
pub mod palette;
pub mod plot;
pub mod protocol;
mod reducible;
pub mod runner;
pub mod snapshot;
pub mod workers;
/// The page's state and reducer, pure and compiled natively too; `reducible` adds Yew's `Reducible`.
pub use crate::page::state;

use std::rc::Rc;

use wasm_bindgen::prelude::*;

// The component tests in this module tree run in headless Chromium, like the page itself (`make test-wasm`).
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
use yew::prelude::*;

use crate::engine::scenario::{Act, View};
use charts::{Kind, Panel};
use components::challenges::{ChallengeList, Challenges};
use components::chart::ChartFigure;
use components::controller_picker::{ControllerParams, ControllerPicker};
use components::controls::Controls;
use components::glossary::{term, Glossary};
use components::keys::Keys;
use components::lesson::Lesson;
use components::metrics::Metrics;
use components::notice::Notice;
use components::overview::Overview;
use components::picture::Picture;
use components::scenario_file::ScenarioFiles;
use components::scenario_picker::{ScenarioPicker, Story};
use components::servers::Commands;
use components::share::Share;
use components::status::Status;
use components::why::WhyPanel;
use hooks::frame_loop::{use_frame_loop, LoopInputs};
use runner::EngineRef;
use snapshot::Snapshot;
use state::{Action, State};

/// The chart windows the picker always offers; the one shown is added when it is another (a lesson step's, a
/// brushed stretch, a link's).
const WINDOWS: &[View] = &[View::Whole, View::Last(300.0), View::Last(1800.0), View::Last(7200.0)];

/// Longest run [`trace_hash`] accepts, simulated seconds: the call blocks the page while it runs.
pub const TRACE_HASH_DURATION_MAX_S: f64 = 3600.0;

/// Runs `scenario` with `controller` (default keys) for `duration_s` simulated seconds and returns the trace
/// hash as 16 hex digits: the same value `loadlab run --format json` prints as `summary.trace_hash` for the
/// same arguments. Invalid arguments give a one-line message starting with `error:` instead.
#[wasm_bindgen]
pub fn trace_hash(scenario: &str, controller: &str, duration_s: f64, seed: u64) -> String {
    if !(duration_s.is_finite() && (0.001..=TRACE_HASH_DURATION_MAX_S).contains(&duration_s)) {
        return format!("error: duration must be from 0.001 to {TRACE_HASH_DURATION_MAX_S} s, got {duration_s}");
    }
    match crate::run_summary(scenario, controller, &[], duration_s, seed) {
        Ok(summary) => summary.get("trace_hash").and_then(|h| h.as_str()).unwrap_or_default().to_string(),
        Err(reason) => format!("error: {reason}"),
    }
}

/// Reads the page's initial state from the URL's query string.
fn state_from_url() -> State {
    State::from_query(&gloo::utils::window().location().search().unwrap_or_default())
}

/// Replaces the address bar's query so the current view can be shared; a relative URL keeps any sub-path.
fn write_url(query: &str) {
    if let Ok(history) = gloo::utils::window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?{query}")));
    }
}

/// The page's title line for a run: the story's headline and who runs it.
fn run_title(state: &State) -> String {
    let url = &state.url;
    let title = state.def().map_or(url.scenario.clone(), |d| d.story.title.to_string());
    let takes = state.def().is_some_and(|d| d.takes_controller);
    match (&url.controller_b, takes) {
        (_, false) => title,
        (Some(b), true) => format!("{title} · A: {} vs B: {b}", url.controller),
        (None, true) => format!("{title} · {}", url.controller),
    }
}

/// Which of the lesson step's buttons are in effect: its controller runs, its key holds its value.
fn lesson_active(state: &State) -> Vec<bool> {
    let (Some(def), Some(n)) = (state.def(), state.url.lesson) else { return Vec::new() };
    let Some(step) = def.lesson.get(n) else { return Vec::new() };
    let url = &state.url;
    step.actions
        .iter()
        .map(|a| match a.act {
            Act::Controller(c) => url.controller == c,
            Act::CompareWith(c) => url.controller_b.as_deref() == Some(c),
            Act::Set(k, v) => state.set_value(k) == Some(v),
            Act::Command(_) => false,
        })
        .collect()
}

/// This run's numbers for the lesson step shown, per run.
fn lesson_numbers(state: &State, snapshot: &Snapshot) -> Vec<String> {
    let (Some(def), Some(n)) = (state.def(), state.url.lesson) else { return Vec::new() };
    let Some(step) = def.lesson.get(n) else { return Vec::new() };
    snapshot.lanes.iter().map(|l| (step.numbers)(&l.summary)).collect()
}

/// The page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(state_from_url);
    let engine = EngineRef(use_mut_ref(Default::default));
    let snapshot = use_state(|| Rc::new(Snapshot::default()));
    use_effect_with(state.to_query(), |query| write_url(query));
    use_effect_with((state.url.embed, state.url.watch), |(embed, watch)| {
        if let Some(root) = gloo::utils::document().document_element() {
            root.set_class_name(match (embed, watch) {
                (_, true) => "embed watch",
                (true, _) => "embed",
                _ => "",
            });
        }
    });
    let dispatch = |make: fn(String) -> Action| {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(make(text)))
    };
    let signal = |action: Action| {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(action.clone()))
    };
    let on_snapshot = {
        let snapshot = snapshot.clone();
        Callback::from(move |s: Snapshot| snapshot.set(Rc::new(s)))
    };
    let on_halt = dispatch(Action::Halt);
    // What became of a command: recorded in the link at its time, or refused in words (then nothing changed).
    let on_outcome = {
        let state = state.clone();
        Callback::from(move |o: runner::Outcome| match o.result {
            Ok(t) => state.dispatch(Action::Record(o.text, t, o.run)),
            Err(reason) => state.dispatch(Action::Reject(format!("{} was not applied: {reason}", o.text))),
        })
    };
    let url = &state.url;
    use_frame_loop(
        engine.clone(),
        LoopInputs {
            url: url.clone(),
            generation: state.generation,
            playing: state.playing,
            speed: url.speed,
            seek_to: state.seek_to,
            steps: state.steps,
            lesson_step: url.lesson,
            watched: state.watched,
            view: state.view(),
            overview_chart: url.lesson.and_then(|n| state.def().and_then(|d| d.lesson.get(n))).map(|step| step.chart),
        },
        on_snapshot,
        on_outcome.clone(),
        on_halt.clone(),
    );
    let on_set = {
        let state = state.clone();
        Callback::from(move |(key, value): (String, String)| state.dispatch(Action::SetParam(key, value)))
    };
    let on_command = {
        let (engine, on_outcome) = (engine.clone(), on_outcome.clone());
        Callback::from(move |text: String| {
            // In workers the run's answer comes later, through the frame loop, to the same `on_outcome`.
            let (sent, run) = {
                let mut engine = engine.0.borrow_mut();
                (engine.command(&text), engine.run_link())
            };
            let result = match sent {
                Ok(runner::Sent::Applied(t)) => Ok(t),
                Ok(runner::Sent::Pending) => return,
                Err(reason) => Err(reason),
            };
            on_outcome.emit(runner::Outcome { text, result, run });
        })
    };
    let on_act = {
        let (state, on_command) = (state.clone(), on_command.clone());
        Callback::from(move |act: Act| match act {
            Act::Controller(c) => state.dispatch(Action::PickController(c.into())),
            Act::CompareWith(c) => state.dispatch(Action::PickControllerB(c.into())),
            Act::Set(k, v) => state.dispatch(Action::SetParam(k.into(), v.into())),
            Act::Command(text) => {
                on_command.emit(text.into());
                // A lesson step holds the run paused at its moment; play on so the command's effect shows.
                if !state.playing {
                    state.dispatch(Action::TogglePlay);
                }
            }
        })
    };
    let on_window = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            state.dispatch(Action::SetView(value))
        })
    };
    let on_extend = {
        let (state, end) = (state.clone(), snapshot.end_s);
        Callback::from(move |()| state.dispatch(Action::Extend(end)))
    };
    let on_next = {
        let (state, time) = (state.clone(), snapshot.time_s);
        Callback::from(move |()| state.dispatch(Action::LessonNext(time)))
    };
    let on_export_csv = {
        let (engine, url, on_halt) = (engine.clone(), url.clone(), on_halt.clone());
        Callback::from(move |_: MouseEvent| {
            if let Err(e) = export::csv(&engine.0.borrow(), &url) {
                on_halt.emit(format!("The CSV could not be exported: {e}"));
            }
        })
    };
    let on_export_png = {
        let (engine, url, on_halt, panels, title) =
            (engine.clone(), url.clone(), on_halt.clone(), snapshot.panels.clone(), run_title(&state));
        Callback::from(move |_: MouseEvent| {
            if let Err(e) = export::png(&engine.0.borrow(), &url, &panels, &title) {
                on_halt.emit(format!("The PNG could not be exported: {e}"));
            }
        })
    };
    let on_save_scenario = {
        let (engine, url, on_halt) = (engine.clone(), url.clone(), on_halt.clone());
        Callback::from(move |()| {
            if let Err(e) = export::scenario(&engine.0.borrow(), &url) {
                on_halt.emit(format!("The scenario file could not be saved: {e}"));
            }
        })
    };
    let on_open_scenario = {
        let state = state.clone();
        Callback::from(move |(name, text): (String, String)| state.dispatch(Action::OpenScenario(name, text)))
    };
    let on_reject = {
        let state = state.clone();
        Callback::from(move |why: String| state.dispatch(Action::Reject(why)))
    };
    let metrics = hooks::metrics::use_metrics(engine.clone(), url.clone(), snapshot.build);
    let on_use_fit = {
        let state = state.clone();
        Callback::from(move |sets: Vec<(String, String)>| {
            for (k, v) in sets {
                state.dispatch(Action::SetParam(k, v));
            }
        })
    };
    let s = &**snapshot;
    let alt = |i: usize| s.alts.get(i).cloned().unwrap_or_default();
    // The first screen shows the chart the lesson step is about (the run's first chart in free play).
    let focus = url
        .lesson
        .and_then(|n| state.def().and_then(|d| d.lesson.get(n)))
        .map(|step| format!("chart-{}", step.chart))
        .filter(|id| s.panels.iter().any(|p| p.dom_id == *id));
    let in_stage = |p: &Panel| match &focus {
        Some(id) => p.dom_id == *id || p.dom_id == format!("{id}-b"),
        None => is_primary(p),
    };
    let primary: Vec<(usize, &Panel)> = s.panels.iter().enumerate().filter(|(_, p)| in_stage(p)).collect();
    let rest: Vec<(usize, &Panel)> = s.panels.iter().enumerate().filter(|(_, p)| !in_stage(p)).collect();
    let watched = state.watched.unwrap_or_else(|| s.faulty.first().copied().unwrap_or(0));
    let pid_select = {
        let state = state.clone();
        let on_watch = Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            if let Ok(i) = value.parse::<usize>() {
                state.dispatch(Action::Watch(i));
            }
        });
        html! {
            <div class="field inline-field">
                <label for="pid-server">{ "Server whose terms are shown" }</label>
                <select id="pid-server" onchange={on_watch}>
                    { for s.names.iter().enumerate().map(|(i, n)| html! {
                        <option value={i.to_string()} selected={i == watched}>{ n.clone() }</option>
                    }) }
                </select>
            </div>
        }
    };
    let def = state.def();
    let takes_controller = def.is_some_and(|d| d.takes_controller);
    let table = engine.0.borrow().lanes.first().map(|l| l.run.command_table()).unwrap_or(&[]);
    let notice = (!state.notices.is_empty()).then(|| state.notices.join(" "));
    let full_view = {
        let mut full = url.clone();
        full.embed = false;
        full.watch = false;
        format!("?{}", crate::urlstate::to_query(&full))
    };
    let controllers: Vec<String> = s.lanes.iter().map(|l| l.controller.clone()).collect();
    let story = def.map(|d| d.story);
    // Challenges come after the lesson: at its last step, and in free play.
    let show_challenges = match (url.lesson, def) {
        (Some(n), Some(d)) => n + 1 >= d.lesson.len(),
        _ => true,
    };
    let glossary: &'static [(&'static str, &'static str)] = def.map_or(&[], |d| d.glossary);
    let headline = story.map_or(url.scenario.clone(), |st| st.headline.to_string());
    use_effect_with(headline.clone(), |h| gloo::utils::document().set_title(&format!("{h} · loadlab")));
    let picture_names: Vec<String> = s.faulty.iter().filter_map(|i| s.names.get(*i).cloned()).collect();
    let notes: Vec<(String, String)> = s.names.iter().cloned().zip(s.states.iter().cloned()).collect();
    // The picker offers the usual windows and, when the charts show another, that one, selected.
    let shown = state.view();
    let mut views: Vec<View> = WINDOWS.to_vec();
    if !views.contains(&shown) {
        views.push(shown);
    }
    let on_view = dispatch(Action::SetView);
    let vertical = gloo::utils::window().inner_width().ok().and_then(|w| w.as_f64()).is_some_and(|w| w < 700.0);
    html! {
        <main class={classes!("page", url.embed.then_some("embed"))}>
            <header class="intro">
                <p class="brand"><strong>{ "loadlab" }</strong>{ " · database clusters under failure, simulated in your browser" }</p>
                <h1 id="headline">{ headline }</h1>
                if let Some(st) = story {
                    <p class="brief" id="brief">{ st.brief }</p>
                }
            </header>
            if url.embed {
                // The embed's heading (the page's own is hidden in an embed): the run's title and a way out.
                <h1 class="embed-title" id="embed-title">{ run_title(&state) }{ " · " }
                    <a href={full_view} target="_blank" rel="noopener">{ "Open the full view" }</a></h1>
                if let Some(step) = url.lesson.and_then(|n| def.and_then(|d| d.lesson.get(n))) {
                    <p class="embed-caption" id="embed-caption"><strong>{ step.title }</strong>{ " " }{ step.text }</p>
                }
            }
            <Notice message={notice} on_dismiss={signal(Action::DismissNotice)} />
            <section class={classes!("stage", url.lesson.is_some().then_some("with-lesson"))} aria-label="the system and the lesson">
                <div class="stage-main">
                    <Picture scene={s.scene.clone()} controller={controllers.first().cloned().unwrap_or_default()}
                        faulty={picture_names} notes={notes} playing={state.playing}
                        table={components::servers::Table(table)} on_command={on_command.clone()} vertical={vertical} />
                    <div class="time-bar">
                        <Controls playing={state.playing} speed={url.speed} seed={url.seed}
                            on_toggle={signal(Action::TogglePlay)} on_step={signal(Action::Step)}
                            on_speed={dispatch(Action::SetSpeed)} on_restart={dispatch(Action::SetSeed)} />
                        <Share url={url.clone()} time_s={s.time_s} title={story.map_or(String::new(), |st| st.headline.to_string())} />
                    </div>
                    if show_challenges {
                        <Challenges list={ChallengeList(def.map_or(&[], |d| d.challenges))} snapshot={(*snapshot).clone()} />
                    }
                    <section class="stage-charts-wrap" aria-label="the run over time">
                        <div class="field inline-field window-field">
                            <label for="window">{ "Charts show" }</label>
                            <select id="window" onchange={on_window}>
                                { for views.iter().map(|v| html! {
                                    <option value={v.to_text()} selected={*v == shown}>{ v.words() }</option>
                                }) }
                            </select>
                        </div>
                        <div class={classes!("stage-charts", (primary.len() > 1).then_some("ab"))}>
                            { for primary.iter().map(|(i, p)| html! { <ChartFigure key={p.dom_id.clone()} panel={(*p).clone()} alt={alt(*i)} wide={true} /> }) }
                            <Overview span={s.x_span} end={s.overview_end} fixed={matches!(shown, View::Span(..))}
                                chart={s.overview_title.clone()} on_view={on_view} />
                            <Status snapshot={(*snapshot).clone()} on_extend={on_extend} />
                            if url.lesson.is_none() && def.is_some_and(|d| !d.lesson.is_empty()) {
                                <p class="lesson-again"><button type="button" id="lesson-start" class="link"
                                    onclick={signal(Action::LessonStart).reform(|_: MouseEvent| ())}>{ "Take the guided lesson" }</button></p>
                            }
                        </div>
                    </section>
                </div>
                if let Some(step) = url.lesson {
                    <Lesson scenario={url.scenario.clone()} step={step} controllers={controllers.clone()}
                        numbers={lesson_numbers(&state, s)} time_s={s.time_s}
                        on_next={on_next} on_back={signal(Action::LessonBack)} on_skip={signal(Action::LessonSkip)}
                        on_act={on_act} active={lesson_active(&state)} sets={url.sets.clone()} on_set={on_set.clone()} />
                }
            </section>
            <section class="bar" aria-label="what runs">
                <ScenarioPicker selected={url.scenario.clone()} on_pick={dispatch(Action::PickScenario)} />
                if takes_controller {
                    <ControllerPicker controller={url.controller.clone()} controller_b={url.controller_b.clone()}
                        on_pick={dispatch(Action::PickController)} on_pick_b={dispatch(Action::PickControllerB)} />
                }
            </section>
            <section class="lab" aria-label="more charts">
                if !glossary.is_empty() {
                    <p class="hint terms">{ "Words: " }
                        { for glossary.iter().enumerate().map(|(i, (t, _))| html! {
                            <>{ if i > 0 { ", " } else { "" } }{ term(t) }</>
                        }) }{ "." }</p>
                }
                <div class="charts">
                    { for rest.iter().map(|(i, p)| html! {
                        <ChartFigure key={p.dom_id.clone()} panel={(*p).clone()} alt={alt(*i)} wide={false}>
                            if p.kind == Kind::Pid { { pid_select.clone() } }
                        </ChartFigure>
                    }) }
                </div>
                <div class="exports row">
                    <button type="button" id="export-csv" onclick={on_export_csv}>{ "Export CSV" }</button>
                    <button type="button" id="export-png" onclick={on_export_png}>{ "Export charts as PNG" }</button>
                </div>
                <Metrics on_load={metrics.on_load} on_apply={metrics.on_apply} rules={metrics.rules}
                    align={metrics.align} status={metrics.status} fit_status={metrics.fit_status}
                    fitting={metrics.fitting} fit_best={metrics.fit_best} on_fit={metrics.on_fit}
                    on_stop={metrics.on_stop} on_use={on_use_fit} />
                <ScenarioFiles on_save={on_save_scenario} on_open={on_open_scenario} on_reject={on_reject}
                    from_file={url.file.is_some()} />
            </section>
            if takes_controller {
                <WhyPanel latest={s.why.clone()} controllers={controllers} run={s.build} />
                <ControllerParams controller={url.controller.clone()} values={url.sets.clone()} on_param={on_set.clone()} />
            }
            if url.file.is_none() {
                <Keys scenario={url.scenario.clone()} sets={url.sets.clone()} on_set={on_set} />
            }
            <Commands table={components::servers::Table(table)} names={s.names.clone()} states={s.states.clone()} faulty={s.faulty.clone()}
                on_command={on_command} />
            <Story scenario={url.scenario.clone()} />
            <Glossary terms={glossary} />
            <footer>
                <p>{ "Everything runs in this page; nothing is sent anywhere. Add embed=1 to the link for a compact view, watch=1 for one with no controls." }</p>
            </footer>
        </main>
    }
}

/// True for the panels on the first screen: the run's first chart, A's and B's.
fn is_primary(p: &Panel) -> bool {
    matches!(p.kind, Kind::Spec { index: 0, .. })
}

/// Shows a panic in the page as well as in the console: a panic is a bug, and it should be seen.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("loadlab stopped because of a bug: {info}");
        gloo::console::error!(message.clone());
        if let Some(body) = gloo::utils::document().body() {
            if let Ok(banner) = gloo::utils::document().create_element("div") {
                banner.set_class_name("fatal");
                banner.set_attribute("role", "alert").ok();
                banner.set_text_content(Some(&message));
                let _ = body.prepend_with_node_1(&banner);
            }
        }
    }));
}

/// Entry point on wasm32 (called from `main`): mounts [`App`] in `#app`, replacing the loading message. In a
/// simulation worker (no window; the same wasm, started by `static/worker.js`) it does nothing: the worker only
/// answers the page through [`protocol::worker_handle`].
pub fn start() {
    if web_sys::window().is_none() {
        return;
    }
    install_panic_hook();
    let document = gloo::utils::document();
    match document.get_element_by_id("app") {
        Some(root) => {
            root.set_inner_html("");
            yew::Renderer::<App>::with_root(root).render();
        }
        None => {
            yew::Renderer::<App>::new().render();
        }
    }
}
