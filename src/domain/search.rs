//! Search without the engine: what a searchable document is, how a member's query string is
//! read (our own reader, so no string a member types is ever engine syntax), how far a word
//! may be misspelt, and how a snippet is cut and marked.

use std::collections::BTreeMap;

/// A record as the index holds it. `access` says who may find it, as terms the query
/// requires: `members` (every member), `member:<id>`, `role:<role>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `<kind>:<record id>`, unique in the index.
    pub key: String,
    pub kind: &'static str,
    /// The page that shows it (`/members/<id>`, `/messages/<conversation>`).
    pub link: String,
    pub title: String,
    pub body: String,
    pub access: Vec<String>,
    /// Filters and facets: (facet, value), e.g. ("interest", "hiking").
    pub facets: Vec<(&'static str, String)>,
    /// The member the record is about or by, if any: results leave out those the searcher
    /// blocked or who blocked them.
    pub member: Option<String>,
    /// For "newest first" (ms since the epoch).
    pub time_ms: i64,
    /// Found only from this time on (ms; 0: at once): a suspended member's profile comes
    /// back by itself when the suspension ends.
    pub visible_from_ms: i64,
    /// Not found from this time on (ms; `i64::MAX`: never): a story is gone when it
    /// expires, whenever the job that deletes it runs.
    pub visible_until_ms: i64,
}

/// The longest query string read.
pub const QUERY_MAX_CHARS: usize = 500;
/// Words (and phrases) used from one query; the rest are ignored.
pub const QUERY_MAX_TERMS: usize = 12;

/// A query string as read: words, quoted phrases, and whether the last word is still being
/// typed (no space after it: it matches as a prefix).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedQuery {
    pub words: Vec<String>,
    pub phrases: Vec<Vec<String>>,
    pub prefix: Option<String>,
}

impl ParsedQuery {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty() && self.prefix.is_none()
    }
}

/// Folds text as the index does: lower case, accents off (é = e, ß = ss), so "Zürich" is
/// found by "zurich".
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

/// The words of a text as the index cuts them: runs of letters and digits, folded. Text in
/// scripts without spaces (Chinese, Japanese) becomes one word per run.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads a query string: `"quoted words"` are phrases (an unbalanced quote runs to the end);
/// everything else is plain words, whatever it looks like (`field:value`, `*`, `AND`, `-x`
/// are just text). Why not, when it is too long.
pub fn parse_query(raw: &str) -> Result<ParsedQuery, String> {
    if raw.chars().count() > QUERY_MAX_CHARS {
        return Err(format!("Search for at most {QUERY_MAX_CHARS} characters."));
    }
    let mut parsed = ParsedQuery::default();
    let mut rest = raw;
    let mut terms = 0;
    while let Some(start) = rest.find('"') {
        let before = &rest[..start];
        let after = &rest[start + 1..];
        let (inside, next) = match after.find('"') {
            Some(end) => (&after[..end], &after[end + 1..]),
            None => (after, ""),
        };
        for w in words(before) {
            if terms < QUERY_MAX_TERMS {
                parsed.words.push(w);
                terms += 1;
            }
        }
        let phrase = words(inside);
        if phrase.len() == 1 && terms < QUERY_MAX_TERMS {
            parsed.words.extend(phrase);
            terms += 1;
        } else if !phrase.is_empty() && terms < QUERY_MAX_TERMS {
            parsed
                .phrases
                .push(phrase.into_iter().take(QUERY_MAX_TERMS).collect());
            terms += 1;
        }
        rest = next;
    }
    let typing = !rest.ends_with(|c: char| c.is_whitespace()) && !rest.is_empty();
    let mut tail = words(rest);
    if typing && let Some(last) = tail.pop() {
        for w in tail {
            if terms < QUERY_MAX_TERMS {
                parsed.words.push(w);
                terms += 1;
            }
        }
        if terms < QUERY_MAX_TERMS {
            parsed.prefix = Some(last);
        }
    } else {
        for w in tail {
            if terms < QUERY_MAX_TERMS {
                parsed.words.push(w);
                terms += 1;
            }
        }
    }
    parsed.words.dedup();
    Ok(parsed)
}

