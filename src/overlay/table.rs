//! CSV exports, read with the `csv` crate (RFC 4180 quoting): a Grafana panel's "Download CSV" and plain CSV.
//!
//! Grafana (`toCSV` in `@grafana/data`) writes a header of quoted field names, `"Time","series A",…`, then one
//! line per time, fields separated by the browser locale's list separator (`,`, or `;` in many locales), lines
//! ended by CRLF; "Download for Excel" adds a byte-order mark and a first line `sep=,`. The time is
//! `YYYY-MM-DD HH:mm:ss` with "Formatted data" on and epoch milliseconds with it off; a value with a unit
//! (`12 ms`, formatted data) is refused with a hint. Older Grafana wrote a long `Series;Time;Value` table, read
//! as a long CSV.
//!
//! Plain CSV is long, exactly three columns named for their roles (`time`/`time_s`/`timestamp`,
//! `series`/`name`/`metric`, `value`, in any order), or wide: the first column the time, then a column per
//! series. Numeric times are seconds (loadlab's `time_s`); dates are read as in [`super::timestamp`].

use std::collections::HashMap;

use super::{timestamp, Limits, Series};
use crate::engine::keys::quote;

/// What a bare number in the time column means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Seconds (plain CSV, loadlab's own).
    Seconds,
    /// Milliseconds since the Unix epoch (Grafana with "Formatted data" off).
    EpochMillis,
}

/// The roles of a long table's three columns.
struct Long {
    time: usize,
    series: usize,
    value: usize,
}

fn long_roles(header: &[String]) -> Option<Long> {
    if header.len() != 3 {
        return None;
    }
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.to_ascii_lowercase().as_str()));
    Some(Long {
        time: find(&["time", "time_s", "timestamp", "ts", "t"])?,
        series: find(&["series", "name", "metric"])?,
        value: find(&["value", "val"])?,
    })
}

/// The separator: what follows `sep=`, else whichever of `,`, `;` and tab the header line holds most of.
fn separator(header_line: &str) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&c| (header_line.bytes().filter(|&b| b == c).count(), c == b','))
        .unwrap_or(b',')
}

/// A time cell as seconds.
fn time_of(cell: &str, clock: Clock) -> Option<f64> {
    match (clock, cell.trim().parse::<f64>()) {
        (Clock::EpochMillis, Ok(ms)) => ms.is_finite().then_some(ms / 1000.0),
        _ => timestamp::parse(cell),
    }
}

/// A value cell: `None` for a gap (empty, `null`, NaN, ±Inf), or an error.
fn value_of(cell: &str, clock: Clock) -> Result<Option<f64>, String> {
    let c = cell.trim();
    if c.is_empty() || c.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    match c.parse::<f64>() {
        Ok(v) => Ok(v.is_finite().then_some(v)),
        Err(_) if clock == Clock::EpochMillis => {
            Err(format!("{} is not a number (export with \"Formatted data\" off)", quote(c)))
        }
        Err(_) => Err(format!("{} is not a number", quote(c))),
    }
}

/// Line numbers by byte offset, for offsets that only grow.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
}

impl Lines<'_> {
    /// The line holding byte `byte`.
    fn line_at(&mut self, byte: u64) -> usize {
        let mut to = (byte as usize).clamp(self.at, self.text.len());
        // After a CRLF the csv crate places the next record at the LF; a record never starts with a line end.
        while to < self.text.len() && matches!(self.text[to], b'\r' | b'\n') {
            to += 1;
        }
        self.line += self.text[self.at..to].iter().filter(|&&b| b == b'\n').count();
        self.at = to;
        self.line
    }
}

/// Reads a CSV export into series.
pub fn parse(text: &str, clock: Clock, limits: &Limits) -> Result<Vec<Series>, String> {
    let mut body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut skipped = 0;
    let mut sep = None;
    if let Some(rest) = body.strip_prefix("sep=") {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        sep = line.trim_end_matches('\r').bytes().next();
        body = after;
        skipped = 1;
    }
    let header_line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let sep = sep.unwrap_or_else(|| separator(header_line));
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(sep).from_reader(body.as_bytes());
    let mut records = reader.records();
    // Lines are counted from each record's byte offset, going forward only (the csv crate's own line count lags
    // after CRLF line ends).
    let mut counter = Lines { text: body.as_bytes(), at: 0, line: 1 + skipped };
    let csv_error = |e: csv::Error, counter: &mut Lines| -> String {
        let line = counter.line_at(e.position().map_or(0, |p| p.byte()));
        format!("line {line}: not CSV ({e})")
    };
    let header = match records.next() {
        Some(r) => r.map_err(|e| csv_error(e, &mut counter))?,
        None => return Err("line 1: the file is empty; expected a header line".into()),
    };
    let header_at = counter.line_at(header.position().map_or(0, |p| p.byte()));
    let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    if names.len() < 2 {
        return Err(format!(
            "line {header_at}: the header has {} column(s); expected a time column and at least one series (fields separated by '{}')",
            names.len(),
            sep as char
        ));
    }
    let long = long_roles(&names);
    if long.is_none() {
        limits.check_series(names.len() - 1, header_at)?;
    }
    let mut series: Vec<Series> = match long {
        Some(_) => Vec::new(),
        None => names[1..].iter().map(|n| Series { name: n.clone(), points: Vec::new() }).collect(),
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut points = 0usize;
    for record in records {
        let record = record.map_err(|e| csv_error(e, &mut counter))?;
        let line = counter.line_at(record.position().map_or(0, |p| p.byte()));
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        if record.len() != names.len() {
            return Err(format!("line {line}: {} field(s), but the header has {}", record.len(), names.len()));
        }
        let cell_error = |col: usize, what: String| format!("line {line}, column {} ({}): {what}", col + 1, names[col]);
        let time_col = long.as_ref().map_or(0, |l| l.time);
        let t = time_of(&record[time_col], clock).ok_or_else(|| {
            cell_error(
                time_col,
                format!("{} is not a time; expected seconds or an ISO-8601 date", quote(&record[time_col])),
            )
        })?;
        match &long {
            Some(l) => {
                let Some(v) = value_of(&record[l.value], clock).map_err(|e| cell_error(l.value, e))? else { continue };
                let name = record[l.series].trim();
                let i = match index.get(name) {
                    Some(&i) => i,
                    None => {
                        limits.check_series(series.len() + 1, line)?;
                        series.push(Series { name: name.to_string(), points: Vec::new() });
                        index.insert(name.to_string(), series.len() - 1);
                        series.len() - 1
                    }
                };
                series[i].points.push((t, v));
                points += 1;
            }
            None => {
                for (col, cell) in record.iter().enumerate().skip(1) {
                    if let Some(v) = value_of(cell, clock).map_err(|e| cell_error(col, e))? {
                        series[col - 1].points.push((t, v));
                        points += 1;
                    }
                }
            }
        }
        limits.check_points(points, line)?;
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series.retain(|s| !s.points.is_empty());
    Ok(series)
}
