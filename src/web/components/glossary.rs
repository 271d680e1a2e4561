//! Plain-words definitions of the terms the charts and lessons use, each with an anchor (`#term-load`) so
//! any text can link to it.

use yew::prelude::*;

/// Terms every page uses, whatever the model: the page's own words.
pub const PAGE_TERMS: &[(&str, &str)] = &[
    ("random seed", "The one number that decides every random choice of a run: the same random seed and settings replay the same run, event for event."),
];

/// The anchor id of a term.
pub fn anchor(term: &str) -> String {
    let slug: String =
        term.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    format!("term-{slug}")
}

/// A link to a term's definition.
pub fn term(word: &str) -> Html {
    html! { <a class="term" href={format!("#{}", anchor(word))}>{ word.to_string() }</a> }
}

/// The first whole-word mention of each of `terms` in `text`, as (start, end, term) byte ranges in order,
/// longer terms first where two overlap ("replication lag" before "lag").
pub fn mentions<'a>(text: &str, terms: &[(&'a str, &str)]) -> Vec<(usize, usize, &'a str)> {
    let mut sorted: Vec<&str> = terms.iter().map(|(t, _)| *t).collect();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
    let mut marks: Vec<(usize, usize, &str)> = Vec::new();
    for t in sorted {
        let found = text.match_indices(t).map(|(i, _)| i).find(|&i| {
            let end = i + t.len();
            edge(text[..i].chars().next_back())
                && edge(text[end..].chars().next())
                && !marks.iter().any(|(s, e, _)| i < *e && end > *s)
        });
        if let Some(i) = found {
            marks.push((i, i + t.len(), t));
        }
    }
    marks.sort_unstable();
    marks
}

/// `text` with its first mention of each term linked to the term's definition.
pub fn linked(text: &str, terms: &[(&str, &str)]) -> Html {
    let mut out = Vec::new();
    let mut at = 0;
    for (s, e, t) in mentions(text, terms) {
        out.push(html! { { &text[at..s] } });
        out.push(html! { <a class="term" href={format!("#{}", anchor(t))}>{ &text[s..e] }</a> });
        at = e;
    }
    out.push(html! { { &text[at..] } });
    html! { <>{ for out }</> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_first_whole_word_mention_of_each_term_is_found_longest_first() {
        let terms = [("lag", ""), ("replication lag", ""), ("SST", ""), ("worker", "")];
        let text = "Its replication lag grows; lag again. SSTs are not SST. workers, worker.";
        let got: Vec<&str> = mentions(text, &terms).iter().map(|(s, e, _)| &text[*s..*e]).collect();
        assert_eq!(got, ["replication lag", "lag", "SST", "worker"]);
        let at: Vec<usize> = mentions(text, &terms).iter().map(|(s, _, _)| *s).collect();
        assert_eq!(at, [4, 27, 51, 65]);
    }
}

/// Props of [`Glossary`].
#[derive(Properties, PartialEq)]
pub struct GlossaryProps {
    /// The model's terms (the page's own follow).
    pub terms: &'static [(&'static str, &'static str)],
}

/// The glossary of the model on screen.
#[component]
pub fn Glossary(props: &GlossaryProps) -> Html {
    html! {
        <details class="glossary" id="glossary" open={true}>
            <summary><h2>{ "Glossary: the words in plain terms" }</h2></summary>
            <dl>
                { for props.terms.iter().chain(PAGE_TERMS).map(|(t, d)| html! {
                    <div id={anchor(t)}><dt>{ *t }</dt><dd>{ *d }</dd></div>
                }) }
            </dl>
        </details>
    }
}
