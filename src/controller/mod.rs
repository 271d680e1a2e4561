//! Balancing controllers: how one app host chooses a replica for a new connection.
//!
//! A controller sees only a [`HostView`]: what its own host could know when it picks (its own in-flight counts
//! and, in later controllers, its own connect results and shared state that may be stale). It never sees the
//! simulator. The engine tells it about its own connects and closes through the `on_*` callbacks, and it answers
//! `pick` with an index into the candidates. One instance runs per app host.

pub mod load_index;
mod mediawiki;
pub mod pick_index;
mod production;
mod static_weights;

use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};

pub use static_weights::StaticWeights;

/// What part a server plays in the section: all a controller's builder reads about the servers. In a scenario
/// file: `"primary"` or `"replica"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Takes the fraction `primary_fraction` of requests (writes and read-your-writes); never balanced.
    Primary,
    /// A read replica, chosen by the host's balancing controller.
    Replica,
}

/// One replica this host may pick for the current request (not yet tried by it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Index of the server in the section's config.
    pub server: usize,
    /// The configured load (weight), as operators set it.
    pub configured_load: f64,
    /// Connections this host has open or opening to the server right now.
    pub in_flight: u32,
}

/// What a controller may know when it picks: its own host's view of the section.
#[derive(Clone, Copy, Debug)]
pub struct HostView<'a> {
    /// Current simulated time, µs.
    pub now: SimTime,
    /// Which app host this is.
    pub host: usize,
    /// How many app hosts the section has (a host may scale its own counts by it to estimate section totals).
    pub hosts: usize,
    /// Eligible replicas, in config order. Never empty when `pick` is called. `configured_load` already includes
    /// operator overrides (pin, depool, drain, repool ramps).
    pub candidates: &'a [Candidate],
    /// The configured loads of `candidates` as an O(log n) sampling index, when the candidates are the host's
    /// full replica list (the common first pick); `None` after a failed connect, with pins or zero loads.
    pub load_index: Option<&'a load_index::LoadIndex>,
}

impl HostView<'_> {
    /// A candidate drawn with probability proportional to its configured load: O(log n) through
    /// `load_index` when there is one, else a scan. Both map the same uniform draw to the same candidate
    /// (up to the last bit of the cumulative sums).
    // Inline: once or twice a request, where the call and its saved registers cost as much as the body (callgrind).
    #[inline(always)]
    pub fn sample_by_load(&self, rng: &mut Rng) -> Option<usize> {
        match self.load_index {
            Some(index) => index.sample(rng),
            None => pick_weighted(self.candidates, rng, |_, c| c.configured_load),
        }
    }
}

/// What a gauge ("probe") connection found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    /// True if the gauge connection was accepted.
    pub connected: bool,
    /// Connections on the server when the probe counted its PROCESSLIST (including waiting connects and the
    /// probe itself); 0 when not connected.
    pub conn_count: u32,
    /// Time from the probe's connect attempt to its result, µs.
    pub elapsed: SimDuration,
}