/// How many typing mistakes a word may have and still match: none under 4 letters, one
/// from 4, two from 8.
pub fn typo_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Levenshtein distance, stopping early past `max`.
pub fn within_distance(a: &str, b: &str, max: u8) -> bool {
    if a == b {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let max = usize::from(max);
    if a.len().abs_diff(b.len()) > max {
        return false;
    }
    // Two rows of the edit-distance table, reused.
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            row[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        if row.iter().min().copied().unwrap_or(0) > max {
            return false;
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()] <= max
}

/// A piece of a text: plain, or one of the query's words.
#[derive(Debug, Clone, PartialEq)]
pub enum SnippetPart {
    Text(String),
    Match(String),
}

/// About `max_chars` of `text` around the first word the query matches, cut at word
/// boundaries, with the matching words marked. The parts are text, not markup: the page
/// escapes them and adds the marks. `stands_for` is what the index took the query's words
/// for (folded); when it is empty, words within their typo distance match.
pub fn snippet(
    text: &str,
    query: &ParsedQuery,
    stands_for: &std::collections::HashSet<String>,
    max_chars: usize,
) -> Vec<SnippetPart> {
    let matches = |word: &str| -> bool {
        let w = fold(word);
        if stands_for.contains(&w) {
            return true;
        }
        (stands_for.is_empty()
            && query
                .words
                .iter()
                .any(|q| within_distance(q, &w, typo_distance(q))))
            || query.phrases.iter().flatten().any(|q| *q == w)
            || query
                .prefix
                .as_ref()
                .is_some_and(|p| w.starts_with(p.as_str()))
    };
    // Words with their byte ranges in the original text.
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i, matches(&text[s..i])));
                start = None;
            }
            _ => {}
        }
    }
    let first = spans.iter().position(|s| s.2).unwrap_or(0);
    // Start a few words before the first match, end near max_chars later.
    let from = spans.get(first.saturating_sub(3)).map_or(0, |s| s.0);
    let mut to = text.len();
    for s in &spans[first..] {
        if text[from..s.1].chars().count() > max_chars {
            to = s.0;
            break;
        }
    }
    let mut parts = Vec::new();
    if from > 0 {
        parts.push(SnippetPart::Text("…".into()));
    }
    let mut at = from;
    for &(s, e, hit) in spans.iter().filter(|s| s.0 >= from && s.1 <= to) {
        if hit {
            if s > at {
                parts.push(SnippetPart::Text(text[at..s].to_string()));
            }
            parts.push(SnippetPart::Match(text[s..e].to_string()));
            at = e;
        }
    }
    if to > at {
        parts.push(SnippetPart::Text(text[at..to].trim_end().to_string()));
    }
    if to < text.len() {
        parts.push(SnippetPart::Text("…".into()));
    }
    parts
}

/// Results per page at most.
pub const PAGE_MAX: usize = 50;
/// Pages beyond this are not served (refine the query instead).
pub const DEPTH_MAX: usize = 1_000;

/// Facet counts of a result set: facet → (value, count), most frequent first.
pub type Facets = BTreeMap<&'static str, Vec<(String, u64)>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_are_only_words() {
        for raw in [
            "\"unbalanced",
            "title:admin",
            "*leading",
            "a AND b OR NOT c",
            "-x +y ~z ^2",
            "😀 emoji",
            "東京 タワー",
            "((((",
            "",
        ] {
            let q = parse_query(raw).unwrap();
            assert!(q.words.len() + q.phrases.len() <= QUERY_MAX_TERMS);
        }
        let q = parse_query("title:admin ").unwrap();
        assert_eq!(q.words, ["title", "admin"]);
        let q = parse_query("東京 タワー").unwrap();
        assert_eq!(q.words, ["dong", "jing"]);
        assert!(parse_query(&"x".repeat(QUERY_MAX_CHARS + 1)).is_err());
        let long = "word ".repeat(100);
        assert_eq!(parse_query(&long).unwrap().words.len(), 1, "dedup");
    }

    #[test]
    fn phrases_prefixes_and_accents() {
        let q = parse_query("\"rock climbing\" Zür").unwrap();
        assert_eq!(
            q.phrases,
            [vec!["rock".to_string(), "climbing".to_string()]]
        );
        assert_eq!(q.prefix.as_deref(), Some("zur"));
        let q = parse_query("hiking ").unwrap();
        assert_eq!(q.words, ["hiking"]);
        assert_eq!(q.prefix, None);
        assert_eq!(fold("Émilie Straße"), "emilie strasse");
    }

    #[test]
    fn typos_allowed_grow_with_length() {
        assert_eq!(typo_distance("cat"), 0);
        assert_eq!(typo_distance("hike"), 1);
        assert_eq!(typo_distance("climbing"), 2);
        assert!(within_distance("hikng", "hiking", 1));
        assert!(within_distance("clmbing", "climbing", 2));
        assert!(within_distance("climbign", "climbing", 2));
        assert!(!within_distance("cat", "dog", 1));
    }

    #[test]
    fn snippets_mark_matches_and_keep_text_as_text() {
        let q = parse_query("hiking ").unwrap();
        let none = std::collections::HashSet::new();
        let parts = snippet("I like <b>hiking</b> and books.", &q, &none, 150);
        assert!(parts.contains(&SnippetPart::Match("hiking".into())));
        assert!(parts.contains(&SnippetPart::Text("I like <b>".into())));
        let long = format!("{} hiking {}", "word ".repeat(80), "more ".repeat(80));
        let parts = snippet(&long, &q, &none, 60);
        assert_eq!(parts.first(), Some(&SnippetPart::Text("…".into())));
        assert_eq!(parts.last(), Some(&SnippetPart::Text("…".into())));
        // What the index took a typo for is marked; other words are not.
        let typo = parse_query("hikng ").unwrap();
        let took: std::collections::HashSet<String> = ["hiking".to_string()].into();
        let parts = snippet("hiking and biking", &typo, &took, 150);
        assert!(parts.contains(&SnippetPart::Match("hiking".into())));
        assert!(!parts.contains(&SnippetPart::Match("biking".into())));
    }
}
