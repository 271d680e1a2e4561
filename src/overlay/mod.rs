//! Your metrics beside a run: reads a time-series export into named series of `(t_seconds, value)`, maps each
//! series to a column of a model's rows, aligns its clock with the run's, and scores a run against it.
//!
//! Pure: no IO, no clock, so the page (wasm32) and the CLI (`loadlab fit`) share it. Three formats, one file each:
//!
//! - [`prometheus`]: the JSON of Prometheus's `/api/v1/query_range` (a `matrix` result). Each series is named
//!   from its labels the way Prometheus prints them, `name{label="v",…}` with the labels sorted.
//! - [`table`] reads CSV, in two flavours: a Grafana panel's "Download CSV" (Inspect → Data; a `"Time"` column,
//!   then one column per series; an optional `sep=,` line and byte-order mark from "Download for Excel"; `,` or
//!   `;` between fields; time as `YYYY-MM-DD HH:mm:ss` with "Formatted data" on or epoch milliseconds with it off)
//!   and a plain CSV, either long (`time,series,value`) or wide (a time column, then one column per series; time
//!   as seconds or ISO-8601). loadlab's own `run` CSV (`time_s`, `db1119.active_conns`, …) is a wide CSV, and its
//!   columns map to themselves with no mapping given.
//!
//! Every bad input is a one-line error naming the line (and the column where one applies); inputs over
//! [`Limits`] are refused before they are read further.
//!
//! ## The loss
//!
//! [`Target::loss`] scores a run's rows against the mapped, aligned series: for each series, the mean squared
//! difference between each data point and the simulated column at the point's time (interpolated linearly
//! between the run's rows), divided by the variance of that series' data points; then the mean over series.
//! Dividing by the variance makes the loss unitless, so a 1000-connection series does not drown a 0..1 busy
//! fraction, and gives it a reading like 1 − R²: 0 is a perfect match, 1 is no better than the series' own mean,
//! and data with independent noise of variance σ² cannot score below about σ² / variance. A constant series is
//! (variance within a billionth of its mean squared, which is rounding) is divided by its mean squared instead (by 1 if that is 0). Only points whose aligned time lies within the run's
//! rows (from the first row's time to the last's) count.

pub mod prometheus;
pub mod search;
pub mod table;
pub mod timestamp;

use crate::engine::keys::{name_list, quote};

/// One named series: `(t_seconds, value)` points sorted by time. Times are as the data gives them (seconds,
/// or seconds since the Unix epoch for dates), before alignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its name: a Prometheus series' labels, a CSV column's header, or a long CSV's series cell.
    pub name: String,
    /// The points, sorted by time; non-finite values (NaN, ±Inf, empty cells) are left out.
    pub points: Vec<(f64, f64)>,
}

/// What a file was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus `query_range` JSON.
    Prometheus,
    /// A Grafana panel's CSV export (numeric times are epoch milliseconds).
    Grafana,
    /// A plain CSV, long or wide (numeric times are seconds).
    Csv,
}

impl Format {
    /// Its name, as `--metrics-format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Prometheus => "prometheus",
            Format::Grafana => "grafana",
            Format::Csv => "csv",
        }
    }
}

/// A parsed export.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// What it was read as.
    pub format: Format,
    /// Its series, in the file's order.
    pub series: Vec<Series>,
}

impl Metrics {
    /// Every point of every series.
    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }
}

/// The most a parse accepts; over any of them is a one-line error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of text.
    pub max_bytes: usize,
    /// Series.
    pub max_series: usize,
    /// Points, over all series.
    pub max_points: usize,
}

impl Default for Limits {
    /// 64 MiB, 10 000 series, 5 000 000 points: a week of 15 s samples for 40 series is 1.6 million.
    fn default() -> Limits {
        Limits { max_bytes: 64 << 20, max_series: 10_000, max_points: 5_000_000 }
    }
}