/// A balancing policy running on one app host.
///
/// The engine calls, per request: `pick` (then `take_probes`), then `on_connect` when the connect resolves and
/// `on_close` when an established connection closes. Probes asked for in `take_probes` are real connections with
/// the controller's probe connect timeout (`ControllerInfo::probe_timeout_ms`); each one's result comes back through `on_probe` on the host that asked.
pub trait Controller {
    /// Chooses one of `view.candidates` (returns its index), or `None` to fail the request fast ("overloaded").
    fn pick(&mut self, view: &HostView<'_>, rng: &mut Rng) -> Option<usize>;

    /// This host's count of connections open or opening to `server` (a candidate's `in_flight`) is now
    /// `in_flight`. The section calls it on every change, so a controller can keep its own index of the counts and
    /// pick without scanning the candidates (see `pick_index`).
    fn on_in_flight(&mut self, _server: usize, _in_flight: u32) {}

    /// This host's connect to `server` finished after `elapsed` µs: `ok` is false for a timeout or refusal.
    fn on_connect(&mut self, _now: SimTime, _server: usize, _ok: bool, _elapsed: SimDuration) {}

    /// This host closed an established connection to `server`, held for `held` µs from its connect attempt.
    fn on_close(&mut self, _now: SimTime, _server: usize, _held: SimDuration) {}

    /// This host's established connection to `server` was lost mid-query (the server crashed): the connection
    /// is gone, as with `on_close`, and the request failed. Default: treated as a close; controllers that count
    /// errors (Envoy's outlier detection) count it as one.
    fn on_lost(&mut self, now: SimTime, server: usize, held: SimDuration) {
        self.on_close(now, server, held);
    }

    /// Appends the servers this host wants to probe now. Called right after every `pick`.
    fn take_probes(&mut self, _now: SimTime, _out: &mut Vec<usize>) {}

    /// False for a controller that overrides none of the per-request notifications (`on_in_flight`,
    /// `on_connect`, `on_close`, `on_lost`, `take_probes`): the section then skips those calls through
    /// `dyn Controller`, four or five a request (3% of the instructions of `loadlab bench`'s engine run, static).
    /// Default true: a controller that overrides any of them must keep it.
    fn listens(&self) -> bool {
        true
    }

    /// True for a controller whose `pick` is exactly [`HostView::sample_by_load`] with nothing else done (static):
    /// the section's common first pick, whose view always carries the load index, then draws from the index
    /// itself instead of calling `pick` through `dyn Controller`. Default false.
    fn picks_by_load(&self) -> bool {
        false
    }

    /// The result of a probe this host asked for.
    fn on_probe(&mut self, _now: SimTime, _server: usize, _result: ProbeResult) {}

    /// The result of a probe this host asked for, with the replication lag its gauge read through pt-heartbeat,
    /// s (`None` when the gauge could not connect: MediaWiki's lag `false`). The engine calls this one; the
    /// default forwards to [`Controller::on_probe`] for controllers that do not look at lag.
    fn on_probe_lag(&mut self, now: SimTime, server: usize, result: ProbeResult, _lag_s: Option<f64>) {
        self.on_probe(now, server, result);
    }

    /// This controller's estimate of the connections on `server`, which the section circuit breaker compares
    /// with its cap. `None` means it keeps no estimate; the breaker then uses this host's in-flight count.
    fn conn_estimate(&self, _server: usize) -> Option<f64> {
        None
    }

    /// The weights this host would pick with now, one per candidate, for charts. Default: the configured loads.
    fn weights(&self, view: &HostView<'_>, out: &mut Vec<f64>) {
        out.extend(view.candidates.iter().map(|c| c.configured_load));
    }

    /// Named internal terms for one server (error, P, I, D, clamp, EWMA, ejection…), for charts and the
    /// "why this server?" panel. Default: none.
    fn diagnostics(&self, _server: usize, _out: &mut Vec<(&'static str, f64)>) {}
}

/// Builds one controller instance per app host. Builders may share state between the instances they build
/// (a cluster cache). The section's servers are given as their roles, in config order: a builder sizes its
/// per-server state by their number and keeps only the replicas, and needs nothing else of the section's config.
pub type Builder = fn(spec: &ControllerSpec, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>>;

/// A tunable parameter of a controller, with its unit, default and valid range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamInfo {
    /// The key, as given to `--set` and in URLs.
    pub key: &'static str,
    /// What the page calls it, in plain words (sentence case, no underscores, dots or code words; unique among
    /// its controller's parameters): "Proportional gain". The key is shown only under the control's technical
    /// details.
    pub label: &'static str,
    /// Unit, for `loadlab list` and slider labels.
    pub unit: &'static str,
    /// Default value, from the source system.
    pub default: f64,
    /// Smallest valid value.
    pub min: f64,
    /// Largest valid value.
    pub max: f64,
    /// For a switch or a choice between versions, its only valid values, each with what it means in a few
    /// plain words (the page draws a select of these, not a slider); empty for a number anywhere in range.
    pub choices: &'static [(f64, &'static str)],
    /// One line: what it does and where the default comes from.
    pub help: &'static str,
}

/// A controller's name, one-line description, parameters and builder.
#[derive(Clone, Copy)]
pub struct ControllerInfo {
    /// The name, part of the CLI and URL interface.
    pub name: &'static str,
    /// One line for `loadlab list`.
    pub summary: &'static str,
    /// How one pick is made, in plain words for the page's "why this server?" panel: every controller's
    /// [`Controller::weights`] are proportional to its pick probabilities, so the panel's chance column is right
    /// for all of them, but only some draw at random (least-conn does not draw at all).
    pub rule: &'static str,
    /// Its tunable parameters.
    pub params: &'static [ParamInfo],
    /// The one or two of `params` that shape its behaviour most: the ones a lesson step about this controller
    /// puts on the lesson card, beside the chart (pid's gains, conn-p's S and E).
    pub main_params: &'static [&'static str],
    /// Makes the per-host instances.
    pub build: Builder,
    /// The weights the controller would set from configured loads and connection counts, where it has a closed
    /// form (for `loadlab weights`, the runbook calculator); `None` where it has not.
    pub formula: Option<WeightsFormula>,
    /// Connect timeout of this controller's probe (gauge) connections, ms: the section's `probe_connect_timeout`
    /// unless the scenario key `probe_timeout_ms` is set. [`PROBE_TIMEOUT_MS`] (LoadMonitor's 1 s) for most;
    /// mw-legacy's gauge was an ordinary connection (3 s).
    pub probe_timeout_ms: f64,
    /// The terms of its `diagnostics` that belong on one chart together (the page's P and PID chart); empty for
    /// controllers whose terms are not charted.
    pub charted_terms: &'static [&'static str],
    /// What one host's instance keeps per server, bytes, for the section's memory budget
    /// ([`crate::models::section::config::limits`]). Measured, not derived: peak RSS of `mmc` with 1000 servers
    /// × 1000 hosts at utilization 0.1 for 1 s, less the same run on one host, per (host, server) pair, less the
    /// section's own 28 bytes, rounded up (static 0, p2c 11, least-conn 18, peak-ewma 20, envoy 55, conn-p 140,
    /// mw-legacy 144, mw-loadmonitor 145, pid 226; issue 23). The O(log n) pick indexes of issue 22 added, as
    /// derived from their fields, not measured: least-conn about 95 (counts at the last pick, a min-tree of
    /// 28-byte nodes, two per server, its loads and positions), envoy-least-request about 60 (counts, a Fenwick tree
    /// of effective weights), peak-ewma 12 (counts at the last pick), mw-legacy about 80 (per-position weights and
    /// a Fenwick tree of them, settled keys' expiry times), mw-loadmonitor about 80 (its read index: positions,
    /// classes, reading counts, T terms, the deferred expiries' times, the cluster cache's record of stored keys
    /// and the heap of due times).
    pub bytes_per_server: u64,
}

