//! The reader's metrics beside the run: the file read, the pairing rules and the alignment, turned into the
//! overlay the charts draw ([`crate::web::runner::Engine::overlay`]) each time the run is rebuilt (its columns
//! and length may change) or the reader changes the rules. What it says back (series drawn, or why not) is
//! shown in the metrics box.

use std::rc::Rc;

use yew::prelude::*;

use crate::overlay::search::{Dim, Scoring, Search};
use crate::overlay::{self, search, AlignSpec, Limits, MapRule, Metrics, Target};
use crate::registry::{RunSpec, ScenarioDef};
use crate::urlstate::UrlState;
use crate::web::runner::{spec_for, Engine, EngineRef, TIME_STEP_S};

/// The largest metrics file the page reads, bytes.
pub const MAX_BYTES: usize = 16 << 20;

/// The most runs a fit in the page makes (the command line's `loadlab fit` takes up to 10 000).
pub const MAX_FIT_BUDGET: usize = 64;

/// What the reader asked a fit for: the keys to search (`KEY` or `KEY=LO..HI`, comma-separated) and the runs.
#[derive(Clone, Debug, PartialEq)]
pub struct FitRequest {
    /// The keys and their ranges, as `loadlab fit --keys` takes them.
    pub keys: String,
    /// Runs to make.
    pub budget: usize,
}

/// Wall-clock milliseconds one slice of a page fit may use; the rest of each 30 ms tick is the page's.
const FIT_SLICE_MS: f64 = 12.0;
/// Events a fit's run advances between two looks at the clock.
const FIT_EVENTS: u64 = 20_000;

/// What the metrics box shows and reports.
pub struct MetricsBox {
    /// The pairing rules now, one per line.
    pub rules: String,
    /// The alignment now.
    pub align: String,
    /// What was drawn, or why not (false).
    pub status: Option<(bool, String)>,
    /// A file was read (name, text).
    pub on_load: Callback<(String, String)>,
    /// New rules and alignment.
    pub on_apply: Callback<(String, String)>,
    /// Where a fit stands (running or done), in words.
    pub fit_status: Option<String>,
    /// True while a fit runs.
    pub fitting: bool,
    /// The best settings of the last finished fit, to apply.
    pub fit_best: Vec<(String, String)>,
    /// Start a fit.
    pub on_fit: Callback<FitRequest>,
    /// Stop a running fit.
    pub on_stop: Callback<()>,
}

/// A fit running in the page a slice at a time: the same search as `loadlab fit` ([`Search`]), each
/// candidate's run advanced a few thousand events per slice so the page never waits on it.
struct PageFit {
    search: Search,
    dims: Vec<Dim>,
    target: Target,
    def: &'static ScenarioDef,
    base: RunSpec,
    round: Vec<Option<f64>>,
    current: Option<Scoring>,
    runs: usize,
    budget: usize,
}

impl PageFit {
    /// Works for at most [`FIT_SLICE_MS`]; true when the search is over.
    fn slice(&mut self, now_ms: impl Fn() -> f64) -> bool {
        let start = now_ms();
        while now_ms() - start < FIT_SLICE_MS {
            if self.search.done() {
                return true;
            }
            let pending = self.search.pending();
            if self.round.len() == pending.len() {
                self.search.report(&std::mem::take(&mut self.round));
                continue;
            }
            let Some(scoring) = &mut self.current else {
                let i = pending.start + self.round.len();
                let mut spec = self.base.clone();
                spec.sets.extend(search::sets(&self.dims, &self.search.values(i)));
                match self.def.build_run(&spec) {
                    Ok(run) => self.current = Some(Scoring::new(run, &self.target)),
                    Err(_) => {
                        self.round.push(None);
                        self.runs += 1;
                    }
                }
                continue;
            };
            if scoring.step(FIT_EVENTS) {
                self.round.push(Some(scoring.finish(&self.target).0));
                self.current = None;
                self.runs += 1;
            }
        }
        false
    }

    /// The best candidate's keys and loss, if any ran.
    fn best(&self) -> Option<(Vec<(String, String)>, f64)> {
        self.search.best().map(|(i, loss)| (search::sets(&self.dims, &self.search.values(i)), loss))
    }

