//! Times in exports: plain seconds, or an ISO-8601 / RFC 3339 date and time as seconds since the Unix epoch.
//!
//! Accepted: `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.250+02:00`, `2024-05-01 12:00:00` (Grafana's formatted
//! time, in the dashboard's time zone, read as UTC: only differences between times matter once aligned),
//! `2024-05-01T12:00` and `2024-05-01`. A handful of lines, so no date crate joins the page's wasm.

/// Seconds: a plain number, or an ISO-8601 date and time as seconds since 1970-01-01T00:00:00Z.
pub fn parse(raw: &str) -> Option<f64> {
    let s = raw.trim();
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    iso(s)
}

/// Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian), Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn iso(s: &str) -> Option<f64> {
    let date = s.get(..10)?;
    let (y, m, d) = (digits(date.get(..4)?, 4)?, digits(date.get(5..7)?, 2)?, digits(date.get(8..10)?, 2)?);
    if date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d) as f64 * 86_400.0;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(days);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // The zone: Z, ±HH:MM, ±HHMM or ±HH at the end; none is UTC.
    let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let zone_s = match zone {
        "" | "Z" | "z" => 0.0,
        z => {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let hm = z[1..].replace(':', "");
            let (h, m) = match hm.len() {
                2 => (digits(&hm, 2)?, 0),
                4 => (digits(&hm[..2], 2)?, digits(&hm[2..], 2)?),
                _ => return None,
            };
            sign * (h * 3600 + m * 60) as f64
        }
    };
    let mut parts = clock.splitn(3, ':');
    let h = digits(parts.next()?, 2)?;
    let mi = digits(parts.next()?, 2)?;
    let sec = match parts.next() {
        None => 0.0,
        Some(x) => {
            let (whole, frac) = x.split_once('.').unwrap_or((x, ""));
            digits(whole, 2)? as f64 + if frac.is_empty() { 0.0 } else { format!("0.{frac}").parse::<f64>().ok()? }
        }
    };
    if h > 24 || mi > 59 || sec >= 61.0 {
        return None;
    }
    Some(days + (h * 3600 + mi * 60) as f64 + sec - zone_s)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn dates_are_seconds_since_the_epoch() {
        // 2024-05-01 is 19844 days after 1970-01-01 (54 years, 13 of them leap, plus Jan–Apr 2024: 121 days).
        let day = 19_844.0 * 86_400.0;
        assert_eq!(parse("2024-05-01"), Some(day));
        assert_eq!(parse("2024-05-01T12:00:00Z"), Some(day + 43_200.0));
        assert_eq!(parse("2024-05-01 12:00:00"), Some(day + 43_200.0));
        assert_eq!(parse("2024-05-01T14:00:00.250+02:00"), Some(day + 43_200.25));
        assert_eq!(parse("2024-05-01T07:30-0430"), Some(day + 43_200.0));
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse(" 12.5 "), Some(12.5));
        for bad in ["", "NaN", "inf", "2024-13-01", "2024-05-01X", "2024-05-01T1:00", "yesterday"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
