//! What a model's rows and charts look like, declared once as data.
//!
//! A model declares its columns ([`Column`]); a row is one `f64` per column. CSV and JSON output, the page's
//! charts and their text alternatives all read the schema, so a model never formats its own output. A chart
//! ([`ChartSpec`]) names the columns it plots by a pattern, so one declaration serves any number of servers,
//! workers or nodes.

use std::fmt::Write;

/// One column of a model's step rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The CSV header name (`time_s`, `db1119.active_conns`, `w1.busy_fraction`).
    pub name: String,
    /// Decimals printed: 0 for counts, 3 for most measurements.
    pub decimals: u8,
    /// False for columns kept for JSON and charts but left out of the CSV (whose columns are a fixed
    /// interface, EventSimulator's for the section model).
    pub csv: bool,
}

impl Column {
    /// A column printed with `decimals` decimals.
    pub fn new(name: impl Into<String>, decimals: u8) -> Column {
        Column { name: name.into(), decimals, csv: true }
    }

    /// A column left out of the CSV (JSON and charts only).
    pub fn hidden(name: impl Into<String>, decimals: u8) -> Column {
        Column { name: name.into(), decimals, csv: false }
    }
}

/// Appends `value` with a fixed number of decimals; non-finite values print as 0, so the text is the same on
/// every platform.
pub fn push_fixed(out: &mut String, value: f64, decimals: u8) {
    let v = if value.is_finite() { value } else { 0.0 };
    let d = decimals as usize;
    let _ = write!(out, "{v:.d$}");
}

/// The CSV header line (no newline).
pub fn csv_header(columns: &[Column]) -> String {
    columns.iter().filter(|c| c.csv).map(|c| c.name.as_str()).collect::<Vec<_>>().join(",")
}

/// One CSV line (no newline).
pub fn csv_row(columns: &[Column], row: &[f64]) -> String {
    let mut out = String::with_capacity(row.len() * 8);
    for (c, v) in columns.iter().zip(row).filter(|(c, _)| c.csv) {
        if !out.is_empty() {
            out.push(',');
        }
        push_fixed(&mut out, *v, c.decimals);
    }
    out
}

/// One JSON object for a row: `{"column": value, …}` with the same decimals as the CSV.
pub fn json_row(columns: &[Column], row: &[f64]) -> String {
    let mut out = String::from("{");
    for (i, (c, v)) in columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(&c.name).unwrap_or_default());
        out.push(':');
        push_fixed(&mut out, *v, c.decimals);
    }
    out.push('}');
    out
}

/// How a chart's y axis is scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear from 0.
    Linear,
    /// Logarithmic (latencies that span decades).
    Log,
    /// Codes drawn as a swimlane: one band per series, coloured by state, each code named in order
    /// (0 idle, 1 busy, …). For what a worker is doing, where lines would read as noise.
    States(&'static [&'static str]),
}

/// One chart of a model, as data: the page draws it, labels it and writes its text alternative from this.
#[derive(Clone, Copy, Debug)]
pub struct ChartSpec {
    /// Stable id (used in element ids and tests).
    pub id: &'static str,
    /// Title shown above the chart.
    pub title: &'static str,
    /// One sentence under it: what to look for.
    pub hint: &'static str,
    /// Columns plotted: names ending in this suffix (`.active_conns`), or equal to it when it has no dot.
    pub columns: &'static [&'static str],
    /// What each entry of `columns` is, in plain words for the chart's legend ("open connections", "committed",
    /// "waited for a timeout"), one per entry in the same order: the legend never shows a column's name.
    pub labels: &'static [&'static str],
    /// The y axis's unit.
    pub unit: &'static str,
    /// Linear or log.
    pub scale: Scale,
    /// Horizontal reference lines, as (label, column or constant): a constant is written as a number.
    pub reference: Option<(&'static str, f64)>,
    /// How the chart stays readable when it has more targets than [`CROWD_MAX_SERIES`].
    pub crowd: Crowd,
}

/// Most series a chart of targets draws each in its own style; past it, [`Crowd`] says what the chart does.
pub const CROWD_MAX_SERIES: usize = 6;

/// What a chart of one line per target does when there are more targets than [`CROWD_MAX_SERIES`] (the
/// section's twelve servers), declared in the chart's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crowd {
    /// Every series keeps its own colour and pattern (a chart of a few series, or one split into small
    /// multiples in its table instead).
    Each,
    /// The faulty targets keep their own distinct colours and every other target is one thin grey line, so
    /// the eye finds the broken ones and reads the rest as one bundle; the legend says so.
    FaultyOverGrey,
}

impl ChartSpec {
    /// The indices of the columns this chart plots, in column order, with a series label each (the part
    /// before the suffix, or the column name).
    pub fn series(&self, columns: &[Column]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            for pattern in self.columns {
                if pattern.starts_with('.') {
                    if let Some(prefix) = c.name.strip_suffix(pattern) {
                        out.push((i, prefix.to_string()));
                    }
                } else if c.name == *pattern {
                    out.push((i, c.name.clone()));
                }
            }
        }
        out
    }

    /// Like [`ChartSpec::series`], with each series' plain label from [`ChartSpec::labels`] (the column's own
    /// name where the table gives none, which the model tests forbid).
    pub fn series_labelled(&self, columns: &[Column]) -> Vec<(usize, String, &'static str)> {
        let mut out = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            for (k, pattern) in self.columns.iter().enumerate() {
                let plain = self.labels.get(k).copied().unwrap_or(pattern);
                if pattern.starts_with('.') {
                    if let Some(prefix) = c.name.strip_suffix(pattern) {
                        out.push((i, prefix.to_string(), plain));
                    }
                } else if c.name == *pattern {
                    out.push((i, c.name.clone(), plain));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_prints_fixed_decimals_and_zero_for_non_finite() {
        let cols = [Column::new("time_s", 3), Column::new("n", 0), Column::hidden("h", 0), Column::new("x", 3)];
        assert_eq!(csv_header(&cols), "time_s,n,x");
        assert_eq!(csv_row(&cols, &[0.5, 12.0, 7.0, f64::NAN]), "0.500,12,0.000");
        assert_eq!(json_row(&cols, &[0.5, 12.0, 7.0, 1.0 / 3.0]), "{\"time_s\":0.500,\"n\":12,\"h\":7,\"x\":0.333}");
    }

    #[test]
    fn chart_series_match_suffixes_and_names() {
        let cols =
            [Column::new("time_s", 3), Column::new("a.conns", 3), Column::new("b.conns", 3), Column::new("queue", 0)];
        let chart = ChartSpec {
            id: "c",
            title: "",
            hint: "",
            columns: &[".conns", "queue"],
            labels: &["connections", "queued"],
            unit: "",
            scale: Scale::Linear,
            reference: None,
            crowd: Crowd::Each,
        };
        assert_eq!(chart.series(&cols), vec![(1, "a".into()), (2, "b".into()), (3, "queue".into())]);
        assert_eq!(
            chart.series_labelled(&cols),
            vec![(1, "a".into(), "connections"), (2, "b".into(), "connections"), (3, "queue".into(), "queued")]
        );
    }
}
