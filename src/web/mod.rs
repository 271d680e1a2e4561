//! The browser app (wasm32 only): a Yew page that runs the simulator live.
//!
//! Until the explainer lands, the page is a shell around one running simulation: pick a scenario, play or pause,
//! set the seed and the speed, and watch each server's active connections on a live chart. The layout follows
//! Yew's examples: [`App`] here, the reducer in [`state`], one component per file in [`components`], and the
//! model-driving code ([`runner`], [`history`], [`plot`]) free of any HTML.
//!
//! Invariants: the page never changes simulation state except through `Sim::run_until` and `Sim::apply`; the
//! wall clock only decides how far to advance simulated time; anything from the reader or the URL is validated
//! by the reducer and rejected with a visible notice, never a panic.

pub mod components;
pub mod history;
pub mod palette;
pub mod plot;
pub mod runner;
pub mod state;

use wasm_bindgen::prelude::*;
use yew::prelude::*;

use components::controls::Controls;
use components::live_chart::LiveChart;
use components::notice::Notice;
use components::scenario_picker::ScenarioPicker;
use components::seed_input::SeedInput;
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

/// Reads the page's initial settings from the URL's query string.
fn state_from_url() -> State {
    let search = gloo::utils::window().location().search().unwrap_or_default();
    match web_sys::UrlSearchParams::new_with_str(&search) {
        Ok(params) => State::from_params(
            params.get("scenario").as_deref(),
            params.get("seed").as_deref(),
            params.get("speed").as_deref(),
        ),
        Err(_) => State::default(),
    }
}

/// Replaces the address bar's query so the current view can be shared; a relative URL keeps any sub-path.
fn write_url(query: &str) {
    if let Ok(history) = gloo::utils::window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(query));
    }
}

/// The page.
#[component]
pub fn App() -> Html {
    let state = use_reducer(state_from_url);
    use_effect_with(state.to_query(), |query| write_url(query));

    let send = |make: fn(String) -> Action| {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(make(text)))
    };
    let signal = |action: Action| {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(action.clone()))
    };
    let info = state.scenario_info();
    html! {
        <main class="page">
            <header>
                <h1>{ "loadlab" }</h1>
                <p class="tagline">
                    { "A deterministic simulation of database load balancing: app hosts pick replicas, \
                       connections open, queries run. The same scenario and seed always replay the same run." }
                </p>
            </header>
            <Notice message={state.notice.clone()} on_dismiss={signal(Action::DismissNotice)} />
            <section class="controls" aria-label="simulation settings">
                <ScenarioPicker selected={info.name} on_pick={send(Action::PickScenario)} />
                <Controls playing={state.playing} speed={state.speed}
                    on_toggle={signal(Action::TogglePlay)} on_restart={signal(Action::Restart)}
                    on_speed={send(Action::SetSpeed)} />
                <SeedInput seed={state.seed} on_seed={send(Action::SetSeed)} />
            </section>
            <LiveChart scenario={info.name} seed={state.seed} restarts={state.restarts} speed={state.speed}
                playing={state.playing} on_halt={send(Action::Halt)} />
            <footer>
                <p>{ "Balancing: static weights (MediaWiki with LoadMonitor off). \
                      Everything runs in this page; nothing is sent anywhere." }</p>
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