impl Limits {
    fn check_bytes(&self, text: &str) -> Result<(), String> {
        if text.len() > self.max_bytes {
            return Err(format!("metrics: {} bytes is over the limit of {} bytes", text.len(), self.max_bytes));
        }
        Ok(())
    }

    fn check_series(&self, n: usize, line: usize) -> Result<(), String> {
        if n > self.max_series {
            return Err(format!("line {line}: more than {} series; that is the limit", self.max_series));
        }
        Ok(())
    }

    fn check_points(&self, n: usize, line: usize) -> Result<(), String> {
        if n > self.max_points {
            return Err(format!("line {line}: more than {} points; that is the limit", self.max_points));
        }
        Ok(())
    }
}

/// Reads an export, detecting its format: JSON (first non-blank character `{`) is Prometheus; a CSV whose header
/// starts with a quoted `"Time"` (as Grafana writes it) or that starts with a `sep=` line is Grafana's; any other
/// CSV is plain.
pub fn parse(text: &str, limits: &Limits) -> Result<Metrics, String> {
    parse_as(text, detect(text), limits)
}

/// What [`parse`] would read `text` as.
pub fn detect(text: &str) -> Format {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('{') {
        return Format::Prometheus;
    }
    let first = body.lines().next().unwrap_or("");
    if first.starts_with("sep=") || first.starts_with("\"Time\"") {
        Format::Grafana
    } else {
        Format::Csv
    }
}

/// Reads an export as the given format.
pub fn parse_as(text: &str, format: Format, limits: &Limits) -> Result<Metrics, String> {
    limits.check_bytes(text)?;
    let series = match format {
        Format::Prometheus => prometheus::parse(text, limits)?,
        Format::Grafana => table::parse(text, table::Clock::EpochMillis, limits)?,
        Format::Csv => table::parse(text, table::Clock::Seconds, limits)?,
    };
    if series.is_empty() {
        return Err("metrics: the file holds no series".into());
    }
    Ok(Metrics { format, series })
}

/// Parses `--metrics-format`'s word; `auto` is `None`.
pub fn parse_format(raw: &str) -> Result<Option<Format>, String> {
    match raw.trim() {
        "auto" => Ok(None),
        "prometheus" => Ok(Some(Format::Prometheus)),
        "grafana" => Ok(Some(Format::Grafana)),
        "csv" => Ok(Some(Format::Csv)),
        _ => Err(format!("metrics format {} is not valid; expected auto, prometheus, grafana or csv", quote(raw))),
    }
}

/// One `SERIES=COLUMN` mapping. `SERIES` may hold up to [`MAX_STARS`] `*` wildcards, each matching any run of
/// characters; each `*` in `COLUMN` is replaced, in order, by what the matching `*` of `SERIES` matched, so
/// `conns{host="*"}=*.active_conns` maps every host's series to that host's column.
///
/// A glob, not a regex: series names are Prometheus label sets full of `{`, `"`, `.` and `=`, which a regex would
/// make the user escape, and the `regex` crate is not otherwise a dependency of the page's wasm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapRule {
    /// The series name or glob.
    pub series: String,
    /// The model's column, with `*` for each capture.
    pub column: String,
}

/// The most `*` a mapping's series pattern may hold.
pub const MAX_STARS: usize = 4;

impl MapRule {
    /// Parses `SERIES=COLUMN`, split at the last `=` (a Prometheus name holds `=`; a column never does).
    pub fn parse(raw: &str) -> Result<MapRule, String> {
        let (series, column) = raw
            .rsplit_once('=')
            .filter(|(s, c)| !s.trim().is_empty() && !c.trim().is_empty())
            .ok_or_else(|| format!("--map {} should be SERIES=COLUMN", quote(raw)))?;
        let stars = series.matches('*').count();
        if stars > MAX_STARS {
            return Err(format!("--map {}: at most {MAX_STARS} '*' in SERIES", quote(raw)));
        }
        if column.matches('*').count() > stars {
            return Err(format!("--map {}: COLUMN has more '*' than SERIES", quote(raw)));
        }
        Ok(MapRule { series: series.trim().to_string(), column: column.trim().to_string() })
    }

