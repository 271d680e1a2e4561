//! Series styles that stay distinguishable for colour-blind readers.
//!
//! Colours are the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design") without its yellow, which is
//! too faint on white. Seven colours are not enough for a twelve-server section, so each further group of seven
//! series switches line pattern (solid, dashed, dotted): the pattern carries identity where hue alone would not.
//! Sections with more than 21 servers reuse styles; their legend still names every line.

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// CSS hex notation, `#rrggbb`.
    pub fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Okabe–Ito colours in the order series get them: blue, vermillion, bluish green, reddish purple, orange, sky
/// blue, black.
pub const COLOURS: [Rgb; 7] = [
    Rgb(0x00, 0x72, 0xB2),
    Rgb(0xD5, 0x5E, 0x00),
    Rgb(0x00, 0x9E, 0x73),
    Rgb(0xCC, 0x79, 0xA7),
    Rgb(0xE6, 0x9F, 0x00),
    Rgb(0x56, 0xB4, 0xE9),
    Rgb(0x00, 0x00, 0x00),
];

/// How a series' line is stroked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// A continuous line.
    Solid,
    /// Long dashes.
    Dashed,
    /// Short dots.
    Dotted,
}

impl Pattern {
    /// Dash and gap lengths in CSS pixels, `None` for a solid line.
    pub fn dash_gap_px(self) -> Option<(f64, f64)> {
        match self {
            Pattern::Solid => None,
            Pattern::Dashed => Some((7.0, 4.0)),
            Pattern::Dotted => Some((2.0, 3.0)),
        }
    }

    /// The SVG `stroke-dasharray` for the legend swatch.
    pub fn dasharray(self) -> &'static str {
        match self {
            Pattern::Solid => "none",
            Pattern::Dashed => "7 4",
            Pattern::Dotted => "2 3",
        }
    }
}

/// The colour and pattern of series `index`.
pub fn style(index: usize) -> (Rgb, Pattern) {
    let colour = COLOURS[index % COLOURS.len()];
    let pattern = match (index / COLOURS.len()) % 3 {
        0 => Pattern::Solid,
        1 => Pattern::Dashed,
        _ => Pattern::Dotted,
    };
    (colour, pattern)
}

/// The colours reserved for the servers a scenario breaks, in order (vermillion, then reddish purple): no other
/// server gets them, so "db1119" is the same distinct line in every chart and in the legend, and a second broken
/// server (large-write's db1163) is told apart from the first.
pub const FAULTY_COLOURS: [Rgb; 2] = [COLOURS[1], COLOURS[3]];

/// The first faulty server's colour.
pub const FAULTY: Rgb = FAULTY_COLOURS[0];

/// Colours for every other server: the palette without the faulty ones.
pub const OTHERS: [Rgb; 5] = [COLOURS[0], COLOURS[2], COLOURS[4], COLOURS[5], COLOURS[6]];

/// The fill of run A's and run B's bars where both are drawn side by side (blue and bluish green, the hint says
/// so).
pub const RUNS: [Rgb; 2] = [COLOURS[0], COLOURS[2]];

/// The reader's own metrics drawn beside a run: black, dotted and thicker than any simulated line, so the pattern
/// and width tell them apart even from a black simulated line.
pub const YOURS: Rgb = Rgb(0, 0, 0);

/// The style of target `index` (colour, pattern, width in CSS px): the faulty ones solid and thicker in their
/// reserved colours (a third faulty one dashed), the rest through [`OTHERS`] with a pattern per group of five,
/// numbered without the faulty ones so a section's colours do not shift when its faulty server changes.
pub fn target_style(index: usize, faulty: &[usize]) -> (Rgb, Pattern, f64) {
    if let Some(k) = faulty.iter().position(|f| *f == index) {
        let pattern = if k < FAULTY_COLOURS.len() { Pattern::Solid } else { Pattern::Dashed };
        return (FAULTY_COLOURS[k % FAULTY_COLOURS.len()], pattern, 3.0);
    }
    let rank = index - faulty.iter().filter(|&&f| f < index).count();
    let pattern = match (rank / OTHERS.len()) % 3 {
        0 => Pattern::Solid,
        1 => Pattern::Dashed,
        _ => Pattern::Dotted,
    };
    (OTHERS[rank % OTHERS.len()], pattern, 1.75)
}

/// The thin grey of every target that is not faulty in a crowded chart ([`crate::engine::schema::Crowd`]): lighter
/// than the grid's labels and any reference line, so the faulty lines stand out over the bundle.
pub const REST: Rgb = Rgb(0xb4, 0xb9, 0xbf);

/// The style of target `index` where the targets may be a crowd: when `greyed`, a target that is not faulty is a
/// thin solid grey line ([`REST`]); otherwise (and always for a faulty one) its [`target_style`].
pub fn crowd_style(index: usize, faulty: &[usize], greyed: bool) -> (Rgb, Pattern, f64) {
    if greyed && !faulty.contains(&index) {
        return (REST, Pattern::Solid, 1.0);
    }
    target_style(index, faulty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_faulty_server_has_a_colour_no_other_server_has() {
        let faulty = [4];
        for i in (0..40).filter(|i| *i != 4) {
            assert_ne!(target_style(i, &faulty).0, FAULTY, "server {i}");
        }
        assert_eq!(target_style(4, &faulty), (FAULTY, Pattern::Solid, 3.0));
        // Two faulty servers get two different reserved colours.
        let two = [4, 9];
        assert_ne!(target_style(4, &two).0, target_style(9, &two).0);
        for i in (0..40).filter(|i| !two.contains(i)) {
            assert!(!FAULTY_COLOURS.contains(&target_style(i, &two).0), "server {i}");
        }
        // In a crowd the faulty ones keep their own colours and the rest are one grey, thinner than any of them.
        for i in 0..12 {
            let (colour, _, width) = crowd_style(i, &two, true);
            if two.contains(&i) {
                assert_eq!(crowd_style(i, &two, true), target_style(i, &two));
            } else {
                assert_eq!(colour, REST);
                assert!(width < target_style(4, &two).2);
            }
            assert!(!COLOURS.contains(&REST));
        }
        // Twelve servers, one faulty: the other eleven differ in colour or pattern.
        let styles: Vec<_> = (0..12).filter(|i| *i != 4).map(|i| target_style(i, &faulty)).collect();
        for (a, x) in styles.iter().enumerate() {
            for y in &styles[a + 1..] {
                assert!(x.0 != y.0 || x.1 != y.1);
            }
        }
    }
}