/// The error, P, I and D terms of conn-p and pid, the ones their chart draws.
pub const PID_TERMS: &[&str] = &["error", "P", "I", "D"];

/// The default probe connect timeout, ms: LoadMonitor's gauge connections time out after 1 s (REFERENCE §1).
pub const PROBE_TIMEOUT_MS: f64 = 1000.0;

/// A controller's closed form: `(spec, configured loads, connection counts) → weights`, one per server.
pub type WeightsFormula = fn(spec: &ControllerSpec, loads: &[f64], conns: &[f64]) -> Vec<f64>;

impl std::fmt::Debug for ControllerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerInfo").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Every controller loadlab knows, in the order `loadlab list` prints them.
pub fn controllers() -> &'static [ControllerInfo] {
    // The registry: one line per controller module, in the order `loadlab list` prints them.
    &[
        static_weights::INFO,
        mediawiki::MW_LEGACY,
        mediawiki::MW_LOADMONITOR,
        mediawiki::CONN_P,
        mediawiki::PID,
        production::P2C,
        production::LEAST_CONN,
        production::ENVOY_LEAST_REQUEST,
        production::PEAK_EWMA,
    ]
}

/// Looks up a controller by name.
pub fn controller_info(name: &str) -> Option<&'static ControllerInfo> {
    controllers().iter().find(|c| c.name == name)
}

/// True if `key` is a parameter of the controller named `controller`: the one place that says which `--set`
/// keys a controller owns.
pub fn is_param_of(controller: &str, key: &str) -> bool {
    controller_info(controller).is_some_and(|i| i.params.iter().any(|p| p.key == key))
}

/// The `--set` pairs that apply to `controller` when the same pairs also configure the `others` (the page's other
/// A/B lane; every controller for `compare`): the scenario's keys and `controller`'s own parameters, not the
/// parameters only the others have. A key two controllers share (`halving_conns`) goes to both.
pub fn sets_for<'a>(
    controller: &str,
    others: impl IntoIterator<Item = &'a str>,
    sets: &[(String, String)],
) -> Vec<(String, String)> {
    let others: Vec<&str> = others.into_iter().filter(|c| *c != controller).collect();
    sets.iter()
        .filter(|(k, _)| is_param_of(controller, k) || !others.iter().any(|o| is_param_of(o, k)))
        .cloned()
        .collect()
}

/// A validated choice of controller and its parameter values; builds one instance per host.
#[derive(Clone, Debug)]
pub struct ControllerSpec {
    info: &'static ControllerInfo,
    values: Vec<f64>,
}

impl Default for ControllerSpec {
    fn default() -> Self {
        ControllerSpec::new("static").expect("static is always registered")
    }
}

impl ControllerSpec {
    /// The named controller with its default parameters, or a one-line error naming the valid controllers.
    pub fn new(name: &str) -> Result<ControllerSpec, String> {
        let info = controller_info(name).ok_or_else(|| {
            let names: Vec<&str> = controllers().iter().map(|c| c.name).collect();
            format!("unknown controller {}; valid controllers: {}", crate::engine::keys::quote(name), names.join(", "))
        })?;
        Ok(ControllerSpec { info, values: info.params.iter().map(|p| p.default).collect() })
    }

