//! A model's picture of its system, declared once as data like its charts: the parts (app hosts, a balancer,
//! replicas; workers, a router, a database; nodes and their caches), how requests flow between them, and which
//! columns of the newest row drive each part's fill, words and numbers.
//!
//! [`scene`] turns a [`PictureSpec`] and one row into a [`Scene`]: plain data with every number already taken
//! from the row (or from a size the model reports through [`crate::engine::run::Run::setting`]). The page draws
//! a scene as SVG with one generic component, so a new model gets its picture by declaring it; tests check that
//! a scene's numbers are the row's.
//!
//! Column references follow [`super::schema::ChartSpec`]: a name starting with a dot (`.active_conns`) is a
//! per-member column (`db1119.active_conns`), anything else a global column (`rejected`). A name starting with
//! `@` is a size the model reports (`@workers`).

use super::schema::Column;

/// How a part's state reads, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Idle or healthy.
    Calm,
    /// Working.
    Busy,
    /// Waiting on something else, or degraded.
    Warn,
    /// Broken: stuck, down, refusing.
    Bad,
}

impl Tone {
    /// A class name for the page's style sheet.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Calm => "calm",
            Tone::Busy => "busy",
            Tone::Warn => "warn",
            Tone::Bad => "bad",
        }
    }
}

/// Who the members of a group are.
#[derive(Clone, Copy, Debug)]
pub enum Members {
    /// One part with this name (the app hosts as a block, the router, the writer).
    One(&'static str),
    /// One part per column ending in this suffix, named by the part before it (`.active_conns` → `db1119`).
    Each(&'static str),
}

/// What a group's bar measures against.
#[derive(Clone, Copy, Debug)]
pub enum Max {
    /// A fixed full scale (1 for fractions).
    Const(f64),
    /// A per-member column (`.fc_stop_level`), or a size the model reports (`@workers`); when it is 0 or
    /// unknown, the group's peak.
    Column(&'static str),
    /// The largest value among the group's members in this row, and at least this much.
    Peak(f64),
}

/// A group's bar: how full each member is.
#[derive(Clone, Copy, Debug)]
pub struct Meter {
    /// The column whose value fills the bar.
    pub value: &'static str,
    /// Its full scale.
    pub max: Max,
    /// What the value counts, for the text beside the bar ("connections", "workers busy").
    pub unit: &'static str,
}

/// How one line of a part's text turns a value into words.
#[derive(Clone, Copy, Debug)]
pub enum Show {
    /// The value as it is, with this many decimals at most.
    Number(u8),
    /// A per-step count as a rate per second.
    PerSecond,
    /// The member's share of the group's total of this column, as a percentage.
    Share,
    /// A fraction as a percentage.
    Percent,
    /// A code as a word: the value indexes the list.
    Words(&'static [&'static str]),
    /// Seconds as a duration for people ("4 h 47 min", "12 min", "35 s"); 0 as "–" (nothing to wait for).
    Duration,
}

/// One line of text in a part.
#[derive(Clone, Copy, Debug)]
pub struct Line {
    /// What it is ("new connections", "idle for").
    pub label: &'static str,
    /// The column (or `@size`) it reads.
    pub column: &'static str,
    /// Its unit after the number ("/s", "ms"); empty for words and shares.
    pub unit: &'static str,
    /// How to show it.
    pub show: Show,
}

/// A state per member, read from a code column: its word and its colour.
#[derive(Clone, Copy, Debug)]
pub struct States {
    /// The code column.
    pub column: &'static str,
    /// Word and tone per code (0, 1, 2, …); codes past the end use the last.
    pub codes: &'static [(&'static str, Tone)],
}

/// One group of parts, drawn as a column of boxes.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// Stable id (element ids, tests).
    pub id: &'static str,
    /// Heading above the boxes ("Database servers").
    pub label: &'static str,
    /// One sentence: what this part is, in plain words (tooltip and screen readers).
    pub help: &'static str,
    /// Which column of the drawing, left to right, from 0.
    pub tier: u8,
    /// Its members.
    pub members: Members,
    /// A bar per member.
    pub meter: Option<Meter>,
    /// Lines of text per member.
    pub lines: &'static [Line],
    /// A state per member.
    pub state: Option<States>,
    /// The command target kind its members are (`server`, `node`, `worker`): clicking one offers those verbs.
    pub target: Option<&'static str>,
    /// Whole-model verbs offered when this group is clicked (`router-drop`).
    pub verbs: &'static [&'static str],
    /// True for the part that is the balancer: the page writes which controller runs it.
    pub controller: bool,
}

