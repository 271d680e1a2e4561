//! The reader's metrics beside the run: the file read, the pairing rules and the alignment, turned into the
//! overlay the charts draw ([`crate::web::runner::Engine::overlay`]) each time the run is rebuilt (its columns
//! and length may change) or the reader changes the rules. What it says back (series drawn, or why not) is
//! shown in the metrics box.

use std::rc::Rc;

use yew::prelude::*;

use crate::overlay::{self, search, AlignSpec, Limits, MapRule, Metrics, Target};
use crate::urlstate::UrlState;
use crate::web::components::metrics::MAX_BYTES;
use crate::web::runner::{Engine, EngineRef, TIME_STEP_S};

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
    let align = AlignSpec::parse(if align.trim().is_empty() { "offset=0" } else { align.trim() })?;
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
    MetricsBox { rules: (*rules).clone(), align: (*align).clone(), status: (*status).clone(), on_load, on_apply }
}