    /// The controller's name.
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    /// The controller's description and parameters.
    pub fn info(&self) -> &'static ControllerInfo {
        self.info
    }

    /// True if `key` is one of this controller's parameters.
    pub fn has_param(&self, key: &str) -> bool {
        self.info.params.iter().any(|p| p.key == key)
    }

    /// Sets a parameter after checking it is finite and within its documented range.
    pub fn set(&mut self, key: &str, value: f64) -> Result<(), String> {
        let i = self.info.params.iter().position(|p| p.key == key).ok_or_else(|| {
            let keys: Vec<&str> = self.info.params.iter().map(|p| p.key).collect();
            let keys = if keys.is_empty() { "none".to_string() } else { keys.join(", ") };
            format!(
                "controller {} has no parameter {}; its parameters: {keys}",
                self.info.name,
                crate::engine::keys::quote(key)
            )
        })?;
        let p = &self.info.params[i];
        if !p.choices.is_empty() && !p.choices.iter().any(|(v, _)| *v == value) {
            let options: Vec<String> = p.choices.iter().map(|(v, words)| format!("{v} ({words})")).collect();
            return Err(format!(
                "{key} must be one of {}, got {}",
                options.join(", "),
                crate::engine::keys::quote(&value.to_string())
            ));
        }
        if !value.is_finite() || value < p.min || value > p.max {
            return Err(format!(
                "{key} must be a number from {} to {} ({}), got {}",
                p.min,
                p.max,
                p.unit,
                crate::engine::keys::quote(&value.to_string())
            ));
        }
        self.values[i] = value;
        Ok(())
    }

    /// A parameter's current value (its default unless set). `key` is one of the controller's own declared
    /// parameters, named in its builder; a key it does not declare is a bug, so it panics with the key rather than
    /// reading NaN, which would silently turn a switch off (every test that builds the controller finds it).
    pub fn get(&self, key: &str) -> f64 {
        match self.info.params.iter().position(|p| p.key == key) {
            Some(i) => self.values[i],
            None => panic!("controller {} reads {key}, which it does not declare", self.info.name),
        }
    }

    /// Builds the controller instances for every app host, given each server's role in config order.
    pub fn instantiate_all(&self, servers: &[Role], hosts: usize) -> Vec<Box<dyn Controller>> {
        (self.info.build)(self, servers, hosts)
    }
}

impl PartialEq for ControllerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.info.name == other.info.name && self.values == other.values
    }
}

/// In a scenario file: `{ name = "conn-p", params = { full_swing_conns = 100.0, … } }`, every parameter written
/// out on export; on reading, missing parameters take their defaults and each given one is range-checked.
impl serde::Serialize for ControllerSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let params: serde_json::Map<String, serde_json::Value> =
            self.info.params.iter().zip(&self.values).map(|(p, v)| (p.key.to_string(), (*v).into())).collect();
        let mut st = s.serialize_struct("ControllerSpec", 2)?;
        st.serialize_field("name", self.info.name)?;
        st.serialize_field("params", &params)?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for ControllerSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Text {
            name: String,
            #[serde(default)]
            params: std::collections::BTreeMap<String, f64>,
        }
        let text = Text::deserialize(d)?;
        let mut spec = ControllerSpec::new(&text.name).map_err(serde::de::Error::custom)?;
        for (key, value) in &text.params {
            spec.set(key, *value).map_err(serde::de::Error::custom)?;
        }
        Ok(spec)
    }
}

/// A [`Builder`] for controllers with no shared state: `make` runs once per host.
pub fn per_host<C: Controller + 'static>(hosts: usize, mut make: impl FnMut(usize) -> C) -> Vec<Box<dyn Controller>> {
    (0..hosts).map(|h| Box::new(make(h)) as Box<dyn Controller>).collect()
}

/// Picks a candidate at random with probability proportional to `weight(candidate)`; `None` if all weights are
/// zero. The shared building block of weighted controllers (MediaWiki's `ArrayUtils::pickRandom`).
pub fn pick_weighted(
    candidates: &[Candidate],
    rng: &mut Rng,
    weight: impl Fn(usize, &Candidate) -> f64,
) -> Option<usize> {
    // Two passes, recomputing each weight, instead of a buffer: weights are cheap, and picks are the hot path.
    // `max(0.0)` maps NaN and negative weights to zero.
    let total: f64 = candidates.iter().enumerate().map(|(i, c)| weight(i, c).max(0.0)).sum();
    if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !total.is_finite() {
        return None;
    }
    let mut target = rng.next_f64() * total;
    let mut last_positive = None;
    for (i, c) in candidates.iter().enumerate() {
        let w = weight(i, c).max(0.0);
        if w > 0.0 {
            if target < w {
                return Some(i);
            }
            target -= w;
            last_positive = Some(i);
        }
    }
    last_positive // rounding left the target just past the end
}
