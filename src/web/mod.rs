//! The browser app (wasm32 only): the explainer. A Yew page that runs the simulator live.
//!
//! Pick a scenario and read its story, pick a controller (and a second one for A/B) and tune it, break servers
//! and take operator actions while it runs, and watch the charts. The layout follows Yew's examples: [`App`]
//! here, the reducer in [`state`], one component per file in [`components`], and the model-driving code
//! ([`runner`], [`history`], [`plot`], [`frame_stats`]) free of any HTML.
//!
//! Invariants: the page never changes simulation state except through `Sim::run_until` and `Sim::apply`; the
//! wall clock only decides how far to advance simulated time; the URL holds the whole state (`urlstate`) and is
//! rewritten on every change; anything from the reader or the URL is validated and rejected with a visible
//! notice, never a panic.

pub mod components;
pub mod frame_stats;
pub mod history;
pub mod palette;
pub mod plot;
pub mod runner;
pub mod state;

use std::rc::Rc;

use wasm_bindgen::prelude::*;

// The component tests in this module tree run in headless Chromium, like the page itself (`make test-wasm`).
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
use yew::prelude::*;

use crate::command::{Command, Operator};
use components::cluster::Cluster;
use components::controller_picker::ControllerPicker;
use components::controls::Controls;
use components::lab::Lab;
use components::notice::Notice;
use components::scenario_picker::{ScenarioPicker, Story};
use components::servers::{Live, Servers};
use runner::EngineRef;
use state::{Action, State};

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
        Ok(summary) => format!("{:016x}", summary.trace_hash),
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

/// Formats a simulated time for a URL step: seconds with up to six decimals (whole microseconds).
fn step_time(t: f64) -> String {
    let text = format!("{t:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(state_from_url);
    let engine = use_mut_ref(Default::default);
    let engine = EngineRef(engine);
    use_effect_with(state.to_query(), |query| write_url(query));
    use_effect_with(state.url.embed, |embed| {
        if let Some(root) = gloo::utils::document().document_element() {
            root.set_class_name(if *embed { "embed" } else { "" });
        }
    });

    let send = |make: fn(String) -> Action| {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(make(text)))
    };
    let signal = |action: Action| {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(action.clone()))
    };
    let on_param = {
        let state = state.clone();
        Callback::from(move |(key, value): (String, String)| state.dispatch(Action::SetParam(key, value)))
    };
    let on_rate = {
        let state = state.clone();
        Callback::from(move |value: String| state.dispatch(Action::SetParam("rate_scale".into(), value)))
    };
    let on_step = {
        let (state, engine) = (state.clone(), engine.clone());
        Callback::from(move |()| {
            state.dispatch(Action::Pause);
            engine.0.borrow_mut().step_once();
        })
    };
    let on_command = {
        let (state, engine) = (state.clone(), engine.clone());
        Callback::from(move |(command, key, spec): Live| {
            let applied = engine.0.borrow_mut().apply(command);
            match applied {
                Ok(t) => state.dispatch(Action::Record(key.to_string(), format!("{spec}@{}", step_time(t)))),
                Err(reason) => state.dispatch(Action::Reject(format!("{key} {spec} was not applied: {reason}"))),
            }
        })
    };
    let on_surge = {
        let on_command = on_command.clone();
        Callback::from(move |factor: f64| {
            on_command.emit((runner::surge(factor), "surge", format!("{factor}")));
        })
    };

    let on_controller_off = {
        let on_command = on_command.clone();
        Callback::from(move |off: bool| {
            let (op, spec) = if off {
                (Operator::ControllerOff, "controller-off")
            } else {
                (Operator::ControllerOn, "controller-on")
            };
            on_command.emit((Command::Operator(op), "operator", spec.to_string()));
        })
    };
    let url = &state.url;
    let controller_off = url
        .sets
        .iter()
        .rev()
        .find(|(k, v)| k == "operator" && v.starts_with("controller-"))
        .is_some_and(|(_, v)| v.starts_with("controller-off"));
    let config = use_memo(url.scenario.clone(), |scenario| crate::scenario::build(scenario, "static", &[]).ok());
    let names: Rc<Vec<String>> = Rc::new(
        config.as_ref().as_ref().map(|c| c.servers.iter().map(|s| s.name.clone()).collect()).unwrap_or_default(),
    );
    let loads: Rc<Vec<f64>> =
        Rc::new(config.as_ref().as_ref().map(|c| c.servers.iter().map(|s| s.load).collect()).unwrap_or_default());
    let base = crate::scenario::default_rate_scale(&url.scenario);
    let rate = state.set_value("rate_scale").and_then(|v| v.parse::<f64>().ok()).unwrap_or(base);
    let surge = state
        .url
        .sets
        .iter()
        .rev()
        .find(|(k, _)| k == "surge")
        .and_then(|(_, v)| v.split('@').next().and_then(|f| f.parse::<f64>().ok()))
        .unwrap_or(1.0);
    let notice = (!state.notices.is_empty()).then(|| state.notices.join(" "));
    html! {
        <main class={classes!("page", url.embed.then_some("embed"))}>
            <header>
                <h1>{ "loadlab" }</h1>
                <p class="tagline">
                    { "Why one slow database replica can take a whole site down, and how each way of balancing                        connections reacts. A deterministic simulation running in this page: the same link always                        replays the same run." }
                </p>
            </header>
            <Notice message={notice} on_dismiss={signal(Action::DismissNotice)} />
            // The controls come first and the live chart right after them, so the first screen shows the run;
            // the story sits under the chart it explains.
            <section class="controls" aria-label="simulation settings">
                <div class="field-stack">
                    <ScenarioPicker selected={url.scenario.clone()} on_pick={send(Action::PickScenario)} />
                    <ControllerPicker controller={url.controller.clone()} controller_b={url.controller_b.clone()}
                        values={url.sets.clone()} on_pick={send(Action::PickController)}
                        on_pick_b={send(Action::PickControllerB)} on_param={on_param} />
                </div>
                <div class="field-stack">
                    <Controls playing={state.playing} speed={url.speed} seed={url.seed}
                        on_toggle={signal(Action::TogglePlay)} on_step={on_step}
                        on_speed={send(Action::SetSpeed)} on_restart={send(Action::SetSeed)} />
                    <Cluster rate_base={base} rate={rate} surge={surge} on_rate={on_rate} on_surge={on_surge}
                        controller_off={controller_off} on_controller_off={on_controller_off} />
                </div>
            </section>
            <Lab engine={engine.clone()} url={url.clone()} generation={state.generation} speed={url.speed}
                playing={state.playing} names={names.clone()} on_halt={send(Action::Halt)}
                story={html! { <Story scenario={url.scenario.clone()} /> }}>
                <Servers names={names} loads={loads} on_command={on_command} open={!url.embed} />
            </Lab>
            <footer>
                <p>{ "Everything runs in this page; nothing is sent anywhere. Add embed=1 to the link for a compact view." }</p>
            </footer>
        </main>
    }
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

/// Entry point on wasm32 (called from `main`): mounts [`App`] in `#app`, replacing the loading message.
pub fn start() {
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
