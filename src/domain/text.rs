//! Plain text that members write for each other (names, bios, captions, messages). It is
//! stored as typed and escaped wherever it is shown, so markup is only ever text; what is
//! refused are the characters that make text lie about itself: controls, bidirectional
//! overrides (which reverse what follows them on the reader's screen) and invisible
//! characters (which make two different names look alike).

/// A character that changes how text around it is shown without being seen itself.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{061C}'                // Arabic letter mark
        | '\u{115F}' | '\u{1160}'   // Hangul fillers
        | '\u{180E}'                // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM/RLM
        | '\u{202A}'..='\u{202E}'   // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                // Hangul filler
        | '\u{FEFF}'                // zero-width no-break space
        | '\u{FFA0}'                // half-width Hangul filler
        | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
    )
    // Tag characters (U+E0020..U+E007F) stay: they spell the flags of Scotland and Wales.
}

/// Why `text` cannot be shown to other members as it is, phrased for its writer; `None` when
/// it can. `multiline` allows line breaks (bios, messages) where a name allows none.
pub fn plain_text_problem(text: &str, multiline: bool) -> Option<&'static str> {
    for c in text.chars() {
        if c == '\n' && multiline {
            continue;
        }
        if c == '\n' || c == '\r' {
            return Some("Use a single line.");
        }
        if c.is_control() {
            return Some("Remove the control characters (they are invisible but change the text).");
        }
        if is_hidden(c) {
            return Some(
                "Remove the invisible formatting characters (zero-width or direction marks).",
            );
        }
    }
    None
}

/// Line endings as `\n`, trailing spaces and surrounding blank lines gone, at most one blank
/// line in a row: how multi-line text is kept.
pub fn tidy_lines(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_text_but_tricks_are_refused() {
        assert_eq!(plain_text_problem("<b>hi</b> & <3", false), None);
        assert_eq!(plain_text_problem("two\nlines", true), None);
        assert!(plain_text_problem("two\nlines", false).is_some());
        assert!(plain_text_problem("admin\u{202E}nimda", false).is_some());
        assert!(plain_text_problem("a\u{200B}b", true).is_some());
        assert!(plain_text_problem("bell\u{7}", true).is_some());
        assert!(plain_text_problem("tab\there", true).is_some());
        assert_eq!(plain_text_problem("Zoë 😀 日本", false), None);
    }

    #[test]
    fn lines_are_tidied() {
        assert_eq!(tidy_lines("  a  \r\n\r\n\r\n\nb\rc \n\n"), "a\n\nb\nc");
    }
}
