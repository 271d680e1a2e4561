//! The live picture of the system: any model's [`Scene`] drawn as SVG, the same way for every model.
//!
//! Groups are columns of boxes left to right (top to bottom on a phone); each box has its name, its state's
//! colour, a bar and its lines of text, all from the scene. Edges carry moving dots whose number follows the
//! rate (red dots for failures); the dots stop when the run is paused, and under `prefers-reduced-motion` the
//! style sheet hides them, leaving the edges' widths to carry the rates. Clicking a box (or Enter on it) opens
//! the actions that apply to it, each with its effect in words; choosing one sends the same command text as
//! the buttons, so the URL records it.

use std::rc::Rc;

use yew::prelude::*;

use super::servers::{command_text, Table};
use crate::engine::commands::CommandSpec;
use crate::engine::picture::{human, Scene, SceneGroup, SceneMember};

/// Props of [`Picture`].
#[derive(Properties, PartialEq)]
pub struct PictureProps {
    /// The scene now (`None` until the first row).
    pub scene: Option<Rc<Scene>>,
    /// The controller running the balancer part ("" for models without one).
    pub controller: String,
    /// Names of the parts the scenario breaks.
    pub faulty: Vec<String>,
    /// A few words per part about its state now (servers' faults and operator overrides), by name.
    pub notes: Vec<(String, String)>,
    /// True while the run plays (the dots move only then).
    pub playing: bool,
    /// The model's command table.
    pub table: Table,
    /// Called with a command's text to apply now.
    pub on_command: Callback<String>,
    /// Lay out top to bottom (narrow screens).
    #[prop_or(false)]
    pub vertical: bool,
}

/// A box's place in the drawing.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// Where every group label and box goes, and the drawing's size.
struct Layout {
    width: f64,
    height: f64,
    labels: Vec<(f64, f64)>,
    boxes: Vec<Vec<Rect>>,
    compact: Vec<bool>,
}

const MARGIN: f64 = 8.0;
const GAP: f64 = 6.0;
const LABEL_H: f64 = 18.0;
const LINE_H: f64 = 13.0;

/// A full box: name, bar, and one line per text line; a compact one (many members): name, bar, one line.
fn box_height(group: &SceneGroup, compact: bool) -> f64 {
    let bar = group.members.first().is_some_and(|m| m.fill.is_some());
    let lines = group.members.first().map_or(0, |m| m.lines.len() + usize::from(m.state.is_some()));
    if compact {
        // Name and numbers on one row, the bar under them.
        16.0 + if bar { 9.0 } else { 0.0 }
    } else {
        18.0 + if bar { 10.0 } else { 0.0 } + LINE_H * lines as f64 + 4.0
    }
}

fn layout(scene: &Scene, vertical: bool) -> Layout {
    let tiers = scene.groups.iter().map(|g| g.tier as usize + 1).max().unwrap_or(1);
    let mut labels = vec![(0.0, 0.0); scene.groups.len()];
    let mut boxes = vec![Vec::new(); scene.groups.len()];
    let mut compact = vec![false; scene.groups.len()];
    if vertical {
        let width = 360.0;
        let mut y = MARGIN;
        for tier in 0..tiers {
            for (gi, g) in scene.groups.iter().enumerate().filter(|(_, g)| g.tier as usize == tier) {
                let n = g.members.len().max(1);
                // Many small boxes four to a row; up to three full boxes side by side (their wires stay straight);
                // four two by two, so their lines fit.
                let cols = match n {
                    0..=3 => n,
                    4 => 2,
                    _ => 4,
                };
                let small = n > 4;
                compact[gi] = small;
                // Four to a row leaves no room for the numbers beside the name: they go under it.
                let h = box_height(g, small) + if small { LINE_H } else { 0.0 };
                let w = (width - 2.0 * MARGIN - GAP * (cols as f64 - 1.0)) / cols as f64;
                labels[gi] = (MARGIN, y + 12.0);
                y += LABEL_H;
                for (k, _) in g.members.iter().enumerate() {
                    let (r, c) = (k / cols, k % cols);
                    boxes[gi].push(Rect { x: MARGIN + c as f64 * (w + GAP), y: y + r as f64 * (h + GAP), w, h });
                }
                y += n.div_ceil(cols) as f64 * (h + GAP) + 14.0;
            }
        }
        return Layout { width, height: y, labels, boxes, compact };
    }
    let width = 760.0;
    let column_w = (width - 2.0 * MARGIN) / tiers as f64;
    let box_w = (column_w - 16.0).min(180.0);
    let heights: Vec<f64> = scene
        .groups
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            compact[gi] = g.members.len() > 5;
            g.members.len() as f64 * (box_height(g, compact[gi]) + GAP)
        })
        .collect();
    let tallest = heights.iter().copied().fold(60.0, f64::max);
    for (gi, g) in scene.groups.iter().enumerate() {
        let x = MARGIN + g.tier as f64 * column_w + (column_w - box_w) / 2.0;
        let h = box_height(g, compact[gi]);
        let top = LABEL_H + 4.0 + (tallest - heights[gi]) / 2.0;
        labels[gi] = (x, 13.0);
        for k in 0..g.members.len() {
            boxes[gi].push(Rect { x, y: top + k as f64 * (h + GAP), w: box_w, h });
        }
    }
    Layout { width, height: LABEL_H + 8.0 + tallest, labels, boxes, compact }
}