impl Group {
    /// A group with nothing but its members: no bar, lines, state, actions; the base the pictures build on
    /// with `..Group::PLAIN`.
    pub const PLAIN: Group = Group {
        id: "",
        label: "",
        help: "",
        tier: 0,
        members: Members::One(""),
        meter: None,
        lines: &[],
        state: None,
        target: None,
        verbs: &[],
        controller: false,
    };
}

/// How fast something flows along an edge.
#[derive(Clone, Copy, Debug)]
pub enum Rate {
    /// A per-step count of the edge's destination member (`.total_conns`).
    To(&'static str),
    /// A per-step count of the edge's source member (`.served`).
    From(&'static str),
    /// A per-step global count shared evenly by the edges of this flow (`completed`).
    Shared(&'static str),
    /// A global rate already per second (`committed_per_s`), the same on every edge (every node receives
    /// every write).
    PerSecond(&'static str),
}

/// Requests or writes going from one group to another: one edge per pair of members.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    /// Source group id.
    pub from: &'static str,
    /// Destination group id.
    pub to: &'static str,
    /// How fast.
    pub rate: Rate,
    /// How fast things fail on the way (refused connects, rejected requests, cache timeouts), if counted.
    pub failed: Option<Rate>,
}

/// A model's picture.
#[derive(Clone, Copy, Debug)]
pub struct PictureSpec {
    /// One or two sentences: what the picture shows and how to read it.
    pub caption: &'static str,
    /// The parts.
    pub groups: &'static [Group],
    /// What flows between them.
    pub flows: &'static [Flow],
}

/// One part as drawn now.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneMember {
    /// Its name (`db1119`, `koha1`, `w3`, or the group's single name).
    pub name: String,
    /// How full its bar is, 0 to 1.
    pub fill: Option<f64>,
    /// The bar's value and full scale.
    pub meter: Option<(f64, f64)>,
    /// Its lines of text, formatted for people.
    pub lines: Vec<String>,
    /// Its state's word and tone.
    pub state: Option<(String, Tone)>,
}

/// One group as drawn now.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneGroup {
    /// The spec it comes from.
    pub id: &'static str,
    /// Its heading.
    pub label: &'static str,
    /// What it is.
    pub help: &'static str,
    /// Its column in the drawing.
    pub tier: u8,
    /// What its bar counts.
    pub unit: &'static str,
    /// Its command target kind.
    pub target: Option<&'static str>,
    /// Its whole-model verbs.
    pub verbs: &'static [&'static str],
    /// True for the balancer.
    pub controller: bool,
    /// Its members now (at most [`MAX_MEMBERS`]).
    pub members: Vec<SceneMember>,
    /// Members left out of the drawing past [`MAX_MEMBERS`].
    pub more: usize,
    /// True when the bars compare members with each other (scaled to the fullest), not with a capacity: a full
    /// bar then means "the most", not "no room left".
    pub relative: bool,
}

/// One edge as drawn now.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneEdge {
    /// (group index, member index) it starts at.
    pub from: (usize, usize),
    /// (group index, member index) it ends at.
    pub to: (usize, usize),
    /// Things per second along it.
    pub rate_per_s: f64,
    /// Failures per second along it.
    pub failed_per_s: f64,
}

/// A picture with this row's numbers in it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Scene {
    /// The spec's caption.
    pub caption: &'static str,
    /// The groups that have members in this run (a run without hypervisors draws none).
    pub groups: Vec<SceneGroup>,
    /// The edges.
    pub edges: Vec<SceneEdge>,
}

/// Reads columns of one row by name.
struct Row<'a> {
    columns: &'a [Column],
    row: &'a [f64],
    step_s: f64,
    setting: &'a dyn Fn(&str) -> Option<f64>,
}

impl Row<'_> {
    /// The value of `column` for `member`: `.x` is the member's, `@x` a size the model reports, else global.
    fn get(&self, member: &str, column: &str) -> Option<f64> {
        if let Some(size) = column.strip_prefix('@') {
            return (self.setting)(size);
        }
        let name = if column.starts_with('.') { format!("{member}{column}") } else { column.to_string() };
        let i = self.columns.iter().position(|c| c.name == name)?;
        self.row.get(i).copied().filter(|v| v.is_finite())
    }
}