    /// Where it stands, in words.
    fn said(&self) -> String {
        let best = self.best().map_or(String::new(), |(_, l)| format!("; best loss so far {l:.4}"));
        let share = self.current.as_ref().map_or(0.0, Scoring::progress);
        format!(
            "Fitting: run {} of {} ({:.0}% through){best}.",
            (self.runs + 1).min(self.budget),
            self.budget,
            share * 100.0
        )
    }
}

/// The box's alignment text as a spec; empty means the run's 0 is the data's 0.
fn align_spec(align: &str) -> Result<AlignSpec, String> {
    AlignSpec::parse(if align.trim().is_empty() { "offset=0" } else { align.trim() })
}

/// A page fit of `request` on the run in `engine`, against the overlay drawn now.
fn start_fit(engine: &Engine, url: &UrlState, align: &str, request: &FitRequest) -> Result<PageFit, String> {
    let def = engine.def.ok_or("the simulation is not running")?;
    if engine.overlay.is_empty() {
        return Err("open your metrics first: the fit compares the runs with them".into());
    }
    let end_s = crate::time::as_secs_f64(engine.end());
    let dims = search::dims(def, &request.keys, end_s)?;
    if let AlignSpec::Fault(_) = align_spec(align)? {
        search::fault_time(def, &url.sets, &dims)?;
    }
    let budget = request.budget.clamp(1, MAX_FIT_BUDGET);
    let mut base = spec_for(def, url, &url.controller);
    base.duration_s = Some(end_s);
    base.sets.retain(|(k, _)| !dims.iter().any(|d| d.key == *k));
    let target = Target { series: engine.overlay.clone() };
    Ok(PageFit {
        search: Search::new(dims.clone(), budget, url.seed),
        dims,
        target,
        def,
        base,
        round: Vec::new(),
        current: None,
        runs: 0,
        budget,
    })
}

/// The overlay of `metrics` on the run in `engine`, with a sentence saying what is drawn.
fn overlay_for(
    engine: &Engine,
    url: &UrlState,
    name: &str,
    metrics: &Metrics,
    rules: &str,
    align: &str,
) -> Result<(Vec<overlay::Overlay>, String), String> {
    let rules = rules.lines().filter(|l| !l.trim().is_empty()).map(MapRule::parse).collect::<Result<Vec<_>, _>>()?;
    let lane = engine.lanes.first().ok_or("the simulation is not running")?;
    let columns: Vec<String> = lane.columns.iter().map(|c| c.name.clone()).collect();
    let pairs = overlay::map_series(metrics, &rules, &columns)?;
    let align = align_spec(align)?;
    let fault_s = match align {
        AlignSpec::Fault(_) => {
            let def = engine.def.ok_or("the simulation is not running")?;
            search::fault_time(def, &url.sets, &[])?.1
        }
        AlignSpec::Offset(_) => 0.0,
    };
    let end_s = crate::time::as_secs_f64(engine.end());
    let target = Target::new(metrics, &pairs, align.with_fault_time(fault_s), TIME_STEP_S, end_s)?;
    let paired: Vec<String> =
        target.series.iter().take(3).map(|s| format!("{} with {}", s.name, columns[s.column])).collect();
    let more = if target.series.len() > 3 { format!(" and {} more", target.series.len() - 3) } else { String::new() };
    let said = format!(
        "{name}: {} of its {} series drawn beside the run ({}{more}).",
        target.series.len(),
        metrics.series.len(),
        paired.join(", ")
    );
    Ok((target.series, said))
}