/// How many dots an edge carries: one per decade of rate, and a third more, at most five.
fn dots(rate_per_s: f64) -> usize {
    if rate_per_s <= 0.0 {
        0
    } else {
        ((1.0 + rate_per_s).log10() * 1.3).ceil().clamp(1.0, 5.0) as usize
    }
}

fn edge_path(a: Rect, b: Rect, vertical: bool) -> String {
    if vertical {
        let (x1, y1, x2, y2) = (a.x + a.w / 2.0, a.y + a.h, b.x + b.w / 2.0, b.y);
        let m = (y1 + y2) / 2.0;
        format!("M{x1:.1},{y1:.1} C{x1:.1},{m:.1} {x2:.1},{m:.1} {x2:.1},{y2:.1}")
    } else {
        let (x1, y1, x2, y2) = (a.x + a.w, a.y + a.h / 2.0, b.x, b.y + b.h / 2.0);
        let m = (x1 + x2) / 2.0;
        format!("M{x1:.1},{y1:.1} C{m:.1},{y1:.1} {m:.1},{y2:.1} {x2:.1},{y2:.1}")
    }
}

fn moving_dots(path: &str, n: usize, class: &'static str) -> Html {
    html! {
        { for (0..n).map(|k| {
            let begin = format!("-{:.2}s", k as f64 * 2.0 / n as f64);
            html! {
                <circle r="3" class={classes!("dot", class)}>
                    <@{"animateMotion"} dur="2s" repeatCount="indefinite" begin={begin} path={path.to_string()} />
                </circle>
            }
        }) }
    }
}

/// A part's state beyond its numbers, from the model's few words ("69 conns · crashed · pinned at 0" →
/// "crashed, pinned at 0"); the primary's role is left out.
fn note_extra(note: &str) -> String {
    note.split(" · ").filter(|p| !p.starts_with("primary") && !p.ends_with(" conns")).collect::<Vec<_>>().join(", ")
}

/// The colour a part's state words call for: broken (crashed, refusing, hanging) or degraded (slower, drained,
/// pinned); `None` when it has none.
fn note_tone(extra: &str) -> Option<&'static str> {
    if extra.is_empty() {
        None
    } else if ["crashed", "refusing", "hang"].iter().any(|w| extra.contains(w)) {
        Some("bad")
    } else {
        Some("warn")
    }
}

/// The words a box says to a screen reader: its name, state, bar and lines.
fn spoken(group: &SceneGroup, m: &SceneMember, note: Option<&str>) -> String {
    let mut parts = vec![format!("{}, {}", m.name, group.label)];
    if let Some((word, _)) = &m.state {
        parts.push(word.clone());
    }
    if let Some((v, max)) = m.meter {
        parts.push(format!("{} of {} {}", human(v, 0), human(max, 0), group.unit));
    }
    parts.extend(m.lines.iter().cloned());
    if let Some(n) = note {
        parts.push(n.to_string());
    }
    parts.join("; ")
}