    /// The column `name` maps to, if it matches.
    pub fn apply(&self, name: &str) -> Option<String> {
        let captures = glob(&self.series, name)?;
        let mut out = String::new();
        let mut caps = captures.iter();
        for c in self.column.chars() {
            match c {
                '*' => out.push_str(caps.next().copied().unwrap_or("")),
                _ => out.push(c),
            }
        }
        Some(out)
    }
}

/// Matches `name` against a pattern whose `*` matches any run of characters; the captures, in order.
fn glob<'a>(pattern: &str, name: &'a str) -> Option<Vec<&'a str>> {
    fn go<'a>(p: &str, n: &'a str, caps: &mut Vec<&'a str>) -> bool {
        match p.find('*') {
            None => p == n,
            Some(star) => {
                let (lit, rest) = (&p[..star], &p[star + 1..]);
                let Some(after) = n.strip_prefix(lit) else { return false };
                for (i, _) in after.char_indices().chain(std::iter::once((after.len(), ' '))) {
                    caps.push(&after[..i]);
                    if go(rest, &after[i..], caps) {
                        return true;
                    }
                    caps.pop();
                }
                false
            }
        }
    }
    let mut caps = Vec::new();
    go(pattern, name, &mut caps).then_some(caps)
}

/// A series paired with the model's column it is compared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// Index into [`Metrics::series`].
    pub series: usize,
    /// Index into the run's columns.
    pub column: usize,
}

/// Pairs series with columns. With no rules, every series named exactly as a column (other than the first,
/// the time) is paired with it, so a loadlab CSV maps to itself. With rules, each series takes the first rule
/// that matches it; a rule that matches no series, or names a column the run does not have, is an error.
pub fn map_series(metrics: &Metrics, rules: &[MapRule], columns: &[String]) -> Result<Vec<Pair>, String> {
    let column_of = |name: &str| columns.iter().skip(1).position(|c| c == name).map(|i| i + 1);
    let series_names = || name_list(metrics.series.iter().map(|s| s.name.as_str()));
    let column_names = || name_list(columns.iter().skip(1).map(String::as_str));
    let mut pairs = Vec::new();
    if rules.is_empty() {
        pairs.extend(
            metrics
                .series
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some(Pair { series: i, column: column_of(&s.name)? })),
        );
        if pairs.is_empty() {
            return Err(format!(
                "no series is named as a column of the run; map them with --map SERIES=COLUMN (series: {}; columns: {})",
                series_names(),
                column_names()
            ));
        }
        return Ok(pairs);
    }
    for rule in rules {
        let mut matched = false;
        for (i, s) in metrics.series.iter().enumerate() {
            let Some(column) = rule.apply(&s.name) else { continue };
            matched = true;
            if pairs.iter().any(|p: &Pair| p.series == i) {
                continue;
            }
            let c = column_of(&column).ok_or_else(|| {
                format!(
                    "--map {}={}: the run has no column {} (columns: {})",
                    rule.series,
                    rule.column,
                    quote(&column),
                    column_names()
                )
            })?;
            pairs.push(Pair { series: i, column: c });
        }
        if !matched {
            return Err(format!("--map {}: no series matches it (series: {})", quote(&rule.series), series_names()));
        }
    }
    Ok(pairs)
}

/// How the data's clock lines up with the run's. A point at data time `t` is compared with the run at
/// `t + shift()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Align {
    /// `offset=S`: the data's time S is the run's time 0.
    Offset(f64),
    /// `fault=T`: the data's time T is the scenario's fault time `sim_t`.
    Fault {
        /// The fault's moment in the data.
        data_t: f64,
        /// The scenario's fault time, s.
        sim_t: f64,
    },
}