/// Most parts a group draws: a section of 4096 servers draws the first ones and says how many more there are,
/// so the picture stays readable and its cost bounded whatever the configuration.
pub const MAX_MEMBERS: usize = 24;

fn member_names(members: Members, columns: &[Column]) -> Vec<String> {
    match members {
        Members::One(name) => vec![name.to_string()],
        Members::Each(suffix) => {
            columns.iter().filter_map(|c| c.name.strip_suffix(suffix)).take(MAX_MEMBERS).map(String::from).collect()
        }
    }
}

/// How many members a group has in all, drawn or not.
fn member_count(members: Members, columns: &[Column]) -> usize {
    match members {
        Members::One(_) => 1,
        Members::Each(suffix) => columns.iter().filter(|c| c.name.ends_with(suffix)).count(),
    }
}

fn line_text(line: &Line, value: Option<f64>, total: f64, row: &Row) -> String {
    let Some(v) = value else { return format!("{}: –", line.label) };
    let text = match line.show {
        Show::Number(d) => format!("{}{}", human(v, d), line.unit),
        Show::PerSecond => format!("{}{}", human(v / row.step_s, 1), line.unit),
        Show::Share if total > 0.0 => format!("{}%", human(v / total * 100.0, 1)),
        Show::Share => "–".to_string(),
        Show::Percent => format!("{}%", human(v * 100.0, 0)),
        Show::Words(words) => code_word(words, v).to_string(),
        Show::Duration => duration(v),
    };
    format!("{}: {text}", line.label)
}

fn build_group(group: &Group, row: &Row) -> SceneGroup {
    let names = member_names(group.members, row.columns);
    let meter_values: Vec<Option<f64>> = names.iter().map(|n| group.meter.and_then(|m| row.get(n, m.value))).collect();
    let peak = meter_values.iter().flatten().fold(0.0_f64, |a, b| a.max(*b));
    let members = names
        .iter()
        .zip(&meter_values)
        .map(|(name, value)| {
            let meter = group.meter.zip(*value).and_then(|(m, v)| {
                // A size the model does not report (unlimited workers) leaves the part without a bar: a bar
                // against its own peak would read as a full pool.
                if let Max::Column(c) = m.max {
                    if c.starts_with('@') && row.get(name, c).is_none_or(|size| size <= 0.0) {
                        return None;
                    }
                }
                let max = match m.max {
                    Max::Const(c) => c,
                    // A scale that is not set (a node that sends no flow control has no stop level) falls back
                    // to the group's peak, so the bar still compares members.
                    Max::Column(c) => row.get(name, c).filter(|m| *m > 0.0).unwrap_or(peak.max(1.0)),
                    Max::Peak(floor) => peak.max(floor),
                };
                Some((v, max))
            });
            let lines = group
                .lines
                .iter()
                .map(|l| {
                    let total = names.iter().filter_map(|n| row.get(n, l.column)).sum::<f64>();
                    line_text(l, row.get(name, l.column), total, row)
                })
                .collect();
            let state = group.state.and_then(|s| {
                let code = row.get(name, s.column)?.max(0.0) as usize;
                s.codes.get(code).or(s.codes.last()).map(|(w, t)| (w.to_string(), *t))
            });
            SceneMember {
                name: name.clone(),
                fill: meter.map(|(v, max)| if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 }),
                meter,
                lines,
                state,
            }
        })
        .collect();
    SceneGroup {
        id: group.id,
        label: group.label,
        help: group.help,
        tier: group.tier,
        unit: group.meter.map_or("", |m| m.unit),
        target: group.target,
        verbs: group.verbs,
        controller: group.controller,
        more: member_count(group.members, row.columns).saturating_sub(names.len()),
        relative: matches!(group.meter, Some(Meter { max: Max::Peak(_), .. })),
        members,
    }
}

fn rate(rate: Rate, from: &str, to: &str, edges: usize, row: &Row) -> f64 {
    let v = match rate {
        Rate::To(c) => row.get(to, c).map(|v| v / row.step_s),
        Rate::From(c) => row.get(from, c).map(|v| v / row.step_s),
        Rate::Shared(c) => row.get("", c).map(|v| v / row.step_s / edges.max(1) as f64),
        Rate::PerSecond(c) => row.get("", c),
    };
    v.unwrap_or(0.0).max(0.0)
}