/// The verbs a click on `group` offers: those that take its kind of target, then its whole-model verbs.
fn verbs_for(table: &'static [CommandSpec], group: &SceneGroup) -> Vec<&'static CommandSpec> {
    let mut out: Vec<&'static CommandSpec> =
        table.iter().filter(|c| group.target.is_some() && c.target == group.target).collect();
    out.extend(group.verbs.iter().filter_map(|v| table.iter().find(|c| c.verb == *v && c.target.is_none())));
    out
}

fn verb_label(spec: &CommandSpec) -> String {
    let args: Vec<String> = spec.args.iter().map(|a| format!("{} {}", human(a.default, 3), a.unit)).collect();
    if args.is_empty() {
        spec.verb.to_string()
    } else {
        format!("{} ({})", spec.verb, args.join(", "))
    }
}

/// The picture, with the actions panel of the part last clicked.
#[component]
pub fn Picture(props: &PictureProps) -> Html {
    let selected = use_state(|| None::<(String, String)>);
    let Some(scene) = props.scene.as_ref() else {
        return html! { <figure class="picture" id="picture"><p class="hint">{ "The picture of the system appears when the run starts." }</p></figure> };
    };
    let lay = layout(scene, props.vertical);
    let note = |name: &str| props.notes.iter().find(|(n, _)| n == name).map(|(_, w)| w.as_str());
    let edges = scene.edges.iter().filter_map(|e| {
        let a = *lay.boxes.get(e.from.0)?.get(e.from.1)?;
        let b = *lay.boxes.get(e.to.0)?.get(e.to.1)?;
        let path = edge_path(a, b, props.vertical);
        let width = format!("{:.1}", 1.0 + (1.0 + e.rate_per_s).log10().min(4.0));
        let failing = e.failed_per_s > 0.0;
        Some(html! {
            <g class="edge">
                <path d={path.clone()} class={classes!("wire", failing.then_some("failing"))} stroke-width={width} />
                if props.playing {
                    { moving_dots(&path, dots(e.rate_per_s), "ok") }
                    { moving_dots(&path, dots(e.failed_per_s), "failed") }
                }
            </g>
        })
    });
    let parts = scene.groups.iter().enumerate().map(|(gi, g)| {
        let (lx, ly) = lay.labels[gi];
        let label = if g.controller && !props.controller.is_empty() {
            format!("{}: {}", g.label, props.controller)
        } else {
            g.label.to_string()
        };
        let members = g.members.iter().enumerate().map(|(k, m)| {
            let r = lay.boxes[gi][k];
            let key = (g.id.to_string(), m.name.clone());
            let is_selected = selected.as_ref() == Some(&key);
            let faulty = props.faulty.contains(&m.name);
            let extra = note(&m.name).map(note_extra).unwrap_or_default();
            let tone = note_tone(&extra).unwrap_or_else(|| m.state.as_ref().map_or("calm", |(_, t)| t.class()));
            let pick = {
                let selected = selected.clone();
                let key = key.clone();
                Callback::from(move |_: MouseEvent| selected.set(Some(key.clone())))
            };
            let pick_key = {
                let selected = selected.clone();
                Callback::from(move |e: KeyboardEvent| {
                    if e.key() == "Enter" || e.key() == " " {
                        e.prevent_default();
                        selected.set(Some(key.clone()));
                    }
                })
            };
            let compact = lay.compact[gi];
            let inline = compact && !props.vertical;
            let mut texts: Vec<String> = Vec::new();
            let numbers_only = || m.lines.iter().map(|l| l.rsplit(": ").next().unwrap_or(l).to_string()).collect::<Vec<_>>();
            if compact && props.vertical {
                texts.push(numbers_only().join(" · "));
            } else if !compact {
                if let Some((word, _)) = &m.state {
                    texts.push(word.clone());
                }
                texts.extend(m.lines.iter().cloned());
            }
            let bar_y = if compact && props.vertical { r.y + 17.0 + LINE_H } else { r.y + 17.0 };
            let text_top = if compact { r.y + 26.0 } else { r.y + 16.0 + if m.fill.is_some() { 10.0 } else { 0.0 } + 10.0 };
            let summary = inline.then(|| numbers_only().join(" · "));
            html! {
                <g class={classes!("part", tone, faulty.then_some("faulty"), is_selected.then_some("selected"))}
                    role="button" tabindex="0" aria-label={spoken(g, m, note(&m.name))}
                    data-group={g.id} data-name={m.name.clone()} onclick={pick} onkeydown={pick_key}>
                    <title>{ if extra.is_empty() { g.help.to_string() } else { format!("{}: {extra}", m.name) } }</title>
                    <rect class="box" x={fmt(r.x)} y={fmt(r.y)} width={fmt(r.w)} height={fmt(r.h)} rx="5" />
                    <text class="name" x={fmt(r.x + 6.0)} y={fmt(r.y + 13.0)}>{ &m.name }
                        if faulty { <tspan class="flag">{ " ⚠" }</tspan> }
                    </text>
                    if let Some(summary) = summary {
                        <text class="line" x={fmt(r.x + r.w - 6.0)} y={fmt(r.y + 13.0)} text-anchor="end">{ fit(&summary, r.w * 0.55, 10.0) }</text>
                    }
                    if let (Some(f), Some((v, _))) = (m.fill, m.meter) {
                        <rect class="bar-bg" x={fmt(r.x + 6.0)} y={fmt(bar_y)} width={fmt(r.w - 12.0)} height="6" rx="2" />
                        <rect class={classes!("bar-fill", (f > 0.9 && !g.relative).then_some("full"))} x={fmt(r.x + 6.0)} y={fmt(bar_y)}
                            width={fmt((r.w - 12.0) * f)} height="6" rx="2" data-value={v.to_string()} />
                    }
                    { for texts.iter().enumerate().map(|(i, t)| html! {
                        <text class="line" x={fmt(r.x + 6.0)} y={fmt(text_top + i as f64 * LINE_H)}>{ fit_line(t, r.w - 10.0, 10.0) }</text>
                    }) }
                </g>
            }
        });
        let label = if g.more > 0 { format!("{label} (first {} of {})", g.members.len(), g.members.len() + g.more) } else { label };
        html! {
            <g class="group" data-group={g.id}>
                <text class="group-label" x={fmt(lx)} y={fmt(ly)}>{ label }</text>
                { for members }
            </g>
        }
    });
    let panel = selected.as_ref().and_then(|(gid, name)| {
        let g = scene.groups.iter().find(|g| g.id == gid)?;
        let m = g.members.iter().find(|m| &m.name == name)?;
        Some(actions(g, m, note(name), props))
    });
    let close = {
        let selected = selected.clone();
        Callback::from(move |_: MouseEvent| selected.set(None))
    };
    html! {
        <figure class={classes!("picture", props.vertical.then_some("vertical"))} id="picture">
            <svg viewBox={format!("0 0 {} {}", fmt(lay.width), fmt(lay.height))} role="group"
                aria-label="The system now: click a part to break it or fix it" preserveAspectRatio="xMidYMin meet">
                { for edges }
                { for parts }
            </svg>
            <figcaption class="hint">{ scene.caption }{ " Click a part to see what you can do to it." }</figcaption>
            if let Some(panel) = panel {
                <div class="part-actions" id="part-actions" aria-live="polite">
                    { panel }
                    <button type="button" class="link" onclick={close}>{ "Close" }</button>
                </div>
            }
        </figure>
    }
}

/// `text` cut with an ellipsis to what fits in `width` px of `size` px type (about 0.56 em a character in the
/// page's sans-serif), so no words spill out of their box.
fn fit(text: &str, width: f64, size: f64) -> String {
    let max = (width / (size * 0.56)).floor().max(1.0) as usize;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let head: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{head}…")
    }
}

