//! Every model's picture reads real columns: each part of every scenario's picture is found in its run, every
//! line has a number or a word (never the blank a misspelt column would give), and the bars carry the newest
//! row's values. The expected values are read from the row by column name here, not through the picture code.

use loadlab::engine::picture::{self, Members};
use loadlab::registry::{self, RunSpec};
use loadlab::time::{as_secs_f64, from_secs_f64};

/// Runs `name` for `seconds` and returns the run with its newest row.
fn newest_row(name: &str, seconds: f64) -> (Box<dyn loadlab::engine::run::Run>, Vec<f64>) {
    let spec = RunSpec { seed: 3, duration_s: Some(seconds.max(60.0)), ..RunSpec::default() };
    let mut run = registry::build(name, &spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(run.run_until(from_secs_f64(seconds), u64::MAX), "{name} ran to {seconds} s");
    let rows = run.drain_rows();
    let row = rows.last().cloned().unwrap_or_else(|| panic!("{name}: no row by {seconds} s"));
    (run, row)
}

#[test]
fn every_scenario_draws_a_picture_from_its_own_columns() {
    for def in registry::all() {
        // Past the first minute, a few metrics steps in, for every model (Sahana and Percona step every 10 s).
        let (run, row) = newest_row(def.name, 120.0);
        let spec = run.picture().unwrap_or_else(|| panic!("{} declares no picture", def.name));
        let columns = run.columns();
        let value = |name: &str| columns.iter().position(|c| c.name == name).map(|i| row[i]);
        let step_s = as_secs_f64(run.time_step());
        let scene = picture::scene(spec, &columns, &row, step_s, &|k| run.setting(k));
        assert!(scene.groups.len() >= 2, "{}: a picture has at least two parts", def.name);
        for group in &scene.groups {
            let declared = spec.groups.iter().find(|g| g.id == group.id).expect("scene groups come from the spec");
            for m in &group.members {
                // Every column a part reads exists in this run (a misspelt one would show a blank).
                let reads = (declared.lines.iter().map(|l| l.column))
                    .chain(declared.meter.map(|m| m.value))
                    .chain(declared.state.map(|s| s.column));
                for column in reads {
                    let found = match (column.strip_prefix('@'), column.strip_prefix('.')) {
                        (Some(size), _) => run.setting(size).is_some(),
                        (None, Some(suffix)) => value(&format!("{}.{suffix}", m.name)).is_some(),
                        (None, None) => value(column).is_some(),
                    };
                    assert!(found, "{} {}: {column} is not in the run", def.name, m.name);
                }
                assert_eq!(m.lines.len(), declared.lines.len());
                if let (Some(meter), Some((v, max))) = (declared.meter, m.meter) {
                    let column = match meter.value.strip_prefix('.') {
                        Some(suffix) => format!("{}.{suffix}", m.name),
                        None => meter.value.to_string(),
                    };
                    assert_eq!(Some(v), value(&column), "{} {}: the bar shows {column}", def.name, m.name);
                    assert!(max > 0.0 && max.is_finite(), "{} {}: a full scale, got {max}", def.name, m.name);
                } else if declared.meter.is_some() {
                    // Only a host pool with unlimited workers has no full scale; its bar is left out.
                    assert!(matches!(declared.members, Members::One(_)), "{} {}: no bar", def.name, m.name);
                }
            }
            if let Members::Each(_) = declared.members {
                if let Some(kind) = declared.target {
                    let names = run.target_names(kind);
                    for m in &group.members {
                        assert!(
                            names.contains(&m.name),
                            "{}: {} is a {kind} the commands can target",
                            def.name,
                            m.name
                        );
                    }
                }
            }
            for verb in declared.verbs {
                assert!(run.command_table().iter().any(|c| c.verb == *verb), "{}: {verb} is a command", def.name);
            }
        }
        assert!(!scene.edges.is_empty(), "{}: something flows", def.name);
    }
}

#[test]
fn the_section_picture_counts_what_the_row_counts() {
    // slow at 60 s: db1119 has been slow for 30 s. The picture's replica bar is its open connections, and the
    // edge into it carries its new connections per second (the step's count ÷ the step).
    let (run, row) = newest_row("slow", 60.0);
    let columns = run.columns();
    let get = |name: &str| row[columns.iter().position(|c| c.name == name).unwrap()];
    let step_s = as_secs_f64(run.time_step());
    let scene = picture::scene(run.picture().unwrap(), &columns, &row, step_s, &|k| run.setting(k));
    let servers = scene.groups.iter().position(|g| g.id == "servers").unwrap();
    let i = scene.groups[servers].members.iter().position(|m| m.name == "db1119").unwrap();
    let m = &scene.groups[servers].members[i];
    assert_eq!(m.meter.map(|(v, _)| v), Some(get("db1119.active_conns")));
    let edge = scene.edges.iter().find(|e| e.to == (servers, i)).unwrap();
    assert_eq!(edge.rate_per_s, get("db1119.total_conns") / step_s);
    // Shares add up to the whole: every server's "gets" line is its part of the step's new connections.
    let total: f64 = scene.groups[servers].members.iter().map(|m| get(&format!("{}.total_conns", m.name))).sum();
    let expected = get("db1119.total_conns") / total * 100.0;
    let shown: f64 = m.lines[1].trim_start_matches("gets: ").trim_end_matches('%').parse().unwrap();
    assert!((shown - expected).abs() < 0.05 + expected * 0.005, "share {shown} vs {expected}");
}

/// Percona's picture gives the writer's committed rate, its pause and its pause requests over one window, the
/// last minute, and says so: the minute's committed rate is the mean of the step rates in it (steps of equal
/// length), and its pause requests the sum of the steps' counts.
#[test]
fn the_percona_picture_reads_the_writer_over_one_trailing_minute() {
    // A short backup (lock at 10 s, unlock at 20 s, desync off at 30 s) puts the cluster under flow control well
    // before 150 s.
    let sets = [("desync_at", "10"), ("ftwrl_at", "10"), ("unlock_at", "20"), ("desync_off_at", "30")];
    let spec = RunSpec {
        sets: sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        seed: 3,
        duration_s: Some(200.0),
        time_step_s: Some(1.0),
        ..RunSpec::default()
    };
    let mut run = registry::build("percona-desync", &spec).unwrap();
    assert!(run.run_until(from_secs_f64(150.0), u64::MAX));
    let rows = run.drain_rows();
    let columns = run.columns();
    let col = |name: &str| columns.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("{name}"));
    let last = rows.last().unwrap();
    // One-second steps: the minute is the newest 60 rows.
    let minute = &rows[rows.len() - 60..];
    let stops: f64 = minute.iter().map(|r| r[col("fc_stops")]).sum();
    assert!(stops > 0.0, "flow control runs in this minute");
    assert!((last[col("fc_stops_per_min")] - stops).abs() < 1e-9, "pause requests over the minute");
    let mean_rate = minute.iter().map(|r| r[col("committed_per_s")]).sum::<f64>() / 60.0;
    assert!((last[col("committed_per_s_1m")] - mean_rate).abs() < 1e-6, "committed over the minute");

    let step_s = as_secs_f64(run.time_step());
    let scene = picture::scene(run.picture().unwrap(), &columns, last, step_s, &|k| run.setting(k));
    let writer = &scene.groups.iter().find(|g| g.id == "writer").unwrap().members[0];
    let line = |start: &str| {
        writer
            .lines
            .iter()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start}: {:?}", writer.lines))
            .clone()
    };
    let committed = line("committed");
    let paused = line("paused");
    let requests = line("pause requests");
    for l in [&committed, &paused, &requests] {
        assert!(l.contains("last min"), "{l} says its window");
    }
    assert!(committed.contains(&picture::human(mean_rate, 0)), "{committed} vs {mean_rate}");
    assert!(requests.contains(&picture::human(stops, 0)), "{requests} vs {stops}");
}