impl Align {
    /// Seconds added to a data time to get the run's time.
    pub fn shift(self) -> f64 {
        match self {
            Align::Offset(s) => -s,
            Align::Fault { data_t, sim_t } => sim_t - data_t,
        }
    }
}

/// What `--align` says before the scenario's fault time is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlignSpec {
    /// `offset=S`.
    Offset(f64),
    /// `fault=T`.
    Fault(f64),
}

impl AlignSpec {
    /// Parses `fault=T` or `offset=S`; T and S are seconds, or an ISO-8601 date and time (as seconds since the
    /// Unix epoch, matching how dates in the data are read).
    pub fn parse(raw: &str) -> Result<AlignSpec, String> {
        let bad = || {
            format!("--align {} is not valid; expected fault=T or offset=S (seconds, or an ISO-8601 time)", quote(raw))
        };
        let (kind, value) = raw.split_once('=').ok_or_else(bad)?;
        let t = timestamp::parse(value.trim()).ok_or_else(bad)?;
        match kind.trim() {
            "fault" => Ok(AlignSpec::Fault(t)),
            "offset" => Ok(AlignSpec::Offset(t)),
            _ => Err(bad()),
        }
    }

    /// The alignment, given the scenario's fault time (needed only for `fault=`).
    pub fn with_fault_time(self, sim_t: f64) -> Align {
        match self {
            AlignSpec::Offset(s) => Align::Offset(s),
            AlignSpec::Fault(data_t) => Align::Fault { data_t, sim_t },
        }
    }
}

/// One mapped series, aligned to the run's clock and cut to its span: what the loss compares and what the
/// page draws.
#[derive(Clone, Debug, PartialEq)]
pub struct Overlay {
    /// The series' name in the data.
    pub name: String,
    /// The run's column it is compared with (index into the run's columns).
    pub column: usize,
    /// Points as `(run time s, value)`, sorted by time.
    pub points: Vec<(f64, f64)>,
    /// What the squared error is divided by: the points' variance (their mean squared if that is 0, else 1).
    pub scale: f64,
}

/// The mapped, aligned series a run is scored against.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// One per mapped series.
    pub series: Vec<Overlay>,
}

impl Target {
    /// Aligns the paired series and keeps the points within `[t0, t1]` (the run's first and last row times).
    /// A series left with fewer than 2 points is an error naming it and the span its data falls in.
    pub fn new(metrics: &Metrics, pairs: &[Pair], align: Align, t0: f64, t1: f64) -> Result<Target, String> {
        let shift = align.shift();
        let mut series = Vec::with_capacity(pairs.len());
        for p in pairs {
            let s = &metrics.series[p.series];
            let points: Vec<(f64, f64)> =
                s.points.iter().map(|&(t, v)| (t + shift, v)).filter(|&(t, _)| t >= t0 && t <= t1).collect();
            if points.len() < 2 {
                let (a, b) =
                    (s.points.first().map_or(0.0, |p| p.0 + shift), s.points.last().map_or(0.0, |p| p.0 + shift));
                return Err(format!(
                    "series {}: {} point(s) fall within the run's rows ({t0} to {t1} s) after alignment; its data spans {a} to {b} s (check --align and --duration)",
                    quote(&s.name),
                    points.len()
                ));
            }
            let n = points.len() as f64;
            let mean = points.iter().map(|p| p.1).sum::<f64>() / n;
            let var = points.iter().map(|p| (p.1 - mean) * (p.1 - mean)).sum::<f64>() / n;
            // A variance at rounding level (a constant series whose mean is not exact in binary) counts as 0.
            let scale = if var > 1e-9 * mean * mean && var > 0.0 {
                var
            } else if mean != 0.0 {
                mean * mean
            } else {
                1.0
            };
            series.push(Overlay { name: s.name.clone(), column: p.column, points, scale });
        }
        Ok(Target { series })
    }

    /// The run's columns the loss reads.
    pub fn columns(&self) -> Vec<usize> {
        self.series.iter().map(|s| s.column).collect()
    }