/// A "label: value" line cut to `width` like [`fit`], but from its label: the number is what a narrow box must
/// not lose ("not on d…: 10,335", not "not on disk: 10,3…"). Where that would leave fewer than
/// [`LABEL_KEPT`] characters of the label, a number of six or more digits is first written short
/// ("queued: 15.9M" rather than "queu…: 15,911,982").
fn fit_line(text: &str, width: f64, size: f64) -> String {
    let max = (width / (size * 0.56)).floor().max(1.0) as usize;
    let Some((label, value)) = text.rsplit_once(": ") else { return fit(text, width, size) };
    if text.chars().count() <= max {
        return text.to_string();
    }
    let room = |value: &str| max.saturating_sub(value.chars().count() + 3); // "…: "
    let value = match short_number(value) {
        Some(short) if room(value) < LABEL_KEPT => short,
        _ => value.to_string(),
    };
    if label.chars().count() + value.chars().count() + 2 <= max {
        return format!("{label}: {value}");
    }
    if room(&value) == 0 {
        return fit(text, width, size);
    }
    let head: String = label.chars().take(room(&value)).collect();
    format!("{}…: {value}", head.trim_end())
}

/// Characters of a label [`fit_line`] keeps before it shortens the number instead.
const LABEL_KEPT: usize = 6;