/// Keeps the engine's overlay in step with the reader's metrics, rules and alignment, and with each rebuild.
#[hook]
pub fn use_metrics(engine: EngineRef, url: UrlState, build: u32) -> MetricsBox {
    let file = use_state(|| None::<Rc<(String, Metrics)>>);
    let rules = use_state(String::new);
    let align = use_state(|| "offset=0".to_string());
    let status = use_state(|| None::<(bool, String)>);
    {
        let (status, engine) = (status.clone(), engine.clone());
        let key = ((*file).clone().map(|f| Rc::as_ptr(&f) as usize), (*rules).clone(), (*align).clone(), build);
        let file = (*file).clone();
        let url = url.clone();
        use_effect_with(key, move |(_, rules, align, _)| {
            let mut e = engine.0.borrow_mut();
            e.overlay.clear();
            e.overlay_version = e.overlay_version.wrapping_add(1);
            if let Some(f) = file {
                match overlay_for(&e, &url, &f.0, &f.1, rules, align) {
                    Ok((series, said)) => {
                        e.overlay = series;
                        status.set(Some((true, said)));
                    }
                    Err(why) => status.set(Some((false, format!("{}: not drawn: {why}", f.0)))),
                }
            }
        });
    }
    let on_load = {
        let (file, status) = (file.clone(), status.clone());
        Callback::from(move |(name, text): (String, String)| {
            let limits = Limits { max_bytes: MAX_BYTES, ..Limits::default() };
            if text.is_empty() {
                file.set(None);
                status.set(Some((false, format!("{name} is empty or over {MAX_BYTES} bytes."))));
                return;
            }
            match overlay::parse(&text, &limits) {
                Ok(m) => file.set(Some(Rc::new((name, m)))),
                Err(e) => {
                    file.set(None);
                    status.set(Some((false, format!("{name}: {e}"))));
                }
            }
        })
    };
    let on_apply = {
        let (rules, align) = (rules.clone(), align.clone());
        Callback::from(move |(r, a): (String, String)| {
            rules.set(r);
            align.set(a);
        })
    };
    let fit = use_mut_ref(|| None::<PageFit>);
    let ticker = use_mut_ref(|| None::<gloo::timers::callback::Interval>);
    let fit_status = use_state(|| None::<String>);
    let fit_best = use_state(Vec::<(String, String)>::new);
    let fitting = fit.borrow().is_some();
    let on_stop = {
        let (ticker, fit, fit_status) = (ticker.clone(), fit.clone(), fit_status.clone());
        Callback::from(move |()| {
            ticker.borrow_mut().take();
            if fit.borrow_mut().take().is_some() {
                fit_status.set(Some("Fit stopped.".into()));
            }
        })
    };
    let on_fit = {
        let (ticker, fit, fit_status, fit_best, engine, align) =
            (ticker.clone(), fit.clone(), fit_status.clone(), fit_best.clone(), engine.clone(), (*align).clone());
        Callback::from(move |request: FitRequest| {
            let started = start_fit(&engine.0.borrow(), &url, &align, &request);
            let page_fit = match started {
                Ok(f) => f,
                Err(why) => {
                    fit_status.set(Some(format!("The fit did not start: {why}")));
                    return;
                }
            };
            fit_best.set(Vec::new());
            fit_status.set(Some(page_fit.said()));
            *fit.borrow_mut() = Some(page_fit);
            let (fit, fit_status, fit_best) = (fit.clone(), fit_status.clone(), fit_best.clone());
            let now_ms = || gloo::utils::window().performance().map_or(0.0, |p| p.now());
            *ticker.borrow_mut() = Some(gloo::timers::callback::Interval::new(30, move || {
                let mut slot = fit.borrow_mut();
                let Some(f) = slot.as_mut() else { return };
                if !f.slice(now_ms) {
                    fit_status.set(Some(f.said()));
                    return;
                }
                match f.best() {
                    Some((sets, loss)) => {
                        let shown = |v: &str| v.parse().map_or(v.to_string(), |x| crate::engine::picture::human(x, 3));
                        let keys: Vec<String> = sets.iter().map(|(k, v)| format!("{k} = {}", shown(v))).collect();
                        fit_status.set(Some(format!(
                            "Best of {} runs: {} (loss {loss:.4}: 0 is an exact match, 1 no better than a flat line at your data's mean).",
                            f.runs,
                            keys.join(", ")
                        )));
                        fit_best.set(sets);
                    }
                    None => fit_status.set(Some("No run of the fit could be built with those ranges.".into())),
                }
                // Done: the ticker idles until the next fit or Stop replaces it (an Interval must not be dropped
                // from inside its own callback).
                *slot = None;
            }));
        })
    };
    MetricsBox {
        rules: (*rules).clone(),
        align: (*align).clone(),
        status: (*status).clone(),
        on_load,
        on_apply,
        fit_status: (*fit_status).clone(),
        fitting,
        fit_best: (*fit_best).clone(),
        on_fit,
        on_stop,
    }
}