    /// Every point of every series.
    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    /// The loss of each series (see the module's doc): `times` are the run's row times, ascending, and
    /// `values(c)` the run's column `c`, one value per row.
    pub fn series_losses<'a>(&self, times: &[f64], values: impl Fn(usize) -> &'a [f64]) -> Vec<f64> {
        self.series
            .iter()
            .map(|s| {
                let col = values(s.column);
                let sum: f64 = s.points.iter().map(|&(t, v)| (interpolate(times, col, t) - v).powi(2)).sum();
                sum / s.points.len() as f64 / s.scale
            })
            .collect()
    }

    /// The loss: the mean of [`Target::series_losses`].
    pub fn loss<'a>(&self, times: &[f64], values: impl Fn(usize) -> &'a [f64]) -> f64 {
        let each = self.series_losses(times, values);
        each.iter().sum::<f64>() / each.len().max(1) as f64
    }
}

/// The value of a piecewise-linear curve through `(times[i], values[i])` at `t`, held flat beyond its ends;
/// NaN if it has no points.
pub fn interpolate(times: &[f64], values: &[f64], t: f64) -> f64 {
    let n = times.len().min(values.len());
    if n == 0 {
        return f64::NAN;
    }
    let i = times[..n].partition_point(|&x| x < t);
    if i == 0 {
        return values[0];
    }
    if i == n {
        return values[n - 1];
    }
    let (ta, tb) = (times[i - 1], times[i]);
    let w = if tb > ta { (t - ta) / (tb - ta) } else { 1.0 };
    values[i - 1] + w * (values[i] - values[i - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_capture_and_substitute() {
        let r = MapRule::parse(r#"conns{host="*"}=*.active_conns"#).unwrap();
        assert_eq!(r.apply(r#"conns{host="db1119"}"#).as_deref(), Some("db1119.active_conns"));
        assert_eq!(r.apply(r#"lag{host="db1119"}"#), None);
        let exact = MapRule::parse("a=b").unwrap();
        assert_eq!(exact.apply("a").as_deref(), Some("b"));
        assert_eq!(exact.apply("ab"), None);
        assert_eq!(glob("*-*", "a-b-c"), Some(vec!["a", "b-c"]));
        assert!(MapRule::parse("=x").is_err() && MapRule::parse("x").is_err() && MapRule::parse("a=**").is_err());
    }

    #[test]
    fn interpolation_is_linear_and_flat_beyond_the_ends() {
        let (t, v) = ([1.0, 2.0, 4.0], [10.0, 20.0, 0.0]);
        assert_eq!(interpolate(&t, &v, 0.0), 10.0);
        assert_eq!(interpolate(&t, &v, 1.5), 15.0);
        assert_eq!(interpolate(&t, &v, 3.0), 10.0);
        assert_eq!(interpolate(&t, &v, 9.0), 0.0);
    }

    #[test]
    fn the_loss_is_normalised_per_series() {
        // Two series, one 1000× the other, each off by 10% of its spread: equal losses.
        let m = Metrics {
            format: Format::Csv,
            series: vec![
                Series { name: "big".into(), points: vec![(1.0, 1000.0), (2.0, 3000.0)] },
                Series { name: "small".into(), points: vec![(1.0, 1.0), (2.0, 3.0)] },
            ],
        };
        let pairs = [Pair { series: 0, column: 1 }, Pair { series: 1, column: 2 }];
        let target = Target::new(&m, &pairs, Align::Offset(0.0), 1.0, 2.0).unwrap();
        let times = [1.0, 2.0];
        let cols = [vec![], vec![1100.0, 3100.0], vec![1.1, 3.1]];
        let each = target.series_losses(&times, |c| &cols[c]);
        // variance of {1000, 3000} is 1000²; error 100 → 100² / 1000² = 0.01.
        assert!((each[0] - 0.01).abs() < 1e-12 && (each[1] - 0.01).abs() < 1e-9, "{each:?}");
    }
}