/// A value that starts with a whole number of 100,000 or more, written short as the charts' tick labels are
/// ("15,911,982" → "15.9M", "479,050/s" → "479k/s"); `None` for anything else.
fn short_number(value: &str) -> Option<String> {
    let end = value.find(|c: char| !(c.is_ascii_digit() || c == ',')).unwrap_or(value.len());
    let n: f64 = value[..end].replace(',', "").parse().ok()?;
    (n >= 1e5).then(|| format!("{}{}", crate::engine::picture::compact(n), &value[end..]))
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The panel for one clicked part: what it is, its numbers now, and each action with what it does.
fn actions(g: &SceneGroup, m: &SceneMember, note: Option<&str>, props: &PictureProps) -> Html {
    let verbs = verbs_for(props.table.0, g);
    let target = g.target.map(|_| m.name.clone());
    html! {
        <>
            <h3>{ format!("{}: {}", m.name, g.label) }</h3>
            <p class="hint">{ g.help }</p>
            <p class="part-now">{ spoken(g, m, note) }</p>
            if verbs.is_empty() {
                <p class="hint">{ "Nothing to do to this part directly; try the parts it talks to." }</p>
            } else {
                <ul class="verbs">
                    { for verbs.iter().map(|spec| {
                        let args: Vec<f64> = spec.args.iter().map(|a| a.default).collect();
                        let text = command_text(spec, spec.target.and(target.as_deref()), &args);
                        let on_command = props.on_command.clone();
                        let send = Callback::from(move |_: MouseEvent| on_command.emit(text.clone()));
                        html! {
                            <li>
                                <button type="button" data-verb={spec.verb} onclick={send}>{ verb_label(spec) }</button>
                                <span class="verb-help">{ spec.help }</span>
                            </li>
                        }
                    }) }
                </ul>
            }
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::fit_line;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_narrow_box_cuts_a_lines_label_and_keeps_its_number() {
        // 100 px of 10 px type holds 17 characters (0.56 em each).
        assert_eq!(fit_line("not on disk: 96", 100.0, 10.0), "not on disk: 96", "it fits: unchanged");
        assert_eq!(fit_line("not on disk: 10,335", 100.0, 10.0), "not on d…: 10,335");
        assert_eq!(fit_line("not on disk: 10,335", 100.0, 10.0).chars().count(), 17);
        // A value too long to keep whole is cut like any text.
        assert_eq!(fit_line("x: 12345678901234567", 100.0, 10.0), "x: 1234567890123…");
        // Keeping the number whole would leave four letters of the label: the number is written short.
        assert_eq!(fit_line("queued: 15,911,982", 100.0, 10.0), "queued: 15.9M");
        assert_eq!(fit_line("applies: 479,050/s", 100.0, 10.0), "applies: 479k/s");
        assert_eq!(fit_line("no number here at all", 100.0, 10.0), "no number here a…");
    }
}