/// The scene for `row` (one value per column of `columns`), whose metrics step is `step_s` seconds; `setting`
/// answers the `@size` references. Groups without members in this run are left out, with their flows.
pub fn scene(
    spec: &PictureSpec,
    columns: &[Column],
    row: &[f64],
    step_s: f64,
    setting: &dyn Fn(&str) -> Option<f64>,
) -> Scene {
    let row = Row { columns, row, step_s: if step_s > 0.0 { step_s } else { 1.0 }, setting };
    let groups: Vec<SceneGroup> =
        spec.groups.iter().map(|g| build_group(g, &row)).filter(|g| !g.members.is_empty()).collect();
    let index = |id: &str| groups.iter().position(|g| g.id == id);
    let mut edges = Vec::new();
    for flow in spec.flows {
        let (Some(a), Some(b)) = (index(flow.from), index(flow.to)) else { continue };
        let pairs: Vec<(usize, usize)> =
            (0..groups[a].members.len()).flat_map(|i| (0..groups[b].members.len()).map(move |j| (i, j))).collect();
        let n = pairs.len();
        for (i, j) in pairs {
            let (from, to) = (&groups[a].members[i].name, &groups[b].members[j].name);
            edges.push(SceneEdge {
                from: (a, i),
                to: (b, j),
                rate_per_s: rate(flow.rate, from, to, n, &row),
                failed_per_s: flow.failed.map_or(0.0, |f| rate(f, from, to, n, &row)),
            });
        }
    }
    Scene { caption: spec.caption, groups, edges }
}

/// The word for code `value` in `words` (0, 1, 2, …); a negative code reads as the first, a code past the end
/// as the last. Shared by the picture's word lines and the swimlane charts' text alternatives.
pub fn code_word<'a>(words: &[&'a str], value: f64) -> &'a str {
    words.get(value.max(0.0).round() as usize).or(words.last()).copied().unwrap_or("")
}

/// Seconds as a duration for people; 0 or less as "–".
pub fn duration(seconds: f64) -> String {
    if seconds.is_nan() || seconds <= 0.0 || seconds.is_infinite() {
        return "–".into();
    }
    let s = seconds.round() as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", (seconds / 60.0).round()),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// A number for people: thousands separators, about three significant figures, at most `decimals` decimals,
/// no trailing zeros ("7,573", "69", "0.231", "12.5").
pub fn human(value: f64, decimals: u8) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let magnitude = value.abs();
    // Three significant figures: decimals shrink as the number grows.
    let wanted: i32 = if magnitude >= 100.0 {
        0
    } else if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        3
    };
    let d = wanted.min(decimals as i32).max(0) as usize;
    let text = format!("{:.*}", d, magnitude);
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = frac.trim_end_matches('0');
    let mut grouped = String::new();
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A number short enough for a chart's tick label or a narrow box: from ten thousand on, in thousands ("25k") and
/// from a million on in millions with one decimal ("15.9M"); below that the whole number ("2400"), without a
/// separator, as a tick label has room for four digits. The digits are [`human`]'s.
pub fn compact(value: f64) -> String {
    let magnitude = value.abs();
    // From 999,500 on the thousands would round to "1,000k".
    if magnitude >= 999_500.0 {
        format!("{}M", human(value / 1e6, 1))
    } else if magnitude >= 1e4 {
        format!("{}k", human(value / 1e3, 0))
    } else {
        format!("{value:.0}")
    }
}

