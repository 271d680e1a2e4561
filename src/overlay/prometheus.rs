//! Prometheus's range-query JSON (`GET /api/v1/query_range`), as its HTTP API documents it:
//!
//! ```json
//! {"status": "success",
//!  "data": {"resultType": "matrix",
//!           "result": [{"metric": {"__name__": "up", "job": "node"},
//!                       "values": [[1714564800, "1"], [1714564815.5, "0"]]}]}}
//! ```
//!
//! A sample is `[unix seconds, "value as a string"]`; `"NaN"` and `"±Inf"` are gaps. A series is named as
//! Prometheus prints it: `__name__` then the other labels sorted, `up{job="node"}` (`{job="node"}` without a
//! name). Errors name the line and column, from serde_json.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::{Limits, Series};

#[derive(Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType", deserialize_with = "matrix")]
    _result_type: (),
    result: Vec<Raw>,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Vec<Sample>,
}

/// One `[t, "v"]` pair; the value's text is parsed here so a bad one is reported at its line and column.
struct Sample(f64, f64);

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Sample, D::Error> {
        d.deserialize_seq(SampleVisitor)
    }
}

/// Reads `[t, "v"]` and parses `v` before the closing `]`, so an error points at the value's own line.
struct SampleVisitor;

impl<'de> de::Visitor<'de> for SampleVisitor {
    type Value = Sample;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sample [unix seconds, \"value\"]")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Sample, A::Error> {
        let t: f64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let v: String = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let value = v.trim().parse::<f64>().map_err(|_| {
            de::Error::custom(format!("sample value {} is not a number", crate::engine::keys::quote(&v)))
        })?;
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(Sample(t, value))
    }
}

fn matrix<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    let kind = String::deserialize(d)?;
    if kind == "matrix" {
        Ok(())
    } else {
        Err(de::Error::custom(format!(
            "resultType is {}, not matrix: export a range query (/api/v1/query_range)",
            crate::engine::keys::quote(&kind)
        )))
    }
}

/// A serde_json error as `line L, column C: what` (its own text ends with "at line L column C").
fn located(e: serde_json::Error) -> String {
    let text = e.to_string();
    let what = text.rfind(" at line ").map_or(text.as_str(), |i| &text[..i]);
    format!("line {}, column {}: {what}; expected Prometheus query_range JSON", e.line(), e.column())
}

/// A label value as Prometheus quotes it: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The series' name: `__name__{k="v",…}`, labels sorted by name.
pub fn series_name(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map_or("", String::as_str);
    let rest: Vec<String> =
        labels.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if rest.is_empty() && !name.is_empty() {
        return name.to_string();
    }
    format!("{name}{{{}}}", rest.join(","))
}

/// Reads a `query_range` response.
pub fn parse(text: &str, limits: &Limits) -> Result<Vec<Series>, String> {
    let r: Response = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(located)?;
    if r.status != "success" {
        return Err(format!(
            "line 1: the query failed (status {}): {} {}",
            crate::engine::keys::quote(&r.status),
            r.error_type.unwrap_or_default(),
            r.error.unwrap_or_default()
        ));
    }
    let data = r.data.ok_or("line 1: no \"data\" in a successful response")?;
    limits.check_series(data.result.len(), 1)?;
    let mut points = 0;
    let mut out = Vec::with_capacity(data.result.len());
    for raw in data.result {
        points += raw.values.len();
        limits.check_points(points, 1)?;
        let mut pts: Vec<(f64, f64)> =
            raw.values.into_iter().filter(|s| s.0.is_finite() && s.1.is_finite()).map(|s| (s.0, s.1)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.push(Series { name: series_name(&raw.metric), points: pts });
    }
    Ok(out)
}