/// A count with its noun, for people: "1 stall", "2 stalls", "1,204 connections" (the number as [`human`]
/// with no decimals; the singular only for exactly one).
pub fn count(value: f64, one: &str, many: &str) -> String {
    let n = human(value, 0);
    format!("{n} {}", if n == "1" { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers_read_as_thousands_and_millions() {
        assert_eq!(compact(2400.0), "2400");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(479_050.0), "479k");
        assert_eq!(compact(999_700.0), "1M");
        assert_eq!(compact(15_911_982.0), "15.9M");
        assert_eq!(compact(16e6), "16M");
        assert_eq!(compact(-2.5e6), "-2.5M");
    }

    const SPEC: PictureSpec = PictureSpec {
        caption: "c",
        groups: &[
            Group {
                id: "hosts",
                label: "Hosts",
                help: "",
                tier: 0,
                members: Members::One("hosts"),
                meter: Some(Meter { value: "busy", max: Max::Column("@workers"), unit: "busy" }),
                lines: &[Line { label: "requests", column: "requests", unit: "/s", show: Show::PerSecond }],
                ..Group::PLAIN
            },
            Group {
                id: "servers",
                label: "Servers",
                help: "",
                tier: 1,
                members: Members::Each(".conns"),
                meter: Some(Meter { value: ".conns", max: Max::Peak(10.0), unit: "conns" }),
                lines: &[Line { label: "share", column: ".new", unit: "", show: Show::Share }],
                state: Some(States { column: ".mode", codes: &[("up", Tone::Calm), ("down", Tone::Bad)] }),
                target: Some("server"),
                ..Group::PLAIN
            },
            Group {
                id: "absent",
                label: "None here",
                help: "",
                tier: 2,
                members: Members::Each(".nothing"),
                ..Group::PLAIN
            },
        ],
        flows: &[
            Flow { from: "hosts", to: "servers", rate: Rate::To(".new"), failed: Some(Rate::To(".failed")) },
            Flow { from: "servers", to: "absent", rate: Rate::Shared("requests"), failed: None },
        ],
    };

    fn columns() -> Vec<Column> {
        [
            "time_s", "requests", "busy", "a.conns", "a.new", "a.failed", "a.mode", "b.conns", "b.new", "b.failed",
            "b.mode",
        ]
        .iter()
        .map(|n| Column::new(*n, 3))
        .collect()
    }

    #[test]
    fn a_scene_carries_the_rows_numbers() {
        // Half-second steps: 30 requests in the step are 60 per second; a had 3 of the 4 new connections.
        let row = [1.0, 30.0, 6.0, 40.0, 3.0, 2.0, 0.0, 5.0, 1.0, 0.0, 1.0];
        let workers = |name: &str| (name == "workers").then_some(8.0);
        let s = scene(&SPEC, &columns(), &row, 0.5, &workers);
        assert_eq!(s.groups.len(), 2, "a group without members is left out");
        let hosts = &s.groups[0].members[0];
        assert_eq!(hosts.meter, Some((6.0, 8.0)));
        assert_eq!(hosts.fill, Some(0.75));
        assert_eq!(hosts.lines, vec!["requests: 60/s".to_string()]);
        let servers = &s.groups[1].members;
        assert_eq!(servers.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        // Peak scale: the fuller server fills the bar; the other is 5 of 40.
        assert_eq!(servers[0].meter, Some((40.0, 40.0)));
        assert_eq!(servers[1].fill, Some(0.125));
        assert_eq!(servers[0].lines, vec!["share: 75%".to_string()]);
        assert_eq!(servers[1].state, Some(("down".to_string(), Tone::Bad)));
        assert_eq!(s.edges.len(), 2);
        assert_eq!(s.groups[1].more, 0);
        assert_eq!((s.edges[0].rate_per_s, s.edges[0].failed_per_s), (6.0, 4.0));
        assert_eq!((s.edges[1].rate_per_s, s.edges[1].failed_per_s), (2.0, 0.0));
    }

    #[test]
    fn a_huge_group_draws_its_first_parts_and_counts_the_rest() {
        let mut cols = vec![Column::new("time_s", 3), Column::new("requests", 0), Column::new("busy", 0)];
        cols.extend((0..100).map(|i| Column::new(format!("s{i}.conns"), 0)));
        let row = vec![0.0; cols.len()];
        let s = scene(&SPEC, &cols, &row, 1.0, &|_| None);
        assert_eq!((s.groups[1].members.len(), s.groups[1].more), (MAX_MEMBERS, 100 - MAX_MEMBERS));
        assert_eq!(s.edges.len(), MAX_MEMBERS);
    }

    #[test]
    fn numbers_read_like_a_person_writes_them() {
        assert_eq!(human(7572.8, 0), "7,573");
        assert_eq!(human(1_234_567.0, 3), "1,234,567");
        assert_eq!(human(69.04, 3), "69");
        assert_eq!(human(12.53, 3), "12.5");
        assert_eq!(human(0.2314, 3), "0.231");
        assert_eq!(human(2.0, 3), "2");
        assert_eq!(human(-3.5, 1), "-3.5");
        assert_eq!(human(-0.0001, 1), "0");
        assert_eq!(human(f64::NAN, 1), "–");
        assert_eq!(duration(0.0), "–");
        assert_eq!(duration(35.4), "35 s");
        assert_eq!(duration(725.0), "12 min");
        assert_eq!(duration(17_220.0), "4 h 47 min");
        assert_eq!(count(1.0, "stall", "stalls"), "1 stall");
        assert_eq!(count(0.0, "stall", "stalls"), "0 stalls");
        assert_eq!(count(1204.4, "connection", "connections"), "1,204 connections");
    }
}
